"""The main window: it builds itself from its parts and wires them together.

The parts hold the features: :mod:`hwr_app.actions` the actions and menus, :mod:`hwr_app.corrections`
saving samples and the undo history, :mod:`hwr_app.finetune_flow` fine-tuning, :mod:`hwr_app.number_overlay`
numbers of several digits, :mod:`hwr_app.panel` the side panel, and :mod:`hwr_app.session` the state they
share. The window keeps the wiring, start-up and the model in use, live recognition, the version and
sample dialogs, the first-run hint, and window-level events (resizing, closing).
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QSize, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QIcon, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from hwr_app.actions import WindowActions, show_about, show_keys
from hwr_app.canvas import Canvas
from hwr_app.corrections import Corrections
from hwr_app.finetune_flow import NOTHING_NEW, FinetuneFlow
from hwr_app.finetune_worker import MnistCache
from hwr_app.number_overlay import NumberController
from hwr_app.panel import SidePanel, ToolsRow
from hwr_app.prediction_view import PredictionView
from hwr_app.recognizer import Recognizer
from hwr_app.session import Forward, Session
from hwr_app.settings import open_settings, read_int, read_size
from hwr_app.startup import AppPaths, Loaded, StartupLoader
from hwr_app.widgets import press_focused_button, show_message
from hwr_app.wording import GENERAL_ACCURACY, general_accuracy, plural
from model.personal.readiness import finetune_readiness

LIVE_INTERVAL_MS = 40  # while the pen moves, at most one prediction request per interval
MIN_WINDOW = QSize(480, 400)  # fits a small laptop screen; the panel compacts to fit it
SWITCH_INTERVAL_S = 0.001  # how often Python hands its lock between threads (see MainWindow.__init__)
MAX_CANVAS_ASPECT = 1.3  # the canvas is never wider than this times its height: room for one digit


class MainWindow(QMainWindow):
    """Draw, read the prediction, correct it, fine-tune, manage samples and model versions."""

    # What the parts own and do, under the names the window has always had (``window.store`` is
    # ``window.session.store``, ``window.undo()`` is ``window.corrections.undo()``).
    paths, settings, registry, store, store_problem, checkpoint, prediction = (Forward("session") for _ in range(7))
    correct, clear_drawing, undo, redo, history = (Forward("corrections") for _ in range(5))
    finetune_worker = Forward("finetune_flow", "worker")
    finetune_config = Forward("finetune_flow", "config")  # model.personal.finetune.FinetuneConfig; None = defaults
    last_finetune = Forward("finetune_flow", "last")  # (FinetuneResult, VersionEntry) of the latest fine-tune
    start_finetune = Forward("finetune_flow", "start")
    cancel_finetune = Forward("finetune_flow", "cancel")
    auto_finetune_every = Forward("finetune_flow", "auto_every")  # N of "fine-tune after every N corrections"
    (undo_action, redo_action, clear_action, finetune_action, samples_action, models_action, quit_action, keys_action,
     hint_action, digit_actions, save_number_action, backspace_action, auto_group) = (
        Forward("window_actions", name) for name in ("undo", "redo", "clear", "finetune", "samples", "models", "quit",
                                                     "keys", "getting_started", "digits", "save_number", "backspace",
                                                     "auto_group"))

    def __init__(self, paths: AppPaths, icon: QIcon | None = None, download_mnist: bool = True) -> None:
        super().__init__()
        # Python hands its interpreter lock between threads every 5 ms by default; while the
        # fine-tune's thread runs Python code (preparing, checking), each event the window handles may
        # wait that long several times. At 1 ms no event-loop gap while a fine-tune prepared or trained
        # exceeded 20 ms (20–25 ms before; benchmarks/finetune.py), fine-tune time unchanged.
        # Process-wide, set by the window (and so also in tests and benchmarks that build one).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.setObjectName("mainWindow")
        self.setWindowTitle("hwr — handwritten digits")
        if icon is not None:
            self.setWindowIcon(icon)
        settings, self._settings_problem = open_settings(paths.user_dir / "settings.ini")  # a pipe there never hangs
        self.session = Session(paths, settings)
        self.mnist = MnistCache(paths.mnist_dir, download=download_mnist)

        self.canvas = Canvas()
        self.prediction_view = PredictionView()
        self.recognizer = Recognizer(self)
        self.numbers = NumberController(self)  # digit outlines, the whole number, typed corrections
        self.window_actions = actions = WindowActions(self, self.settings)
        self._build_layout()
        self.finetune_flow = FinetuneFlow(self.session, self.mnist, actions.finetune, self.panel, self)
        self.corrections = Corrections(self.session, self.canvas, self.numbers, self.finetune_flow, actions,
                                       self.saved_line, self)
        self.model_label = QLabel("Loading model…")
        self.model_label.setObjectName("modelStatus")
        self.statusBar().addPermanentWidget(self.model_label)
        self._live_timer = QTimer(self, singleShot=True, interval=LIVE_INTERVAL_MS)
        self._wire()
        self.setMinimumSize(MIN_WINDOW)  # explicit: the panel compacts below its roomy layout's minimum
        self._restore_settings()
        self._update_actions()
        self._update_hint()

        self._startup = StartupLoader(paths, self)
        self._startup.loaded.connect(self._on_loaded)
        self._startup.failed.connect(self._on_load_failed)
        self._startup.start()

    # -- construction -------------------------------------------------------------------------

    def _build_layout(self) -> None:
        actions = self.window_actions
        tools = ToolsRow(actions.clear, actions.undo, actions.redo, self.canvas.pen_width())
        self.clear_button, self.undo_button, self.redo_button = tools.clear_button, tools.undo_button, tools.redo_button
        self.pen_width = tools.pen_width
        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(tools.layout)

        self.panel = SidePanel(self.prediction_view, actions.digits, actions.finetune, actions.samples, actions.models)
        self.label_buttons = self.panel.label_buttons
        self.samples_label = self.panel.samples_label
        self.finetune_button = self.panel.finetune_button
        self.finetune_progress = self.panel.finetune_progress
        self.cancel_button = self.panel.cancel_button
        self.saved_line = self.panel.saved_line

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(left, 1)
        layout.addWidget(self.panel)
        self.setCentralWidget(central)
        self.canvas.setFocus()

    def _wire(self) -> None:
        """Connect the parts: what each action does, and who follows whom."""
        actions, corrections, flow, numbers = self.window_actions, self.corrections, self.finetune_flow, self.numbers
        status = self.statusBar()
        self.recognizer.prediction_ready.connect(numbers.show_reading)
        self.recognizer.cleared.connect(lambda: numbers.show_reading(None))
        self.recognizer.model_changed.connect(self._on_model_changed)
        self.recognizer.failed.connect(lambda message: status.showMessage(message, 8000))
        self._live_timer.timeout.connect(self._request_prediction)
        self.canvas.strokes_changed.connect(self._on_strokes_changed)
        self.canvas.rescaled.connect(self._request_prediction)  # the same strokes, outlined where they now are
        self.pen_width.valueChanged.connect(self.canvas.set_pen_width)

        actions.undo.triggered.connect(corrections.undo)
        actions.redo.triggered.connect(corrections.redo)
        actions.clear.triggered.connect(corrections.clear_drawing)
        actions.finetune.triggered.connect(flow.start)
        actions.finetune_why.activated.connect(self._explain_finetune)
        actions.samples.triggered.connect(self.show_samples)
        actions.models.triggered.connect(self.show_models)
        actions.quit.triggered.connect(self.close)
        for digit, action in enumerate(actions.digits):
            action.triggered.connect(lambda checked=False, d=digit: corrections.correct(d))
        actions.save_number.triggered.connect(lambda: press_focused_button(self) or numbers.commit())
        actions.backspace.triggered.connect(lambda: numbers.backspace())
        actions.keys.triggered.connect(lambda: show_keys(self))
        actions.getting_started.triggered.connect(self._show_getting_started)
        actions.about.triggered.connect(lambda: show_about(self, self.paths.user_dir))

        self.cancel_button.clicked.connect(flow.cancel)
        self.saved_line.linkActivated.connect(lambda _: corrections.undo())
        self.panel.hint.dismissed.connect(self._dismiss_hint)
        for part in (corrections, flow):
            part.changed.connect(self._update_actions)
            part.message.connect(status.showMessage)
        flow.activate_requested.connect(self.activate_version)

    def resizeEvent(self, event: QResizeEvent) -> None:
        size = event.size()
        self.panel.fit_to(size.width(), size.height())
        # The canvas keeps a shape that suits one digit; the panel takes what is left over.
        canvas_height = (size.height() - self.menuBar().sizeHint().height() - self.statusBar().sizeHint().height()
                         - self.clear_button.sizeHint().height() - 24)  # less the tools row and margins
        self.canvas.setMaximumWidth(max(self.canvas.minimumWidth(), round(canvas_height * MAX_CANVAS_ASPECT)))
        super().resizeEvent(event)

    def _restore_settings(self) -> None:
        self.resize(read_size(self.settings, "window/size", QSize(760, 560), QSize(320, 240), QSize(8192, 8192)))
        self.pen_width.setValue(read_int(self.settings, "canvas/penWidth", int(self.canvas.pen_width()),
                                         self.pen_width.minimum(), self.pen_width.maximum()))

    # -- loading ------------------------------------------------------------------------------

    @Slot(object)
    def _on_loaded(self, loaded: Loaded) -> None:
        from model.storage.samples import SampleStore, SampleStoreError

        self.registry = loaded.registry
        self.recognizer.set_checkpoint(loaded.checkpoint)  # recognition works even without a store
        messages = [self._settings_problem] if self._settings_problem else []
        messages += loaded.messages
        try:
            self.store = SampleStore(self.paths.samples_db)
        except SampleStoreError as error:
            self.store_problem = f"{error}\nCorrections cannot be saved until this is fixed; restart hwr then."
            messages.append(self.store_problem)
        else:
            if self.store.recovery_message:
                messages.append(self.store.recovery_message)
        self._update_actions()
        if messages:
            self._notify("hwr", "\n\n".join(messages), QMessageBox.Icon.Warning)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self.model_label.setText("No model")
        self.store_problem = "No model could be loaded, so corrections cannot be saved."
        self._update_actions()
        self._notify("No model", message + "\nReinstall hwr to restore the shipped model.", QMessageBox.Icon.Critical)

    @Slot(object)
    def _on_model_changed(self, checkpoint) -> None:
        self.checkpoint = checkpoint
        info = checkpoint.info
        from hwr_app.models_view import model_name

        name = model_name(self.registry, info) if self.registry is not None else info.version
        accuracy = "" if info.mnist_test_accuracy is None else f" · {GENERAL_ACCURACY} {general_accuracy(info.mnist_test_accuracy)}"
        self.model_label.setText(f"Model: {name}{accuracy}")
        self.model_label.setToolTip(f"The model reading your digits. {GENERAL_ACCURACY} is the share of MNIST's "
                                    f"10,000 test digits, written by other people, that it reads right.")
        self._update_actions()  # another model: a fine-tune refused on the one before may run on this one
        self._request_prediction()

    def is_ready(self) -> bool:
        """Return True once the model is loaded and predictions come."""
        return self.checkpoint is not None and self.registry is not None

    # -- live recognition ---------------------------------------------------------------------

    @Slot(bool)
    def _on_strokes_changed(self, finished: bool) -> None:
        self.corrections.strokes_changed(finished)  # a new stroke: nothing to redo, no "Saved as" line
        self._update_hint()
        if finished:
            self._live_timer.stop()
            self._request_prediction()
        elif not self._live_timer.isActive():
            self._live_timer.start()

    def _request_prediction(self) -> None:
        self.recognizer.request(self.canvas.strokes())

    @Slot(object)
    def _show_prediction(self, prediction) -> None:
        self.prediction = prediction
        self.prediction_view.show_prediction(prediction)

    # -- versions and samples -----------------------------------------------------------------

    def activate_version(self, version: str, predictor=None) -> None:
        """Make ``version`` the active model (persisted) and use it for predictions (``predictor``:
        one already built from it, see Recognizer.set_checkpoint)."""
        try:
            entry = self.registry.activate(version)
        except KeyError:
            problems = " ".join(self.registry.take_messages()) or "It is no longer available."
            self._notify("Cannot switch model", f"Version {version} cannot be used. {problems}",
                         QMessageBox.Icon.Warning)
            return
        except OSError as error:
            self._notify("Cannot switch model", f"Could not record the choice ({error.strerror or error}); "
                         f"the current model stays active.", QMessageBox.Icon.Warning)
            return
        self.recognizer.set_checkpoint(entry, predictor)

    def show_models(self) -> None:
        if self.registry is None:
            return
        from hwr_app.models_view import ModelsDialog

        dialog = ModelsDialog(self.registry, self)
        dialog.activate_requested.connect(self.activate_version)
        self.finetune_flow.changed.connect(dialog.refresh)  # a fine-tune finishing adds a version
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.models_dialog = dialog

    def show_samples(self) -> None:
        if self.store is None:
            return
        from hwr_app.samples_view import SamplesDialog

        dialog = SamplesDialog(self.store, self)
        dialog.changed.connect(self._update_actions)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.samples_dialog = dialog

    # -- state and messages -------------------------------------------------------------------

    def _update_actions(self) -> None:
        """Bring every action and the samples line up to date (after loading, saving, fine-tuning)."""
        self.corrections.update_actions()
        ready = self.store is not None
        counts = self.store.counts_by_label() if ready else {}
        readiness = finetune_readiness(counts)
        running = self.finetune_worker is not None
        nothing_new = (ready and self.checkpoint is not None
                       and self.finetune_flow.nothing_new(counts, self.checkpoint.info.version))
        self.window_actions.follow(ready, self.registry is not None, readiness, running,
                                   NOTHING_NEW if nothing_new else "")
        if not ready:
            self.samples_label.setText("Samples cannot be saved." if self.store_problem else "Loading…")
        else:
            state = ("fine-tuning…" if running else "save more to fine-tune again" if nothing_new and readiness.ready
                     else readiness.short)
            self.samples_label.setText(f"{plural(sum(counts.values()), 'sample')} saved · {state}")
        self.samples_label.setToolTip(readiness.missing or (NOTHING_NEW if nothing_new else
                                                            "Fine-tune teaches hwr your handwriting"))

    def _explain_finetune(self) -> None:
        """Ctrl+T while Fine-tune is disabled: say why in the status bar, rather than nothing."""
        if self.finetune_worker is not None:
            why = "A fine-tune is running; its progress is in the side panel."
        elif self.store is None:
            why = self.store_problem or "Still loading; try again in a moment."
        else:
            why = self.finetune_action.toolTip()
        self.statusBar().showMessage(why, 8000)

    def _notify(self, title: str, text: str, icon: QMessageBox.Icon, name: str = "notice", details: str = "") -> None:
        show_message(self, title, text, icon, name, details)

    # -- the first-run hint -------------------------------------------------------------------

    def _update_hint(self) -> None:
        """Show the first-run steps while nothing is drawn, until the user dismisses them."""
        dismissed = self.settings.value("hint/dismissed", False, type=bool)
        self.panel.show_hint(not dismissed and self.canvas.is_empty())

    def _dismiss_hint(self) -> None:
        self.settings.setValue("hint/dismissed", True)
        self._update_hint()
        self.canvas.setFocus()

    def _show_getting_started(self) -> None:
        self.settings.setValue("hint/dismissed", False)
        self.corrections.clear_drawing()
        self._update_hint()

    def closeEvent(self, event: QCloseEvent) -> None:
        dialog = getattr(self, "samples_dialog", None)
        try:
            importing = dialog is not None and dialog.is_importing()
        except RuntimeError:  # the dialog was closed and deleted
            importing = False
        if importing:  # the store is in use until the file being imported is stored: close after
            self.statusBar().showMessage("Still importing samples; close again once it is done.", 4000)
            event.ignore()
            return
        self.finetune_flow.stop()  # a running fine-tune stops; the active model is untouched, nothing is kept
        self._startup.wait()
        self.recognizer.stop()
        self.settings.setValue("window/size", self.size())
        self.settings.setValue("canvas/penWidth", self.pen_width.value())
        self.settings.sync()
        if self.store is not None:
            self.store.close()
            self.store = None
        super().closeEvent(event)
