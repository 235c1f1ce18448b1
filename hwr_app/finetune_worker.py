"""Run a fine-tune on a worker thread: progress and the result come back as signals.

The worker drives :func:`model.personal.finetune.finetune`, a generator, and checks its cancel flag at every
yield (once per training step), so Cancel and closing the window take effect within one step. It
also imports torch (the app reads digits without it: the first fine-tune is where it is loaded), loads the
base model's checkpoint and the reference digits (once, then cached) and saves the new version, so the GUI
thread does no heavy work. Only plain data and model objects cross back; no widget is touched here.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

from PySide6.QtCore import QThread, Signal


def release_free_memory() -> None:
    """Hand memory that training freed back to the system (glibc keeps it per thread otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to do
        pass


# torch's own libraries, in the order they depend on one another (those absent from a build are skipped), each
# with the visibility torch's own import gives it: only the global-deps stub is global. libtorch_python is
# left to the import: its start-up code is Python's, and must run holding Python's lock.
TORCH_LIBRARIES = (("libtorch_global_deps.so", True), ("libc10.so", False), ("libtorch_cpu.so", False),
                   ("libtorch.so", False))


def preload_torch_libraries() -> None:
    """Map torch's shared libraries without holding Python's lock, before ``import torch`` on this thread.

    Importing torch maps about a gigabyte of libraries and runs their static initialisers; done by
    ``import`` that happens under Python's lock, and the window's event loop waited 190 ms on it (p50 of 3
    first fine-tunes, quiet machine, benchmarks/startup.py). dlopen called through ctypes runs with the lock
    released, so the same work is done here while the window keeps painting, and the import that follows
    finds the libraries mapped: the longest wait fell to 74 ms (p50 of 5). Best effort: on another system,
    or if anything is missing, ``import torch`` does it all.
    """
    import importlib.util
    import os

    try:
        spec = importlib.util.find_spec("torch")
        folder = Path(next(iter(spec.submodule_search_locations))) / "lib"
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen
    except (AttributeError, OSError, StopIteration, TypeError, ValueError):
        return
    dlopen.restype, dlopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int]
    for name, shared in TORCH_LIBRARIES:
        path = folder / name
        if path.is_file():  # a failure here is import torch's to report
            dlopen(os.fsencode(path), os.RTLD_NOW | (os.RTLD_GLOBAL if shared else os.RTLD_LOCAL))


def _prebuilt_predictor(entry):
    """Return a model.recognition.predict.Predictor of the saved version, or None: the recognition thread then
    builds one itself and, if that fails too, says so and keeps the model before it (Recognizer.set_checkpoint),
    rather than this calling a saved, judged fine-tune a failure."""
    from model.recognition.predict import Predictor

    try:
        return Predictor(entry)
    except Exception:  # noqa: BLE001 — an optimisation only; the model itself was saved and judged
        return None


class MnistCache:
    """The digits a fine-tune replays and is checked against, with their trunk features, kept per run.

    They come from the files shipped in the package (no download); only when those are missing is
    MNIST read from ``mnist_dir`` (downloaded if ``download``). Loaded on the first fine-tune.
    """

    def __init__(self, mnist_dir: Path, download: bool, assets: Path | None = None) -> None:
        self.mnist_dir = mnist_dir
        self.download = download
        self.assets = assets
        self._lock = threading.Lock()
        self._features = None

    def get(self):
        """Return the model.personal.features.FeatureCache; raises MnistUnavailableError or ReferenceFileError clearly."""
        from model.assets import assets_dir
        from model.personal.features import FeatureCache
        from model.personal.reference import load_reference

        with self._lock:
            if self._features is None:  # a failed load is retried next time
                reference = load_reference(self.assets or assets_dir(), self.mnist_dir, self.download)
                self._features = FeatureCache(reference)
            return self._features


class FinetuneWorker(QThread):
    """One fine-tune of ``base`` on the given samples; start() it, then listen."""

    progress = Signal(object)  # model.personal.finetune.Progress
    succeeded = Signal(object, object)  # (FinetuneResult, saved VersionEntry)
    failed = Signal(str)  # a message for the user
    cancelled = Signal()

    def __init__(self, base, samples, registry, mnist: MnistCache, config=None, parent=None) -> None:
        """``base``: the model.storage.versions.VersionEntry to fine-tune (its checkpoint is loaded here, on the
        worker thread), or a model.storage.checkpoint.Checkpoint. ``samples``: a list of model.storage.samples.Sample, or a function called on the worker thread with a
        stop test (``is_cancelled``) that returns (pictures, labels, uids): model.storage.samples.read_training_set."""
        super().__init__(parent)
        self.setObjectName("finetune")
        self._base = base
        self._samples = samples
        self._registry = registry
        self._mnist = mnist
        self._config = config
        self._cancel = threading.Event()
        # A model.recognition.predict.Predictor of an accepted fine-tune's checkpoint, built here before
        # ``succeeded`` is emitted, so that putting it in charge costs the window nothing.
        self.predictor = None

    def cancel(self) -> None:
        """Ask the fine-tune to stop at its next step; safe from any thread."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _line_start(self):
        """Return the shipped model, where every line of fine-tunes starts; None if it cannot be read."""
        from model.storage.checkpoint import CheckpointError

        try:
            return self._registry.shipped().checkpoint
        except (CheckpointError, OSError):  # the fine-tune is then held to its own base only
            return None

    def run(self) -> None:
        import sys

        try:
            if "torch" not in sys.modules:  # the first fine-tune loads torch (about a second), here, off the GUI thread
                preload_torch_libraries()
            import torch

            from model.constants import TORCH_THREADS
            from model.personal.finetune import FinetuneConfig, NotEnoughSamplesError, finetune
            from model.personal.reference import ReferenceFileError
            from model.storage.checkpoint import CheckpointError
            from model.storage.samples import SampleStoreError, rendered_images
            from model.training.data import MnistUnavailableError

            torch.set_num_threads(TORCH_THREADS)
        except Exception as error:  # noqa: BLE001 — a broken torch install: said, not a bar that vanishes
            self.failed.emit(f"Fine-tuning needs torch, which could not be loaded ({error!r}). Reinstall hwr; "
                             f"reading digits works without it.")
            release_free_memory()
            return
        try:
            base = getattr(self._base, "checkpoint", self._base)  # a VersionEntry's checkpoint loads here
            if callable(self._samples):
                images, labels, keys = self._samples(self.is_cancelled)
            else:
                images = rendered_images(self._samples)  # re-rendered: current preprocessing
                labels = [sample.label for sample in self._samples]
                keys = [sample.uid for sample in self._samples]
            reference = self._mnist.get()
            if self._cancel.is_set():  # cancelled (or the window closed) while the reference digits loaded
                self.cancelled.emit()
                return
            steps = finetune(base, images, labels, reference, self._config or FinetuneConfig(),
                             sample_keys=keys, line_start=self._line_start())
            while True:
                if self._cancel.is_set():
                    steps.close()
                    self.cancelled.emit()
                    return
                try:
                    self.progress.emit(next(steps))
                except StopIteration as finished:
                    result = finished.value
                    break
            if self._cancel.is_set():  # cancelled while checking: nothing is kept
                self.cancelled.emit()
                return
            entry = self._registry.add(result.checkpoint, accepted=result.accepted)
            if result.accepted:
                self.predictor = _prebuilt_predictor(entry)
        except (MnistUnavailableError, ReferenceFileError, NotEnoughSamplesError, SampleStoreError,
                CheckpointError) as error:
            self.failed.emit(str(error))
            return
        except OSError as error:
            self.failed.emit(f"Could not save the new model ({error.strerror or error}). "
                             f"Free some disk space and try again; the current model stays in use.")
            return
        except Exception as error:  # delivered to the GUI, never swallowed
            self.failed.emit(f"Fine-tuning failed: {error!r}")
            return
        finally:
            release_free_memory()
        self.succeeded.emit(result, entry)
