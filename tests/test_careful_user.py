"""The window as a careful user meets it (issue 20): a fine-tune's result never lands over the canvas,
Fine-tune says why it cannot run, its progress is in words, the drawing stays in view on a resize, and
the canvas and the model's eye keep their contrast under a desktop palette whose colours coincide.
Real mouse and key events, isolated data folders."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from model.personal.finetune import FinetuneConfig
from model.storage.samples import make_sample
from tests.qt_helpers import draw_strokes, drag, open_window, standard_digit, wait_for_prediction


@pytest.fixture
def window(qtbot, tmp_path, mnist_dir):
    return open_window(qtbot, tmp_path / "user", mnist_dir)


def store_samples(window, count: int = 12) -> None:
    for seed in range(count):  # stored directly: saving is not what these tests are about
        window.store.add(make_sample(seed % 10, standard_digit(seed % 10, seed=seed)))
    window._update_actions()


def visible_message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def global_rect(widget) -> QRect:
    return QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size())


def test_a_finetune_result_shows_in_the_panel_and_never_over_the_canvas(qtbot, window):
    store_samples(window)
    window.finetune_config = FinetuneConfig(steps=5, max_mnist_drop=-1.0)  # quick, and refused
    QTest.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.finetune_worker is not None, timeout=5000)
    # The user goes on writing while it runs; the result arrives meanwhile.
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=120_000)
    qtbot.wait(100)
    assert not visible_message_boxes(), "a result window opened by itself (the next stroke would go to it)"
    result = window.panel.result_line
    assert result.isVisible() and "Fine-tune not used" in result.text() and "Details" in result.text()
    # The next stroke goes to the canvas.
    draw_strokes(window.canvas, standard_digit(3))
    assert len(window.canvas.strokes()) == len(standard_digit(3))
    # Details are one click away, and open beside the canvas, not over it.
    result.linkActivated.emit("details")
    qtbot.waitUntil(lambda: bool(visible_message_boxes()), timeout=2000)
    box = visible_message_boxes()[0]
    assert box.text().startswith("hwr kept its model")
    assert not box.frameGeometry().intersects(global_rect(window.canvas))


def test_finetune_says_why_it_cannot_run_and_waits_for_something_new_after_a_refusal(qtbot, window):
    # Ctrl+T with too few samples says what is missing instead of doing nothing.
    QTest.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert "Save 10 more samples" in window.statusBar().currentMessage()
    store_samples(window)
    assert window.finetune_action.isEnabled()
    window.finetune_config = FinetuneConfig(steps=5, max_mnist_drop=-1.0)
    QTest.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.finetune_worker is not None, timeout=5000)
    # While it runs the counter says so, and the bar says what it does in words.
    assert "fine-tuning" in window.samples_label.text() and "ready to fine-tune" not in window.samples_label.text()
    assert window.finetune_progress.text() and "loss" not in window.finetune_progress.format()
    qtbot.waitUntil(lambda: window.finetune_progress.maximum() > 1 or window.finetune_worker is None, timeout=60_000)
    assert "loss" not in window.finetune_progress.format() and "Step" not in window.finetune_progress.format()
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=120_000)
    assert not window.last_finetune[0].accepted
    # Refused, with nothing new to learn: Fine-tune waits, and says why.
    assert not window.finetune_action.isEnabled()
    assert "save more" in window.samples_label.text()
    QTest.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert "not used" in window.statusBar().currentMessage()
    # A new sample is something new.
    window.store.add(make_sample(4, standard_digit(4, seed=99)))
    window._update_actions()
    assert window.finetune_action.isEnabled() and "ready to fine-tune" in window.samples_label.text()


@pytest.mark.parametrize("size", [QSize(480, 400), QSize(1600, 1000)])
def test_the_drawing_stays_in_view_when_the_window_changes_size(qtbot, window, size):
    window.resize(760, 560)
    qtbot.waitUntil(lambda: window.size() == QSize(760, 560), timeout=2000)
    qtbot.wait(50)
    draw_strokes(window.canvas, standard_digit(4))
    wait_for_prediction(qtbot, window, "4")
    canvas = window.canvas

    def placement():
        """The drawing's box: its centre's offset from the canvas's centre and its size, in canvas sides."""
        xs = [p[0] for stroke in canvas.strokes() for p in stroke]
        ys = [p[1] for stroke in canvas.strokes() for p in stroke]
        side = min(canvas.width(), canvas.height())
        return ((min(xs) + max(xs) - canvas.width()) / 2 / side, (min(ys) + max(ys) - canvas.height()) / 2 / side,
                (max(xs) - min(xs)) / side, (max(ys) - min(ys)) / side), (xs, ys)

    before, _ = placement()
    window.resize(size)
    qtbot.waitUntil(lambda: window.size() == size, timeout=2000)
    qtbot.wait(100)
    after, (xs, ys) = placement()
    assert 0 <= min(xs) and max(xs) <= canvas.width() and 0 <= min(ys) and max(ys) <= canvas.height()
    # Where it was and as big as it was, measured in the canvas's size: not run off, not left in a corner.
    assert after == pytest.approx(before, abs=0.02)
    wait_for_prediction(qtbot, window, "4")


def test_a_desktop_palette_whose_base_and_window_colours_coincide_keeps_everything_visible(qtbot, window):
    palette = QPalette(window.palette())
    dark = QColor(36, 36, 36)  # GTK Adwaita-dark: base, window and mid all but equal
    for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base, QPalette.ColorRole.Mid,
                 QPalette.ColorRole.AlternateBase, QPalette.ColorRole.Button):
        palette.setColor(role, dark)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        palette.setColor(role, QColor(238, 238, 238))
    QApplication.instance().setPalette(palette)
    try:
        qtbot.waitUntil(lambda: window.canvas.palette().color(QPalette.ColorRole.Base) == dark, timeout=2000)
        qtbot.wait(50)
        picture = window.grab().toImage()
        canvas = window.canvas
        paper = QColor(picture.pixel(canvas.mapTo(window, canvas.rect().topLeft()) + QPoint(6, canvas.height() // 2)))
        # The canvas stands apart from the window around it, and the empty model's eye shows its square.
        assert abs(paper.lightness() - dark.lightness()) >= 20, paper.name()
        eye = window.prediction_view.model_eye
        eye_picture = eye.grab().toImage()
        assert any(abs(QColor(eye_picture.pixel(x, y)).lightness() - dark.lightness()) >= 20
                   for x in range(eye.width()) for y in range(0, eye.height(), 4))
    finally:
        QApplication.instance().setPalette(QApplication.style().standardPalette())
