"""The sample browser: thumbnails by digit with counts, a page at a time; relabel, delete (undoable), export, import."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QSize, Qt, QThread, Signal
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMessageBox, QVBoxLayout, QWidget)

from hwr_app.widgets import digit_pixmap, make_button, palette_colours, show_message
from hwr_app.wording import plural, readable_time

THUMBNAIL = 56
PAGE_SIZE = 500  # thumbnails shown at once: drawn in a fraction of a second, whatever the store holds


def thumbnail(image: np.ndarray, ink=None, paper=None) -> QIcon:
    """Return an icon of a 28×28 sample picture, in the canvas's colours when given (else black on white)."""
    return QIcon(digit_pixmap(image, THUMBNAIL, smooth=True, ink=ink, paper=paper))


class _ExportReader(QThread):
    """Reads an export file (model.storage.samples.read_export) on its own thread; ``samples`` or ``error`` after."""

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.samples: list = []
        self.error: Exception | None = None

    def run(self) -> None:
        from model.storage.samples import SampleStoreError, read_export

        try:
            self.samples = read_export(self.path)
        except SampleStoreError as error:
            self.error = error
        except Exception as error:  # delivered to the dialog, never lost on this thread
            self.error = SampleStoreError(f"Cannot import {self.path}: {error!r}")


class _ExportWriter(QThread):
    """Writes an export (model.storage.samples.write_export) on its own thread; ``files`` or ``error`` after."""

    def __init__(self, database, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.database, self.path = database, path
        self.files: list = []
        self.problems: list[str] = []
        self.error: Exception | None = None

    def run(self) -> None:
        from model.storage.samples import write_export

        try:
            self.files = write_export(self.database, self.path, self.problems)
        except Exception as error:  # delivered to the dialog, never lost on this thread
            self.error = error


class SamplesDialog(QDialog):
    """Browse and edit the stored samples; emits ``changed`` after every edit."""

    changed = Signal()

    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("samplesDialog")
        self.setWindowTitle("Your samples")
        self.resize(620, 480)
        self._store = store
        self._deleted: list = []  # samples removed in this dialog, newest last, for undo
        self._importing = False

        self.filter = QComboBox()
        self.filter.setObjectName("sampleFilter")
        self.filter.setAccessibleName("Show samples of digit")
        self.filter.setToolTip("Show all samples or those of one digit")
        self.filter.currentIndexChanged.connect(self.refresh)
        self.summary = QLabel()
        self.summary.setObjectName("sampleSummary")

        self.list = QListWidget()
        self.list.setObjectName("sampleList")
        self.list.setAccessibleName("Samples")
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.list.setGridSize(QSize(THUMBNAIL + 18, THUMBNAIL + 30))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._update_buttons)

        self.relabel_box = QComboBox()
        self.relabel_box.setObjectName("relabelBox")
        self.relabel_box.setAccessibleName("New label")
        self.relabel_box.setToolTip("Give the selected samples another digit")
        self.relabel_box.addItem("Relabel as…", None)
        for digit in range(10):
            self.relabel_box.addItem(str(digit), digit)
        self.relabel_box.activated.connect(self._relabel)
        self.delete_button = make_button("Delete", "deleteSampleButton", "Delete the selected samples (Del)",
                                          self._delete)
        self.undo_button = make_button("Undo delete", "undoDeleteButton", "Bring back the last deleted samples",
                                        self._undo_delete)
        export_button = make_button("Export…", "exportButton", "Save all samples to one file", self._export)
        import_button = make_button("Import…", "importButton", "Add samples from an exported file", self._import)
        close_button = make_button("Close", "closeSamplesButton", "Close this window", self.accept)
        self._page, self._shown_label = 0, None
        self.previous_button = make_button("‹ Previous", "previousPageButton", "Show the previous page of samples",
                                           lambda: self._turn(-1))
        self.next_button = make_button("Next ›", "nextPageButton", "Show the next page of samples",
                                       lambda: self._turn(1))
        self.page_label = QLabel()
        self.page_label.setObjectName("samplePage")
        QShortcut(QKeySequence.StandardKey.Delete, self.list, self._delete)
        QShortcut(QKeySequence.StandardKey.Undo, self, self._undo_delete)

        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.filter)
        top.addStretch(1)
        top.addWidget(self.summary)
        buttons = QHBoxLayout()
        for widget in (self.relabel_box, self.delete_button, self.undo_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        for widget in (export_button, import_button, close_button):
            buttons.addWidget(widget)
        paging = QHBoxLayout()
        paging.addStretch(1)
        for widget in (self.previous_button, self.page_label, self.next_button):
            paging.addWidget(widget)
        paging.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addLayout(paging)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Reload the filter counts and the current page of thumbnails from the store."""
        # Counted by SQL and shown a page at a time: 100,000 samples read whole took 24 s and 3.3 GB.
        # Rows of the page that are not valid samples (an edited or crafted file) are left out and named.
        counts = self._store.counts_by_label()
        chosen = self.filter.currentData()
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.addItem(f"All digits ({sum(counts.values()):,})", None)
        for digit in range(10):
            self.filter.addItem(f"{digit} ({counts[digit]:,})", digit)
        self.filter.setCurrentIndex(max(0, self.filter.findData(chosen)))
        self.filter.blockSignals(False)
        chosen = self.filter.currentData()
        if chosen != self._shown_label:
            self._page, self._shown_label = 0, chosen
        total = sum(counts.values()) if chosen is None else counts[chosen]
        pages = max(1, -(-total // PAGE_SIZE))
        self._page = min(self._page, pages - 1)
        samples = self._store.page(chosen, self._page * PAGE_SIZE, PAGE_SIZE)
        problems = self._store.take_messages()

        self.list.clear()
        ink, paper = palette_colours(self.list)
        for sample in samples:
            item = QListWidgetItem(thumbnail(sample.image, ink, paper), self._caption(sample))
            item.setData(Qt.ItemDataRole.UserRole, sample.id)
            read = "" if sample.predicted is None else f"; hwr read it as {sample.predicted}"
            item.setToolTip(f"Drawn {readable_time(sample.created)}{read}")
            self.list.addItem(item)
        self.page_label.setText(f"Page {self._page + 1:,} of {pages:,}")
        self.page_label.setVisible(pages > 1)
        self.previous_button.setVisible(pages > 1)
        self.next_button.setVisible(pages > 1)
        self.previous_button.setEnabled(self._page > 0)
        self.next_button.setEnabled(self._page < pages - 1)
        self._summarise(plural(sum(counts.values()), "sample"), problems)
        self._update_buttons()

    def _turn(self, step: int) -> None:
        """Show the previous (-1) or next (+1) page."""
        self._page = max(0, self._page + step)
        self.refresh()

    def _summarise(self, text: str, problems: list[str]) -> None:
        """Show ``text``, and how many rows of the file were left out (which and why in the tooltip)."""
        left_out = f" · {plural(len(problems), 'row')} of the file left out" if problems else ""
        self.summary.setText(text + left_out)
        self.summary.setToolTip("\n".join(problems))  # the rows stay in the file untouched

    @staticmethod
    def _caption(sample) -> str:
        if sample.predicted is None or sample.predicted == sample.label:
            return str(sample.label)
        return f"{sample.label} (read {sample.predicted})"

    def _selected_ids(self) -> list[int]:
        return [item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]

    def _update_buttons(self) -> None:
        has_selection = bool(self.list.selectedItems())
        self.delete_button.setEnabled(has_selection)
        self.relabel_box.setEnabled(has_selection)
        self.undo_button.setEnabled(bool(self._deleted))

    def _change(self, what: str, edit) -> None:
        """Run an edit of the store; a database or disk error is shown, and the view reloaded."""
        from model.storage.samples import describe_database_error

        try:
            edit()
        except (sqlite3.Error, OSError) as error:
            show_message(self, f"{what} failed", f"{what} failed: {describe_database_error(error, self._store.path)} "
                         f"Nothing else was changed.", QMessageBox.Icon.Warning)
        self.refresh()
        self.changed.emit()

    def _relabel(self) -> None:
        label = self.relabel_box.currentData()
        self.relabel_box.setCurrentIndex(0)
        if label is not None:
            selected = self._selected_ids()
            self._change("Relabelling", lambda: [self._store.relabel(i, label) for i in selected])

    def _delete(self) -> None:
        selected = self._selected_ids()

        def delete() -> None:
            removed = [sample for sample in map(self._store.delete, selected) if sample is not None]
            if removed:
                self._deleted.append(removed)
        if selected:
            self._change("Deleting", delete)

    def _undo_delete(self) -> None:
        if self._deleted:
            restored = self._deleted.pop()
            self._change("Undoing the delete", lambda: [self._store.add(sample) for sample in restored])

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export samples", "hwr-samples.json", "hwr samples (*.json)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """Export all samples to ``path`` (split into more files beyond an import's limits) and say how
        many (used by the button and by tests). Written on a worker thread (100,000 samples take
        seconds) while the dialog waits, greyed, and the window stays responsive."""
        writer = _ExportWriter(self._store.path, path, self)
        files, error, problems = self._wait_for(writer, f"Writing {Path(path).name}…")
        if files is None:
            return  # the application is quitting
        if error is not None:
            show_message(self, "Export failed", f"Could not write {path}: {getattr(error, 'strerror', None) or error}",
                         QMessageBox.Icon.Warning)
            return
        count = sum(number for _, number in files)
        text = f"Exported {plural(count, 'sample')}"
        if len(files) > 1:  # each file imports on its own: one would be beyond the import's limits
            text += f" in {len(files)} files ({files[0][0].name} … {files[-1][0].name})"
        self._summarise(text, problems)

    def _wait_for(self, worker: QThread, saying: str):
        """Run ``worker`` while this dialog waits, greyed, saying ``saying``; return (files, error,
        problems), files None if the application is quitting meanwhile."""
        waiting = QEventLoop(self)
        worker.finished.connect(waiting.quit)  # queued from the worker: handled inside exec()
        self._importing = True  # no edits, no closing while the worker runs
        self.setEnabled(False)
        self.summary.setText(saying)
        try:
            worker.start()
            waiting.exec()
            interrupted = not worker.isFinished()
            worker.wait()
            return (None if interrupted else worker.files), worker.error, worker.problems
        finally:
            self._importing = False
            self.setEnabled(True)
            worker.deleteLater()
            waiting.deleteLater()

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import samples", "", "hwr samples (*.json)")
        if path:
            self.import_from(path)

    def import_from(self, path: str) -> None:
        """Import samples from ``path``; a bad file changes nothing and says why.

        The file is read, checked and rendered on a worker thread (a large export takes seconds)
        while this dialog and the window stay responsive; the method returns when it is done.
        """
        from model.storage.samples import SampleStoreError

        reader = _ExportReader(path, self)
        waiting = QEventLoop(self)
        reader.finished.connect(waiting.quit)  # queued from the worker: handled inside exec()
        self._importing = True
        self.setEnabled(False)  # no edits, no second import while the file is read
        self.summary.setText(f"Reading {Path(path).name}…")
        try:
            reader.start()
            waiting.exec()
            interrupted = not reader.isFinished()  # the application is quitting: every loop was told to end
            reader.wait()
            samples, error = reader.samples, reader.error
        finally:
            self._importing = False
            self.setEnabled(True)
            reader.samples = []
            reader.deleteLater()
            waiting.deleteLater()
        if interrupted:
            return  # nothing was stored; the window is closing
        try:
            if error is not None:
                raise error
            added = self._store.add_imported(samples, path)
        except (SampleStoreError, sqlite3.Error) as problem:
            show_message(self, "Import failed", str(problem), QMessageBox.Icon.Warning)
            self.refresh()
            return
        self.refresh()
        self.summary.setText(f"Imported {plural(added, 'new sample')}")
        self.changed.emit()

    def is_importing(self) -> bool:
        """True while a file is being read (the dialog, and the window, must not close meanwhile)."""
        return self._importing

    def reject(self) -> None:
        if not self._importing:  # Esc or the close button while a file is read: finish first
            super().reject()

    def closeEvent(self, event) -> None:
        if self._importing:
            event.ignore()
        else:
            super().closeEvent(event)
