"""The drawing canvas: strokes in, pixels out; it knows nothing about models.

Like Qt's Scribble example, the canvas owns its picture and repaints only the dirty rectangle, but
its real model is the list of strokes (points with time and pressure): the picture is painted from
them, undo and redo move whole strokes, and the strokes are what the rest of the app reads.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QResizeEvent,
                           QTabletEvent, QTouchEvent)
from PySide6.QtWidgets import QSizePolicy, QWidget

Point = tuple[float, float, float, float]  # x, y (widget pixels), pressure 0..1, seconds since stroke start
Stroke = list[Point]

MIN_SIDE = 240  # the smallest canvas: a digit must still be drawn big (fits a 480-pixel-wide window)


class Canvas(QWidget):
    """A widget the user draws digits on with a mouse, a pen (pressure) or a finger."""

    strokes_changed = Signal(bool)  # True when a stroke was finished (pen lift, undo, redo, clear)
    rescaled = Signal()  # the canvas changed size and the drawing was scaled with it (same strokes, new place)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setAccessibleName("Drawing canvas")
        self.setAccessibleDescription("Draw one digit here with the mouse, a pen or a finger.")
        self.setToolTip("Draw a digit here. Esc clears, Ctrl+Z undoes a stroke.")
        self.setMinimumSize(MIN_SIDE, MIN_SIDE)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._strokes: list[Stroke] = []
        self._redo: list[Stroke] = []
        self._current: Stroke | None = None
        self._stroke_started = 0.0
        self._pen_width = 18.0
        self._modified = False
        self._picture = QImage()

    # -- the model ----------------------------------------------------------------------------

    def strokes(self) -> list[Stroke]:
        """Return a copy of the strokes, the one being drawn included."""
        strokes = [list(stroke) for stroke in self._strokes]
        if self._current:
            strokes.append(list(self._current))
        return strokes

    def is_empty(self) -> bool:
        """Return True when nothing is drawn."""
        return not self._strokes and not self._current

    def is_modified(self) -> bool:
        """Return True if anything was drawn since the last clear."""
        return self._modified

    def can_undo(self) -> bool:
        return bool(self._strokes)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def pen_width(self) -> float:
        return self._pen_width

    def set_pen_width(self, width: float) -> None:
        """Set the on-screen pen width in pixels (the model's view does not depend on it)."""
        self._pen_width = max(1.0, float(width))
        self._repaint_all()

    def clear(self) -> None:
        """Remove every stroke (undoable stroke history is cleared too)."""
        had_ink = not self.is_empty()
        self._strokes.clear()
        self._redo.clear()
        self._current = None
        self._modified = False
        self._repaint_all()
        if had_ink:
            self.strokes_changed.emit(True)

    def undo(self) -> None:
        """Remove the last stroke."""
        if self._strokes:
            self._redo.append(self._strokes.pop())
            self._repaint_all()
            self.strokes_changed.emit(True)

    def redo(self) -> None:
        """Put back the last undone stroke."""
        if self._redo:
            self._strokes.append(self._redo.pop())
            self._repaint_all()
            self.strokes_changed.emit(True)

    def redo_strokes(self) -> list[Stroke]:
        """Return the strokes Redo would put back, the next one last."""
        return [list(stroke) for stroke in self._redo]

    def set_redo_strokes(self, strokes: list[Stroke]) -> None:
        """Make ``strokes`` what Redo puts back, the next one last (the drawing itself is left as it is)."""
        self._redo = [list(stroke) for stroke in strokes if stroke]
        self.strokes_changed.emit(True)

    def set_strokes(self, strokes: list[Stroke]) -> None:
        """Replace the drawing with these strokes (used to show a stored sample)."""
        self._strokes = [list(stroke) for stroke in strokes if stroke]
        self._redo.clear()
        self._current = None
        self._modified = bool(self._strokes)
        self._repaint_all()
        self.strokes_changed.emit(True)

    # -- input --------------------------------------------------------------------------------

    def _inside(self, position: QPointF) -> QPointF:
        """Return ``position`` held to the canvas: a stroke dragged past its edge runs along the edge, so the
        ink the model reads is the ink on screen (points beyond it were kept unseen and changed the answer)."""
        return QPointF(min(max(position.x(), 0.0), max(self.width() - 1.0, 0.0)),
                       min(max(position.y(), 0.0), max(self.height() - 1.0, 0.0)))

    def _begin(self, position: QPointF, pressure: float) -> None:
        position = self._inside(position)
        self._redo.clear()
        self._stroke_started = time.monotonic()
        self._current = [(position.x(), position.y(), pressure, 0.0)]
        self._modified = True
        self._paint_segment(self._current)
        self.strokes_changed.emit(False)

    def _extend(self, position: QPointF, pressure: float) -> None:
        if self._current is None:
            return
        position = self._inside(position)
        last = self._current[-1]
        if (position.x(), position.y()) == last[:2]:
            return
        self._current.append((position.x(), position.y(), pressure, time.monotonic() - self._stroke_started))
        self._paint_segment(self._current[-2:])
        self.strokes_changed.emit(False)

    def _end(self) -> None:
        if self._current is None:
            return
        self._strokes.append(self._current)
        self._current = None
        self.strokes_changed.emit(True)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position(), 1.0)
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._extend(event.position(), 1.0)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._extend(event.position(), 1.0)
            self._end()

    def tabletEvent(self, event: QTabletEvent) -> None:
        pressure = float(event.pressure())
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self._begin(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletMove and self._current is not None:
            self._extend(event.position(), pressure)
        elif kind == QTabletEvent.Type.TabletRelease:
            self._end()
        event.accept()  # accepted: Qt then sends no duplicate mouse events

    def event(self, event) -> bool:
        kind = event.type()
        if kind in (QTouchEvent.Type.TouchBegin, QTouchEvent.Type.TouchUpdate, QTouchEvent.Type.TouchEnd,
                    QTouchEvent.Type.TouchCancel):
            points = event.points()
            if points:
                point = points[0]
                pressure = float(point.pressure()) or 1.0
                if kind == QTouchEvent.Type.TouchBegin:
                    self._begin(point.position(), pressure)
                elif kind == QTouchEvent.Type.TouchUpdate:
                    self._extend(point.position(), pressure)
                else:
                    self._end()
            event.accept()
            return True
        return super().event(event)

    # -- painting -----------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(360, 360)

    def _ink_colour(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.Text)

    def _paper_colour(self) -> QColor:
        from hwr_app.widgets import paper_colour

        return paper_colour(self.palette())  # set apart from the window even where the desktop's base is not

    def _pen_for(self, pressure: float) -> QPen:
        width = self._pen_width * (0.4 + 0.6 * min(max(pressure, 0.0), 1.0)) if pressure < 1.0 else self._pen_width
        return QPen(self._ink_colour(), width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                    Qt.PenJoinStyle.RoundJoin)

    def _paint_segment(self, points: Stroke) -> None:
        """Draw the newest piece of a stroke into the picture and repaint just that area."""
        if self._picture.isNull():
            self._repaint_all()
            return
        painter = QPainter(self._picture)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        dirty = self._draw_points(painter, points)
        painter.end()
        margin = self._pen_width + 2
        self.update(dirty.adjusted(-margin, -margin, margin, margin).toAlignedRect())

    def _draw_points(self, painter: QPainter, points: Stroke) -> QRectF:
        first = points[0]
        dirty = QRectF(first[0], first[1], 0, 0)
        if len(points) == 1:
            painter.setPen(self._pen_for(first[2]))
            painter.drawPoint(QPointF(first[0], first[1]))
        for (x0, y0, p0, _), (x1, y1, p1, _) in zip(points, points[1:]):
            painter.setPen(self._pen_for((p0 + p1) / 2))
            painter.drawLine(QPointF(x0, y0), QPointF(x1, y1))
            dirty = dirty.united(QRectF(QPointF(x1, y1), QPointF(x1, y1)))
        return dirty

    def _repaint_all(self) -> None:
        """Rebuild the picture from the strokes (after undo, redo, clear, resize)."""
        ratio = self.devicePixelRatioF()
        self._picture = QImage((self.size() * ratio), QImage.Format.Format_ARGB32_Premultiplied)
        self._picture.setDevicePixelRatio(ratio)
        self._picture.fill(Qt.GlobalColor.transparent)
        painter = QPainter(self._picture)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for stroke in self.strokes():
            self._draw_points(painter, stroke)
        painter.end()
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        old, new = event.oldSize(), event.size()
        moved = old.isValid() and old.width() > 0 and old.height() > 0 and old != new and not self.is_empty()
        if moved:  # keep the drawing in view: scale it with the canvas, about the centre
            self._rescale(old, new)
        self._repaint_all()
        super().resizeEvent(event)
        if moved:
            self.rescaled.emit()

    def _rescale(self, old: QSize, new: QSize) -> None:
        """Scale every stroke (and those undone) from a canvas of size ``old`` to one of size ``new``.

        About the centre, by the change of the shorter side (so that steps of a drag-resize add up to
        the whole), and less if the drawing would not fit otherwise (a wide number on a wide canvas).
        """
        ox, oy, nx, ny = old.width() / 2, old.height() / 2, new.width() / 2, new.height() / 2
        scale = min(new.width(), new.height()) / min(old.width(), old.height())
        points = [(x, y) for stroke in self.strokes() for x, y, *_ in stroke]
        margin = self._pen_width / 2 + 2
        reach_x = max(abs(x - ox) for x, _ in points) * scale
        reach_y = max(abs(y - oy) for _, y in points) * scale
        for reach, half in ((reach_x, nx - margin), (reach_y, ny - margin)):
            if reach > half > 0:
                scale *= half / reach

        def moved(stroke: Stroke) -> Stroke:
            return [((x - ox) * scale + nx, (y - oy) * scale + ny, *rest) for x, y, *rest in stroke]

        self._strokes = [moved(stroke) for stroke in self._strokes]
        self._redo = [moved(stroke) for stroke in self._redo]
        if self._current is not None:
            self._current = moved(self._current)

    def changeEvent(self, event) -> None:
        if event.type() == event.Type.PaletteChange:  # light/dark switch: ink colour follows
            self._repaint_all()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), self._paper_colour())
        guide = QColor(self._ink_colour())
        guide.setAlpha(40)
        painter.setPen(QPen(guide, 1, Qt.PenStyle.DashLine))
        inset = self.rect().adjusted(12, 12, -13, -13)
        painter.drawRoundedRect(inset, 8, 8)
        if self.is_empty():
            hint = QColor(self._ink_colour())
            hint.setAlpha(110)
            painter.setPen(hint)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        painter.drawImage(0, 0, self._picture)  # clipped to the dirty region by Qt
        painter.end()
