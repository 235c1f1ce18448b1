"""Drive the real window from a benchmark: wait on a running event loop, draw with real mouse events.

Import only once a QApplication exists. Waiting runs a QEventLoop (as ``app.exec()`` would) rather
than ``QTest.qWait``, which sleeps up to 10 ms between event batches and so would add to every time
measured and open gaps in a heartbeat that are not the app's doing.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
from PySide6.QtTest import QTest

POLL_MS = 5  # how often the waiting loop looks at its condition


def wait_until(predicate, timeout_s: float, what: str) -> None:
    """Run the event loop until ``predicate()`` is true; raise TimeoutError naming ``what``."""
    if predicate():
        return
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s
    poll = QTimer()
    poll.setInterval(POLL_MS)
    poll.timeout.connect(lambda: (predicate() or time.perf_counter() > deadline) and loop.quit())
    poll.start()
    loop.exec()
    poll.stop()
    if not predicate():
        raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def pause(seconds: float) -> None:
    """Run the event loop for ``seconds``."""
    end = time.perf_counter() + seconds
    wait_until(lambda: time.perf_counter() >= end, seconds + 5, "a pause")


def draw_on_canvas(canvas, strokes) -> float:
    """Draw strokes (any coordinates; scaled into the middle 70 % of the canvas) as pointer drags.

    Returns perf_counter just before the last pen-up, the moment the app asks for a prediction.
    """
    # Plain Python, no numpy: the start-up benchmark draws before the model (and numpy) has loaded.
    xs = [float(p[0]) for stroke in strokes for p in stroke]
    ys = [float(p[1]) for stroke in strokes for p in stroke]
    x0, y0 = min(xs), min(ys)
    span = max(max(xs) - x0, max(ys) - y0, 1e-6)
    side = min(canvas.width(), canvas.height()) * 0.7
    left, top = canvas.width() / 2 - side / 2, canvas.height() / 2 - side / 2

    def to_pixel(point) -> QPoint:
        return QPoint(round(left + (float(point[0]) - x0) / span * side),
                      round(top + (float(point[1]) - y0) / span * side))

    pen_up = time.perf_counter()
    for stroke in strokes:
        pixels = [to_pixel(point) for point in stroke]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pixels[0])
        for pixel in pixels[1:]:
            QTest.mouseMove(canvas, pixel)
        pen_up = time.perf_counter()
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pixels[-1])
    return pen_up
