"""The fine-tune as the window runs it: start, progress, cancel, the result notice, and automatic fine-tuning.

Owns the running :class:`~hwr_app.finetune_worker.FinetuneWorker` (one at a time), the progress row of
the side panel while it runs, the notice that says what came of it, the latest result, and the
"fine-tune after every N corrections" setting with its counter (kept in settings.ini, so a restart
keeps counting). It reads the store, registry and checkpoint from the :class:`~hwr_app.session.Session`;
it asks for an accepted model to be made active through :attr:`FinetuneFlow.activate_requested` and
says when the window's actions should follow through :attr:`FinetuneFlow.changed`. Everything here runs
on the GUI thread; the worker's signals arrive queued.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from hwr_app.finetune_worker import FinetuneWorker, MnistCache
from hwr_app.panel import SidePanel
from hwr_app.session import Session
from hwr_app.settings import read_choice, read_count
from hwr_app.widgets import show_message
from hwr_app.wording import PROGRESS_CANCELLING, PROGRESS_CHECKING, PROGRESS_GETTING_READY, PROGRESS_LEARNING
from model.personal.readiness import finetune_readiness

AUTO_FINETUNE_CHOICES = (0, 10, 20, 50)  # "fine-tune after every N corrections"; 0 = off
AUTO_EVERY_KEY = "finetune/autoEvery"
COUNTER_KEY = "finetune/correctionsSince"
NOTHING_NEW = ("The last fine-tune on these samples was not used; save or correct more samples, then fine-tune "
               "again.")


def auto_finetune_every(settings) -> int:
    """Return N of "fine-tune after every N corrections" from ``settings``, 0 when off (the default)."""
    return read_choice(settings, AUTO_EVERY_KEY, 0, AUTO_FINETUNE_CHOICES)


class FinetuneFlow(QObject):
    """Runs fine-tunes for the window, one at a time, and tells the user how each one went."""

    changed = Signal()  # a fine-tune started or ended, or corrections were counted: the actions follow
    activate_requested = Signal(str, object)  # version, a predictor built from it (or None): make it active
    message = Signal(str, int)  # a status-bar line and how long it shows (ms)

    def __init__(self, session: Session, mnist: MnistCache, action: QAction, panel: SidePanel,
                 parent: QObject) -> None:
        """``action`` starts a fine-tune (it is enabled when one may start); ``parent`` is the window,
        which also carries the notices."""
        super().__init__(parent)
        self.session = session
        self.mnist = mnist
        self.worker: FinetuneWorker | None = None
        self.config = None  # model.personal.finetune.FinetuneConfig; None = its defaults
        self.last = None  # (FinetuneResult, VersionEntry) of the latest finished fine-tune
        self._action = action
        self._panel = panel
        self._samples: list = []  # the samples the running fine-tune works on
        self._report = None  # (title, text, details, icon) of the latest result, behind the panel's "Details…"
        self._base_counts = None  # (sample counts by digit, model version) the running fine-tune started on
        self.refused_on = None  # (sample counts by digit, model version) a fine-tune was last refused on
        panel.result_line.linkActivated.connect(lambda _: self.show_details())
        self._read_problems: list[str] = []  # rows of the store the last fine-tune left out (see start)

    # -- automatic fine-tuning ----------------------------------------------------------------

    def auto_every(self) -> int:
        """Return N of "fine-tune after every N corrections", 0 when off (the default)."""
        return auto_finetune_every(self.session.settings)

    @property
    def corrections_since(self) -> int:
        """Corrections since the last fine-tune started, kept in the settings so a restart keeps counting."""
        return read_count(self.session.settings, COUNTER_KEY)  # a hand-edited value outside 0–10⁹ counts as 0

    @corrections_since.setter
    def corrections_since(self, count: int) -> None:
        self.session.settings.setValue(COUNTER_KEY, count)

    def count(self, corrections: int) -> None:
        """Count ``corrections`` toward automatic fine-tuning (negative: taken back by Undo)."""
        self.corrections_since = max(0, self.corrections_since + corrections)

    def start_if_due(self) -> None:
        """Start a fine-tune if automatic fine-tuning is on, enough corrections came and one may start."""
        every = self.auto_every()
        if every and self.corrections_since >= every and self._action.isEnabled():
            self.start()

    # -- one fine-tune ------------------------------------------------------------------------

    def start(self) -> None:
        """Start fine-tuning a copy of the active model on the stored samples, in the background."""
        session = self.session
        if self.worker is not None or session.store is None or session.checkpoint is None:
            return
        counts = session.store.counts_by_label()
        readiness = finetune_readiness(counts)
        if not readiness.ready:
            self.message.emit(readiness.missing, 8000)
            return
        if self.nothing_new(counts, session.checkpoint.info.version):
            self.message.emit(NOTHING_NEW, 8000)
            return
        self.corrections_since = 0  # "after every N corrections" counts from here
        from functools import partial

        from model.storage.samples import read_training_set

        samples = session.store.answers()  # labels only, for the result's wording: no strokes read here
        # The worker reads the samples itself: tens of thousands take seconds, never the GUI thread's.
        self._read_problems = []  # a fresh list per fine-tune: the worker appends to it on its thread
        worker = FinetuneWorker(session.checkpoint, partial(read_training_set, session.paths.samples_db,
                                                            problems=self._read_problems),
                                session.registry, self.mnist, config=self.config, parent=self)
        worker.progress.connect(self._on_progress)
        worker.succeeded.connect(self._on_succeeded)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(lambda: self.message.emit("Fine-tuning cancelled.", 4000))
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._samples = samples
        progress = self._panel.finetune_progress
        progress.setRange(0, 1)  # words, not a bare striped bar, until the first step
        progress.setValue(0)
        progress.set_wordings(*PROGRESS_GETTING_READY)
        self._base_counts = (dict(session.store.counts_by_label()), session.checkpoint.info.version)
        self._panel.show_progress(True)
        self.message.emit("", 0)  # what the status bar said before (a cancel, what was missing) no longer holds
        self.changed.emit()
        worker.start()

    def cancel(self) -> None:
        """Stop the running fine-tune; the active model stays."""
        if self.worker is not None:
            self.worker.cancel()
            self._panel.cancel_button.setEnabled(False)
            self._panel.finetune_progress.set_wordings(*PROGRESS_CANCELLING)

    def stop(self) -> None:
        """Stop a running fine-tune and wait for its thread, keeping nothing (the window is closing)."""
        worker = self.worker
        if worker is not None:  # stop cleanly; the active model is untouched, nothing is kept
            for signal in (worker.progress, worker.succeeded, worker.failed, worker.cancelled, worker.finished):
                signal.disconnect()
            worker.cancel()
            worker.wait()
            self.worker = None

    @Slot(object)
    def _on_progress(self, progress) -> None:
        bar = self._panel.finetune_progress
        bar.setRange(0, progress.steps)
        bar.setValue(progress.step)
        wordings = PROGRESS_LEARNING if progress.phase == "training" else PROGRESS_CHECKING
        if self._panel.cancel_button.isEnabled():  # while cancelling, the bar keeps saying so
            bar.set_wordings(*wordings)

    @Slot(object, object)
    def _on_succeeded(self, result, entry) -> None:
        from hwr_app.models_view import model_name
        from model.personal.finetune import FinetuneConfig
        from hwr_app.wording import describe_finetune, finetune_outcome

        self.last = (result, entry)
        checkpoint = self.session.checkpoint
        base = result.checkpoint.info.parent_version
        still_on_base = checkpoint is not None and checkpoint.info.version == base
        if result.accepted and still_on_base:
            worker = self.worker
            self.activate_requested.emit(entry.version, worker.predictor if worker is not None else None)
        outcome = finetune_outcome(result, self._samples, activated=result.accepted and still_on_base,
                                   allowed_drop=result.allowed.get("MNIST",
                                                                   (self.config or FinetuneConfig()).max_mnist_drop),
                                   new_name=model_name(self.session.registry, result.checkpoint.info))
        report = describe_finetune(outcome)
        self.refused_on = None if result.accepted else self._base_counts  # nothing new: Fine-tune waits
        registry = self.session.registry
        notes = registry.take_messages() if registry is not None else []  # e.g. old versions pruned on saving it
        details = "\n\n".join([report.details, *notes])
        self._show_result(report.title, report.summary or report.title, report.headline, details,
                          QMessageBox.Icon.Information if result.accepted else QMessageBox.Icon.Warning)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._show_result("Fine-tuning failed", "Fine-tuning failed; the model in use is unchanged.", message, "",
                          QMessageBox.Icon.Warning)

    def _show_result(self, title: str, summary: str, text: str, details: str, icon: QMessageBox.Icon) -> None:
        """Say how the fine-tune went in the side panel, the full account one click away: never a window
        that opens over the canvas while the user writes (the next stroke would go to it)."""
        from html import escape

        self._report = (title, text, details, icon)
        self._panel.show_result(f"{escape(summary)} <a href='details'>Details…</a>", text)

    def show_details(self) -> None:
        """Show the latest result in full, beside the panel rather than over the canvas (the user asked)."""
        if self._report is None:
            return
        title, text, details, icon = self._report
        box = show_message(self.parent(), title, text, icon, "finetuneResultDialog", details)
        window = self.parent()
        box.adjustSize()
        panel_left = self._panel.mapToGlobal(self._panel.rect().topLeft())
        screen = window.screen().availableGeometry() if window.screen() is not None else None
        right_of_window = window.frameGeometry().right() + 8
        x = (right_of_window if screen is not None and right_of_window + box.width() <= screen.right()
             else panel_left.x())
        box.move(x, panel_left.y())

    @Slot()
    def _on_finished(self) -> None:
        self.worker.deleteLater()
        self.worker = None
        self._samples = []
        self._panel.show_progress(False)
        self.changed.emit()
        problems, self._read_problems = self._read_problems, []
        if problems:  # an edited or crafted samples.db: say so once, naming the file and the first row
            more = f" ({len(problems) - 1} more such rows.)" if len(problems) > 1 else ""
            self.message.emit(problems[0] + more, 15000)

    def nothing_new(self, counts: dict, version: str) -> bool:
        """Return True if the last fine-tune was refused on exactly these samples and this model."""
        return self.refused_on is not None and self.refused_on == (dict(counts), version)
