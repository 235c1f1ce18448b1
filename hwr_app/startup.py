"""Load the model on a thread while the window is already up: first a reader without torch, then the rest.

The shipped model is read first from its inference file (``assets/default.npz``, numpy only), so the
first digit is answered in a fraction of a second; then torch, the registry of versions and the
model in charge are loaded as before (:func:`load_models`) and take over.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from model.constants import TORCH_THREADS

EARLY_READ_WAIT_S = 0.5  # the longest the full load waits for a first digit to be read without torch


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
    checkpoint: object  # model.storage.checkpoint.Checkpoint to use now
    messages: list[str]  # problems met and how they were handled, for the user


class StartupLoader(QThread):
    """Import the model code and load the model to use; emits ``loaded`` or ``failed``."""

    reader_ready = Signal(object)  # model.storage.inference_file.InferenceModel: read digits with it until ``loaded``
    loaded = Signal(object)  # Loaded
    failed = Signal(str)

    def __init__(self, paths: AppPaths, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("startup")
        self._paths = paths
        self._first_answer = threading.Event()

    def proceed(self) -> None:
        """Go on loading torch and the rest now (the window calls this once it has shown a first answer)."""
        self._first_answer.set()

    def run(self) -> None:
        try:
            early = early_reader(self._paths)
        except Exception:  # noqa: BLE001 — a damaged shipped file: the full load below reports what is wrong
            early = None
        if early is not None:
            self.reader_ready.emit(early)
            # Importing torch holds Python's lock for most of a second: let the first digit drawn be
            # read first (proceed()), or wait at most EARLY_READ_WAIT_S for one.
            self._first_answer.wait(EARLY_READ_WAIT_S)
        try:
            self.loaded.emit(load_models(self._paths))
        except Exception as error:  # even the shipped model is unreadable: say so, don't crash
            self.failed.emit(f"No model could be loaded: {error}")


def early_reader(paths: AppPaths):
    """Return the shipped model's InferenceModel when it is the one in charge, read without torch; else None.

    Only the plain case is answered early: no ``--weights``, and ``models/active`` absent or naming the
    shipped model. Anything else (a fine-tune in charge, a marker that is not right, an inference
    file that cannot be used) is left to :func:`load_models`, which reports it.
    """
    from model.assets import default_weights_path
    from model.constants import SHIPPED
    from model.files import validate
    from model.storage.inference_file import inference_path, read_inference_file

    if paths.weights_override is not None:
        return None
    try:
        if validate.active_marker_file(paths.models_dir / "active", SHIPPED) != SHIPPED:
            return None
        return read_inference_file(inference_path(default_weights_path()))
    except (validate.InvalidInputError, OSError):
        return None


def load_models(paths: AppPaths) -> Loaded:
    """Return the registry and the checkpoint to use, falling back to the shipped model on errors.

    Any model other than the shipped one that cannot be used (``--weights``, the active version)
    gives a message and the next fallback: ``--weights`` → the active version → the shipped model.
    Temporary files left by a crash during an earlier save are removed first.
    """
    import torch

    import model.personal.finetune  # noqa: F401  (imported here, not on the fine-tune's first run)
    from model.assets import default_weights_path
    from model.storage.checkpoint import CheckpointError, load_checkpoint
    from model.files.disk import remove_stale_temporaries
    from model.storage.versions import ModelRegistry

    torch.set_num_threads(TORCH_THREADS)
    registry = ModelRegistry(paths.models_dir, default_weights_path())
    registry.remove_stale_temporaries()
    remove_stale_temporaries(paths.user_dir)
    messages: list[str] = []
    if paths.weights_override is not None:
        try:
            checkpoint = load_checkpoint(paths.weights_override)
            return Loaded(registry, checkpoint, messages)
        except CheckpointError as error:  # the user's own file: reported, never moved
            messages.append(f"{error} Using the active model instead.")
    checkpoint = registry.active().checkpoint
    messages.extend(registry.take_messages())
    return Loaded(registry, checkpoint, messages)
