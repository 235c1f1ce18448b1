"""Corrections and the one undo history: saving the drawing as a sample, clearing, Undo and Redo.

Owns the :class:`~hwr_app.drawing_history.DrawingHistory` of drawings saved or cleared, the "Saved as 3 ·
Undo" line, and the enabled state and wording of the Undo, Redo and Clear actions. Undo first removes
strokes from the canvas; once it has none, it takes back the last save (the drawing returns, the sample
goes, its label kept for Enter) or clear, and Redo walks the same way forward. Each sample saved or taken back is counted toward
automatic fine-tuning on the :class:`~hwr_app.finetune_flow.FinetuneFlow`. The store, the latest
prediction and the checkpoint come from the :class:`~hwr_app.session.Session`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QMessageBox

from hwr_app.canvas import Canvas
from hwr_app.drawing_history import DrawingHistory, TakenOff
from hwr_app.finetune_flow import FinetuneFlow
from hwr_app.session import Session
from hwr_app.widgets import show_message


class Corrections(QObject):
    """Saves drawings as samples and keeps what came off the canvas for Undo."""

    changed = Signal()  # samples were saved or taken back: the window's actions and samples line follow
    message = Signal(str, int)  # a status-bar line and how long it shows (ms)

    def __init__(self, session: Session, canvas: Canvas, numbers, flow: FinetuneFlow, actions,
                 saved_line: QLabel, parent: QObject) -> None:
        """``numbers`` is the NumberController (it takes the digit keys of a number), ``actions`` the
        WindowActions (Undo, Redo and Clear follow the history); ``parent`` is the window, which also
        carries the notices."""
        super().__init__(parent)
        self.session = session
        self.canvas = canvas
        self.history = DrawingHistory()  # drawings saved or cleared, for Undo once the canvas has no strokes
        self._numbers = numbers
        self._flow = flow
        self._actions = actions
        self._saved_line = saved_line

    # -- correcting ---------------------------------------------------------------------------

    def correct(self, digit: int) -> None:
        """Save the drawing as ``digit`` (with the strokes and what the model said), then clear."""
        session = self.session
        if session.store is None:
            self.message.emit(session.store_problem or "Still loading; try again in a moment.", 8000)
            return
        if self.canvas.is_empty():
            self.message.emit("Draw a digit first, then say which one it is.", 4000)
            return
        if self._numbers.take_key(digit):  # a digit of a number: typed, saved with Enter
            return
        from model.recognition.preprocess import NothingDrawnError
        from model.storage.samples import make_sample

        prediction, checkpoint = session.prediction, session.checkpoint
        try:
            sample = make_sample(digit, self.canvas.strokes(),
                                 predicted=None if prediction is None else prediction.digit,
                                 probabilities=None if prediction is None else prediction.probabilities.tolist(),
                                 model_version="" if checkpoint is None else checkpoint.info.version)
            session.store.add(sample)
        except NothingDrawnError:
            self.message.emit("Draw a digit first, then say which one it is.", 4000)
            return
        except Exception as error:  # sqlite3 or disk errors, a drawing beyond the limits: it stays on the canvas
            from model.storage.samples import describe_database_error

            self._notify("Sample not saved", f"The sample could not be saved: "
                         f"{describe_database_error(error, session.paths.samples_db)} Your drawing is "
                         f"still on the canvas.", QMessageBox.Icon.Warning)
            return
        self.saved(TakenOff(self.canvas.strokes(), sample))

    def saved(self, step: TakenOff) -> None:
        """Take a drawing just stored as ``step``'s samples off the canvas (Undo takes it back), say so,
        and count its samples toward automatic fine-tuning, starting one when it is due."""
        self._take_off(step)
        self._say_saved(f"Saved as <b>{_what(step)}</b> · <a href='undo'>Undo</a>")
        self._flow.count(1 + len(step.more_samples))
        self.changed.emit()
        self._flow.start_if_due()

    # -- one undo history: strokes on the canvas, then the drawings saved or cleared before ----

    def _take_off(self, step: TakenOff) -> None:
        """Clear the canvas, keeping the drawing (and the sample saved from it) for Undo."""
        self.history.push(step)
        self.canvas.clear()
        self.update_actions()

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
        def remove(store, samples) -> None:
            for sample in samples:
                store.delete(sample.id)

        if not self._change_store(step, remove, -1, "Not undone", "The sample could not be removed"):
            return
        self.history.undo()
        step.redo_after = self.canvas.redo_strokes()  # strokes drawn after it and undone: Redo comes back to them
        self.canvas.set_strokes(step.strokes)
        if step.sample is not None:  # the label the user gave comes back with the drawing: Enter saves it again
            self._numbers.restore(_what(step))
        self._say_saved("" if step.sample is None else f"Took back the {_what(step)}: your drawing is back.")
        self.changed.emit()

    def redo(self) -> None:
        """Redo the last undone stroke; with none left, repeat the save (or clear) that was undone."""
        if self.canvas.can_redo():
            self.canvas.redo()
            return
        step = self.history.last_undone()
        if step is None:
            return
        if not self._change_store(step, lambda store, samples: store.add_many(samples),  # same ids and times
                                  1, "Not redone", "The sample could not be saved"):
            return
        self.history.redo()
        self.canvas.clear()
        self.canvas.set_redo_strokes(step.redo_after)
        self._say_saved("" if step.sample is None else
                        f"Saved as <b>{_what(step)}</b> · <a href='undo'>Undo</a>")
        self.changed.emit()

    def _change_store(self, step, change, sign: int, title: str, failure: str) -> bool:
        """Apply ``change(store, samples)`` to the samples a step saved (none: nothing to do) and count them
        (``sign`` +1 or −1) towards the automatic fine-tune; return False, after saying why, if it failed."""
        if step.sample is None:
            return True
        store = self.session.store
        if store is None:
            return False
        samples = [step.sample, *step.more_samples]
        try:
            change(store, samples)
        except Exception as error:  # sqlite3 or disk errors: the samples stay as they were, and so does the history
            self._notify(title, f"{failure} ({error}).", QMessageBox.Icon.Warning)
            return False
        self._flow.count(sign * len(samples))
        return True

    def strokes_changed(self, finished: bool) -> None:
        """Follow the canvas: a new stroke forgets what could be redone, and the "Saved as" line."""
        if not finished:
            self.history.forget_redo()
            self._say_saved("")
        self.update_actions()

    def update_actions(self) -> None:
        """Enable undo, redo and clear to match the canvas and the history (cheap: runs on every pen move)."""
        canvas, actions = self.canvas, self._actions
        empty = canvas.is_empty()
        undo_step = self.history.last_done() if empty and not canvas.can_undo() else None
        redo_step = self.history.last_undone() if not canvas.can_redo() else None
        actions.undo.setEnabled(canvas.can_undo() or undo_step is not None)
        actions.redo.setEnabled(canvas.can_redo() or redo_step is not None)
        actions.undo.setText(f"&Undo {undo_step.describe()}" if undo_step else "&Undo stroke")
        actions.redo.setText(f"&Redo {redo_step.describe()}" if redo_step else "&Redo stroke")
        actions.clear.setEnabled(not empty)

    def _say_saved(self, html: str) -> None:
        self._saved_line.setText(html or " ")
        if html:  # a save or its undo: a status line about what came before ("Not saved: …") no longer holds
            self.message.emit("", 0)

    def _notify(self, title: str, text: str, icon: QMessageBox.Icon) -> None:
        show_message(self.parent(), title, text, icon)


def _what(step: TakenOff) -> str:
    """Return what a saved drawing was saved as: its digit, or the number of a number's digits."""
    return step.sample.number if step.more_samples else str(step.sample.label)
