"""Small helpers shared by the views: labelled buttons and pictures of 28×28 digits."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget


def make_button(text: str, name: str, tip: str, slot) -> QPushButton:
    """Return a push button with an object name, a tooltip and an accessible name, wired to ``slot``."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    button.setAccessibleName(text.rstrip("…"))
    button.clicked.connect(slot)
    return button


def digit_pixmap(image: np.ndarray, side: int, smooth: bool, pixel_ratio: float = 1.0) -> QPixmap:
    """Return a 28×28 image (ink 1.0) as dark ink on white, ``side`` logical pixels wide.

    ``pixel_ratio`` is the screen's device pixel ratio, so the picture stays sharp on high-DPI screens.
    """
    gray = np.ascontiguousarray((255 - np.clip(np.asarray(image) * 255, 0, 255)).astype(np.uint8))
    picture = QImage(gray.data, gray.shape[1], gray.shape[0], gray.shape[1], QImage.Format.Format_Grayscale8).copy()
    mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
    device_side = round(side * pixel_ratio)
    pixmap = QPixmap.fromImage(picture).scaled(device_side, device_side, Qt.AspectRatioMode.KeepAspectRatio, mode)
    pixmap.setDevicePixelRatio(pixel_ratio)
    return pixmap


def show_message(parent: QWidget, title: str, text: str, icon: QMessageBox.Icon, name: str = "notice") -> QMessageBox:
    """Show a message box that blocks neither the event loop nor the window; return it.

    Non-modal on purpose: a result that arrives while the user is drawing must not swallow the
    pen's release (a modal box would), and recognition and fine-tuning go on behind it.
    """
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(name)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()
    return box
