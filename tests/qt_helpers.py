"""Drive the real window the way a user does: pointer drags on the canvas, keys, buttons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from hwr_app.main_window import MainWindow
from hwr_app.startup import AppPaths
from model.training.synthetic import STANDARD, STYLES, jitter

READY_TIMEOUT_MS = 60_000  # start-up imports torch on a loaded 2-core machine


def open_window(qtbot, user_dir: Path, mnist_dir: Path, weights: Path | None = None) -> MainWindow:
    """Return a shown main window on an isolated data folder, once its model is loaded."""
    window = MainWindow(AppPaths(user_dir=user_dir, mnist_dir=mnist_dir, weights_override=weights),
                        download_mnist=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.is_ready, timeout=READY_TIMEOUT_MS)
    return window


def drag(canvas, points) -> None:
    """Press, move through ``points`` (canvas pixels) and release, with real mouse events."""
    pixels = [QPoint(int(round(x)), int(round(y))) for x, y, *_ in points]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pixels[0])
    for pixel in pixels[1:]:
        QTest.mouseMove(canvas, pixel)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pixels[-1])


def fit_to_canvas(strokes, canvas) -> list:
    """Return strokes (any coordinates) scaled into the middle 70 % of the canvas."""
    xy = np.array([(p[0], p[1]) for stroke in strokes for p in stroke], dtype=float)
    lo, span = xy.min(axis=0), max(float((xy.max(axis=0) - xy.min(axis=0)).max()), 1e-6)
    side = min(canvas.width(), canvas.height()) * 0.7
    origin = np.array([canvas.width(), canvas.height()]) / 2 - side / 2
    return [[tuple(origin + (np.array(p[:2]) - lo) / span * side) for p in stroke] for stroke in strokes]


def draw_strokes(canvas, strokes) -> None:
    """Draw every stroke on the canvas as a separate pointer drag."""
    for stroke in fit_to_canvas(strokes, canvas):
        drag(canvas, stroke)


def standard_digit(digit: int, seed: int = 0, amount: float = 0.3) -> list:
    """Return a lightly varied drawing of an ordinary ``digit``."""
    return jitter(STANDARD[digit], np.random.default_rng(seed), amount)


def style_digit(style: str, seed: int, amount: float = 1.0) -> tuple[int, list]:
    """Return (digit, drawing) for a personal style from model.training.synthetic.STYLES."""
    digit, template = STYLES[style]
    return digit, jitter(template, np.random.default_rng(seed), amount)


def wait_for_prediction(qtbot, window, expected_text: str, timeout: int = 10_000) -> None:
    """Wait until the big label shows ``expected_text`` ("" for nothing)."""
    qtbot.waitUntil(lambda: window.prediction_view.digit_label.text() == expected_text, timeout=timeout)
