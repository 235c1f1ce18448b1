"""Bad files in the real window: settings, imports, metadata, and a large sample store (issue 12)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from hwr_app.samples_view import PAGE_SIZE, SamplesDialog
from model.storage import samples as samples_module
from model.storage.checkpoint import save_checkpoint
from model.personal.finetune import FinetuneConfig
from model.storage.samples import SampleStore, make_sample
from model.training.synthetic import STANDARD, jitter
from model.storage.versions import SHIPPED
from tests.qt_helpers import draw_strokes, open_window, standard_digit, wait_for_prediction


def test_settings_of_the_wrong_type_give_defaults_instead_of_aborting(qtbot, tmp_path, mnist_dir):
    """Item 4: penWidth=abc or size=garbage aborted the app at every start."""
    user = tmp_path / "user"
    user.mkdir()
    (user / "settings.ini").write_text("[canvas]\npenWidth=abc\n[window]\nsize=garbage\n"
                                       "[finetune]\nautoEvery=7\n")
    window = open_window(qtbot, user, mnist_dir)
    assert window.pen_width.value() == int(window.canvas.pen_width())
    assert window.auto_finetune_every() == 0
    assert 320 <= window.width() and 240 <= window.height()
    draw_strokes(window.canvas, standard_digit(3))
    wait_for_prediction(qtbot, window, "3")


@pytest.mark.parametrize("text", ["[canvas]\npenWidth=100000\n", "[canvas]\npenWidth=true\n",
                                  "[window]\nsize=@Size(-5 99999999)\n"])
def test_out_of_range_settings_are_clamped_or_ignored(qtbot, tmp_path, mnist_dir, text):
    user = tmp_path / "user"
    user.mkdir()
    (user / "settings.ini").write_text(text)
    window = open_window(qtbot, user, mnist_dir)
    assert window.pen_width.minimum() <= window.pen_width.value() <= window.pen_width.maximum()
    assert window.width() <= 8192 and window.height() <= 8192


def test_an_active_model_with_bad_metadata_leaves_the_window_working(qtbot, tmp_path, mnist_dir):
    """Item 6: a string mnist_test_accuracy left "Loading model…" forever; a number-typed created broke Models."""
    from model.assets import default_weights_path
    from model.storage.versions import ModelRegistry

    user = tmp_path / "user"
    registry = ModelRegistry(user / "models", default_weights_path())
    shipped = registry.shipped().checkpoint
    network = shipped.build()
    next(network.parameters()).data.mul_(1.001)
    from model.storage.checkpoint import ModelInfo, make_checkpoint
    checkpoint = make_checkpoint(network, shipped.config, ModelInfo())
    checkpoint.info.mnist_test_accuracy = "99.5%"  # as a hand-edited or crafted file would have it
    path = save_checkpoint(checkpoint, user / "models" / f"{checkpoint.info.version}.pt")
    (user / "models" / "active").write_text(checkpoint.info.version)

    window = open_window(qtbot, user, mnist_dir)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "notice") is not None, timeout=5000)
    assert "info.mnist_test_accuracy" in window.findChild(QMessageBox, "notice").text()
    assert "shipped" in window.model_label.text()
    assert not path.exists() and list((user / "models" / "damaged").iterdir())
    assert window.registry.active_version() == SHIPPED
    window.show_models()
    assert window.models_dialog.isVisible()


@pytest.fixture
def store(tmp_path):
    opened = SampleStore(tmp_path / "samples.db")
    opened.add(make_sample(1, jitter(STANDARD[1], np.random.default_rng(0))))
    yield opened
    opened.close()


@pytest.mark.parametrize("content, expected", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (json.dumps({"format": "hwr-samples", "version": 1, "samples": [
        {"uid": "x", "label": 1, "strokes": [[[10 ** 400, 0], [0, 1]]]}]}), "integer of 401 digits"),
    (json.dumps({"format": "hwr-samples", "version": 1, "samples": [
        {"uid": "x", "label": 1, "strokes": [[[0, 0], [5e-324, 0]]]}]}), "too close together"),
    (json.dumps({"format": "hwr-samples", "version": 1, "samples": [
        {"uid": "x", "label": "7", "strokes": [[[0, 0], [1, 1]]]}]}), "sample 1: \"label\""),
])
def test_the_samples_dialog_says_why_an_import_failed(qtbot, store, tmp_path, content, expected):
    """Item 9: these raised past the import handler and the user saw nothing."""
    dialog = SamplesDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    path = tmp_path / "import.json"
    path.write_text(content)
    dialog.import_from(str(path))
    qtbot.waitUntil(lambda: dialog.findChild(QMessageBox) is not None, timeout=2000)
    text = dialog.findChild(QMessageBox).text()
    assert "import.json" in text and expected in text
    assert store.count() == 1


def test_a_finetune_reads_the_samples_off_the_gui_thread(qtbot, tmp_path, mnist_dir, monkeypatch):
    """Item 13: with 20,000 samples, reading them on the GUI thread stalled the window for 579 ms."""
    window = open_window(qtbot, tmp_path / "user", mnist_dir)
    rng = np.random.default_rng(0)
    for index in range(24):
        window.store.add(make_sample(index % 3, jitter(STANDARD[index % 3], rng)))
    window._update_actions()
    readers = []  # for each sample read or rendered: was it on the GUI thread?

    def recording(real):
        def wrapper(*args, **kwargs):
            readers.append(threading.current_thread() is threading.main_thread())
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(samples_module, "_sample_from_row", recording(samples_module._sample_from_row))
    monkeypatch.setattr(samples_module, "strokes_to_image", recording(samples_module.strokes_to_image))
    window.finetune_config = FinetuneConfig(steps=2)
    window.start_finetune()
    assert readers == []  # the GUI thread returned without reading a single sample
    qtbot.waitUntil(lambda: window.finetune_worker is None, timeout=120_000)
    result, _ = window.last_finetune
    assert result.train_count == result.holdout_count == 24  # every sample trains the model and, out of fold, checks it
    assert len(readers) == 24 and not any(readers)


def test_the_samples_dialog_lists_the_good_samples_of_an_edited_store_and_says_rows_were_left_out(qtbot, tmp_path):
    import sqlite3

    path = tmp_path / "samples.db"
    store = SampleStore(path)
    store.add(make_sample(3, jitter(STANDARD[3], np.random.default_rng(1))))
    store.close()
    connection = sqlite3.connect(path)  # another program wrote a row that is no drawing
    connection.execute("INSERT INTO samples (uid, created, label, strokes, image, preprocess_version) "
                       "VALUES ('edited', 'today', 4, '[[[1, 2', x'00', 1)")
    connection.commit()
    connection.close()
    store = SampleStore(path)
    dialog = SamplesDialog(store)  # before: json.loads raised here and the dialog never opened
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.list.count() == 1
    assert "1 row of the file left out" in dialog.summary.text()
    assert str(path) in dialog.summary.toolTip() and "sample 2 was left out" in dialog.summary.toolTip()
    store.close()


def _export_file(path, count: int, seed: int):
    """Write an export file of ``count`` synthetic digits (0, 1, … 9, 0, …) and return its path."""
    rng = np.random.default_rng(seed)
    entries = [{"uid": f"s{i}", "label": i % 10, "strokes": [[list(p[:2]) for p in stroke]
                                                              for stroke in jitter(STANDARD[i % 10], rng)]}
               for i in range(count)]
    path.write_text(json.dumps({"format": "hwr-samples", "version": 1, "samples": entries}))
    return path


def test_a_large_import_is_read_while_the_dialog_stays_responsive_and_cannot_be_closed_midway(qtbot, tmp_path):
    from PySide6.QtCore import QTimer

    path = _export_file(tmp_path / "large.json", 1500, seed=3)
    store = SampleStore(tmp_path / "samples.db")
    dialog = SamplesDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    ticks, seen = [], []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(dialog.summary.text()))
    timer.start(10)
    QTimer.singleShot(50, lambda: seen.append((dialog.close(), dialog.isVisible(), dialog.isEnabled())))
    dialog.import_from(str(path))
    timer.stop()
    assert any(text.startswith("Reading large.json") for text in ticks)  # the event loop ran meanwhile
    assert seen == [(False, True, False)]  # closing was refused while the file was read
    assert store.count() == 1500 and dialog.list.count() == PAGE_SIZE and dialog.isEnabled()  # the first page
    assert "Imported 1,500 new samples" in dialog.summary.text()
    store.close()


def test_closing_the_window_during_an_import_waits_for_it_and_loses_nothing(qtbot, tmp_path, mnist_dir):
    from PySide6.QtCore import QTimer

    path = _export_file(tmp_path / "export.json", 800, seed=4)
    window = open_window(qtbot, tmp_path / "user", mnist_dir)
    qtbot.waitUntil(lambda: window.store is not None, timeout=5000)
    window.show_samples()
    closed = []
    QTimer.singleShot(30, lambda: closed.append(window.close()))
    window.samples_dialog.import_from(str(path))
    assert closed == [False] and window.isVisible()  # refused while the file was read
    assert window.store.count() == 800
    assert window.close()  # and closes normally afterwards


# -- issue 21 -------------------------------------------------------------------------------------

def test_21_5_a_counter_too_large_for_qt_reads_as_zero(tmp_path):
    """Item 5: correctionsSince=99999999999999999999999999999 raised OverflowError on every save."""
    from PySide6.QtCore import QSettings

    from hwr_app.settings import MAX_COUNT, read_count

    path = tmp_path / "settings.ini"
    path.write_text("[finetune]\ncorrectionsSince=99999999999999999999999999999\nother=-3\nfine=12\n")
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    assert read_count(settings, "finetune/correctionsSince") == 0
    assert read_count(settings, "finetune/other") == 0 and read_count(settings, "finetune/fine") == 12
    settings.setValue("finetune/correctionsSince", read_count(settings, "finetune/correctionsSince") + 1)
    settings.sync()
    assert QSettings(str(path), QSettings.Format.IniFormat).value("finetune/correctionsSince") in (1, "1")
    assert MAX_COUNT < 2 ** 31


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_21_6_a_settings_file_that_is_not_a_file_is_moved_aside(tmp_path, kind):
    """Item 6: settings.ini as a FIFO made the app wait forever at start."""
    import os

    from hwr_app.settings import open_settings

    path = tmp_path / "settings.ini"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    settings, message = open_settings(path)
    assert "not a regular file" in message and "moved to" in message
    settings.setValue("canvas/penWidth", 9)
    settings.sync()
    assert path.is_file() and len(list(tmp_path.glob("settings.ini.not-a-file-*"))) == 1
    assert open_settings(tmp_path / "absent.ini")[1] == ""


def test_21_10_the_samples_dialog_shows_a_large_store_a_page_at_a_time(qtbot, tmp_path):
    """Item 10: with 100,000 samples the dialog read them all (24 s, 3.3 GB) and deleting one took 19 s."""
    store = SampleStore(tmp_path / "samples.db")
    rng = np.random.default_rng(0)
    drawings = [jitter(STANDARD[digit], rng) for digit in range(3)]
    store.add_many([make_sample(index % 3, drawings[index % 3]) for index in range(PAGE_SIZE * 2 + 20)])
    reads: list[int] = []
    real = samples_module._sample_from_row
    samples_module._sample_from_row = lambda row: reads.append(1) or real(row)
    try:
        dialog = SamplesDialog(store)
        qtbot.addWidget(dialog)
        dialog.show()
        assert dialog.list.count() == PAGE_SIZE and len(reads) == PAGE_SIZE  # only the page was read
        assert dialog.filter.itemText(0) == f"All digits ({PAGE_SIZE * 2 + 20:,})"
        assert dialog.page_label.text() == "Page 1 of 3" and dialog.next_button.isEnabled()
        dialog.next_button.click()
        dialog.next_button.click()
        assert dialog.list.count() == 20 and not dialog.next_button.isEnabled()
        dialog.list.item(0).setSelected(True)
        dialog._delete()
        assert store.count() == PAGE_SIZE * 2 + 19 and dialog.list.count() == 19
        dialog.filter.setCurrentIndex(dialog.filter.findData(2))  # another digit starts at its first page
        assert dialog.page_label.text() == "Page 1 of 1" and dialog.list.count() == (PAGE_SIZE * 2 + 20) // 3 - 1  # one 2 deleted
    finally:
        samples_module._sample_from_row = real
        store.close()


def test_21_5_and_6_the_window_starts_and_counts_on_a_hostile_settings_file(qtbot, tmp_path, mnist_dir):
    """Items 5 and 6 in the window: a settings.ini that is a pipe is set aside with a message (it hung the
    start), and a counter too large for Qt starts again from 0 (it raised OverflowError on every save)."""
    import os

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest

    from hwr_app.finetune_flow import COUNTER_KEY

    piped, huge = tmp_path / "piped", tmp_path / "huge"
    piped.mkdir()
    os.mkfifo(piped / "settings.ini")
    window = open_window(qtbot, piped, mnist_dir)
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "notice") is not None, timeout=10_000)
    assert "not a regular file" in window.findChild(QMessageBox, "notice").text()
    assert list(piped.glob("settings.ini.not-a-file-*")) and (piped / "settings.ini").is_file()
    window.close()

    huge.mkdir()
    (huge / "settings.ini").write_text("[finetune]\ncorrectionsSince=99999999999999999999999999999\n")
    window = open_window(qtbot, huge, mnist_dir)
    qtbot.waitUntil(lambda: window.store is not None, timeout=10_000)
    draw_strokes(window.canvas, standard_digit(3))
    qtbot.waitUntil(lambda: window.prediction is not None, timeout=10_000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    QTest.keyClick(window, Qt.Key.Key_3)
    assert window.store.count() == 1  # the save went through
    window.settings.sync()
    assert QSettings(str(huge / "settings.ini"), QSettings.Format.IniFormat).value(COUNTER_KEY) in (1, "1")
