"""The Models view: every version with its figures; activate one, roll back, or reset to shipped."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from hwr_app.widgets import make_button, show_message
from model.constants import SHIPPED
from hwr_app.wording import GENERAL_ACCURACY, GENERAL_ACCURACY_MEANS, general_accuracy, model_names, readable_time

COLUMNS = ("Model", "Made from", "Samples", GENERAL_ACCURACY, "Others' pen digits", "Your samples right", "Status")
STATUS_COLUMN = COLUMNS.index("Status")


def registry_names(registry) -> dict[str, str]:
    """Return {model id: readable name} for every model the registry holds, rejected ones included."""
    entries = registry.versions() + registry.rejected()
    return model_names((e.info.version, e.info.created, e.is_shipped) for e in entries)


def model_name(registry, info) -> str:
    """Return the readable name of the model with this info ("shipped", "tuned 30 Nov 14:05", …)."""
    names = registry_names(registry)
    if info.version in names:
        return names[info.version]
    return model_names([(info.version, info.created, False)])[info.version].replace("tuned", "from file", 1)


class ModelsDialog(QDialog):
    """List model versions; emits ``activate_requested(version)`` when the user picks one."""

    activate_requested = Signal(str)

    def __init__(self, registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsDialog")
        self.setWindowTitle("Model versions")
        self.resize(820, 340)
        self._registry = registry
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("modelTable")
        self.table.setAccessibleName("Model versions")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _: self._activate_selected())

        self.activate_button = make_button("Activate", "activateModelButton",
                                            "Use the selected version from now on", self._activate_selected)
        self.rollback_button = make_button("Roll back", "rollbackButton",
                                            "Go back to the version the active one was made from", self._roll_back)
        self.reset_button = make_button("Reset to shipped", "resetModelButton",
                                         "Use the model that came with the app", self._reset)
        close_button = make_button("Close", "closeModelsButton", "Close this window", self.accept)
        # Said only when a "not used" row is listed (refresh), in plain words.
        self.note = QLabel("“Not used”: a fine-tune that was no better on your samples, or read other people's "
                           "digits worse. It is listed for reference and cannot be activated.")
        self.note.setObjectName("modelsNote")
        self.note.setWordWrap(True)

        buttons = QHBoxLayout()
        for button in (self.activate_button, self.rollback_button, self.reset_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Reload the versions from the registry."""
        active = self._registry.active_version()
        rows = [(entry, "active" if entry.version == active else "") for entry in self._registry.versions()]
        rows += [(entry, "rejected") for entry in self._registry.rejected()]
        names = registry_names(self._registry)
        self.table.setRowCount(len(rows))
        for row, (entry, status) in enumerate(rows):
            info = entry.info
            notes = info.notes or {}
            estimated = bool(notes.get("mnist_test_accuracy_is_estimate"))
            values = (
                names.get(info.version, info.version),
                "—" if entry.is_shipped else names.get(info.parent_version, "an older model"),
                str(info.sample_count) if info.sample_count else "—",
                general_accuracy(info.mnist_test_accuracy),
                _pen_figure(notes),
                _test_drawings(notes),
                {"active": "in use", "rejected": "not used"}.get(status, ""),
            )
            tips = (f"Made {readable_time(info.created)}", "", "Your samples it was fine-tuned on",
                    f"{GENERAL_ACCURACY}: {GENERAL_ACCURACY_MEANS}"
                    + (" (for a fine-tune, estimated from a check on part of them)" if estimated else ""),
                    "Pen-drawn digits of other people, writers hwr never learned from, that the model reads right: "
                    "what a personal model may give up for reading your hand better",
                    ("Your samples read right by the model it was made from → by models trained the same way "
                     "without them (so each sample was read by a model that had never seen it)" if notes.get("folds") else
                     "Your samples set aside to check it, read right by the model it was made from → by it"), "")
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, (entry.version, status))
                if tips[column]:
                    item.setToolTip(tips[column])
                if status == "active":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)
        self.note.setVisible(any(status == "rejected" for _, status in rows))
        self._update_buttons()
        self._fit_columns()
        problems = self._registry.take_messages()
        if problems:
            show_message(self, "Model files", "\n\n".join(problems), QMessageBox.Icon.Warning)

    def _fit_columns(self) -> None:
        """Widen the window (within the screen) so that every column shows whole: names with seconds, the
        figures, the status, without a sideways scroll bar."""
        header = self.table.horizontalHeader()
        columns = sum(max(self.table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(len(COLUMNS) - 1))
        columns += max(self.table.sizeHintForColumn(len(COLUMNS) - 1), header.defaultSectionSize())  # it stretches
        scroll = self.table.verticalScrollBar().sizeHint().width()
        margins = self.layout().contentsMargins()
        needed = (columns + len(COLUMNS) + 2 * self.table.frameWidth() + scroll  # a grid line a column
                  + margins.left() + margins.right())
        screen = self.screen().availableGeometry().width() if self.screen() else needed
        if needed > self.width():
            self.resize(min(needed, screen), self.height())

    def _selected(self) -> tuple[str, str] | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _update_buttons(self) -> None:
        selected = self._selected()
        self.activate_button.setEnabled(selected is not None and selected[1] == "")
        active = self._registry.active_version()
        self.rollback_button.setEnabled(active != SHIPPED)
        self.reset_button.setEnabled(active != SHIPPED)

    def select_version(self, version: str) -> None:
        """Select the row of ``version`` (for keyboard users and tests)."""
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)[0] == version:
                self.table.selectRow(row)
                return

    def _activate_selected(self) -> None:
        selected = self._selected()
        if selected is not None and selected[1] == "":
            self.activate_requested.emit(selected[0])
            self.refresh()

    def _roll_back(self) -> None:
        parent = self._registry.active().info.parent_version
        known = {entry.info.version: entry.version for entry in self._registry.versions()}
        if parent and parent not in known:  # pruned: hwr keeps only the newest versions and the active line
            show_message(self, "Roll back", f"The model this one was made from ({parent}) is no longer kept, so hwr "
                         f"goes back to the shipped model.", QMessageBox.Icon.Information)
        self.activate_requested.emit(known.get(parent, SHIPPED))
        self.refresh()

    def _reset(self) -> None:
        self.activate_requested.emit(SHIPPED)
        self.refresh()


def _pen_figure(notes: dict) -> str:
    """Return the model's recorded accuracy on other writers' pen-drawn digits (the pen check), or "—"."""
    gates = notes.get("gates")
    pen = gates.get("pen") if isinstance(gates, dict) else None
    accuracy = pen.get("accuracy") if isinstance(pen, dict) else None
    return general_accuracy(accuracy) if isinstance(accuracy, float) else "—"


def _test_drawings(notes: dict) -> str:
    """Return "0 of 2 → 2 of 2" from a fine-tune's notes, or "—"."""
    after, before, count = (notes.get("holdout_accuracy"), notes.get("base_holdout_accuracy"),
                            notes.get("holdout_count"))
    if after is None or before is None:
        return "—"
    if not count:
        return f"{before:.0%} → {after:.0%}"
    return f"{round(before * count)} of {count} → {round(after * count)} of {count}"
