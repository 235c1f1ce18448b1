"""Show what the model thinks: the digit, ten probability bars and the 28×28 "model's eye"."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from hwr_app.widgets import digit_pixmap, palette_colours
from model.constants import CONFIDENCE_THRESHOLD  # below it the view says it is unsure


class ProbabilityView(QWidget):
    """Ten horizontal bars, one per digit, the predicted digit highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probabilityView")
        self.setAccessibleName("Probabilities")
        self.setToolTip("How likely the model finds each digit")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMaximumHeight(10 * 30)  # taller rows only spread the bars apart
        self._probabilities: np.ndarray | None = None

    def probabilities(self) -> np.ndarray | None:
        return None if self._probabilities is None else self._probabilities.copy()

    def set_probabilities(self, probabilities: np.ndarray | None) -> None:
        self._probabilities = None if probabilities is None else np.asarray(probabilities, dtype=float)
        if self._probabilities is None:
            self.setAccessibleDescription("No digit drawn")
        else:
            top = int(self._probabilities.argmax())
            self.setAccessibleDescription(
                ", ".join(f"{d}: {p:.0%}" for d, p in enumerate(self._probabilities)) + f"; highest {top}")
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, 10 * 22)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 10 * 12)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        track = QColor(text)  # the text colour, faint: seen on any window colour (Mid may equal it)
        track.setAlpha(45)
        accent = palette.color(QPalette.ColorRole.Highlight)
        plain = QColor(text)
        plain.setAlpha(110)
        row = self.height() / 10
        label_width = painter.fontMetrics().horizontalAdvance("0") + 10
        value_width = painter.fontMetrics().horizontalAdvance("100%") + 8
        bar_width = max(10.0, self.width() - label_width - value_width)
        top = -1 if self._probabilities is None else int(self._probabilities.argmax())
        for digit in range(10):
            y = digit * row
            probability = 0.0 if self._probabilities is None else float(self._probabilities[digit])
            painter.setPen(text)
            painter.drawText(QRectF(0, y, label_width - 6, row), Qt.AlignmentFlag.AlignVCenter
                             | Qt.AlignmentFlag.AlignRight, str(digit))
            bar = QRectF(label_width, y + row * 0.2, bar_width, row * 0.6)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(track)
            painter.drawRoundedRect(bar, 3, 3)
            if probability > 0:
                painter.setBrush(accent if digit == top else plain)
                painter.drawRoundedRect(QRectF(bar.x(), bar.y(), max(2.0, bar_width * probability), bar.height()), 3, 3)
            painter.setPen(text)
            if self._probabilities is not None:
                painter.drawText(QRectF(label_width + bar_width + 4, y, value_width, row),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, f"{probability:.0%}")
        painter.end()


class ModelEyeView(QWidget):
    """The 28×28 picture the network reads, magnified with visible pixels, in the canvas's colours.

    Square, at the side the window asks for (``set_side``, whole multiples of 28 look sharpest);
    it shrinks to ``MIN_SIDE`` when space is short.
    """

    MIN_SIDE = 56

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelEyeView")
        self.setAccessibleName("Model's eye")
        self.setToolTip("The 28×28 picture the model sees, made the way MNIST's digits were made")
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Maximum)  # up to its side, no more
        self._side = 28 * 4
        self._image: np.ndarray | None = None

    def image(self) -> np.ndarray | None:
        return None if self._image is None else self._image.copy()

    def set_image(self, image: np.ndarray | None) -> None:
        self._image = None if image is None else np.asarray(image, dtype=np.float32)
        self.setAccessibleDescription("empty" if self._image is None else "the picture the model reads")
        self.update()

    def set_side(self, side: int) -> None:
        """Ask for a ``side``-pixel square (the layout may give less)."""
        side = max(self.MIN_SIDE, int(side))
        if side != self._side:
            self._side = side
            self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(self._side, self._side)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.MIN_SIDE, self.MIN_SIDE)

    def paintEvent(self, event) -> None:
        side = min(self.width(), self.height())
        side -= side % 28 if side >= 56 else 0  # whole pixels per model pixel: sharp squares
        square = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        ink, paper = palette_colours(self)
        painter = QPainter(self)
        if self._image is None:
            painter.fillRect(square, paper)
        else:  # sharp, square pixels: exactly what the model sees
            painter.drawPixmap(square.topLeft(), digit_pixmap(self._image, int(side), smooth=False,
                                                              pixel_ratio=self.devicePixelRatioF(),
                                                              ink=ink, paper=paper))
        frame = QColor(ink)  # the ink, faint: the empty eye's square shows on any palette
        frame.setAlpha(110)
        painter.setPen(frame)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(square.adjusted(-0.5, -0.5, 0.5, 0.5))
        painter.end()


class PredictionView(QWidget):
    """The big answer and the model's eye side by side, a one-line explanation, then the bars."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.digit_label = QLabel("")
        self.digit_label.setObjectName("predictionLabel")
        self.digit_label.setAccessibleName("Predicted digit")
        self.digit_label.setToolTip("The digit the model reads")
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 4)
        font.setBold(True)
        self.digit_label.setFont(font)
        self.empty_label = QLabel("Draw a digit on the canvas")
        self.empty_label.setObjectName("emptyPrediction")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        # The answer and the empty state share one place of one height: nothing moves when they swap.
        self.answer_stack = QStackedWidget()
        self.answer_stack.addWidget(self.digit_label)
        self.answer_stack.addWidget(self.empty_label)
        self._base_point_size = self.font().pointSizeF()
        self.caption = QLabel("")
        self.caption.setObjectName("predictionCaption")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        # Two lines reserved: "Not sure: 7 (54%) or 2 (14%)…" wraps in a narrow panel, and must not push the bars.
        self.caption.setMinimumHeight(2 * self.caption.fontMetrics().lineSpacing())
        self.probability_view = ProbabilityView()
        self.model_eye = ModelEyeView()
        eye_caption = QLabel("Model's eye")
        eye_caption.setObjectName("modelEyeCaption")
        eye_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)

        # Nothing in the top row grows with the window: the big answer is centred beside the eye, the
        # caption sits right under the eye, and spare height goes below the bars (layout.addStretch).
        answer = QVBoxLayout()
        answer.addWidget(self.answer_stack, 0, Qt.AlignmentFlag.AlignVCenter)
        eye = QVBoxLayout()
        eye.setSpacing(2)
        eye.addWidget(self.model_eye, 0, Qt.AlignmentFlag.AlignHCenter)
        eye.addWidget(eye_caption)
        top = QHBoxLayout()
        top.addLayout(answer, 1)
        top.addLayout(eye)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.caption)
        layout.addWidget(self.probability_view, 1)
        layout.addStretch(0)
        self.fit_answer(28 * 4)
        self.show_prediction(None)

    def fit_answer(self, eye_side: int) -> None:
        """Size the model's eye and the big digit beside it together (the window calls this on resize)."""
        self.model_eye.set_side(eye_side)
        self._answer_font = QFont(self.digit_label.font())
        self._answer_font.setPointSizeF(self._base_point_size * max(3.5, min(8.0, eye_side / 28)))
        self.digit_label.setFont(self._answer_font)
        self.answer_stack.setFixedHeight(self.digit_label.fontMetrics().height())
        self.set_answer(self.digit_label.text())

    def set_answer(self, text: str) -> None:
        """Show ``text`` in the big answer, its font shrunk so that a long number or "4 or 7?" fits."""
        font = QFont(self._answer_font)
        # The room beside the model's eye (the layout may not have given the label its width yet).
        room = self.width() - self.model_eye.sizeHint().width() - 16 if self.width() > 100 else self.digit_label.width()
        advance = QFontMetricsF(font).horizontalAdvance(text) + 8 if text else 0.0
        if advance > room > 0:
            font.setPointSizeF(max(9.0, font.pointSizeF() * room / advance))
        if font != self.digit_label.font():
            self.digit_label.setFont(font)
        self.digit_label.setText(text)

    def show_prediction(self, prediction) -> None:
        """Show a model.recognition.predict.Prediction, or nothing for None (an empty canvas)."""
        if prediction is None:
            self.set_answer("")
            self.answer_stack.setCurrentWidget(self.empty_label)
            self.caption.setText("")
            self.probability_view.set_probabilities(None)
            self.model_eye.set_image(None)
            return
        self.answer_stack.setCurrentWidget(self.digit_label)
        self.probability_view.set_probabilities(prediction.probabilities)
        self.model_eye.set_image(prediction.image)
        if prediction.confidence >= CONFIDENCE_THRESHOLD:
            self.set_answer(str(prediction.digit))
            self.caption.setText(f"{prediction.confidence:.0%} sure")
        else:  # the two likeliest digits, as a question: not a claim
            self.set_answer(" or ".join(str(d) for d, _ in prediction.top(2)) + "?")
            candidates = " or ".join(f"{d} ({p:.0%})" for d, p in prediction.top(3) if p >= 0.05)
            self.caption.setText(f"Not sure: {candidates}?")
