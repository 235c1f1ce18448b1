"""The main window: it owns the actions and wires canvas, recognizer, store and fine-tuning together."""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QSlider, QVBoxLayout, QWidget)

from hwr_app.canvas import Canvas
from hwr_app.finetune_worker import FinetuneWorker, MnistCache
from hwr_app.number_overlay import NumberController
from hwr_app.prediction_view import PredictionView
from hwr_app.recognizer import Recognizer
from hwr_app.startup import AppPaths, Loaded, StartupLoader
from hwr_app.widgets import show_message
from model.constants import MIN_SAMPLES

LIVE_INTERVAL_MS = 40  # while the pen moves, at most one prediction request per interval
AUTO_FINETUNE_CHOICES = (0, 10, 20, 50)  # "fine-tune after every N corrections"; 0 = off


class MainWindow(QMainWindow):
    """Draw, read the prediction, correct it, fine-tune, manage samples and model versions."""

    def __init__(self, paths: AppPaths, icon: QIcon | None = None, download_mnist: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("hwr — handwritten digits")
        if icon is not None:
            self.setWindowIcon(icon)
        self.paths = paths
        self.settings = QSettings(str(paths.user_dir / "settings.ini"), QSettings.Format.IniFormat)
        self.registry = None  # model.versions.ModelRegistry, once loaded
        self.store = None  # model.samples.SampleStore, once loaded
        self.store_problem = ""  # why the store could not be opened, if it could not
        self.checkpoint = None  # the checkpoint the recognizer uses
        self.prediction = None  # the latest prediction shown
        self.finetune_worker: FinetuneWorker | None = None
        self.last_finetune = None  # (FinetuneResult, VersionEntry) of the latest finished fine-tune
        self.mnist = MnistCache(paths.mnist_dir, download=download_mnist)
        self.finetune_config = None  # model.finetune.FinetuneConfig; None = its defaults
        self._corrections_since_finetune = 0

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
        self._restore_settings()
        self._update_actions()

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
        self.undo_action = self._action("&Undo stroke", "undoAction", "Remove the last stroke (Ctrl+Z)",
                                        self.canvas.undo, [QKeySequence.StandardKey.Undo])
        self.redo_action = self._action("&Redo stroke", "redoAction", "Put the stroke back (Ctrl+Shift+Z or Ctrl+Y)",
                                        self.canvas.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.clear_action = self._action("&Clear", "clearAction", "Clear the canvas (Esc or Delete)",
                                         self.canvas.clear, ["Esc", "Delete"])
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
            action = self._action(f"It is {digit}", f"labelAction{digit}", f"Save the drawing as {digit} ({digit})",
                                  lambda checked=False, d=digit: self.correct(d), [str(digit)])
            self.digit_actions.append(action)
        self.save_number_action = self._action("Save the &number", "saveNumberAction",
                                               "Save the number as shown or as typed (Enter)",
                                               lambda: self.numbers.commit(), ["Return", "Enter"])
        self.backspace_action = self._action("Take back a typed digit", "backspaceAction",
                                             "Take back the last typed digit (Backspace)",
                                             lambda: self.numbers.backspace(), ["Backspace"])

    def _build_layout(self) -> None:
        self.clear_button = self._tool_button("Clear", "clearButton", self.clear_action)
        self.undo_button = self._tool_button("Undo", "undoButton", self.undo_action)
        self.redo_button = self._tool_button("Redo", "redoButton", self.redo_action)
        self.pen_width = QSlider(Qt.Orientation.Horizontal)
        self.pen_width.setObjectName("penWidth")
        self.pen_width.setAccessibleName("Pen width")
        self.pen_width.setToolTip("Width of the pen on screen (the model's view does not depend on it)")
        self.pen_width.setRange(4, 48)
        self.pen_width.setValue(int(self.canvas.pen_width()))
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

        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(tools)

        correct_box = QGroupBox("Wrong? It is…")
        correct_box.setToolTip("Tell the model which digit you drew (keys 0–9); the sample is kept")
        grid = QGridLayout(correct_box)
        grid.setSpacing(4)
        self.label_buttons = []
        for digit in range(10):
            button = self._tool_button(str(digit), f"labelButton{digit}", self.digit_actions[digit])
            button.setMinimumWidth(36)
            grid.addWidget(button, digit // 5, digit % 5)
            self.label_buttons.append(button)

        tune_box = QGroupBox("Your handwriting")
        tune_layout = QVBoxLayout(tune_box)
        self.samples_label = QLabel("No samples yet")
        self.samples_label.setObjectName("samplesLabel")
        self.samples_label.setWordWrap(True)
        self.finetune_button = self._tool_button("Fine-tune", "finetuneButton", self.finetune_action)
        self.finetune_progress = QProgressBar()
        self.finetune_progress.setObjectName("finetuneProgress")
        self.finetune_progress.setAccessibleName("Fine-tune progress")
        self.finetune_progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelFinetuneButton")
        self.cancel_button.setToolTip("Stop fine-tuning; the current model stays in use")
        self.cancel_button.setAccessibleName("Cancel fine-tune")
        self.cancel_button.clicked.connect(self.cancel_finetune)
        self.cancel_button.setVisible(False)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.finetune_progress, 1)
        progress_row.addWidget(self.cancel_button)
        samples_button = self._tool_button("Samples…", "samplesButton", self.samples_action)
        models_button = self._tool_button("Versions…", "modelsButton", self.models_action)
        browse_row = QHBoxLayout()
        browse_row.addWidget(samples_button)
        browse_row.addWidget(models_button)
        tune_layout.addWidget(self.samples_label)
        tune_layout.addWidget(self.finetune_button)
        tune_layout.addLayout(progress_row)
        tune_layout.addLayout(browse_row)

        right = QVBoxLayout()
        right.addWidget(self.prediction_view, 1)
        right.addWidget(correct_box)
        right.addWidget(tune_box)
        right_panel = QWidget()
        right_panel.setLayout(right)
        right_panel.setMinimumWidth(260)
        right_panel.setMaximumWidth(340)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addLayout(left, 1)
        layout.addWidget(right_panel)
        self.setCentralWidget(central)
        self.canvas.setFocus()

    def _tool_button(self, text: str, name: str, action: QAction) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(action.toolTip())
        button.setAccessibleName(action.text().replace("&", "").rstrip("…"))
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        button.clicked.connect(action.trigger)
        action.enabledChanged.connect(button.setEnabled)
        button.setEnabled(action.isEnabled())
        return button

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.samples_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addActions([self.undo_action, self.redo_action, self.clear_action])
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
        help_menu.addAction(self._action("&About hwr", "aboutAction", "About this app", self._about))

    def _restore_settings(self) -> None:
        self.resize(self.settings.value("window/size", QSize(760, 560)))
        self.pen_width.setValue(int(self.settings.value("canvas/penWidth", int(self.canvas.pen_width()))))
        every = int(self.settings.value("finetune/autoEvery", 0))
        for action in self.auto_group.actions():
            action.setChecked(action.data() == every)

    def auto_finetune_every(self) -> int:
        """Return N of "fine-tune after every N corrections", 0 when off (the default)."""
        return int(self.settings.value("finetune/autoEvery", 0))

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
        self._notify("No model", message + "\nReinstall hwr to restore the shipped model.", QMessageBox.Icon.Critical)

    @Slot(object)
    def _on_model_changed(self, checkpoint) -> None:
        self.checkpoint = checkpoint
        info = checkpoint.info
        accuracy = "" if info.mnist_test_accuracy is None else f" · MNIST {info.mnist_test_accuracy:.2%}"
        shipped = self.registry is not None and info.version == self.registry.shipped().checkpoint.info.version
        self.model_label.setText(f"Model {info.version}{' (shipped)' if shipped else ''}{accuracy}")
        self._request_prediction()

    def is_ready(self) -> bool:
        """Return True once the model is loaded and predictions come."""
        return self.checkpoint is not None and self.registry is not None

    # -- live recognition ---------------------------------------------------------------------

    @Slot(bool)
    def _on_strokes_changed(self, finished: bool) -> None:
        self._update_canvas_actions()
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
        except Exception as error:  # sqlite3 or disk errors: the drawing stays on the canvas
            self._notify("Sample not saved", f"The sample could not be saved ({error}). Your drawing is "
                         f"still on the canvas.", QMessageBox.Icon.Warning)
            return
        verdict = "confirmed" if prediction is not None and prediction.digit == digit else "corrected"
        self.statusBar().showMessage(f"Saved as {digit} ({verdict}).", 3000)
        self.canvas.clear()
        self._saved(1)

    def _saved(self, count: int) -> None:
        """Count ``count`` new samples toward automatic fine-tuning and start one when it is due."""
        self._corrections_since_finetune += count
        self._update_actions()
        every = self.auto_finetune_every()
        if every and self._corrections_since_finetune >= every and self.finetune_action.isEnabled():
            self.start_finetune()

    # -- fine-tuning --------------------------------------------------------------------------

    def start_finetune(self) -> None:
        """Start fine-tuning a copy of the active model on the stored samples, in the background."""
        if self.finetune_worker is not None or self.store is None or self.checkpoint is None:
            return
        samples = self.store.samples()
        if len(samples) < MIN_SAMPLES:
            self.statusBar().showMessage(f"Fine-tuning needs at least {MIN_SAMPLES} samples.", 4000)
            return
        self._corrections_since_finetune = 0
        worker = FinetuneWorker(self.checkpoint, samples, self.registry, self.mnist,
                                config=self.finetune_config, parent=self)
        worker.progress.connect(self._on_finetune_progress)
        worker.succeeded.connect(self._on_finetune_succeeded)
        worker.failed.connect(self._on_finetune_failed)
        worker.cancelled.connect(lambda: self.statusBar().showMessage("Fine-tuning cancelled.", 4000))
        worker.finished.connect(self._on_finetune_finished)
        self.finetune_worker = worker
        self.finetune_progress.setRange(0, 0)  # busy until the first step (MNIST may be loading)
        self.finetune_progress.setFormat("Preparing…")
        self.finetune_progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
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
        self.last_finetune = (result, entry)
        base = result.checkpoint.info.parent_version
        still_on_base = self.checkpoint is not None and self.checkpoint.info.version == base
        if result.accepted and still_on_base:
            self.activate_version(entry.version)
            title = "Fine-tune accepted"
        elif result.accepted:  # the user chose another model meanwhile: their choice stands
            title = "Fine-tune accepted, not activated"
        else:
            title = "Fine-tune kept aside"
        if result.accepted and not still_on_base:
            ending = " was saved; you switched models meanwhile, so activate it in Model versions if you want it."
        elif result.accepted:
            ending = " is now active."
        else:
            ending = " is listed as rejected in Model versions."
        before, after = result.before, result.after
        text = (f"{result.reason}\n\n"
                f"Held-out samples ({result.holdout_count}): {before.user_accuracy:.0%} → {after.user_accuracy:.0%}\n"
                f"MNIST check ({result.checkpoint.info.notes['gate_size']:,} digits): {before.mnist_accuracy:.2%} → "
                f"{after.mnist_accuracy:.2%}\n"
                f"Trained on {result.train_count} samples. Version {entry.version}{ending}")
        self._notify(title, text, QMessageBox.Icon.Information if result.accepted else QMessageBox.Icon.Warning,
                     name="finetuneResultDialog")

    @Slot(str)
    def _on_finetune_failed(self, message: str) -> None:
        self._notify("Fine-tuning failed", message, QMessageBox.Icon.Warning, name="finetuneResultDialog")

    @Slot()
    def _on_finetune_finished(self) -> None:
        self.finetune_worker.deleteLater()
        self.finetune_worker = None
        self.finetune_progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._update_actions()

    # -- versions and samples -----------------------------------------------------------------

    def activate_version(self, version: str) -> None:
        """Make ``version`` the active model (persisted) and use it for predictions."""
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
        self.recognizer.set_checkpoint(entry.checkpoint)

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
        """Enable undo, redo and clear to match the canvas (cheap: runs on every pen move)."""
        self.undo_action.setEnabled(self.canvas.can_undo())
        self.redo_action.setEnabled(self.canvas.can_redo())
        self.clear_action.setEnabled(not self.canvas.is_empty())

    def _update_actions(self) -> None:
        """Bring every action and the samples line up to date (after loading, saving, fine-tuning)."""
        self._update_canvas_actions()
        ready = self.store is not None
        for action in self.digit_actions:
            action.setEnabled(ready)
        self.samples_action.setEnabled(ready)
        self.models_action.setEnabled(self.registry is not None)
        count = self.store.count() if ready else 0
        running = self.finetune_worker is not None
        self.finetune_action.setEnabled(ready and count >= MIN_SAMPLES and not running)
        if not ready:
            self.samples_label.setText("Samples cannot be saved." if self.store_problem else "Loading…")
        elif count < MIN_SAMPLES:
            self.samples_label.setText(f"{count} samples saved. Fine-tuning needs {MIN_SAMPLES}: correct "
                                       f"{MIN_SAMPLES - count} more.")
        else:
            self.samples_label.setText(f"{count} samples saved.")
        self.finetune_action.setToolTip(
            "Teach the model your handwriting (Ctrl+T)" if count >= MIN_SAMPLES
            else f"Needs at least {MIN_SAMPLES} samples; you have {count}")
        self.finetune_button.setToolTip(self.finetune_action.toolTip())

    def _notify(self, title: str, text: str, icon: QMessageBox.Icon, name: str = "notice") -> None:
        show_message(self, title, text, icon, name)

    def _about(self) -> None:
        self._notify("About hwr", "hwr recognises handwritten digits as you draw them and learns your "
                     "handwriting from your corrections.\n\nYour samples and models are kept in:\n"
                     f"{self.paths.user_dir}", QMessageBox.Icon.Information)

    def closeEvent(self, event: QCloseEvent) -> None:
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
