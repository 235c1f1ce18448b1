"""The window's view of a number: digit outlines on the canvas, the whole number, typed corrections.

A thin view over :class:`model.recognition.numbers.NumberReading`: the recognizer hands a reading over, this
module draws each digit's box with its confidence on the canvas (an unsure digit in a warning
colour, with a question mark), puts the whole number in the big label, and shows the bars and the
model's eye for one digit — the one under the pointer, else the selected one, else the last one
written. It also turns keys into corrections of a number:

* digit keys type the number, Enter saves it (Backspace takes a digit back);
* click a digit's tag, press its key: that digit is changed; Enter saves the number as shown;
* Enter alone confirms the number as read, only when every digit is read surely: an unsure digit
  is never saved without the user choosing it (Enter then says which digit to type).

Each digit is stored with its own strokes, in the same sample store as single digits. A typed
number with more or fewer digits than were found is never saved on the first Enter: the recognizer
splits the drawing into exactly that many digits, the new split is outlined on the canvas with the
typed digits on its tags, and a second Enter saves it (or the line says why it cannot be split so).
Undo of a saved drawing brings its label back with it (:meth:`NumberController.restore`): Enter
saves it again as the user said, and a digit key starts over.

A drawing that is plainly one digit (one reading digit, its strokes all overlapping horizontally)
is left to the window's own path: its key saves it at once, as it always has.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen
from PySide6.QtWidgets import QMessageBox, QWidget

from hwr_app.prediction_view import CONFIDENCE_THRESHOLD
from hwr_app.wording import ordinal, split_question, typing_hint, unsure_refusal

TAG_HEIGHT = 18  # height of the "digit · confidence" tag above each box, in pixels
UNSURE_COLOUR = QColor(214, 110, 0)  # orange: readable on light and dark canvases


class DigitOutlines(QWidget):
    """Draws the digits' boxes and tags over the canvas; transparent to the pointer."""

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(canvas)
        self.setObjectName("digitOutlines")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setGeometry(canvas.rect())
        self.boxes: list[QRectF] = []  # each digit's outline, canvas pixels
        self.tags: list[QRectF] = []  # each digit's clickable tag
        self.texts: list[str] = []
        self.unsure: list[bool] = []
        self.focused = -1
        self.selected = -1

    def set_digits(self, boxes: list[QRectF], texts: list[str], unsure: list[bool], focused: int,
                   selected: int) -> None:
        self.boxes, self.texts, self.unsure = boxes, texts, unsure
        self.focused, self.selected = focused, selected
        metrics = QFontMetricsF(self._tag_font())
        self.tags = []
        for box, text in zip(boxes, texts):
            width = metrics.horizontalAdvance(text) + 10
            above = QRectF(box.left(), box.top() - TAG_HEIGHT - 2, width, TAG_HEIGHT)
            below = QRectF(box.left(), box.bottom() + 2, width, TAG_HEIGHT)
            # Above the box, unless that leaves the canvas or hides a neighbour's tag (boxes overlap).
            clash = above.top() < 0 or any(above.intersects(tag) for tag in self.tags)
            self.tags.append(below if clash else above)
        self.update()

    def digit_at(self, point: QPointF, tags_only: bool = False) -> int:
        """Return the index of the digit whose tag (or, unless ``tags_only``, box) holds the point, else -1."""
        for index, tag in enumerate(self.tags):
            if tag.contains(point):
                return index
        if not tags_only:
            for index, box in enumerate(self.boxes):
                if box.contains(point):
                    return index
        return -1

    def _tag_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        return font

    def paintEvent(self, event) -> None:
        if not self.boxes:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(self._tag_font())
        from hwr_app.widgets import paper_colour, visible_on

        palette = self.palette()
        accent = visible_on(palette.color(QPalette.ColorRole.Highlight), paper_colour(palette),
                            palette.color(QPalette.ColorRole.Text))
        tag_text = (palette.color(QPalette.ColorRole.HighlightedText)
                    if accent == palette.color(QPalette.ColorRole.Highlight) else paper_colour(palette))
        for index, (box, tag, text, unsure) in enumerate(zip(self.boxes, self.tags, self.texts, self.unsure)):
            colour = QColor(UNSURE_COLOUR if unsure else accent)
            width = 2.5 if index in (self.focused, self.selected) else 1.2
            colour.setAlpha(230 if index in (self.focused, self.selected) else 150)
            pen = QPen(colour, width, Qt.PenStyle.DashLine if unsure else Qt.PenStyle.SolidLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(box, 6, 6)
            fill = QColor(colour)
            fill.setAlpha(255 if index == self.selected else 200)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(tag, 4, 4)
            painter.setPen(tag_text)
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()


class NumberController(QObject):
    """Shows readings of numbers in the window and saves corrected numbers as samples."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.canvas = window.canvas
        self.outlines = DigitOutlines(self.canvas)
        self.reading = None  # the latest model.recognition.numbers.NumberReading shown
        self.edits: dict[int, int] = {}  # digit index → digit the user set by click and key
        self.typed = ""  # digits typed for the whole number, not yet saved
        self.selected = -1  # digit picked by clicking its tag
        self.hovered = -1  # digit under the pointer
        self._pending_save: str | None = None  # typed number waiting for a reading with its count
        self.proposal = None  # (number, NumberReading split into its count) shown, waiting for a second Enter
        self.restored = False  # ``typed`` is the label of a save that Undo took back (a key starts over)
        self.notice = ""  # why Enter did not save, shown in the caption until the next change
        self.canvas.setMouseTracking(True)
        self.canvas.installEventFilter(self)
        self.canvas.strokes_changed.connect(self._on_strokes_changed)
        window.recognizer.failed.connect(self._on_failed)

    # -- readings in --------------------------------------------------------------------------

    def show_reading(self, reading) -> None:
        """Show a NumberReading (None: nothing drawn). A reading split into the count of a typed number
        waiting for it is saved if it is the split already shown, else shown and asked about."""
        if reading is not None and self._pending_save is not None \
                and reading.expected_count == len(self._pending_save):
            number, self._pending_save = self._pending_save, None
            if self.reading is not None and _same_split(reading, self.reading):
                self._save(reading, number)
                return
            self.proposal = (number, reading)  # never store a piece the user did not see labelled
            self.window.statusBar().showMessage(split_question(number), 8000)
            self._refresh()
            return
        self.reading = reading
        self.proposal = None  # a new reading (another model, say): the split asked about is gone
        self._refresh()

    def _on_strokes_changed(self, finished: bool) -> None:
        if finished:  # a new, undone or cleared stroke: earlier corrections no longer apply
            self.typed, self.edits, self.selected, self._pending_save = "", {}, -1, None
            self.proposal, self.restored, self.notice = None, False, ""

    def _on_failed(self, message: str) -> None:
        """The recognizer could not read the drawing: a typed number that cannot be split so is not saved."""
        if self._pending_save is not None:
            number, self._pending_save = self._pending_save, None
            self.notice = (f"Not saved: the drawing cannot be split into {len(number)} digits "
                           f"({message.rstrip('.')}). Backspace corrects the number.")
            self._refresh()

    def restore(self, number: str) -> None:
        """Put back the label of a save that Undo took back: Enter saves it again, a digit key starts over."""
        self.typed, self.restored, self.notice = number, True, ""
        self._refresh()

    # -- what is shown ------------------------------------------------------------------------

    def is_number(self) -> bool:
        """Return True when the drawing is read (or, after a second Enter, split) as more than one digit."""
        reading = self.shown_reading()
        return reading is not None and len(reading.digits) > 1

    def shown_reading(self):
        """Return the reading outlined on the canvas: the split asked about, else the latest reading."""
        return self.proposal[1] if self.proposal is not None else self.reading

    def shown_text(self) -> str:
        """Return the number as shown: the reading with the user's per-digit changes."""
        if self.reading is None:
            return ""
        return "".join(str(self.edits.get(i, d.digit)) for i, d in enumerate(self.reading.digits))

    def focused_digit(self) -> int:
        """Return the index of the digit whose bars are shown: hovered, else selected, else last written."""
        reading = self.shown_reading()
        if reading is None:
            return -1
        for index in (self.hovered, self.selected):
            if 0 <= index < len(reading.digits):
                return index
        return max(range(len(reading.digits)), key=lambda i: max(reading.digits[i].strokes))

    def _refresh(self) -> None:
        window = self.window
        reading = self.shown_reading()
        view = window.prediction_view
        if reading is None:
            self.outlines.set_digits([], [], [], -1, -1)
            window._show_prediction(None)
            return
        focused = self.focused_digit()
        window._show_prediction(_as_prediction(reading.digits[focused]))
        if len(reading.digits) == 1 and self.proposal is None:
            self.outlines.set_digits([], [], [], -1, -1)
            if self.typed:  # a label Undo brought back leaves the big answer to what hwr reads
                if not self.restored:
                    view.set_answer(self.typed)
                view.caption.setText(self.notice or typing_hint(self.typed, self.restored))
            elif self.notice:
                view.caption.setText(self.notice)
            return
        digits = reading.digits
        pad = self.canvas.pen_width() / 2 + 3
        boxes = [QRectF(QPointF(d.box[0] - pad, d.box[1] - pad), QPointF(d.box[2] + pad, d.box[3] + pad))
                 for d in digits]
        texts, unsure = [], []
        # While a number is typed, the tags say what will be saved: the typed digits over the
        # digits found (when there are not more of them than digits found).
        typed = self.typed if len(self.typed) <= len(digits) else ""
        for index, digit in enumerate(digits):
            if index < len(typed):
                texts.append(f"{typed[index]} · yours")
                unsure.append(False)
            elif index in self.edits:
                texts.append(f"{self.edits[index]} · yours")
                unsure.append(False)
            else:
                shaky = digit.confidence < CONFIDENCE_THRESHOLD
                texts.append(f"{digit.digit}{'?' if shaky else ''} · {digit.confidence:.0%}")
                unsure.append(shaky)
        self.outlines.set_digits(boxes, texts, unsure, focused, self.selected)
        view.set_answer(self.typed or self.shown_text())
        view.caption.setText(self.notice or self._caption(focused))

    def _caption(self, focused: int) -> str:
        if self.proposal is not None:
            return split_question(self.proposal[0])
        if self.typed:
            return typing_hint(self.typed, self.restored, len(self.reading.digits))
        digits = self.reading.digits
        shaky = [i for i, d in enumerate(digits) if d.confidence < CONFIDENCE_THRESHOLD and i not in self.edits]
        parts = [f"{len(digits)} digits"]
        if shaky:
            first = digits[shaky[0]]
            options = " or ".join(str(d) for d, _ in first.top(2))
            parts.append(f"{ordinal(shaky[0] + 1)} unsure: {options}?"
                         + (f", {len(shaky) - 1} more unsure" if len(shaky) > 1 else ""))
        if self.selected >= 0:
            parts.append(f"{ordinal(self.selected + 1)} digit picked: press its key")
        else:
            parts.append(f"bars: {ordinal(focused + 1)} digit")
        return " · ".join(parts) + "\nType the number and press Enter to correct it."

    # -- the pointer --------------------------------------------------------------------------

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if watched is self.canvas and kind == QEvent.Type.Resize:
            self.outlines.setGeometry(self.canvas.rect())
        elif watched is self.canvas and kind == QEvent.Type.MouseMove and not event.buttons():
            index = self.outlines.digit_at(event.position()) if self.is_number() else -1
            if index != self.hovered:
                self.hovered = index
                self._refresh()
        elif watched is self.canvas and kind == QEvent.Type.Leave and self.hovered >= 0:
            self.hovered = -1
            self._refresh()
        elif (watched is self.canvas and kind == QEvent.Type.MouseButtonPress
              and event.button() == Qt.MouseButton.LeftButton and self.is_number() and self.proposal is None):
            index = self.outlines.digit_at(event.position(), tags_only=True)
            if index >= 0:  # a click on a tag picks that digit instead of starting a stroke
                self.select(-1 if index == self.selected else index)
                return True
        return super().eventFilter(watched, event)

    def select(self, index: int) -> None:
        """Pick the digit whose key comes next (-1: none)."""
        self.selected = index
        self._refresh()

    # -- keys ---------------------------------------------------------------------------------

    def take_key(self, digit: int) -> bool:
        """Handle a digit key if it belongs to a number; False leaves it to the single-digit path."""
        self.proposal, self.notice = None, ""
        if self.selected >= 0 and self.reading is not None and self.selected < len(self.reading.digits):
            self.edits[self.selected] = digit
            self.selected = -1
            self._refresh()
            self.window.statusBar().showMessage("Press Enter to save the number as shown.", 4000)
            return True
        if self.restored:  # the label Undo brought back: a key starts over
            self.typed, self.restored = "", False
            self._refresh()
        if not self.typed and not self._looks_like_a_number():
            return False
        self.typed += str(digit)
        self._refresh()
        return True

    def _looks_like_a_number(self) -> bool:
        """Return True if the drawing is, or may be, more than one digit."""
        from model.recognition.numbers import stroke_box, x_clusters

        if self.is_number():
            return True
        strokes = [stroke for stroke in self.canvas.strokes() if stroke]
        return len(x_clusters([stroke_box(stroke) for stroke in strokes])) > 1

    def backspace(self) -> None:
        """Take back the last typed digit."""
        if self.typed:
            self.typed = self.typed[:-1]
            self.proposal, self.restored, self.notice = None, False, ""
            self._refresh()

    def commit(self) -> None:
        """Save the typed number (or the number as shown) once it is segmented into that many digits."""
        window = self.window
        if window.store is None:
            window.statusBar().showMessage(window.store_problem or "Still loading; try again in a moment.", 8000)
            return
        if self.canvas.is_empty() or (self.reading is None and not self.typed):
            window.statusBar().showMessage("Write a number first, then type it and press Enter.", 4000)
            return
        number = self.typed or self.shown_text()
        if self.proposal is not None and self.proposal[0] == number:  # the second Enter: the split was shown
            self._save(self.proposal[1], number)
            return
        if not self.typed:
            shaky = [i for i, d in enumerate(self.reading.digits)
                     if d.confidence < CONFIDENCE_THRESHOLD and i not in self.edits]
            if shaky:  # a guess is never stored as the user's answer
                self.notice = unsure_refusal([d for d, _ in self.reading.digits[shaky[0]].top(2)], shaky[0] + 1,
                                             len(self.reading.digits))
                window.statusBar().showMessage(self.notice, 6000)
                self._refresh()
                return
        if (self.reading is not None and len(number) == len(self.reading.digits)
                and window.recognizer.is_idle()):
            self._save(self.reading, number)  # the digits as outlined, each with its label
            return
        self._pending_save = number  # split into that many digits, then shown and asked about
        window.recognizer.request(self.canvas.strokes(), expected_count=len(number))

    def _save(self, reading, number: str) -> None:
        """Store each digit of ``number`` with its own strokes, then clear the canvas."""
        from model.storage.samples import make_sample

        window = self.window
        strokes = self.canvas.strokes()
        assert len(number) == len(reading.digits)
        version = "" if window.checkpoint is None else window.checkpoint.info.version
        try:
            samples = [make_sample(int(label), [strokes[s][a:b] for s, a, b in digit.parts], predicted=digit.digit,
                                   probabilities=digit.probabilities.tolist(), model_version=version,
                                   number=number if len(number) > 1 else None)
                       for label, digit in zip(number, reading.digits)]
            window.store.add_many(samples)
        except Exception as error:  # sqlite3 or disk errors: the drawing stays on the canvas
            self._refresh()
            window._notify("Number not saved", f"The digits could not be saved ({error}). Your drawing is "
                           f"still on the canvas.", QMessageBox.Icon.Warning)
            return
        from hwr_app.drawing_history import TakenOff

        window.statusBar().clearMessage()  # the panel's "Saved as" line says it
        window.corrections.saved(TakenOff(strokes, samples[0], tuple(samples[1:])))  # "Saved as 42 · Undo"


def _same_split(one, other) -> bool:
    """Return True if two readings cut the ink into the same digits."""
    return [d.parts for d in one.digits] == [d.parts for d in other.digits]


def _as_prediction(digit):
    """Return the model.recognition.predict.Prediction of one digit of a reading (for the bars and the eye)."""
    from model.recognition.predict import Prediction

    return Prediction(digit.probabilities, digit.image)
