"""The Models view: every version with its figures; activate one, roll back, or reset to shipped."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from hwr_app.widgets import make_button, show_message
from model.constants import SHIPPED

COLUMNS = ("Version", "Created", "From", "Samples", "MNIST", "Held-out samples", "Status")


def describe_accuracy(value) -> str:
    return "—" if value is None else f"{value:.2%}"


class ModelsDialog(QDialog):
    """List model versions; emits ``activate_requested(version)`` when the user picks one."""

    activate_requested = Signal(str)

    def __init__(self, registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsDialog")
        self.setWindowTitle("Model versions")
        self.resize(760, 340)
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
        self.note = QLabel("Rejected fine-tunes are kept for reference and cannot be activated.")
        self.note.setEnabled(False)
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
        self.table.setRowCount(len(rows))
        for row, (entry, status) in enumerate(rows):
            info = entry.checkpoint.info
            notes = info.notes or {}
            holdout = notes.get("holdout_accuracy")
            values = (
                "shipped" if entry.is_shipped else entry.version,
                info.created.replace("T", " ")[:16],
                "—" if entry.is_shipped else (info.parent_version or "—"),
                str(info.sample_count) if info.sample_count else "—",
                describe_accuracy(info.mnist_test_accuracy) + (" (est.)" if notes.get(
                    "mnist_test_accuracy_is_estimate") else ""),
                "—" if holdout is None else f"{notes.get('base_holdout_accuracy', 0):.0%} → {holdout:.0%}",
                status,
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, (entry.version, status))
                if status == "active":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)
        self._update_buttons()
        problems = self._registry.take_messages()
        if problems:
            show_message(self, "Damaged model files", "\n\n".join(problems), QMessageBox.Icon.Warning)

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
        parent = self._registry.active().checkpoint.info.parent_version
        known = {entry.checkpoint.info.version: entry.version for entry in self._registry.versions()}
        self.activate_requested.emit(known.get(parent, SHIPPED))
        self.refresh()

    def _reset(self) -> None:
        self.activate_requested.emit(SHIPPED)
        self.refresh()
