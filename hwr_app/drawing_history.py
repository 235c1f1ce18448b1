"""What came off the canvas (a drawing saved as a sample, or cleared), as steps Undo can take back.

The canvas keeps the strokes of the drawing in progress and their undo; this keeps the drawings
before it, so that the window has one undo history: Undo first removes strokes, and once the canvas
has none left to remove, it takes back the last save (the drawing returns, the sample goes) or
clear. Redo walks the same way forward. Drawing a new stroke forgets what could be redone, as in
any editor. Plain Python: hwr_app.corrections applies the steps to the canvas and the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HISTORY_LIMIT = 100  # drawings kept for undo; older ones can no longer be taken back


@dataclass
class TakenOff:
    """A drawing taken off the canvas: its strokes, and the sample saved from it (None: cleared)."""

    strokes: list
    sample: object | None = None  # model.storage.samples.Sample
    more_samples: tuple = ()  # a number's other digits, saved with it (model.storage.samples.Sample each)
    # The strokes the canvas could redo when this step was undone (drawn after it, then undone): given back
    # when the step is redone, so that Redo walks forward through them too.
    redo_after: list = field(default_factory=list)

    def describe(self) -> str:
        """Return what taking this off was, for the Undo and Redo menu entries."""
        if self.sample is None:
            return "clear"
        return f"save as {self.sample.number}" if self.more_samples else f"save as {self.sample.label}"


class DrawingHistory:
    """Undo and redo stacks of drawings taken off the canvas, newest last."""

    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self._limit = limit
        self._done: list[TakenOff] = []
        self._undone: list[TakenOff] = []

    def push(self, step: TakenOff) -> None:
        """Record a drawing just taken off the canvas; what could be redone is forgotten."""
        self._done.append(step)
        del self._done[:-self._limit]
        self._undone.clear()

    def last_done(self) -> TakenOff | None:
        """Return the step Undo would take back, or None."""
        return self._done[-1] if self._done else None

    def last_undone(self) -> TakenOff | None:
        """Return the step Redo would repeat, or None."""
        return self._undone[-1] if self._undone else None

    def undo(self) -> TakenOff:
        """Move the last step to the redo stack and return it (call only if last_done() is not None)."""
        step = self._done.pop()
        self._undone.append(step)
        return step

    def redo(self) -> TakenOff:
        """Move the last undone step back and return it (call only if last_undone() is not None)."""
        step = self._undone.pop()
        self._done.append(step)
        return step

    def forget_redo(self) -> None:
        """Forget the undone steps (a new stroke was drawn)."""
        self._undone.clear()
