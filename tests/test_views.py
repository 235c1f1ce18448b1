"""The Samples and Model versions dialogs, used as a user would."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from hwr_app.models_view import COLUMNS, STATUS_COLUMN, ModelsDialog
from hwr_app.samples_view import SamplesDialog
from model.assets import default_weights_path
from model.storage.checkpoint import ModelInfo, make_checkpoint
from model.storage.samples import SampleStore, make_sample
from model.training.synthetic import STANDARD, jitter
from model.storage.versions import SHIPPED, ModelRegistry


@pytest.fixture
def store(tmp_path):
    opened = SampleStore(tmp_path / "samples.db")
    rng = np.random.default_rng(0)
    for digit in (1, 1, 1, 7, 7):
        opened.add(make_sample(digit, jitter(STANDARD[digit], rng), predicted=7 if digit == 1 else 7))
    yield opened
    opened.close()


@pytest.fixture
def samples_dialog(qtbot, store):
    dialog = SamplesDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def select_all(dialog) -> None:
    dialog.list.selectAll()


def test_thumbnails_grouped_by_digit_with_counts(samples_dialog):
    assert samples_dialog.list.count() == 5
    labels = [samples_dialog.filter.itemText(i) for i in range(samples_dialog.filter.count())]
    assert labels[0] == "All digits (5)" and "1 (3)" in labels and "7 (2)" in labels and "0 (0)" in labels
    captions = [samples_dialog.list.item(i).text() for i in range(5)]
    assert captions == ["1 (read 7)"] * 3 + ["7"] * 2  # by digit; misreadings are shown
    samples_dialog.filter.setCurrentIndex(samples_dialog.filter.findData(7))
    assert samples_dialog.list.count() == 2


def test_relabel_the_selection(samples_dialog, store):
    samples_dialog.list.item(0).setSelected(True)
    samples_dialog.relabel_box.setCurrentIndex(samples_dialog.relabel_box.findData(4))
    samples_dialog.relabel_box.activated.emit(samples_dialog.relabel_box.currentIndex())
    assert store.counts_by_label()[4] == 1 and store.counts_by_label()[1] == 2


def test_delete_with_the_key_and_undo_it(qtbot, samples_dialog, store):
    assert not samples_dialog.undo_button.isEnabled()
    samples_dialog.list.item(3).setSelected(True)
    samples_dialog.list.item(4).setSelected(True)
    samples_dialog.list.setFocus()
    with qtbot.waitSignal(samples_dialog.changed):
        QTest.keyClick(samples_dialog.list, Qt.Key.Key_Delete)
    assert store.count() == 3 and samples_dialog.list.count() == 3
    qtbot.mouseClick(samples_dialog.undo_button, Qt.MouseButton.LeftButton)
    assert store.count() == 5 and store.counts_by_label()[7] == 2


def test_export_then_import_into_another_store(samples_dialog, tmp_path, qtbot):
    exported = tmp_path / "export.json"
    samples_dialog.export_to(str(exported))
    assert "Exported 5" in samples_dialog.summary.text()
    other = SampleStore(tmp_path / "other.db")
    dialog = SamplesDialog(other)
    qtbot.addWidget(dialog)
    dialog.import_from(str(exported))
    assert other.count() == 5 and dialog.list.count() == 5
    assert "Imported 5" in dialog.summary.text()
    other.close()


def test_a_bad_import_says_why_and_changes_nothing(samples_dialog, store, tmp_path, qtbot):
    bad = tmp_path / "bad.json"
    bad.write_text("{nonsense")
    samples_dialog.import_from(str(bad))
    qtbot.waitUntil(lambda: samples_dialog.findChild(QMessageBox) is not None, timeout=2000)
    assert "bad.json" in samples_dialog.findChild(QMessageBox).text()
    assert store.count() == 5


@pytest.fixture
def registry(tmp_path):
    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    shipped = registry.shipped().checkpoint
    parent = shipped.info.version
    for index, accepted in enumerate((True, True, False)):
        network = shipped.build()
        next(network.parameters()).data.add_(0.001 * (index + 1))
        info = ModelInfo(parent_version=parent, sample_count=10 + index,
                         mnist_test_accuracy=shipped.info.mnist_test_accuracy,
                         notes={"holdout_accuracy": 1.0, "base_holdout_accuracy": 0.2})
        entry = registry.add(make_checkpoint(network, shipped.config, info), accepted=accepted)
        if accepted:
            parent = entry.checkpoint.info.version
    return registry


def test_models_view_lists_versions_and_activates_rolls_back_and_resets(qtbot, registry):
    dialog = ModelsDialog(registry)
    qtbot.addWidget(dialog)
    requested = []
    dialog.activate_requested.connect(lambda version: (requested.append(version), registry.activate(version)))
    dialog.show()
    table = dialog.table
    qtbot.waitExposed(dialog)
    assert table.rowCount() == 4
    statuses = [table.item(row, STATUS_COLUMN).text() for row in range(4)]
    assert statuses == ["in use", "", "", "not used"]
    assert table.item(1, 2).text() == "10" and "20% → 100%" == table.item(1, COLUMNS.index("Your samples right")).text()
    assert table.item(0, COLUMNS.index("Others' pen digits")).text().endswith(" %")  # the shipped model's pen check
    # One name per model: the shipped row and the "made from" of its child say the same.
    assert table.item(0, 0).text() == "shipped" == table.item(1, 1).text()
    assert table.item(1, 0).text().startswith("tuned ") and table.item(2, 1).text() == table.item(1, 0).text()
    assert all(table.item(row, 0).text() not in ("", table.item(row, 0).data(Qt.ItemDataRole.UserRole)[0])
               for row in range(1, 4))  # a readable name, not an id
    assert not dialog.rollback_button.isEnabled()

    def version_of(row: int) -> str:
        return table.item(row, 0).data(Qt.ItemDataRole.UserRole)[0]

    newest = version_of(2)
    dialog.select_version(newest)
    qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert registry.active_version() == newest
    assert [table.item(row, STATUS_COLUMN).text() for row in range(4)] == ["", "", "in use", "not used"]

    dialog.select_version(version_of(3))
    assert not dialog.activate_button.isEnabled()  # a rejected fine-tune cannot be put in charge

    qtbot.mouseClick(dialog.rollback_button, Qt.MouseButton.LeftButton)
    assert registry.active_version() == version_of(1)  # its parent
    qtbot.mouseClick(dialog.reset_button, Qt.MouseButton.LeftButton)
    assert registry.active_version() == SHIPPED
    assert requested[-1] == SHIPPED


def test_roll_back_says_so_when_the_model_it_was_made_from_is_no_longer_kept(qtbot, registry):
    """Old versions are pruned; rolling back from a model whose parent went goes to the shipped model, said aloud."""
    versions = [entry for entry in registry.versions() if not entry.is_shipped]
    child = next(e for e in versions if e.checkpoint.info.parent_version in {v.checkpoint.info.version for v in versions})
    parent = next(e for e in versions if e.checkpoint.info.version == child.checkpoint.info.parent_version)
    registry.activate(child.version)
    parent.path.unlink()  # pruned while another model was in charge
    dialog = ModelsDialog(registry)
    qtbot.addWidget(dialog)
    dialog.activate_requested.connect(registry.activate)
    dialog.show()
    qtbot.mouseClick(dialog.rollback_button, Qt.MouseButton.LeftButton)
    assert registry.active_version() == SHIPPED
    notice = dialog.findChild(QMessageBox, "notice")
    assert notice is not None and "no longer kept" in notice.text()


def test_the_models_window_widens_until_every_column_shows_whole(qtbot, tmp_path):
    """Two fine-tunes in one minute get names with seconds, and the status column went out of sight behind a
    sideways scroll bar. The window now widens to its columns (within the screen, here 800 pixels wide)."""
    dialog = ModelsDialog(ModelRegistry(tmp_path / "models", default_weights_path()))
    qtbot.addWidget(dialog)
    dialog.resize(360, 300)  # narrower than its columns
    dialog.refresh()
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.table.horizontalScrollBar().maximum() == 0
    assert dialog.table.item(0, STATUS_COLUMN).text() == "in use"
