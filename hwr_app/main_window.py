"""The main window: it owns the actions and wires canvas, recognizer, store and fine-tuning together."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QMessageBox, QSlider, QVBoxLayout, QWidget

from hwr_app.canvas import Canvas
from hwr_app.drawing_history import DrawingHistory, TakenOff
from hwr_app.finetune_worker import FinetuneWorker, MnistCache
from hwr_app.number_overlay import NumberController
from hwr_app.panel import SidePanel
from hwr_app.prediction_view import PredictionView
from hwr_app.recognizer import Recognizer
from hwr_app.settings import read_choice, read_int, read_size
from hwr_app.startup import AppPaths, Loaded, StartupLoader
from hwr_app.widgets import action_button, show_message
from model.readiness import finetune_readiness
from model.wording import GENERAL_ACCURACY, general_accuracy, plural

LIVE_INTERVAL_MS = 40  # while the pen moves, at most one prediction request per interval
AUTO_FINETUNE_CHOICES = (0, 10, 20, 50)  # "fine-tune after every N corrections"; 0 = off
MIN_WINDOW = QSize(480, 400)  # fits a small laptop screen; the panel compacts to fit it
SWITCH_INTERVAL_S = 0.001  # how often Python hands its lock between threads (see MainWindow.__init__)
MAX_CANVAS_ASPECT = 1.3  # the canvas is never wider than this times its height: room for one digit
KEYS_HELP = ("<table cellspacing=4>"
             "<tr><td><b>0</b> … <b>9</b></td><td>save the drawing as that digit</td></tr>"
             "<tr><td>digits, then <b>Enter</b></td><td>save a number of several digits</td></tr>"
             "<tr><td><b>Ctrl+Z</b></td><td>undo a stroke, a save or a clear</td></tr>"
             "<tr><td><b>Ctrl+Shift+Z</b>, <b>Ctrl+Y</b></td><td>redo</td></tr>"
             "<tr><td><b>Esc</b>, <b>Delete</b></td><td>clear the canvas</td></tr>"
             "<tr><td><b>Ctrl+T</b></td><td>fine-tune on your samples</td></tr>"
             "<tr><td><b>Ctrl+B</b></td><td>your samples</td></tr>"
             "<tr><td><b>Ctrl+M</b></td><td>model versions</td></tr></table>")


class MainWindow(QMainWindow):
    """Draw, read the prediction, correct it, fine-tune, manage samples and model versions."""

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
        self.paths = paths
        self._read_problems: list[str] = []  # rows of the store the last fine-tune left out (see start_finetune)
        self.settings = QSettings(str(paths.user_dir / "settings.ini"), QSettings.Format.IniFormat)
        self.registry = None  # model.versions.ModelRegistry, once loaded
        self.store = None  # model.samples.SampleStore, once loaded
        self.store_problem = ""  # why the store could not be opened, if it could not
        self.checkpoint = None  # the checkpoint the recognizer uses
        self.prediction = None  # the latest prediction shown
        self.finetune_worker: FinetuneWorker | None = None
        self._finetune_samples: list = []  # the samples the running fine-tune works on
        self.last_finetune = None  # (FinetuneResult, VersionEntry) of the latest finished fine-tune
        self.mnist = MnistCache(paths.mnist_dir, download=download_mnist)
        self.finetune_config = None  # model.finetune.FinetuneConfig; None = its defaults
        self.history = DrawingHistory()  # drawings saved or cleared, for Undo once the canvas has no strokes

        self.canvas = Canvas()
        self.prediction_view = PredictionView()
        self.recognizer = Recognizer(self)
        self.numbers = NumberController(self)  # digit outlines, the whole number, typed corrections
        self.recognizer.prediction_ready.connect(self.numbers.show_reading)
        self.recognizer.cleared.connect(lambda: self.numbers.show_reading(None))
        self.recognizer.model_changed.connect(self._on_model_changed)
        self.recognizer.failed.connect(lambda message: self.statusBar().showMessage(message, 8000))
        self._live_timer = QTimer(self, singleShot=True, interval=LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self._request_prediction)
        self.canvas.strokes_changed.connect(self._on_strokes_changed)

        self._build_actions()
        self._build_layout()
        self._build_menus()
        self.model_label = QLabel("Loading model…")
        self.model_label.setObjectName("modelStatus")
        self.statusBar().addPermanentWidget(self.model_label)
        self.setMinimumSize(MIN_WINDOW)  # explicit: the panel compacts below its roomy layout's minimum
        self._restore_settings()
        self._update_actions()
        self._update_hint()

        self._startup = StartupLoader(paths, self)
        self._startup.loaded.connect(self._on_loaded)
        self._startup.failed.connect(self._on_load_failed)
        self._startup.start()

    # -- construction -------------------------------------------------------------------------

    def _action(self, text: str, name: str, tip: str, slot, shortcuts=()) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work wherever the focus is
        return action

    def _build_actions(self) -> None:
        self.undo_action = self._action("&Undo", "undoAction", "Undo the last stroke, save or clear (Ctrl+Z)",
                                        self.undo, [QKeySequence.StandardKey.Undo])
        self.redo_action = self._action("&Redo", "redoAction", "Redo (Ctrl+Shift+Z or Ctrl+Y)",
                                        self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.clear_action = self._action("&Clear", "clearAction", "Clear the canvas (Esc or Delete); Ctrl+Z brings the drawing back",
                                         self.clear_drawing, ["Esc", "Delete"])
        self.finetune_action = self._action("&Fine-tune on my samples", "finetuneAction",
                                            "Teach the model your handwriting (Ctrl+T)", self.start_finetune,
                                            ["Ctrl+T"])
        self.samples_action = self._action("&Samples…", "samplesAction", "Browse, relabel and delete your samples",
                                           self.show_samples, ["Ctrl+B"])
        self.models_action = self._action("&Model versions…", "modelsAction",
                                          "Switch, roll back or reset the model", self.show_models, ["Ctrl+M"])
        self.quit_action = self._action("&Quit", "quitAction", "Close hwr", self.close,
                                        [QKeySequence.StandardKey.Quit])
        self.digit_actions = []
        for digit in range(10):
            action = self._action(f"Save as {digit}", f"labelAction{digit}",
                                  f"Save the drawing as a {digit} (key {digit}); Ctrl+Z takes it back",
                                  lambda checked=False, d=digit: self.correct(d), [str(digit)])
            self.digit_actions.append(action)
        self.save_number_action = self._action("Save the &number", "saveNumberAction",
                                               "Save the number as shown or as typed (Enter)",
                                               lambda: self.numbers.commit(), ["Return", "Enter"])
        self.backspace_action = self._action("Take back a typed digit", "backspaceAction",
                                             "Take back the last typed digit (Backspace)",
                                             lambda: self.numbers.backspace(), ["Backspace"])
        self.keys_action = self._action("&Keys", "keysAction", "List the keyboard keys", self._show_keys)
        self.hint_action = self._action("&Getting started", "gettingStartedAction",
                                        "Show the three steps to start with", self._show_getting_started)

    def _build_layout(self) -> None:
        self.clear_button = action_button("Clear", "clearButton", self.clear_action)
        self.undo_button = action_button("Undo", "undoButton", self.undo_action)
        self.redo_button = action_button("Redo", "redoButton", self.redo_action)
        self.pen_width = QSlider(Qt.Orientation.Horizontal)
        self.pen_width.setObjectName("penWidth")
        self.pen_width.setAccessibleName("Pen width")
        self.pen_width.setToolTip("Width of the pen on screen (the model's view does not depend on it)")
        self.pen_width.setRange(4, 48)
        self.pen_width.setValue(int(self.canvas.pen_width()))
        self.pen_width.setMinimumWidth(40)
        self.pen_width.setMaximumWidth(220)
        self.pen_width.valueChanged.connect(self.canvas.set_pen_width)
        tools = QHBoxLayout()
        tools.addWidget(self.clear_button)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.redo_button)
        tools.addSpacing(12)
        pen_label = QLabel("Pen:")
        pen_label.setBuddy(self.pen_width)
        tools.addWidget(pen_label)
        tools.addWidget(self.pen_width, 1)
        tools.addStretch(0)

        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(tools)

        self.panel = SidePanel(self.prediction_view, self.digit_actions, self.finetune_action, self.samples_action,
                               self.models_action)
        self.label_buttons = self.panel.label_buttons
        self.samples_label = self.panel.samples_label
        self.finetune_button = self.panel.finetune_button
        self.finetune_progress = self.panel.finetune_progress
        self.cancel_button = self.panel.cancel_button
        self.cancel_button.clicked.connect(self.cancel_finetune)
        self.saved_line = self.panel.saved_line
        self.saved_line.linkActivated.connect(lambda _: self.undo())
        self.panel.hint.dismissed.connect(self._dismiss_hint)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(left, 1)
        layout.addWidget(self.panel)
        self.setCentralWidget(central)
        self.canvas.setFocus()

    def resizeEvent(self, event: QResizeEvent) -> None:
        size = event.size()
        self.panel.fit_to(size.width(), size.height())
        # The canvas keeps a shape that suits one digit; the panel takes what is left over.
        canvas_height = (size.height() - self.menuBar().sizeHint().height() - self.statusBar().sizeHint().height()
                         - self.clear_button.sizeHint().height() - 24)  # less the tools row and margins
        self.canvas.setMaximumWidth(max(self.canvas.minimumWidth(), round(canvas_height * MAX_CANVAS_ASPECT)))
        super().resizeEvent(event)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.samples_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addActions([self.undo_action, self.redo_action, self.clear_action])
        edit_menu.addSeparator()
        save_menu = edit_menu.addMenu("&Save as")  # lists the digit keys beside the digits
        save_menu.setObjectName("saveAsMenu")
        save_menu.addActions(self.digit_actions)
        model_menu = self.menuBar().addMenu("&Model")
        model_menu.addAction(self.finetune_action)
        model_menu.addAction(self.models_action)
        auto_menu = model_menu.addMenu("Fine-tune &automatically")
        self.auto_group = QActionGroup(self)
        for every in AUTO_FINETUNE_CHOICES:
            action = QAction("Off" if every == 0 else f"After every {every} corrections", self, checkable=True)
            action.setObjectName(f"autoFinetune{every}")
            action.setData(every)
            action.toggled.connect(lambda on, n=every: on and self.settings.setValue("finetune/autoEvery", n))
            self.auto_group.addAction(action)
            auto_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.hint_action)
        help_menu.addAction(self.keys_action)
        help_menu.addAction(self._action("&About hwr", "aboutAction", "About this app", self._about))

    def _restore_settings(self) -> None:
        self.resize(read_size(self.settings, "window/size", QSize(760, 560), QSize(320, 240), QSize(8192, 8192)))
        self.pen_width.setValue(read_int(self.settings, "canvas/penWidth", int(self.canvas.pen_width()),
                                         self.pen_width.minimum(), self.pen_width.maximum()))
        every = self.auto_finetune_every()
        for action in self.auto_group.actions():
            action.setChecked(action.data() == every)

    @property
    def _corrections_since_finetune(self) -> int:
        """Corrections since the last fine-tune started, kept in the settings so a restart keeps counting."""
        try:
            return max(0, int(self.settings.value("finetune/correctionsSince", 0)))
        except (TypeError, ValueError):  # a hand-edited settings file: start counting again
            return 0

    @_corrections_since_finetune.setter
    def _corrections_since_finetune(self, count: int) -> None:
        self.settings.setValue("finetune/correctionsSince", count)

    def auto_finetune_every(self) -> int:
        """Return N of "fine-tune after every N corrections", 0 when off (the default)."""
        return read_choice(self.settings, "finetune/autoEvery", 0, AUTO_FINETUNE_CHOICES)

    # -- loading ------------------------------------------------------------------------------

    @Slot(object)
    def _on_loaded(self, loaded: Loaded) -> None:
        from model.samples import SampleStore, SampleStoreError

        self.registry = loaded.registry
        self.recognizer.set_checkpoint(loaded.checkpoint)  # recognition works even without a store
        messages = list(loaded.messages)
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
        self._request_prediction()

    def is_ready(self) -> bool:
        """Return True once the model is loaded and predictions come."""
        return self.checkpoint is not None and self.registry is not None

    # -- live recognition ---------------------------------------------------------------------

    @Slot(bool)
    def _on_strokes_changed(self, finished: bool) -> None:
        if not finished:  # a new stroke: what could be redone is gone, and so is the "Saved as" line
            self.history.forget_redo()
            self._say_saved("")
        self._update_canvas_actions()
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

    # -- correcting ---------------------------------------------------------------------------

    def correct(self, digit: int) -> None:
        """Save the drawing as ``digit`` (with the strokes and what the model said), then clear."""
        if self.store is None:
            self.statusBar().showMessage(self.store_problem or "Still loading; try again in a moment.", 8000)
            return
        if self.canvas.is_empty():
            self.statusBar().showMessage("Draw a digit first, then say which one it is.", 4000)
            return
        if self.numbers.take_key(digit):  # a digit of a number: typed, saved with Enter
            return
        from model.preprocess import NothingDrawnError
        from model.samples import make_sample

        prediction = self.prediction
        try:
            sample = make_sample(digit, self.canvas.strokes(),
                                 predicted=None if prediction is None else prediction.digit,
                                 probabilities=None if prediction is None else prediction.probabilities.tolist(),
                                 model_version="" if self.checkpoint is None else self.checkpoint.info.version)
            self.store.add(sample)
        except NothingDrawnError:
            self.statusBar().showMessage("Draw a digit first, then say which one it is.", 4000)
            return
        except Exception as error:  # sqlite3 or disk errors, a drawing beyond the limits: it stays on the canvas
            from model.samples import describe_database_error

            self._notify("Sample not saved", f"The sample could not be saved: "
                         f"{describe_database_error(error, self.paths.samples_db)} Your drawing is "
                         f"still on the canvas.", QMessageBox.Icon.Warning)
            return
        self._take_off(TakenOff(self.canvas.strokes(), sample))
        self._say_saved(f"Saved as <b>{digit}</b> · <a href='undo'>Undo</a>")
        self._saved(1)

    def _saved(self, count: int) -> None:
        """Count ``count`` new samples toward automatic fine-tuning and start one when it is due."""
        self._corrections_since_finetune += count
        self._update_actions()
        every = self.auto_finetune_every()
        if every and self._corrections_since_finetune >= every and self.finetune_action.isEnabled():
            self.start_finetune()

    # -- one undo history: strokes on the canvas, then the drawings saved or cleared before ----

    def _take_off(self, step: TakenOff) -> None:
        """Clear the canvas, keeping the drawing (and the sample saved from it) for Undo."""
        self.history.push(step)
        self.canvas.clear()
        self._update_canvas_actions()

    def clear_drawing(self) -> None:
        """Clear the canvas; Undo brings the drawing back."""
        if not self.canvas.is_empty():
            self._take_off(TakenOff(self.canvas.strokes()))
            self._say_saved("")

    def undo(self) -> None:
        """Undo the last stroke; with none left, take back the last save (or clear): the drawing returns."""
        if self.canvas.can_undo():
            self.canvas.undo()
            return
        step = self.history.last_done()
        if step is None or not self.canvas.is_empty():
            return
        if step.sample is not None:
            if self.store is None:
                return
            try:
                for sample in (step.sample, *step.more_samples):
                    self.store.delete(sample.id)
            except Exception as error:  # sqlite3 or disk errors: the sample stays, and so does the history
                self._notify("Not undone", f"The sample could not be removed ({error}).", QMessageBox.Icon.Warning)
                return
            self._corrections_since_finetune = max(0, self._corrections_since_finetune - 1 - len(step.more_samples))
        self.history.undo()
        self.canvas.set_strokes(step.strokes)
        self._say_saved("" if step.sample is None else f"Took back the {_what(step)}: your drawing is back.")
        self._update_actions()

    def redo(self) -> None:
        """Redo the last undone stroke; with none left, repeat the save (or clear) that was undone."""
        if self.canvas.can_redo():
            self.canvas.redo()
            return
        step = self.history.last_undone()
        if step is None:
            return
        if step.sample is not None:
            if self.store is None:
                return
            try:
                self.store.add_many([step.sample, *step.more_samples])  # the same samples, ids and times, come back
            except Exception as error:
                self._notify("Not redone", f"The sample could not be saved ({error}).", QMessageBox.Icon.Warning)
                return
            self._corrections_since_finetune += 1 + len(step.more_samples)
        self.history.redo()
        self.canvas.clear()
        self._say_saved("" if step.sample is None else
                        f"Saved as <b>{_what(step)}</b> · <a href='undo'>Undo</a>")
        self._update_actions()

    def _say_saved(self, html: str) -> None:
        self.saved_line.setText(html or " ")

    # -- fine-tuning --------------------------------------------------------------------------

    def start_finetune(self) -> None:
        """Start fine-tuning a copy of the active model on the stored samples, in the background."""
        if self.finetune_worker is not None or self.store is None or self.checkpoint is None:
            return
        readiness = finetune_readiness(self.store.counts_by_label())
        if not readiness.ready:
            self.statusBar().showMessage(readiness.missing, 8000)
            return
        self._corrections_since_finetune = 0  # "after every N corrections" counts from here
        from functools import partial

        from model.samples import read_training_set

        samples = self.store.answers()  # labels only, for the result's wording: no strokes read here
        # The worker reads the samples itself: tens of thousands take seconds, never the GUI thread's.
        self._read_problems = []  # a fresh list per fine-tune: the worker appends to it on its thread
        worker = FinetuneWorker(self.checkpoint, partial(read_training_set, self.paths.samples_db,
                                                         problems=self._read_problems),
                                self.registry, self.mnist, config=self.finetune_config, parent=self)
        worker.progress.connect(self._on_finetune_progress)
        worker.succeeded.connect(self._on_finetune_succeeded)
        worker.failed.connect(self._on_finetune_failed)
        worker.cancelled.connect(lambda: self.statusBar().showMessage("Fine-tuning cancelled.", 4000))
        worker.finished.connect(self._on_finetune_finished)
        self.finetune_worker = worker
        self._finetune_samples = samples
        self.finetune_progress.setRange(0, 0)  # busy until the first step (MNIST may be loading)
        self.finetune_progress.setFormat("Preparing…")
        self.panel.show_progress(True)
        self._update_actions()
        worker.start()

    def cancel_finetune(self) -> None:
        """Stop the running fine-tune; the active model stays."""
        if self.finetune_worker is not None:
            self.finetune_worker.cancel()
            self.cancel_button.setEnabled(False)
            self.finetune_progress.setFormat("Cancelling…")

    @Slot(object)
    def _on_finetune_progress(self, progress) -> None:
        self.finetune_progress.setRange(0, progress.steps)
        self.finetune_progress.setValue(progress.step)
        if progress.phase == "training":
            self.finetune_progress.setFormat(f"Step %v/%m · loss {progress.loss:.3f}")
        else:
            self.finetune_progress.setFormat("Checking the new model…")

    @Slot(object, object)
    def _on_finetune_succeeded(self, result, entry) -> None:
        from hwr_app.models_view import model_name
        from model.finetune import FinetuneConfig
        from model.wording import describe_finetune, finetune_outcome

        self.last_finetune = (result, entry)
        base = result.checkpoint.info.parent_version
        still_on_base = self.checkpoint is not None and self.checkpoint.info.version == base
        if result.accepted and still_on_base:
            worker = self.finetune_worker
            self.activate_version(entry.version, predictor=worker.predictor if worker is not None else None)
        outcome = finetune_outcome(result, self._finetune_samples, activated=result.accepted and still_on_base,
                                   allowed_drop=(self.finetune_config or FinetuneConfig()).max_mnist_drop,
                                   new_name=model_name(self.registry, result.checkpoint.info))
        report = describe_finetune(outcome)
        self._notify(report.title, report.headline,
                     QMessageBox.Icon.Information if result.accepted else QMessageBox.Icon.Warning,
                     name="finetuneResultDialog", details=report.details)

    @Slot(str)
    def _on_finetune_failed(self, message: str) -> None:
        self._notify("Fine-tuning failed", message, QMessageBox.Icon.Warning, name="finetuneResultDialog")

    @Slot()
    def _on_finetune_finished(self) -> None:
        self.finetune_worker.deleteLater()
        self.finetune_worker = None
        self._finetune_samples = []
        self.panel.show_progress(False)
        self._update_actions()
        problems, self._read_problems = self._read_problems, []
        if problems:  # an edited or crafted samples.db: say so once, naming the file and the first row
            more = f" ({len(problems) - 1} more such rows.)" if len(problems) > 1 else ""
            self.statusBar().showMessage(problems[0] + more, 15000)

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
        self.recognizer.set_checkpoint(entry.checkpoint, predictor)

    def show_models(self) -> None:
        if self.registry is None:
            return
        from hwr_app.models_view import ModelsDialog

        dialog = ModelsDialog(self.registry, self)
        dialog.activate_requested.connect(self.activate_version)
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

    def _update_canvas_actions(self) -> None:
        """Enable undo, redo and clear to match the canvas and the history (cheap: runs on every pen move)."""
        empty = self.canvas.is_empty()
        undo_step = self.history.last_done() if empty and not self.canvas.can_undo() else None
        redo_step = self.history.last_undone() if not self.canvas.can_redo() else None
        self.undo_action.setEnabled(self.canvas.can_undo() or undo_step is not None)
        self.redo_action.setEnabled(self.canvas.can_redo() or redo_step is not None)
        self.undo_action.setText(f"&Undo {undo_step.describe()}" if undo_step else "&Undo stroke")
        self.redo_action.setText(f"&Redo {redo_step.describe()}" if redo_step else "&Redo stroke")
        self.clear_action.setEnabled(not empty)

    def _update_actions(self) -> None:
        """Bring every action and the samples line up to date (after loading, saving, fine-tuning)."""
        self._update_canvas_actions()
        ready = self.store is not None
        for action in self.digit_actions:
            action.setEnabled(ready)
        self.samples_action.setEnabled(ready)
        self.models_action.setEnabled(self.registry is not None)
        running = self.finetune_worker is not None
        readiness = finetune_readiness(self.store.counts_by_label() if ready else {})
        self.finetune_action.setEnabled(ready and readiness.ready and not running)
        count = self.store.count() if ready else 0
        if not ready:
            self.samples_label.setText("Samples cannot be saved." if self.store_problem else "Loading…")
        else:
            self.samples_label.setText(f"{plural(count, 'sample')} saved · {readiness.short}")
        self.samples_label.setToolTip(readiness.missing or "Fine-tune teaches hwr your handwriting")
        self.finetune_action.setToolTip("Teach the model your handwriting (Ctrl+T)" if readiness.ready
                                        else readiness.missing)

    def _notify(self, title: str, text: str, icon: QMessageBox.Icon, name: str = "notice", details: str = "") -> None:
        show_message(self, title, text, icon, name, details)

    # -- help ---------------------------------------------------------------------------------

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
        self.clear_drawing()
        self._update_hint()

    def _show_keys(self) -> None:
        self._notify("Keys", KEYS_HELP, QMessageBox.Icon.Information, name="keysDialog")

    def _about(self) -> None:
        self._notify("About hwr", "hwr recognises handwritten digits as you draw them and learns your "
                     "handwriting from your corrections.\n\nYour samples and models are kept in:\n"
                     f"{self.paths.user_dir}", QMessageBox.Icon.Information)

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
        worker = self.finetune_worker
        if worker is not None:  # stop cleanly; the active model is untouched, nothing is kept
            for signal in (worker.progress, worker.succeeded, worker.failed, worker.cancelled, worker.finished):
                signal.disconnect()
            worker.cancel()
            worker.wait()
            self.finetune_worker = None
        self._startup.wait()
        self.recognizer.stop()
        self.settings.setValue("window/size", self.size())
        self.settings.setValue("canvas/penWidth", self.pen_width.value())
        self.settings.sync()
        if self.store is not None:
            self.store.close()
            self.store = None
        super().closeEvent(event)


def _what(step: TakenOff) -> str:
    """Return what a saved drawing was saved as: its digit, or the number of a number's digits."""
    return step.sample.number if step.more_samples else str(step.sample.label)
