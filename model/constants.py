"""Settings shared by the app and the model core that must not pull in torch.

The app imports these while its window is coming up, before torch has been loaded on a worker
thread, so this module imports nothing heavy.
"""

from __future__ import annotations

import os
from pathlib import Path

MNIST_DIR_ENV = "HWR_MNIST_DIR"  # environment variable naming the folder that holds MNIST/raw
UNIPEN_DIR_ENV = "HWR_UNIPEN_DIR"  # environment variable naming the folder that holds train_r01_v07
# Below this probability an answer is shown as unsure (the window names candidates instead).
CONFIDENCE_THRESHOLD = 0.6
# Torch's intra-op threads, set once at start-up by the app (and used by the benchmarks that time
# what the app does): more than 4 buys nothing for a network this small and would only compete with
# the event loop.
TORCH_THREADS = max(1, min(4, os.cpu_count() or 2))
MIN_SAMPLES = 10  # fewer samples than this are too few to fine-tune on and judge the result
SHIPPED = "shipped"  # the version name of the model that ships in assets/


def _configured_or_cached(variable: str, name: str) -> Path:
    """Return the folder $variable names, else ``hwr/<name>`` in the per-user cache folder."""
    configured = os.environ.get(variable)
    if configured:
        return Path(configured).expanduser()
    cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache_home / "hwr" / name


def default_mnist_dir() -> Path:
    """Return the MNIST folder from $HWR_MNIST_DIR, else a per-user cache folder."""
    return _configured_or_cached(MNIST_DIR_ENV, "mnist")


def default_unipen_dir() -> Path:
    """Return the UNIPEN folder from $HWR_UNIPEN_DIR, else a per-user cache folder."""
    return _configured_or_cached(UNIPEN_DIR_ENV, "unipen")
