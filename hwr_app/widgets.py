"""Small helpers shared by the views: labelled buttons and pictures of 28×28 digits."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QImage, QPalette, QPixmap
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QProgressBar, QPushButton, QWidget


def make_button(text: str, name: str, tip: str, slot) -> QPushButton:
    """Return a push button with an object name, a tooltip and an accessible name, wired to ``slot``."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    button.setAccessibleName(text.rstrip("…"))
    button.clicked.connect(slot)
    return button


def digit_pixmap(image: np.ndarray, side: int, smooth: bool, pixel_ratio: float = 1.0,
                 ink: QColor | None = None, paper: QColor | None = None) -> QPixmap:
    """Return a 28×28 image (ink 1.0) as ``ink`` on ``paper`` (default black on white), ``side`` pixels wide.

    Pass the palette's text and base colours so the picture follows a dark desktop like the canvas
    does. ``pixel_ratio`` is the screen's device pixel ratio, so the picture stays sharp on high-DPI screens.
    """
    ink_rgb = np.array((ink or QColor("black")).getRgb()[:3], dtype=np.float32)
    paper_rgb = np.array((paper or QColor("white")).getRgb()[:3], dtype=np.float32)
    amount = np.clip(np.asarray(image, dtype=np.float32), 0, 1)[..., None]  # (28, 28, 1)
    rgb = np.round(paper_rgb + (ink_rgb - paper_rgb) * amount).astype(np.uint8)
    rgba = np.ascontiguousarray(np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2))
    picture = QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.shape[1] * 4, QImage.Format.Format_RGBA8888).copy()
    mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
    device_side = round(side * pixel_ratio)
    pixmap = QPixmap.fromImage(picture).scaled(device_side, device_side, Qt.AspectRatioMode.KeepAspectRatio, mode)
    pixmap.setDevicePixelRatio(pixel_ratio)
    return pixmap


SAME_LIGHTNESS = 8  # of 255: base and window colours closer than this look the same (Fusion's light: 16 apart)
PAPER_STEP = 24  # how far the paper then moves from the window's lightness


def paper_colour(palette: QPalette) -> QColor:
    """Return the colour to draw on: the palette's base colour, unless it all but equals the window's
    (GTK's Adwaita-dark gives both the same grey), then a shade lighter, or darker for a near-white window."""
    base, window = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Window)
    if abs(base.lightness() - window.lightness()) >= SAME_LIGHTNESS:
        return base
    hue, saturation, lightness, alpha = window.getHsl()
    lightness = lightness + PAPER_STEP if lightness + PAPER_STEP <= 255 else lightness - PAPER_STEP
    return QColor.fromHsl(max(hue, 0), saturation, lightness, alpha)


def visible_on(colour: QColor, background: QColor, fallback: QColor) -> QColor:
    """Return ``colour`` if it stands out from ``background`` in lightness, else ``fallback``."""
    return colour if abs(colour.lightness() - background.lightness()) >= 2 * PAPER_STEP else fallback


def palette_colours(widget: QWidget) -> tuple[QColor, QColor]:
    """Return (ink, paper): the text colour and the paper (:func:`paper_colour`), as the canvas uses them."""
    palette = widget.palette()
    return palette.color(QPalette.ColorRole.Text), paper_colour(palette)


def action_button(text: str, name: str, action: QAction) -> QPushButton:
    """Return a push button that triggers ``action`` and follows its enabled state and tooltip."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(action.toolTip())
    button.setAccessibleName(action.text().replace("&", "").rstrip("…"))
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.clicked.connect(action.trigger)
    action.enabledChanged.connect(button.setEnabled)
    action.changed.connect(lambda: button.setToolTip(action.toolTip()))
    button.setEnabled(action.isEnabled())
    return button


class FittingProgressBar(QProgressBar):
    """A progress bar whose words always fit on one line: of the wordings it is given, longest first,
    it shows the first that fits its width (and keeps the longest in its tooltip)."""

    TEXT_MARGIN = 4  # pixels left free on each side of the text, so it never touches the bar's ends

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._wordings: tuple[str, ...] = ("%p%",)
        self.valueChanged.connect(self._fit)  # "9%" to "10%" may need a shorter wording

    def set_wordings(self, *wordings: str) -> None:
        """Say what the bar is doing, in wordings from the longest to the shortest ("%p%" is the percentage)."""
        self._wordings = wordings
        self.setToolTip(wordings[0].replace("%p%", "").strip())
        self._fit()

    def fits(self, text: str) -> bool:
        """Return True if ``text`` fits on one line inside the bar."""
        return self.fontMetrics().horizontalAdvance(text) <= self.width() - 2 * self.TEXT_MARGIN

    def _fit(self) -> None:
        steps = self.maximum() - self.minimum()
        percent = f"{(self.value() - self.minimum()) * 100 // steps if steps > 0 else 0}%"
        chosen = next((w for w in self._wordings if self.fits(w.replace("%p%", percent))), self._wordings[-1])
        if chosen != self.format():
            self.setFormat(chosen)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()


def press_focused_button(window: QWidget) -> bool:
    """Press the button that has the keyboard focus in ``window``, as Enter does in any dialog; return
    False (nothing pressed) when the focus is elsewhere, so Enter keeps its meaning there."""
    focused = QApplication.focusWidget()
    if (isinstance(focused, QAbstractButton) and focused.isEnabled() and focused.isVisible()
            and focused.window() is window):
        focused.animateClick()
        return True
    return False


def show_message(parent: QWidget, title: str, text: str, icon: QMessageBox.Icon, name: str = "notice",
                 details: str = "") -> QMessageBox:
    """Show a message box that blocks neither the event loop nor the window; return it.

    Non-modal on purpose: a result that arrives while the user is drawing must not swallow the
    pen's release (a modal box would), and recognition and fine-tuning go on behind it.
    ``details``, if given, sits behind the box's Details button.
    """
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setObjectName(name)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()
    return box
