"""The window as a user meets it: draw with the mouse, read the answer, undo, redo, clear."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

from tests.qt_helpers import draw_strokes, drag, fit_to_canvas, open_window, standard_digit, wait_for_prediction


@pytest.fixture
def window(qtbot, tmp_path, mnist_dir):
    return open_window(qtbot, tmp_path / "user", mnist_dir)


@pytest.mark.parametrize("digit", range(10))
def test_a_clearly_drawn_digit_is_read_correctly(qtbot, window, digit):
    draw_strokes(window.canvas, standard_digit(digit))
    wait_for_prediction(qtbot, window, str(digit))
    probabilities = window.prediction_view.probability_view.probabilities()
    assert probabilities.argmax() == digit
    assert window.prediction_view.model_eye.image() is not None


def test_a_two_stroke_four_ends_as_four_and_undo_redo_clear_restore_state(qtbot, window):
    first, second = fit_to_canvas(standard_digit(4), window.canvas)
    drag(window.canvas, first)
    qtbot.waitUntil(lambda: window.prediction is not None, timeout=10_000)
    qtbot.wait(200)
    after_first_stroke = window.prediction.probabilities.copy()
    assert after_first_stroke.argmax() != 4 or after_first_stroke.max() < 0.9  # half a 4 is no sure 4

    drag(window.canvas, second)
    wait_for_prediction(qtbot, window, "4")

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.canvas.strokes()) == 1
    qtbot.waitUntil(lambda: window.prediction is not None
                    and abs(window.prediction.probabilities - after_first_stroke).max() < 1e-6, timeout=10_000)

    QTest.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert len(window.canvas.strokes()) == 2
    wait_for_prediction(qtbot, window, "4")

    QTest.keyClick(window, Qt.Key.Key_Escape)
    assert window.canvas.is_empty()
    wait_for_prediction(qtbot, window, "")
    assert window.prediction_view.probability_view.probabilities() is None
    assert window.prediction_view.model_eye.image() is None


def test_clear_button_and_delete_key_empty_the_canvas(qtbot, window):
    draw_strokes(window.canvas, standard_digit(7))
    wait_for_prediction(qtbot, window, "7")
    qtbot.mouseClick(window.findChild(QAbstractButton, "clearButton"), Qt.MouseButton.LeftButton)
    assert window.canvas.is_empty()
    wait_for_prediction(qtbot, window, "")

    draw_strokes(window.canvas, standard_digit(3))
    wait_for_prediction(qtbot, window, "3")
    QTest.keyClick(window, Qt.Key.Key_Delete)
    assert window.canvas.is_empty()
    wait_for_prediction(qtbot, window, "")


def test_an_empty_canvas_shows_no_prediction(qtbot, window):
    assert window.prediction_view.digit_label.text() == ""
    assert window.prediction_view.probability_view.probabilities() is None
    # A click without a drag is a dot: it must not crash and gives some answer or none.
    drag(window.canvas, [(50, 50)])
    qtbot.wait(300)
    QTest.keyClick(window, Qt.Key.Key_Escape)
    wait_for_prediction(qtbot, window, "")


def test_an_unsure_answer_names_candidates_instead_of_a_digit(qtbot, window):
    window._show_prediction(_fake_prediction([0.45, 0.4, 0.15] + [0.0] * 7))
    assert window.prediction_view.digit_label.text() == "0 or 1?"  # a question, not a claim
    caption = window.prediction_view.caption.text()
    assert "Not sure" in caption and "0" in caption and "1" in caption


def _fake_prediction(probabilities):
    import numpy as np

    from model.recognition.predict import Prediction

    return Prediction(np.array(probabilities), np.zeros((28, 28), np.float32))


def test_status_bar_names_the_active_model_and_its_accuracy(window):
    info = window.checkpoint.info
    text = window.model_label.text()
    assert "shipped" in text
    assert f"{info.mnist_test_accuracy * 100:.1f} %" in text


def test_required_object_names_tooltips_and_accessible_names(window):
    for name in ("canvas", "predictionLabel", "probabilityView", "modelEyeView", "clearButton"):
        assert window.findChild(QWidget, name) is not None, name
    for button in window.findChildren(QAbstractButton):
        if button.isVisible():
            assert button.toolTip(), button.objectName()
            assert button.accessibleName(), button.objectName()


def test_a_bad_weights_file_falls_back_to_the_shipped_model_with_a_message(qtbot, tmp_path, mnist_dir):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a model")
    window = open_window(qtbot, tmp_path / "user", mnist_dir, weights=bad)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "notice") is not None, timeout=5000)
    notice = window.findChild(QMessageBox, "notice")
    assert "bad.pt" in notice.text() and "damaged" in notice.text()
    assert "shipped" in window.model_label.text()
    draw_strokes(window.canvas, standard_digit(2))
    wait_for_prediction(qtbot, window, "2")


def test_pen_width_and_window_size_are_remembered(qtbot, tmp_path, mnist_dir):
    window = open_window(qtbot, tmp_path / "user", mnist_dir)
    window.pen_width.setValue(31)
    wanted = window.minimumSizeHint().expandedTo(window.size()) + QSize(90, 40)
    window.resize(wanted)
    window.close()
    again = open_window(qtbot, tmp_path / "user", mnist_dir)
    assert again.pen_width.value() == 31
    assert again.canvas.pen_width() == 31
    assert again.size() == wanted
