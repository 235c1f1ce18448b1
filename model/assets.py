"""Where the shipped files (default weights, icon) are, installed or in a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_WEIGHTS_NAME = "default.pt"


def assets_dir() -> Path:
    """Return the folder of shipped assets (the ``assets/`` folder of the project)."""
    return Path(str(resources.files("hwr_assets")))


def default_weights_path() -> Path:
    """Return the path of the shipped default checkpoint."""
    return assets_dir() / DEFAULT_WEIGHTS_NAME
