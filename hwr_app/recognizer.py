"""Live recognition off the GUI thread, newest request wins.

The window calls :meth:`Recognizer.request` as often as it likes; each call gets a sequence number
and is queued to a worker thread, which skips every request that a newer one has overtaken. So
inference never blocks painting, and a burst of mouse moves costs one prediction, not fifty.

Each answer is a :class:`model.recognition.numbers.NumberReading`: one digit or several, the digits segmented
by recognition; a request may ask for a given digit count (a correction that names the number).

A request that comes before the model is answered as soon as the model is set. Models read digits
with numpy (model.storage.versions.VersionEntry.build): recognition never imports torch.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, Slot


class _Worker(QObject):
    """Lives on the recognition thread; only its slots touch the predictor."""

    # None never travels through a signal: PySide6 on Python 3.11 miscounts its references.
    predicted = Signal(int, object)  # (request number, model.recognition.numbers.NumberReading)
    nothing_drawn = Signal(int)  # request number
    model_changed = Signal(object)  # model.storage.versions.VersionEntry now in use
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._predictor = None
        self._reader = None  # model.recognition.numbers.NumberReader over the predictor's network
        self.latest = 0  # written by the GUI thread, read here: the newest request's number
        self._pending: tuple[int, list, object] | None = None

    @Slot(object)
    def set_checkpoint(self, request) -> None:
        """``request``: a VersionEntry (or anything a Predictor takes), or a (model, Predictor built from it) pair."""
        from model.recognition.numbers import NumberReader
        from model.recognition.predict import Predictor

        checkpoint, predictor = request if isinstance(request, tuple) else (request, None)
        try:
            predictor = predictor if predictor is not None else Predictor(checkpoint)
        except Exception as error:  # noqa: BLE001 — reported; the model in use keeps reading
            self.failed.emit(f"Model {checkpoint.info.version} could not be used ({error}); "
                             f"{'the model before it keeps reading your digits' if self._predictor else 'nothing is read'}.")
            return
        self._predictor = predictor
        self._reader = NumberReader(self._predictor.network)
        self.model_changed.emit(checkpoint)
        self._answer_pending()

    def _answer_pending(self) -> None:
        if self._pending is not None:  # a request that came before the model: answer it now
            number, strokes, expected_count = self._pending
            self._pending = None
            self.predict(number, (strokes, expected_count))

    @Slot(int, object)
    def predict(self, number: int, request: tuple) -> None:
        if number != self.latest:
            return  # overtaken by a newer request
        strokes, expected_count = request
        if self._reader is None:
            self._pending = (number, strokes, expected_count)
            return
        from model.recognition.numbers import SegmentationError
        from model.recognition.preprocess import NothingDrawnError

        try:
            prediction = self._reader.read(strokes, expected_count)
        except NothingDrawnError:
            self.nothing_drawn.emit(number)
            return
        except SegmentationError as error:
            self.failed.emit(str(error))
            return
        except Exception as error:  # shown to the user, never swallowed
            self.failed.emit(f"Recognition failed: {error}")
            return
        self.predicted.emit(number, prediction)


class Recognizer(QObject):
    """Owns the recognition thread; emits the prediction for the newest strokes only."""

    prediction_ready = Signal(object)  # model.recognition.numbers.NumberReading
    cleared = Signal()  # nothing is drawn: no prediction
    model_changed = Signal(object)  # model.storage.versions.VersionEntry
    failed = Signal(str)
    _request = Signal(int, object)
    _checkpoint = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread(self)
        self._thread.setObjectName("recognition")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._request.connect(self._worker.predict)
        self._checkpoint.connect(self._worker.set_checkpoint)
        self._worker.predicted.connect(self._on_predicted)
        self._worker.nothing_drawn.connect(self._on_nothing_drawn)
        self._worker.model_changed.connect(self.model_changed)
        self._worker.failed.connect(self.failed)
        self._number = 0
        self._answered = 0  # the newest request answered (a reading, or nothing drawn)
        self._thread.start()

    def set_checkpoint(self, checkpoint, predictor=None) -> None:
        """Use this model (a VersionEntry) for every later request (swapped on the recognition thread).

        ``predictor``, a model.recognition.predict.Predictor built from this very model on another thread
        (the fine-tune worker makes one), is used as it is: building the network here would compete
        with the window just as it shows the fine-tune's result (BENCHMARKS.md, "Where the result's
        stall came from").
        """
        if predictor is not None and predictor.version == checkpoint.info.version:
            self._checkpoint.emit((checkpoint, predictor))
        else:
            self._checkpoint.emit(checkpoint)

    def request(self, strokes: list, expected_count: int | None = None) -> None:
        """Ask for the reading of these strokes (as ``expected_count`` digits, if given); older
        unanswered requests are dropped."""
        self._number += 1
        self._worker.latest = self._number
        if not strokes:
            self._answered = self._number
            self.cleared.emit()
            return
        self._request.emit(self._number, (strokes, expected_count))

    def is_idle(self) -> bool:
        """Return True when the newest request has been answered (its reading is the one shown)."""
        return self._answered == self._number

    @Slot(int, object)
    def _on_predicted(self, number: int, prediction) -> None:
        if number == self._number:  # an answer for strokes that have changed since is stale
            self._answered = number
            self.prediction_ready.emit(prediction)

    @Slot(int)
    def _on_nothing_drawn(self, number: int) -> None:
        if number == self._number:
            self._answered = number
            self.cleared.emit()

    def stop(self) -> None:
        """Stop the thread; call once, at shutdown."""
        self._thread.quit()
        self._thread.wait()
