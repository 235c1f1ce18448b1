"""Show what the model thinks: the digit, ten probability bars and the 28×28 "model's eye"."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from hwr_app.widgets import digit_pixmap
from model.constants import CONFIDENCE_THRESHOLD  # below it the view says it is unsure


class ProbabilityView(QWidget):
    """Ten horizontal bars, one per digit, the predicted digit highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probabilityView")
        self.setAccessibleName("Probabilities")
        self.setToolTip("How likely the model finds each digit")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
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
        return QSize(160, 10 * 16)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        track = palette.color(QPalette.ColorRole.Mid)
        track.setAlpha(60)
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


class ModelEyeView(QLabel):
    """The 28×28 picture the network reads, magnified with visible pixels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelEyeView")
        self.setAccessibleName("Model's eye")
        self.setToolTip("The 28×28 picture the model sees, made the way MNIST's digits were made")
        self.setFixedSize(28 * 4 + 2, 28 * 4 + 2)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrameShape(QLabel.Shape.StyledPanel)
        self._image: np.ndarray | None = None
        self.set_image(None)

    def image(self) -> np.ndarray | None:
        return None if self._image is None else self._image.copy()

    def set_image(self, image: np.ndarray | None) -> None:
        self._image = None if image is None else np.asarray(image, dtype=np.float32)
        if self._image is None:
            self.clear()
            self.setText("—")
            return
        # Sharp, square pixels: exactly what the model sees.
        self.setPixmap(digit_pixmap(self._image, 28 * 4, smooth=False, pixel_ratio=self.devicePixelRatioF()))


class PredictionView(QWidget):
    """The big answer, a one-line explanation, the bars and the model's eye together."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.digit_label = QLabel("")
        self.digit_label.setObjectName("predictionLabel")
        self.digit_label.setAccessibleName("Predicted digit")
        self.digit_label.setToolTip("The digit the model reads")
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 5)
        font.setBold(True)
        self.digit_label.setFont(font)
        self.digit_label.setMinimumHeight(self.digit_label.fontMetrics().height())
        self.caption = QLabel("Draw a digit")
        self.caption.setObjectName("predictionCaption")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.probability_view = ProbabilityView()
        self.model_eye = ModelEyeView()
        eye_caption = QLabel("Model's eye")
        eye_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.digit_label)
        layout.addWidget(self.caption)
        layout.addSpacing(8)
        layout.addWidget(self.probability_view, 1)
        layout.addSpacing(8)
        layout.addWidget(self.model_eye, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(eye_caption)

    def show_prediction(self, prediction) -> None:
        """Show a model.predict.Prediction, or nothing for None (an empty canvas)."""
        if prediction is None:
            self.digit_label.setText("")
            self.caption.setText("Draw a digit")
            self.probability_view.set_probabilities(None)
            self.model_eye.set_image(None)
            return
        self.probability_view.set_probabilities(prediction.probabilities)
        self.model_eye.set_image(prediction.image)
        if prediction.confidence >= CONFIDENCE_THRESHOLD:
            self.digit_label.setText(str(prediction.digit))
            self.caption.setText(f"{prediction.confidence:.0%} sure")
        else:
            self.digit_label.setText("")
            candidates = " or ".join(f"{d} ({p:.0%})" for d, p in prediction.top(3) if p >= 0.05)
            self.caption.setText(f"Not sure: {candidates}?")
