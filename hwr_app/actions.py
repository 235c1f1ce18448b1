"""The window's actions and menus, and the small Help notices (Keys, About).

Owns every QAction of the main window — their text, object names, tooltips and keys — the menu bar
that lists them, and the "Fine-tune automatically" choice (written to settings.ini as it is picked).
The actions are added to the window so their keys work wherever the focus is; what each one does
is connected by the window, and whether it is enabled is set by the part that owns that state.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from hwr_app.finetune_flow import AUTO_EVERY_KEY, AUTO_FINETUNE_CHOICES, auto_finetune_every
from hwr_app.widgets import show_message

KEYS = (("<b>0</b> … <b>9</b>", "save the drawing as that digit"),
        ("digits, then <b>Enter</b>", "save a number of several digits"),
        ("<b>Backspace</b>", "take back the last digit typed"),
        ("<b>Enter</b> on a button", "press it"),
        ("<b>Ctrl+Z</b>", "undo a stroke, a save or a clear"),
        ("<b>Ctrl+Shift+Z</b>, <b>Ctrl+Y</b>", "redo"),
        ("<b>Esc</b>, <b>Delete</b>", "clear the canvas"),
        ("<b>Ctrl+T</b>", "fine-tune on your samples"),
        ("<b>Ctrl+B</b>", "your samples"),
        ("<b>Ctrl+M</b>", "model versions"))
# Each cell on one line (the box is wide enough for the longest row): a key never wraps away from what it does.
KEYS_HELP = ("<table cellspacing=4>"
             + "".join(f"<tr><td style='white-space:nowrap'>{keys}</td><td style='white-space:nowrap'>{does}</td></tr>"
                       for keys, does in KEYS)
             + "</table>")


class WindowActions:
    """The main window's actions, built and put in its menus; the window connects them to what they do."""

    def __init__(self, window: QMainWindow, settings: QSettings) -> None:
        self._window = window
        self.undo = self._action("&Undo", "undoAction", "Undo the last stroke, save or clear (Ctrl+Z)",
                                 [QKeySequence.StandardKey.Undo])
        self.redo = self._action("&Redo", "redoAction", "Redo (Ctrl+Shift+Z or Ctrl+Y)", ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.clear = self._action("&Clear", "clearAction",
                                  "Clear the canvas (Esc or Delete); Ctrl+Z brings the drawing back", ["Esc", "Delete"])
        self.finetune = self._action("&Fine-tune on my samples", "finetuneAction",
                                     "Teach the model your handwriting (Ctrl+T)", ["Ctrl+T"])
        self.finetune_why = QShortcut(QKeySequence("Ctrl+T"), window)
        self.finetune_why.setObjectName("finetuneWhyShortcut")
        self.samples = self._action("&Samples…", "samplesAction", "Browse, relabel and delete your samples",
                                    ["Ctrl+B"])
        self.models = self._action("&Model versions…", "modelsAction", "Switch, roll back or reset the model",
                                   ["Ctrl+M"])
        self.quit = self._action("&Quit", "quitAction", "Close hwr", [QKeySequence.StandardKey.Quit])
        self.digits = [self._action(f"Save as {digit}", f"labelAction{digit}",
                                    f"Save the drawing as a {digit} (key {digit}); Ctrl+Z takes it back", [str(digit)])
                       for digit in range(10)]
        self.save_number = self._action("Save the &number", "saveNumberAction",
                                        "Save the number as shown or as typed (Enter)", ["Return", "Enter"])
        self.backspace = self._action("Take back a typed digit", "backspaceAction",
                                      "Take back the last typed digit (Backspace)", ["Backspace"])
        self.keys = self._action("&Keys", "keysAction", "List the keyboard keys")
        self.getting_started = self._action("&Getting started", "gettingStartedAction",
                                            "Show the three steps to start with")
        self.auto_group = QActionGroup(window)
        for every in AUTO_FINETUNE_CHOICES:
            action = QAction("Off" if every == 0 else f"After every {every} corrections", window, checkable=True)
            action.setObjectName(f"autoFinetune{every}")
            action.setData(every)
            action.toggled.connect(lambda on, n=every: on and settings.setValue(AUTO_EVERY_KEY, n))
            self.auto_group.addAction(action)
        self.about = self._action("&About hwr", "aboutAction", "About this app")
        self._build_menus()
        chosen = auto_finetune_every(settings)
        for action in self.auto_group.actions():
            action.setChecked(action.data() == chosen)

    def follow(self, ready: bool, registry: bool, readiness, running: bool, why_not: str = "") -> None:
        """Enable what needs the store (``ready``), the registry, or a fine-tune that may start
        (``readiness``: model.personal.readiness.Readiness of the stored samples; ``running``: one runs;
        ``why_not``: another reason it may not start, such as nothing new since a refused one)."""
        for action in self.digits:
            action.setEnabled(ready)
        self.samples.setEnabled(ready)
        self.models.setEnabled(registry)
        self.finetune.setEnabled(ready and readiness.ready and not running and not why_not)
        self.finetune.setToolTip("Teach the model your handwriting (Ctrl+T)" if readiness.ready and not why_not
                                 else (readiness.missing or why_not))
        # Ctrl+T on a disabled Fine-tune says why instead of doing nothing.
        self.finetune_why.setEnabled(not self.finetune.isEnabled())

    def _action(self, text: str, name: str, tip: str, shortcuts=()) -> QAction:
        action = QAction(text, self._window)
        action.setObjectName(name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        self._window.addAction(action)  # shortcuts work wherever the focus is
        return action

    def _build_menus(self) -> None:
        bar = self._window.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.samples)
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.undo, self.redo, self.clear])
        edit_menu.addSeparator()
        save_menu = edit_menu.addMenu("&Save as")  # lists the digit keys beside the digits
        save_menu.setObjectName("saveAsMenu")
        save_menu.addActions(self.digits)
        model_menu = bar.addMenu("&Model")
        model_menu.addAction(self.finetune)
        model_menu.addAction(self.models)
        auto_menu = model_menu.addMenu("Fine-tune &automatically")
        auto_menu.addActions(self.auto_group.actions())
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.getting_started)
        help_menu.addAction(self.keys)
        help_menu.addAction(self.about)


def show_keys(parent: QWidget) -> None:
    """Show the list of keyboard keys."""
    show_message(parent, "Keys", KEYS_HELP, QMessageBox.Icon.Information, "keysDialog")


def show_about(parent: QWidget, user_dir) -> None:
    """Say what hwr is and where it keeps the user's samples and models (``user_dir``)."""
    show_message(parent, "About hwr", "hwr recognises handwritten digits as you draw them and learns your "
                 "handwriting from your corrections.\n\nYour samples and models are kept in:\n"
                 f"{user_dir}", QMessageBox.Icon.Information)
