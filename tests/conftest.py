"""Shared fixtures: MNIST from the project's data folder, and the shipped model measured once."""

from __future__ import annotations

import os

# The app's tests (pytest-qt) need a platform plugin that works without a display; set it before
# anything can import Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from model import assets  # noqa: E402
from model.storage.checkpoint import Checkpoint, CheckpointError, load_checkpoint  # noqa: E402
from model.constants import UNIPEN_DIR_ENV  # noqa: E402
from model.training.data import MNIST_DIR_ENV, DigitSet, load_mnist  # noqa: E402
from model.training.evaluate import Evaluation, evaluate  # noqa: E402

# One thread keeps the suite from competing with itself (and with a training run) on a small CPU;
# it also makes CPU results reproducible from run to run.
torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_folder(variable: str, default: Path, inside: str) -> Path:
    """Return $variable (else ``default``) if it holds ``inside``; skip, or fail in CI, naming both."""
    folder = Path(os.environ.get(variable, default)).expanduser()
    if not (folder / inside).is_dir():
        reason = f"{inside} not found in {folder}; set {variable} to the folder that holds {inside}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must provide it)")
        pytest.skip(reason)
    return folder


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Return the folder holding MNIST/raw: $HWR_MNIST_DIR, else ../shared/data beside the repo."""
    return data_folder(MNIST_DIR_ENV, REPO_ROOT.parent / "shared" / "data", "MNIST/raw")


@pytest.fixture(scope="session")
def unipen_dir() -> Path:
    """Return the folder holding UNIPEN's train_r01_v07: $HWR_UNIPEN_DIR, else ../shared/data/unipen."""
    return data_folder(UNIPEN_DIR_ENV, REPO_ROOT.parent / "shared" / "data" / "unipen", "train_r01_v07/data/1a")


@pytest.fixture(scope="session")
def mnist_test(mnist_dir: Path) -> DigitSet:
    """Return MNIST's 10,000 test digits."""
    return load_mnist(mnist_dir, train=False)


@pytest.fixture(scope="session")
def mnist_train(mnist_dir: Path) -> DigitSet:
    """Return MNIST's 60,000 training digits."""
    return load_mnist(mnist_dir, train=True)


@pytest.fixture(scope="session")
def shipped_checkpoint() -> Checkpoint:
    """Return the checkpoint the app ships (assets/default.pt); fail if it is missing or unusable."""
    path = assets.default_weights_path()
    try:
        return load_checkpoint(path)
    except CheckpointError as error:
        pytest.fail(f"The shipped model cannot be loaded: {error} Train it with "
                    f"`python -m model.train --data-dir <MNIST folder> --output {path}`.")


@pytest.fixture(scope="session")
def shipped_network(shipped_checkpoint: Checkpoint) -> torch.nn.Module:
    """Return the shipped network, in eval mode."""
    return shipped_checkpoint.build()


@pytest.fixture(scope="session")
def shipped_evaluation(shipped_network: torch.nn.Module, mnist_test: DigitSet) -> Evaluation:
    """Return the shipped network's evaluation on all of MNIST's test set, measured once per run."""
    return evaluate(shipped_network, mnist_test)


@pytest.fixture
def test_sets_unread(monkeypatch):
    """Fail the test if UNIPEN's test writers or MNIST's test set are read (a model still being chosen must not
    see them); returns the real (pen_digits, load_mnist) for the test's own reading."""
    from model.training import data, unipen

    real_digits, real_mnist = unipen.pen_digits, data.load_mnist

    def pen_digits(root, split=None):
        assert split not in ("test", None), "the test writers were read"  # None: every split, the test's too
        return real_digits(root, split)

    def load_mnist(root, train, download=False):
        assert train, "MNIST's test set was read"
        return real_mnist(root, train, download)

    monkeypatch.setattr(unipen, "pen_digits", pen_digits)
    monkeypatch.setattr(data, "load_mnist", load_mnist)
    return real_digits, real_mnist


def pytest_addoption(parser) -> None:
    parser.addoption("--fuzz-cases", type=int, default=None,
                     help="how many cases tests/test_fuzz.py runs (default: $HWR_FUZZ_CASES or 300)")
