"""Correct, fine-tune, roll back — end to end in the real window, on an isolated data folder."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from model.personal.finetune import FinetuneConfig
from hwr_app.models_view import STATUS_COLUMN
from hwr_app.wording import general_accuracy
from model.training.synthetic import STYLES
from model.storage.versions import SHIPPED
from tests.qt_helpers import draw_strokes, open_window, standard_digit, style_digit, wait_for_prediction

STYLE = "z-two"  # a 2 drawn like a Z with a crossbar: the shipped model reads it as a 7


class Heartbeat:
    """A 10 ms timer on the GUI thread that records the longest gap between its ticks."""

    def __init__(self) -> None:
        self.longest_gap = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer(interval=10)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest_gap = max(self.longest_gap, now - self._last)
        self._last = now

    def stop(self) -> None:
        self._timer.stop()


def correct_with_key(qtbot, window, strokes, digit: int) -> None:
    draw_strokes(window.canvas, strokes)
    qtbot.waitUntil(lambda: window.prediction is not None, timeout=10_000)
    window.activateWindow()  # as a user clicking back into the window after a message
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    QTest.keyClick(window, getattr(Qt.Key, f"Key_{digit}"))
    assert window.canvas.is_empty()


def read_style(qtbot, window, seeds) -> float:
    """Draw new samples of the style and return the fraction the window reads right."""
    right = 0
    for seed in seeds:
        digit, strokes = style_digit(STYLE, seed)
        window.canvas.clear()
        draw_strokes(window.canvas, strokes)
        qtbot.waitUntil(lambda: window.prediction is not None and not window.canvas.is_empty()
                        and window._live_timer.isActive() is False, timeout=10_000)
        qtbot.wait(150)
        right += window.prediction.digit == digit
    window.canvas.clear()
    return right / len(seeds)


@pytest.fixture
def window(qtbot, tmp_path, mnist_dir):
    return open_window(qtbot, tmp_path / "user", mnist_dir)


def teach_style(qtbot, window, count: int = 20) -> None:
    for seed in range(count):
        digit, strokes = style_digit(STYLE, seed)
        correct_with_key(qtbot, window, strokes, digit)


def test_correct_finetune_in_background_improves_style_and_roll_back_restores(qtbot, window):
    fresh = range(1000, 1020)
    before = read_style(qtbot, window, fresh)
    assert before <= 0.5, "the style must be one the shipped model gets wrong for this test to mean anything"

    teach_style(qtbot, window)
    assert window.store.count() == 20
    stored = window.store.samples()
    assert all(s.label == STYLES[STYLE][0] and len(s.strokes) >= 1 and s.image.shape == (28, 28) for s in stored)
    assert all(s.probabilities is not None and len(s.probabilities) == 10 for s in stored)
    assert window.finetune_action.isEnabled()

    heartbeat = Heartbeat()
    shipped_version = window.checkpoint.info.version
    with qtbot.waitSignal(window.finetune_action.triggered, timeout=1000):
        qtbot.mouseClick(window.finetune_button, Qt.MouseButton.LeftButton)
    assert window.finetune_progress.isVisible() and window.cancel_button.isVisible()
    # The app stays usable: draw and get live predictions while the fine-tune runs.
    draw_strokes(window.canvas, standard_digit(3))
    wait_for_prediction(qtbot, window, "3", timeout=30_000)
    assert window.finetune_worker is not None, "fine-tune finished too early to show the app stayed usable"
    window.canvas.clear()
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=120_000)
    heartbeat.stop()
    assert heartbeat.longest_gap < 1.0  # the event loop kept running (the 100 ms target is benchmarked)

    result, entry = window.last_finetune
    assert result.accepted, result.reason
    assert window.registry.active_version() == entry.version
    assert entry.version != shipped_version
    qtbot.waitUntil(lambda: window.checkpoint.info.version == entry.version, timeout=10_000)
    assert "shipped" not in window.model_label.text() and "tuned" in window.model_label.text()
    assert window.checkpoint.info.parent_version == shipped_version
    assert window.findChild(QMessageBox, "finetuneResultDialog") is None  # no window over the canvas
    assert "Fine-tune in use" in window.panel.result_line.text()
    window.panel.result_line.linkActivated.emit("details")  # the user clicks "Details…"
    dialog = window.findChild(QMessageBox, "finetuneResultDialog")
    assert dialog is not None and dialog.text().startswith("hwr now uses the fine-tuned model: it reads ")
    assert "of your 20 samples right" in dialog.text() and "better on your 2s" in dialog.text()
    assert "learned from all of them" in dialog.detailedText()
    assert "split into 4 groups" in dialog.detailedText()
    # One figure for general accuracy: the dialog, the status bar and Model versions agree.
    general = general_accuracy(window.checkpoint.info.mnist_test_accuracy)
    assert general in dialog.text() and general in window.model_label.text()

    after = read_style(qtbot, window, fresh)
    assert after >= 0.9 and after > before
    draw_strokes(window.canvas, standard_digit(7))
    wait_for_prediction(qtbot, window, "7")
    window.canvas.clear()

    window.show_models()
    table = window.models_dialog.table
    active_row = next(row for row in range(table.rowCount()) if table.item(row, STATUS_COLUMN).text() == "in use")
    assert table.item(active_row, 3).text() == general
    assert table.item(active_row, 1).text() == "shipped"  # made from: the same name the shipped row has
    window.models_dialog.rollback_button.click()
    qtbot.waitUntil(lambda: window.checkpoint.info.version == shipped_version, timeout=10_000)
    assert window.registry.active_version() == SHIPPED
    assert read_style(qtbot, window, fresh) == before


def test_cancel_keeps_the_active_model_and_adds_no_version(qtbot, window):
    teach_style(qtbot, window, 12)
    window.finetune_config = FinetuneConfig(steps=2000)  # long enough to cancel midway
    window.start_finetune()
    qtbot.waitUntil(lambda: window.finetune_progress.maximum() > 0 and window.finetune_progress.value() > 0,
                    timeout=60_000)
    with qtbot.waitSignal(window.finetune_worker.cancelled, timeout=10_000):
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=10_000)
    assert window.registry.active_version() == SHIPPED
    assert [e.version for e in window.registry.versions()] == [SHIPPED]
    assert not window.finetune_progress.isVisible()
    assert window.finetune_action.isEnabled()


def test_closing_the_window_mid_finetune_stops_it_and_keeps_everything(qtbot, tmp_path, mnist_dir):
    window = open_window(qtbot, tmp_path / "user", mnist_dir)
    teach_style(qtbot, window, 12)
    window.finetune_config = FinetuneConfig(steps=2000)
    window.start_finetune()
    worker = window.finetune_worker
    qtbot.waitUntil(lambda: window.finetune_progress.value() > 0, timeout=60_000)
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 10
    assert worker.isFinished()

    again = open_window(qtbot, tmp_path / "user", mnist_dir)
    assert again.store.count() == 12
    assert again.registry.active_version() == SHIPPED


def test_a_rejected_finetune_stays_inactive_and_the_user_is_told_why(qtbot, window):
    teach_style(qtbot, window, 12)
    # No MNIST loss at all is allowed, not even from the budget strong evidence may spend, and none is
    # possible to prove better: the gate must refuse.
    window.finetune_config = FinetuneConfig(steps=5, max_mnist_drop=-1.0, max_mnist_budget=-1.0)
    window.start_finetune()
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=120_000)
    result, entry = window.last_finetune
    assert not result.accepted
    assert window.registry.active_version() == SHIPPED
    assert [e.version for e in window.registry.rejected()] == [entry.version]
    assert "Fine-tune not used" in window.panel.result_line.text()
    window.panel.result_line.linkActivated.emit("details")
    dialog = window.findChild(QMessageBox, "finetuneResultDialog")
    assert dialog.text().startswith("hwr kept its model:")
    assert dialog.windowTitle() == "Fine-tune not used" and "not used in Model versions" in dialog.detailedText()


def test_a_corrupt_database_is_moved_aside_and_the_app_starts(qtbot, tmp_path, mnist_dir):
    user = tmp_path / "user"
    user.mkdir()
    (user / "samples.db").write_bytes(b"garbage" * 1000)
    window = open_window(qtbot, user, mnist_dir)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "notice") is not None, timeout=5000)
    notice = window.findChild(QMessageBox, "notice")
    assert "moved" in notice.text()
    assert list(user.glob("samples.db.damaged-*"))
    notice.accept()  # the user reads the message and clicks OK
    correct_with_key(qtbot, window, standard_digit(5), 5)
    assert window.store.count() == 1


def test_a_corrupt_active_model_is_moved_aside_and_the_shipped_model_used(qtbot, tmp_path, mnist_dir):
    user = tmp_path / "user"
    (user / "models").mkdir(parents=True)
    (user / "models" / "abc1234567.pt").write_bytes(b"\x00" * 100)
    (user / "models" / "active").write_text("abc1234567")
    window = open_window(qtbot, user, mnist_dir)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "notice") is not None, timeout=5000)
    assert "shipped" in window.findChild(QMessageBox, "notice").text()
    assert "shipped" in window.model_label.text()
    assert [p.name.split(".")[0] for p in (user / "models" / "damaged").iterdir()] == ["abc1234567"]
    draw_strokes(window.canvas, standard_digit(6))
    wait_for_prediction(qtbot, window, "6")


def test_correcting_an_empty_canvas_saves_nothing_and_says_so(qtbot, window):
    QTest.keyClick(window, Qt.Key.Key_3)
    assert window.store.count() == 0
    assert "Draw a digit first" in window.statusBar().currentMessage()


def test_automatic_finetune_after_every_n_corrections(qtbot, window):
    assert window.auto_finetune_every() == 0  # off by default
    window.findChild(type(window.finetune_action), "autoFinetune10").setChecked(True)
    window.finetune_config = FinetuneConfig(steps=5)
    teach_style(qtbot, window, 9)
    assert window.finetune_worker is None
    digit, strokes = style_digit(STYLE, 99)
    correct_with_key(qtbot, window, strokes, digit)
    assert window.finetune_worker is not None
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=120_000)
    # The count starts again: the next corrections do not fine-tune until there are ten more.
    for seed in range(100, 109):
        correct_with_key(qtbot, window, style_digit(STYLE, seed)[1], digit)
        assert window.finetune_worker is None, f"a fine-tune started after {seed - 99} more corrections"
    correct_with_key(qtbot, window, style_digit(STYLE, 109)[1], digit)
    assert window.finetune_worker is not None
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=120_000)


def test_the_automatic_finetune_counter_survives_a_restart(qtbot, tmp_path, mnist_dir):
    first = open_window(qtbot, tmp_path / "user", mnist_dir)
    first.findChild(type(first.finetune_action), "autoFinetune10").setChecked(True)
    teach_style(qtbot, first, 9)
    first.close()
    again = open_window(qtbot, tmp_path / "user", mnist_dir)
    again.finetune_config = FinetuneConfig(steps=5)
    digit, strokes = style_digit(STYLE, 99)
    correct_with_key(qtbot, again, strokes, digit)  # the tenth correction, counted across the restart
    assert again.finetune_worker is not None
    qtbot.waitUntil(lambda: again.finetune_worker is None, timeout=120_000)
    assert again.last_finetune is not None


def test_the_recognizer_takes_a_prebuilt_predictor_only_for_its_own_checkpoint(qtbot, shipped_checkpoint):
    """An accepted fine-tune hands over a network already built on its worker; a mismatched one is ignored."""
    import torch

    from hwr_app.recognizer import Recognizer
    from model.storage.checkpoint import make_checkpoint
    from model.recognition.predict import Predictor

    network = shipped_checkpoint.build()
    with torch.no_grad():  # a model that answers 7 to everything, told apart from the shipped one
        network.head[-1].weight.zero_()
        network.head[-1].bias.copy_(torch.arange(10) == 7)
    sevens = make_checkpoint(network, shipped_checkpoint.config, shipped_checkpoint.info)
    handed = Predictor(sevens)
    with torch.no_grad():  # marked, so that an answer shows whether this very object is used (5) or a rebuild (7)
        handed.network.head[-1].bias.copy_(torch.arange(10) == 5)
    recognizer = Recognizer()
    readings = []
    recognizer.prediction_ready.connect(readings.append)
    try:
        for checkpoint, predictor, expected in ((shipped_checkpoint, handed, 3),  # not built from it: ignored
                                                (sevens, handed, 5)):  # built from it: used as it is
            with qtbot.waitSignal(recognizer.model_changed, timeout=10_000) as changed:
                recognizer.set_checkpoint(checkpoint, predictor)
            assert changed.args[0].info.version == checkpoint.info.version
            with qtbot.waitSignal(recognizer.prediction_ready, timeout=10_000):
                recognizer.request(standard_digit(3))
            assert readings[-1].text == str(expected)
    finally:
        recognizer.stop()


def test_a_model_the_recognizer_cannot_build_is_reported_and_the_one_before_keeps_reading(qtbot, shipped_checkpoint):
    import torch

    from hwr_app.recognizer import Recognizer
    from model.storage.checkpoint import Checkpoint

    broken = Checkpoint(shipped_checkpoint.config, {**shipped_checkpoint.state_dict,
                                                    "head.1.weight": torch.zeros(3, 3)}, shipped_checkpoint.info)
    recognizer = Recognizer()
    changed, failures, readings = [], [], []
    recognizer.model_changed.connect(changed.append)
    recognizer.failed.connect(failures.append)
    recognizer.prediction_ready.connect(readings.append)
    try:
        with qtbot.waitSignal(recognizer.model_changed, timeout=10_000):
            recognizer.set_checkpoint(shipped_checkpoint)
        with qtbot.waitSignal(recognizer.failed, timeout=10_000):
            recognizer.set_checkpoint(broken)
        assert len(changed) == 1 and "could not be used" in failures[-1] and "keeps reading" in failures[-1]
        with qtbot.waitSignal(recognizer.prediction_ready, timeout=10_000):
            recognizer.request(standard_digit(3))
        assert readings[-1].text == "3"
    finally:
        recognizer.stop()
