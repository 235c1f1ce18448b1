"""What a user notices in the window, checked as they notice it: the fine-tune's progress reads on one line
at every size, nothing in the panel moves when a result appears, an open Model versions window lists
the version a fine-tune just made, the status bar never contradicts what just happened, Enter presses
the focused button, and the words are right. Real keys and pointer drags, isolated data folders."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from hwr_app.actions import KEYS_HELP
from hwr_app.wording import typing_hint
from model.personal.finetune import FinetuneConfig
from model.storage.samples import make_sample
from tests.qt_helpers import draw_strokes, open_window, standard_digit, style_digit

SIZES = [QSize(760, 560), QSize(600, 480), QSize(480, 400), QSize(1600, 1000)]  # default, small, smallest, large


@pytest.fixture
def window(qtbot, tmp_path, mnist_dir):
    user = tmp_path / "user"
    user.mkdir()
    (user / "settings.ini").write_text("[hint]\ndismissed=true\n")
    return open_window(qtbot, user, mnist_dir)


def store_samples(window, count: int = 12) -> None:
    for seed in range(count):  # stored directly: saving is not what these tests are about
        window.store.add(make_sample(seed % 10, standard_digit(seed % 10, seed=seed)))
    window._update_actions()


def resize(qtbot, window, size: QSize) -> None:
    window.resize(size)
    qtbot.waitUntil(lambda: window.size() == size, timeout=2000)
    qtbot.wait(50)


def fits_one_line(widget, text: str) -> bool:
    return widget.fontMetrics().horizontalAdvance(text) <= widget.width()


# -- 1. the progress reads on one line ----------------------------------------------------------

@pytest.mark.parametrize("phase, word", [("training", "Learning"), ("checking", "Checking")])
def test_the_finetune_progress_is_one_readable_line_at_every_size(qtbot, window, phase, word):
    flow, bar = window.finetune_flow, window.finetune_progress
    window.panel.show_progress(True)
    flow._on_progress(SimpleNamespace(phase=phase, steps=100, step=3))
    for size in SIZES:
        resize(qtbot, window, size)
        text = bar.text()
        assert text.endswith("3%"), (size, text)  # the percentage never disappears
        assert fits_one_line(bar, text), (size, text, bar.width())
        assert bar.width() < 300 or word in text  # at the smallest sizes the words shorten, never wrap
    resize(qtbot, window, QSize(1600, 1000))
    assert word in bar.text()
    window.panel.show_progress(False)


def test_the_words_before_the_first_step_and_while_cancelling_fit_too(qtbot, window):
    bar = window.finetune_progress
    window.panel.show_progress(True)
    for size in SIZES:
        resize(qtbot, window, size)
        bar.set_wordings("Getting ready to learn…", "Getting ready…", "Starting…")
        assert fits_one_line(bar, bar.text()), (size, bar.text())
    window.panel.show_progress(False)


# -- 2. nothing moves when the first result appears ---------------------------------------------

@pytest.mark.parametrize("size", [QSize(760, 560), QSize(480, 400)])
def test_the_first_finetune_result_moves_nothing_in_the_panel(qtbot, window, size):
    resize(qtbot, window, size)
    draw_strokes(window.canvas, standard_digit(4, 9))
    qtbot.waitUntil(lambda: window.prediction is not None, timeout=10_000)
    qtbot.wait(100)

    def places():
        return [b.mapTo(window, QPoint(0, 0)) for b in (*window.label_buttons, window.finetune_button)]

    before = places()
    window.finetune_flow._show_result("T", "Fine-tune in use: 13 of your 17 samples right, before 12.", "t", "",
                                      QMessageBox.Icon.Information)
    qtbot.wait(50)
    assert window.panel.result_line.isVisible()
    assert places() == before


# -- 3. an open Model versions window follows a fine-tune ---------------------------------------

def test_an_open_versions_window_lists_the_version_a_finetune_makes(qtbot, window):
    store_samples(window)
    window.models_action.trigger()
    dialog = window.models_dialog
    rows = dialog.table.rowCount()
    window.finetune_config = FinetuneConfig(steps=5, max_mnist_drop=-1.0)  # quick (refused: listed as not used)
    window.finetune_action.trigger()
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=120_000)
    qtbot.wait(50)
    assert dialog.table.rowCount() == rows + 1
    assert any(dialog.table.item(r, 6).text() == "not used" for r in range(dialog.table.rowCount()))
    dialog.close()


# -- 4. the status bar never contradicts what just happened -------------------------------------

def test_saving_with_the_digit_key_after_an_unsure_enter_replaces_not_saved(qtbot, window):
    for seed in range(10):
        window.canvas.clear()
        draw_strokes(window.canvas, style_digit("z-two", seed)[1])
        qtbot.waitUntil(lambda: window.prediction is not None and not window._live_timer.isActive(), timeout=10_000)
        qtbot.wait(150)
        if " or " in window.prediction_view.digit_label.text():
            break
    else:
        pytest.skip("no unsure reading among these drawings")
    window.activateWindow()
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    assert window.statusBar().currentMessage().startswith("Not saved")
    QTest.keyClick(window.canvas, Qt.Key.Key_2)
    assert "Saved as" in window.saved_line.text()
    assert not window.statusBar().currentMessage().startswith("Not saved")


def test_a_new_finetune_clears_what_the_status_bar_said_before(qtbot, window):
    QTest.keyClick(window.canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)  # too few samples: says why
    assert window.statusBar().currentMessage()
    store_samples(window)
    assert window.statusBar().currentMessage()  # the stale "Save … more samples" line, before the save below
    draw_strokes(window.canvas, standard_digit(3))
    qtbot.waitUntil(lambda: window.prediction is not None, timeout=10_000)
    QTest.keyClick(window.canvas, Qt.Key.Key_3)
    assert window.statusBar().currentMessage() == ""  # the save replaced it
    window.statusBar().showMessage("Fine-tuning cancelled.", 60_000)
    window.finetune_config = FinetuneConfig(steps=2000)
    window.finetune_action.trigger()
    assert window.statusBar().currentMessage() == ""
    window.cancel_finetune()
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=60_000)


# -- 5. Enter presses the focused button --------------------------------------------------------

def test_enter_on_a_focused_button_presses_it_and_keeps_its_meaning_on_the_canvas(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    draw_strokes(window.canvas, standard_digit(6))
    qtbot.waitUntil(lambda: window.prediction is not None, timeout=10_000)
    button = window.label_buttons[5]  # not what the model reads: Enter on the canvas would save a 6
    button.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is button, timeout=2000)
    QTest.keyClick(button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.canvas.is_empty(), timeout=2000)
    counts = window.store.counts_by_label()
    assert counts[5] == 1 and sum(counts.values()) == 1
    assert "Write a number first" not in window.statusBar().currentMessage()
    # On the canvas Enter still means "save the number": with nothing drawn it says what to do.
    window.canvas.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.canvas, timeout=2000)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    assert "Write a number first" in window.statusBar().currentMessage()


def test_enter_on_the_focused_got_it_button_dismisses_the_steps(qtbot, tmp_path, mnist_dir):
    window = open_window(qtbot, tmp_path / "fresh", mnist_dir)
    window.activateWindow()
    got_it = window.panel.hint.got_it
    assert got_it.isVisible()
    got_it.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is got_it, timeout=2000)
    QTest.keyClick(got_it, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not got_it.isVisible(), timeout=2000)


# -- 6, 7. the words ------------------------------------------------------------------------------

def test_typed_digits_are_counted_in_proper_english():
    assert typing_hint("2", found=3).startswith("Typed 2: 1 digit, 3 found.")
    assert typing_hint("20", found=3).startswith("Typed 20: 2 digits, 3 found.")


def test_the_keys_list_names_backspace_and_keeps_each_line_whole(qtbot, window):
    window.keys_action.trigger()
    box = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "keysDialog" and w.isVisible())
    assert "Backspace" in box.text() and "Backspace" in KEYS_HELP
    from PySide6.QtWidgets import QLabel

    label = next(l for l in box.findChildren(QLabel) if "Backspace" in l.text())
    one_line = label.fontMetrics().lineSpacing()
    rows = KEYS_HELP.count("<tr>")
    # Each row one line high (plus the table's spacing): no description wraps onto a second line.
    assert label.heightForWidth(label.width()) < rows * (one_line + 8) + 8 if label.hasHeightForWidth() else True
    assert label.sizeHint().height() < rows * (one_line + 8) + 8
    box.close()


def test_redo_walks_forward_through_a_clear_and_the_strokes_drawn_after_it(qtbot, window):
    """Draw, Esc, draw a stroke, Ctrl+Z twice (the stroke, then the clear), Ctrl+Y twice: the stroke drawn
    after the clear could not be redone."""
    first, second = standard_digit(7), standard_digit(1)
    draw_strokes(window.canvas, first)
    QTest.keyClick(window, Qt.Key.Key_Escape)
    draw_strokes(window.canvas, second[:1])
    after = window.canvas.strokes()
    for _ in range(2):
        QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.canvas.strokes()) == len(first)  # the drawing the clear took off is back
    QTest.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.is_empty()  # the clear, again
    assert window.window_actions.redo.isEnabled()
    QTest.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.strokes() == after  # and the stroke drawn after it
