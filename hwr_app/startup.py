"""Load the model on a thread while the window is already up, without torch.

The model in charge is read from its inference file (numpy only, :mod:`model.storage.inference_file`),
so the first digit is answered a fraction of a second after start and the process stays small;
torch is imported only when the first fine-tune starts (on its worker thread) — or here, on this thread,
if ``--weights`` names a checkpoint, if a version saved by an older hwr needs its inference file written
(once), or if the shipped inference file cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QThread, Signal


@dataclass(frozen=True)
class AppPaths:
    """Where the app keeps and finds its files."""

    user_dir: Path  # samples.db and models/ live here
    mnist_dir: Path  # MNIST for fine-tuning (downloaded here on first use when allowed)
    weights_override: Path | None = None  # --weights: use this checkpoint instead of the active version

    @property
    def samples_db(self) -> Path:
        return self.user_dir / "samples.db"

    @property
    def models_dir(self) -> Path:
        return self.user_dir / "models"


@dataclass
class Loaded:
    """What the start-up thread hands to the window."""

    registry: object  # model.storage.versions.ModelRegistry
    checkpoint: object  # model.storage.versions.VersionEntry to use now (reads digits; its checkpoint on demand)
    messages: list[str]  # problems met and how they were handled, for the user


class StartupLoader(QThread):
    """Load the model to use; emits ``loaded`` or ``failed``."""

    loaded = Signal(object)  # Loaded
    failed = Signal(str)

    def __init__(self, paths: AppPaths, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("startup")
        self._paths = paths

    def run(self) -> None:
        try:
            self.loaded.emit(load_models(self._paths))
        except Exception as error:  # even the shipped model is unreadable: say so, don't crash
            self.failed.emit(f"No model could be loaded: {error}")


def load_models(paths: AppPaths) -> Loaded:
    """Return the registry and the version to use, falling back to the shipped model on errors.

    Any model other than the shipped one that cannot be used (``--weights``, the active version)
    gives a message and the next fallback: ``--weights`` → the active version → the shipped model.
    Temporary files left by a crash during an earlier save are removed first. Torch is not imported
    (except to read a ``--weights`` checkpoint).
    """
    from model.assets import default_weights_path
    from model.files.disk import remove_stale_temporaries
    from model.storage.versions import ModelRegistry, VersionEntry

    registry = ModelRegistry(paths.models_dir, default_weights_path())
    registry.remove_stale_temporaries()
    remove_stale_temporaries(paths.user_dir)
    messages: list[str] = []
    if paths.weights_override is not None:
        from model.storage.checkpoint import CheckpointError, load_checkpoint

        try:
            checkpoint = load_checkpoint(paths.weights_override)
            entry = VersionEntry.of_checkpoint(checkpoint.info.version, paths.weights_override, checkpoint)
            return Loaded(registry, entry, messages)
        except CheckpointError as error:  # the user's own file: reported, never moved
            messages.append(f"{error} Using the active model instead.")
    entry = registry.active()
    # Listed here, off the window's thread: a version saved by an older hwr has no inference file yet and is
    # read once from its checkpoint, with torch, to write one; the window then names versions from the cache.
    registry.versions()
    registry.rejected()
    messages.extend(registry.take_messages())
    return Loaded(registry, entry, messages)
