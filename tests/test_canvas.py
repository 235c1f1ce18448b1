"""The canvas on its own: mouse, pen pressure and touch all become strokes; pen width is cosmetic."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QInputDevice, QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from hwr_app.canvas import MIN_SIDE, Canvas
from model.recognition.preprocess import strokes_to_image
from tests.qt_helpers import drag


@pytest.fixture
def canvas(qtbot):
    widget = Canvas()
    widget.resize(360, 360)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def ink_pixels(canvas) -> int:
    """Return how many pixels of the canvas's picture differ clearly from the paper."""
    image = canvas.grab().toImage()
    paper = canvas.palette().color(canvas.backgroundRole())
    data = np.array([[QColor(image.pixel(x, y)).lightness() for x in range(0, image.width(), 2)]
                     for y in range(0, image.height(), 2)])
    return int((np.abs(data - QColor(paper).lightness()) > 100).sum())


def pen_stroke(canvas, points, pressure: float) -> None:
    """Draw one stroke with tablet events at a fixed pressure."""
    device = QPointingDevice.primaryPointingDevice()
    kinds = [QTabletEvent.Type.TabletPress] + [QTabletEvent.Type.TabletMove] * (len(points) - 2) \
        + [QTabletEvent.Type.TabletRelease]
    for kind, (x, y) in zip(kinds, points):
        position = QPointF(x, y)
        event = QTabletEvent(kind, device, position, canvas.mapToGlobal(position), pressure, 0.0, 0.0, 0.0, 0.0,
                             0.0, Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
                             Qt.MouseButton.NoButton if kind == QTabletEvent.Type.TabletRelease
                             else Qt.MouseButton.LeftButton)
        QApplication.sendEvent(canvas, event)


def test_the_canvas_is_at_least_280_pixels_and_starts_empty(canvas):
    assert canvas.minimumWidth() >= MIN_SIDE and canvas.minimumHeight() >= MIN_SIDE
    assert canvas.is_empty() and not canvas.is_modified()


def test_mouse_drags_become_strokes_with_increasing_times(qtbot, canvas):
    with qtbot.waitSignal(canvas.strokes_changed, check_params_cb=lambda finished: finished):
        drag(canvas, [(50, 50), (60, 80), (70, 120), (80, 200)])
    strokes = canvas.strokes()
    assert len(strokes) == 1
    times = [point[3] for point in strokes[0]]
    assert times == sorted(times) and times[0] == 0.0
    assert all(point[2] == 1.0 for point in strokes[0])  # a mouse has full pressure
    assert ink_pixels(canvas) > 0


def test_pen_pressure_is_kept_and_changes_the_stroke_width_on_screen(canvas):
    line = [(40, 180), (120, 180), (200, 180), (300, 180)]
    pen_stroke(canvas, line, pressure=0.15)
    light = ink_pixels(canvas)
    pressures = [round(p[2], 2) for p in canvas.strokes()[0]]
    assert pressures == [0.15] * len(pressures) and len(pressures) >= len(line) - 1  # lift adds no point
    canvas.clear()
    pen_stroke(canvas, line, pressure=1.0)
    assert ink_pixels(canvas) > 1.4 * light


def test_touch_draws_like_a_finger(qtbot, canvas):
    device = QTest.createTouchDevice(QInputDevice.DeviceType.TouchScreen)
    QTest.touchEvent(canvas, device).press(0, QPoint(60, 60)).commit()
    for y in range(80, 260, 30):
        QTest.touchEvent(canvas, device).move(0, QPoint(60 + y // 4, y)).commit()
    QTest.touchEvent(canvas, device).release(0, QPoint(130, 270)).commit()
    strokes = canvas.strokes()
    assert len(strokes) == 1 and len(strokes[0]) >= 5


def test_undo_redo_and_clear_move_whole_strokes(canvas):
    drag(canvas, [(50, 50), (50, 200)])
    drag(canvas, [(20, 100), (120, 100)])
    first, second = canvas.strokes()
    canvas.undo()
    assert canvas.strokes() == [first] and canvas.can_redo()
    canvas.redo()
    assert canvas.strokes() == [first, second] and not canvas.can_redo()
    canvas.undo()
    drag(canvas, [(200, 200), (220, 260)])  # a new stroke ends the redo history
    assert not canvas.can_redo()
    canvas.clear()
    assert canvas.is_empty() and not canvas.can_undo() and ink_pixels(canvas) == 0


def test_pen_width_changes_the_screen_but_not_what_the_model_sees(canvas):
    drag(canvas, [(100, 40), (100, 300)])
    canvas.set_pen_width(6)
    thin_pixels, thin_image = ink_pixels(canvas), strokes_to_image(canvas.strokes())
    canvas.set_pen_width(40)
    assert ink_pixels(canvas) > 3 * thin_pixels
    assert np.array_equal(strokes_to_image(canvas.strokes()), thin_image)


def test_a_stroke_dragged_past_the_edge_keeps_only_what_is_on_screen(qtbot, canvas):
    """A 7 whose bar ran past the right edge was read from points no one could see (a T: "7 or 4?")."""
    drag(canvas, [(100, 80), (250, 80), (420, 80), (520, 120), (300, 300)])
    points = [point for stroke in canvas.strokes() for point in stroke]
    assert all(0 <= x <= canvas.width() - 1 and 0 <= y <= canvas.height() - 1 for x, y, *_ in points)
    assert max(x for x, *_ in points) == canvas.width() - 1  # it ran along the edge, as the ink on screen does
