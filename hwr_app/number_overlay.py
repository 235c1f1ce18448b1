"""The window's view of a number: digit outlines on the canvas, the whole number, typed corrections.

A thin view over :class:`model.recognition.numbers.NumberReading`: the recognizer hands a reading over, this
module draws each digit's box with its confidence on the canvas (an unsure digit in a warning
colour, with a question mark), puts the whole number in the big label, and shows the bars and the
model's eye for one digit — the one under the pointer, else the selected one, else the last one
written. It also turns keys into corrections of a number:

* digit keys type the number, Enter saves it (Backspace takes a digit back);
* click a digit's tag, press its key: that digit is changed; Enter saves the number as shown;
* Enter alone confirms the number as read.

Saving asks the recognizer for the reading with exactly the typed number of digits, so a number
read with a digit too many or too few is segmented again before its digits are stored, each with
its own strokes, in the same sample store as single digits.

A drawing that is plainly one digit (one reading digit, its strokes all overlapping horizontally)
is left to the window's own path: its key saves it at once, as it always has.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen
from PySide6.QtWidgets import QMessageBox, QWidget

from hwr_app.prediction_view import CONFIDENCE_THRESHOLD

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
        accent = self.palette().color(QPalette.ColorRole.Highlight)
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
            painter.setPen(self.palette().color(QPalette.ColorRole.HighlightedText))
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
        self._label_font = None  # the big label's own font (the window sizes it) while a long number shrinks it
        self._shrunk_font = None  # the smaller font set for a long number, None when the label has its own
        self.canvas.setMouseTracking(True)
        self.canvas.installEventFilter(self)
        self.canvas.strokes_changed.connect(self._on_strokes_changed)

    # -- readings in --------------------------------------------------------------------------

    def show_reading(self, reading) -> None:
        """Show a NumberReading (None: nothing drawn); save it if a typed number was waiting for it."""
        self.reading = reading
        if reading is not None and self._pending_save is not None \
                and reading.expected_count == len(self._pending_save):
            typed, self._pending_save = self._pending_save, None
            self._save(reading, typed)
            return
        self._refresh()

    def _on_strokes_changed(self, finished: bool) -> None:
        if finished:  # a new, undone or cleared stroke: earlier corrections no longer apply
            self.typed, self.edits, self.selected, self._pending_save = "", {}, -1, None

    # -- what is shown ------------------------------------------------------------------------

    def is_number(self) -> bool:
        """Return True when the drawing is read as more than one digit."""
        return self.reading is not None and len(self.reading.digits) > 1

    def shown_text(self) -> str:
        """Return the number as shown: the reading with the user's per-digit changes."""
        if self.reading is None:
            return ""
        return "".join(str(self.edits.get(i, d.digit)) for i, d in enumerate(self.reading.digits))

    def focused_digit(self) -> int:
        """Return the index of the digit whose bars are shown: hovered, else selected, else last written."""
        if self.reading is None:
            return -1
        for index in (self.hovered, self.selected):
            if 0 <= index < len(self.reading.digits):
                return index
        latest = max(range(len(self.reading.digits)), key=lambda i: max(self.reading.digits[i].strokes))
        return latest

    def _refresh(self) -> None:
        window, reading = self.window, self.reading
        if reading is None:
            self.outlines.set_digits([], [], [], -1, -1)
            window._show_prediction(None)
            return
        focused = self.focused_digit()
        window._show_prediction(_as_prediction(reading.digits[focused]))
        label = window.prediction_view.digit_label
        if not self.is_number():
            self.outlines.set_digits([], [], [], -1, -1)
            self._fit_label("" if not self.typed else self.typed)
            if self.typed:
                label.setText(self.typed)
                window.prediction_view.caption.setText(_typing_hint(self.typed))
            return
        digits = reading.digits
        pad = self.canvas.pen_width() / 2 + 3
        boxes = [QRectF(QPointF(d.box[0] - pad, d.box[1] - pad), QPointF(d.box[2] + pad, d.box[3] + pad))
                 for d in digits]
        texts, unsure = [], []
        for index, digit in enumerate(digits):
            if index in self.edits:
                texts.append(f"{self.edits[index]} · yours")
                unsure.append(False)
            else:
                shaky = digit.confidence < CONFIDENCE_THRESHOLD
                texts.append(f"{digit.digit}{'?' if shaky else ''} · {digit.confidence:.0%}")
                unsure.append(shaky)
        self.outlines.set_digits(boxes, texts, unsure, focused, self.selected)
        text = self.typed or self.shown_text()
        self._fit_label(text)
        label.setText(text)
        window.prediction_view.caption.setText(self._caption(focused))

    def _caption(self, focused: int) -> str:
        if self.typed:
            return _typing_hint(self.typed)
        digits = self.reading.digits
        shaky = [i for i, d in enumerate(digits) if d.confidence < CONFIDENCE_THRESHOLD and i not in self.edits]
        parts = [f"{len(digits)} digits"]
        if shaky:
            first = digits[shaky[0]]
            options = " or ".join(f"{d} ({p:.0%})" for d, p in first.top(2))
            parts.append(f"digit {shaky[0] + 1} unsure: {options}" + (f", {len(shaky) - 1} more unsure" if len(shaky) > 1 else ""))
        if self.selected >= 0:
            parts.append(f"digit {self.selected + 1} selected: press its key")
        else:
            parts.append(f"bars: digit {focused + 1}")
        return " · ".join(parts) + "\nType the number and press Enter to correct it."

    def _fit_label(self, text: str) -> None:
        """Shrink the big label's font so a long number fits its width; give it back its own after."""
        label = self.window.prediction_view.digit_label
        if self._shrunk_font is None or label.font() != self._shrunk_font:
            self._label_font = QFont(label.font())  # the window set this one (at start or on a resize)
        font = QFont(self._label_font)
        advance = QFontMetricsF(font).horizontalAdvance(text) + 8 if text else 0.0
        available = max(label.width(), 120)
        if advance > available:
            font.setPointSizeF(max(10.0, font.pointSizeF() * available / advance))
            self._shrunk_font = font
            label.setFont(font)
        elif self._shrunk_font is not None:
            self._shrunk_font = None
            label.setFont(self._label_font)

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
              and event.button() == Qt.MouseButton.LeftButton and self.is_number()):
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
        if self.selected >= 0 and self.reading is not None and self.selected < len(self.reading.digits):
            self.edits[self.selected] = digit
            self.selected = -1
            self._refresh()
            self.window.statusBar().showMessage("Press Enter to save the number as shown.", 4000)
            return True
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
            self._refresh()

    def commit(self) -> None:
        """Save the typed number (or the number as shown) once it is segmented into that many digits."""
        window = self.window
        if window.store is None:
            window.statusBar().showMessage(window.store_problem or "Still loading; try again in a moment.", 8000)
            return
        if self.canvas.is_empty() or self.reading is None:
            window.statusBar().showMessage("Write a number first, then type it and press Enter.", 4000)
            return
        number = self.typed or self.shown_text()
        self._pending_save = number
        window.statusBar().showMessage(f"Saving {number}…", 2000)
        window.recognizer.request(self.canvas.strokes(), expected_count=len(number))

    def _save(self, reading, number: str) -> None:
        """Store each digit of ``number`` with its own strokes, then clear the canvas."""
        from model.storage.samples import make_sample

        window = self.window
        strokes = self.canvas.strokes()
        version = "" if window.checkpoint is None else window.checkpoint.info.version
        try:
            samples = [make_sample(int(label), [strokes[s][a:b] for s, a, b in digit.parts], predicted=digit.digit,
                                   probabilities=digit.probabilities.tolist(), model_version=version,
                                   number=number if len(number) > 1 else None)
                       for label, digit in zip(number, reading.digits)]
            window.store.add_many(samples)
        except Exception as error:  # sqlite3 or disk errors: the drawing stays on the canvas
            self.reading = reading
            self._refresh()
            window._notify("Number not saved", f"The digits could not be saved ({error}). Your drawing is "
                           f"still on the canvas.", QMessageBox.Icon.Warning)
            return
        from hwr_app.drawing_history import TakenOff

        window.corrections.saved(TakenOff(strokes, samples[0], tuple(samples[1:])))  # "Saved as 42 · Undo"


def _typing_hint(typed: str) -> str:
    return f"Typed {typed}: Enter saves the number, Backspace takes a digit back."


def _as_prediction(digit):
    """Return the model.recognition.predict.Prediction of one digit of a reading (for the bars and the eye)."""
    from model.recognition.predict import Prediction

    return Prediction(digit.probabilities, digit.image)
