"""The window as a newcomer meets it: take back a wrong save, small and large windows, what Fine-tune
needs, the keys, the first-run steps, dark desktops. Real mouse and key events, isolated data folders."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QLabel, QMenu, QWidget

from model.personal.finetune import FinetuneConfig
from model.recognition.predict import Prediction
from model.storage.samples import make_sample
from hwr_app.wording import general_accuracy
from tests.qt_helpers import draw_strokes, open_window, standard_digit, wait_for_prediction


@pytest.fixture
def window(qtbot, tmp_path, mnist_dir):
    return open_window(qtbot, tmp_path / "user", mnist_dir)


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    QTest.keyClick(window, key, modifier)


def draw_and_read(qtbot, window, digit: int, seed: int = 0) -> None:
    draw_strokes(window.canvas, standard_digit(digit, seed=seed))
    wait_for_prediction(qtbot, window, str(digit))


def save_with_key(qtbot, window, digit: int, drawn: int | None = None, seed: int = 0) -> None:
    """Draw ``drawn`` (default ``digit``), then press the key of ``digit``."""
    draw_strokes(window.canvas, standard_digit(digit if drawn is None else drawn, seed=seed))
    qtbot.waitUntil(lambda: window.prediction is not None, timeout=10_000)
    press(qtbot, window, getattr(Qt.Key, f"Key_{digit}"))
    assert window.canvas.is_empty()


def click_link(qtbot, label: QLabel, anchor_text: str) -> None:
    """Click the link ``anchor_text`` at the end of a one-line rich-text label, with the mouse."""
    plain = label.text().replace("<b>", "").replace("</b>", "")
    plain = plain[:plain.index("<a")] + anchor_text
    metrics = label.fontMetrics()
    x = label.contentsRect().x() + metrics.horizontalAdvance(plain) - metrics.horizontalAdvance(anchor_text) // 2
    y = label.contentsRect().y() + metrics.height() // 2
    QTest.mouseClick(label, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, y))


# -- 1. a wrong save is taken back with Undo ---------------------------------------------------

def test_ctrl_z_after_a_wrong_save_puts_the_drawing_back_and_removes_the_sample(qtbot, window):
    draw_and_read(qtbot, window, 3)
    drawn = window.canvas.strokes()
    press(qtbot, window, Qt.Key.Key_5)  # the wrong key
    assert window.store.count() == 1 and window.canvas.is_empty()
    assert "Saved as" in window.saved_line.text() and "5" in window.saved_line.text()
    assert "Undo" in window.saved_line.text() and window.undo_action.isEnabled()
    assert "save as 5" in window.undo_action.text().lower()

    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.store.count() == 0
    assert window.canvas.strokes() == drawn  # the very drawing, every point of it
    wait_for_prediction(qtbot, window, "3")
    assert "Saved as" not in window.saved_line.text()

    press(qtbot, window, Qt.Key.Key_3)  # now the right one
    assert [s.label for s in window.store.samples()] == [3]


def test_undo_walks_back_through_strokes_then_the_save_and_redo_walks_forward(qtbot, window):
    save_with_key(qtbot, window, 7, seed=1)
    uid = window.store.samples()[0].uid
    draw_strokes(window.canvas, standard_digit(1))  # a new drawing after the save
    assert "Saved as" not in window.saved_line.text()  # its Undo would no longer take the save back

    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the stroke of the 1
    assert window.canvas.is_empty() and window.store.count() == 1
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the save of the 7
    assert window.store.count() == 0 and not window.canvas.is_empty()
    wait_for_prediction(qtbot, window, "7")

    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.canvas.is_empty() and [s.uid for s in window.store.samples()] == [uid]  # the same sample


def test_the_undo_link_beside_saved_as_takes_the_save_back(qtbot, window):
    draw_and_read(qtbot, window, 2)
    qtbot.mouseClick(window.label_buttons[8], Qt.MouseButton.LeftButton)
    assert window.store.count() == 1
    click_link(qtbot, window.saved_line, "Undo")
    qtbot.waitUntil(lambda: window.store.count() == 0, timeout=2000)
    wait_for_prediction(qtbot, window, "2")


def test_a_cleared_drawing_comes_back_with_undo(qtbot, window):
    draw_and_read(qtbot, window, 6)
    press(qtbot, window, Qt.Key.Key_Escape)
    assert window.canvas.is_empty()
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_for_prediction(qtbot, window, "6")
    assert window.store.count() == 0


# -- 2, 7, 8. sizes: small screens, no jumps, balanced large windows ----------------------------

def visible_widgets(window) -> list[QWidget]:
    return [w for w in window.centralWidget().findChildren(QWidget) if w.isVisible()]


def assert_usable(window) -> None:
    """Every visible widget lies inside the window and gets at least the size it needs."""
    area = window.rect()
    for widget in visible_widgets(window):
        top_left = widget.mapTo(window, QPoint(0, 0))
        name = widget.objectName() or type(widget).__name__
        assert area.contains(top_left) and area.contains(top_left + QPoint(widget.width() - 1, widget.height() - 1)), name
        if isinstance(widget, QAbstractButton):  # its text fits (styles ask for more than a short word needs)
            assert widget.width() >= widget.fontMetrics().horizontalAdvance(widget.text()) + 8, name
            assert widget.height() >= widget.minimumSizeHint().height(), name
        elif isinstance(widget, QLabel) and widget.wordWrap() and widget.text().strip():
            assert widget.height() >= widget.heightForWidth(widget.width()), name  # no line cut off
        elif isinstance(widget, QLabel) and widget.text().strip():
            assert widget.width() >= widget.minimumSizeHint().width(), (name, widget.text())
            assert widget.height() >= widget.minimumSizeHint().height(), name
    buttons = [b.geometry() for b in window.label_buttons]
    assert not any(a.intersects(b) for i, a in enumerate(buttons) for b in buttons[i + 1:])


def test_the_window_works_at_480_by_400(qtbot, window):
    window.resize(480, 400)
    qtbot.waitUntil(lambda: window.size() == QSize(480, 400), timeout=2000)
    qtbot.wait(50)
    assert window.panel.hint.isVisible()
    assert_usable(window)  # with the first-run steps
    assert window.canvas.width() >= 240 and window.canvas.height() >= 240
    draw_and_read(qtbot, window, 4)
    qtbot.wait(50)
    assert_usable(window)  # with an answer
    press(qtbot, window, Qt.Key.Key_4)  # saving works at this size
    assert window.store.count() == 1 and "Undo" in window.saved_line.text()
    assert_usable(window)


def test_starting_and_ending_a_finetune_changes_no_size(qtbot, window):
    for seed in range(11):  # stored directly: saving is not what this test is about
        window.store.add(make_sample(4, standard_digit(4, seed=seed)))
    window._update_actions()
    for size in (QSize(480, 400), QSize(760, 560)):
        window.resize(size)
        qtbot.waitUntil(lambda: window.size() == size, timeout=2000)
        qtbot.wait(50)
        before = {w.objectName(): w.geometry() for w in visible_widgets(window) if w.objectName()}
        window.finetune_config = FinetuneConfig(steps=2000)
        qtbot.mouseClick(window.finetune_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.finetune_progress.isVisible(), timeout=2000)
        qtbot.wait(50)
        # The panel's hint with every line's room reserved (the fine-tune's result too, since stop 23: it no
        # longer moves the digit buttons when it first appears); the window's own minimum stays 480×400.
        assert window.size() == size and window.minimumSizeHint().height() <= max(size.height(), 525)
        during = {w.objectName(): w.geometry() for w in visible_widgets(window) if w.objectName()}
        assert {k: v for k, v in during.items() if k in before} == {k: v for k, v in before.items() if k in during}
        with qtbot.waitSignal(window.finetune_worker.cancelled, timeout=60_000):
            qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=60_000)
        qtbot.wait(50)
        assert window.size() == size
        after = {w.objectName(): w.geometry() for w in visible_widgets(window) if w.objectName()}
        assert after == before


def test_the_sample_line_keeps_its_height_as_its_text_changes(qtbot, window):
    window.resize(480, 400)
    qtbot.waitUntil(lambda: window.size() == QSize(480, 400), timeout=2000)
    qtbot.wait(50)
    geometry = window.samples_label.geometry()
    first = window.samples_label.text()
    save_with_key(qtbot, window, 1)
    qtbot.wait(50)
    assert window.samples_label.text() != first and window.samples_label.text().startswith("1 sample saved")
    assert window.samples_label.geometry() == geometry


@pytest.mark.parametrize("size", [QSize(480, 480), QSize(760, 560)])
def test_an_unsure_answer_moves_nothing(qtbot, window, size):
    window.resize(size)
    qtbot.waitUntil(lambda: window.size() == size, timeout=2000)
    draw_and_read(qtbot, window, 0)  # a sure answer
    qtbot.wait(50)
    panel = {w.objectName(): w.geometry() for w in window.panel.findChildren(QWidget) if w.objectName()}
    unsure = Prediction(np.array([0.3, 0.25, 0.2, 0.15, 0.1] + [0.0] * 5), np.zeros((28, 28), np.float32))
    window.prediction_view.show_prediction(unsure)  # three candidates: the longest caption there is
    qtbot.wait(50)
    assert window.prediction_view.caption.text().count("(") == 3
    assert window.prediction_view.probability_view.isVisible()
    assert {w.objectName(): w.geometry() for w in window.panel.findChildren(QWidget) if w.objectName()} == panel
    assert_usable(window)


def test_at_1600_by_1000_the_canvas_keeps_its_shape_and_the_panel_and_eye_grow(qtbot, window):
    draw_and_read(qtbot, window, 8)
    window.resize(760, 560)
    qtbot.waitUntil(lambda: window.size() == QSize(760, 560), timeout=2000)
    qtbot.wait(50)
    eye = window.prediction_view.model_eye
    small_panel, small_eye = window.panel.width(), min(eye.width(), eye.height())
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: window.size() == QSize(1600, 1000), timeout=2000)
    qtbot.wait(50)
    assert window.canvas.width() <= 1.35 * window.canvas.height()
    assert window.panel.width() >= 1.6 * small_panel
    assert min(eye.width(), eye.height()) >= 2 * small_eye
    assert window.pen_width.width() <= 220
    # The answer stays beside the eye and the eye's caption right under it: no tall empty band.
    caption = window.prediction_view.findChild(QWidget, "modelEyeCaption")
    panel_y = lambda w: w.mapTo(window.panel, w.rect().topLeft()).y()  # noqa: E731
    label = window.prediction_view.digit_label
    assert 0 <= panel_y(caption) - (panel_y(eye) + eye.height()) <= 8
    label_middle, eye_middle = panel_y(label) + label.height() / 2, panel_y(eye) + eye.height() / 2
    assert abs(label_middle - eye_middle) <= eye.height() / 4


# -- 5. Fine-tune is enabled only when a fine-tune can run ---------------------------------------

def test_fine_tune_is_enabled_at_ten_samples_of_any_digits_and_says_what_is_missing_before(qtbot, window):
    for digit in range(9):
        save_with_key(qtbot, window, digit, seed=2)
    assert not window.finetune_action.isEnabled() and not window.finetune_button.isEnabled()
    assert "9 samples saved" in window.samples_label.text() and "1 more to fine-tune" in window.samples_label.text()
    assert "Save 1 more sample to fine-tune" in window.finetune_action.toolTip()
    save_with_key(qtbot, window, 9, seed=5)  # one of every digit: the cross-validated gate needs no spare
    assert window.finetune_action.isEnabled() and "ready to fine-tune" in window.samples_label.text()


def test_the_counter_says_how_many_more_and_uses_the_singular(qtbot, window):
    assert window.samples_label.text() == "0 samples saved · 10 more to fine-tune"
    save_with_key(qtbot, window, 7)
    assert window.samples_label.text() == "1 sample saved · 9 more to fine-tune"


# -- 6, 12. keys and first-run steps -------------------------------------------------------------

def test_the_digit_keys_are_in_a_menu_on_the_buttons_and_in_help(qtbot, window):
    menu = window.findChild(QMenu, "saveAsMenu")
    assert [a.shortcut().toString() for a in menu.actions()] == [str(d) for d in range(10)]
    assert [a.text() for a in menu.actions()] == [f"Save as {d}" for d in range(10)]
    assert window.findChild(QWidget, "saveAsBox").title().startswith("Save as")
    assert all(f"key {d}" in button.toolTip() for d, button in enumerate(window.label_buttons))
    window.keys_action.trigger()
    keys = window.findChild(QWidget, "keysDialog")
    assert keys is not None and "Ctrl+Z" in keys.text() and "0" in keys.text()


def test_the_first_run_steps_show_until_dismissed_and_stay_dismissed(qtbot, tmp_path, mnist_dir):
    window = open_window(qtbot, tmp_path / "user", mnist_dir)
    assert window.panel.hint.isVisible() and "Fine-tune" in window.panel.hint.findChild(QLabel, "firstRunText").text()
    draw_and_read(qtbot, window, 5)  # drawing shows the answer in its place
    assert not window.panel.hint.isVisible() and window.prediction_view.isVisible()
    press(qtbot, window, Qt.Key.Key_Escape)
    assert window.panel.hint.isVisible()
    qtbot.mouseClick(window.panel.hint.got_it, Qt.MouseButton.LeftButton)
    assert not window.panel.hint.isVisible()
    window.close()
    again = open_window(qtbot, tmp_path / "user", mnist_dir)
    assert not again.panel.hint.isVisible()
    again.hint_action.trigger()  # Help ▸ Getting started brings them back
    assert again.panel.hint.isVisible()


# -- 9, 10, 11. names, dark palette ----------------------------------------------------------------

def test_the_status_bar_names_the_model_and_its_general_accuracy(window):
    text = window.model_label.text()
    assert "shipped" in text and window.checkpoint.info.version not in text
    assert f"General accuracy {general_accuracy(window.checkpoint.info.mnist_test_accuracy)}" in text


def test_the_models_eye_follows_a_dark_palette(qtbot, window):
    dark = QPalette(window.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#f0f0f0"))
    window.setPalette(dark)
    draw_and_read(qtbot, window, 1)
    eye = window.prediction_view.model_eye
    picture = eye.grab().toImage()
    side = min(eye.width(), eye.height()) // 28 * 28
    corner = picture.pixelColor((eye.width() - side) // 2 + 3, (eye.height() - side) // 2 + 3)
    assert corner.lightness() < 60  # paper is the dark base, not a white square
    assert max(picture.pixelColor(x, eye.height() // 2).lightness() for x in range(eye.width())) > 180  # light ink
