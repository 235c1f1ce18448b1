"""A model version as a fine-tune would save it, for the tests of the registry, the inference files and the window."""

from __future__ import annotations

import torch

from model.storage.checkpoint import ModelInfo, make_checkpoint


def fine_tuned_version(registry, accepted: bool = True, factor: float = 1.0001, info: ModelInfo | None = None):
    """Save (with ``registry.add``) the shipped network with its first weight tensor scaled by ``factor``: a
    different model, so a different version id, that reads as the shipped one does. Returns the VersionEntry."""
    shipped = registry.shipped().checkpoint
    network = shipped.build()
    with torch.no_grad():
        next(network.parameters()).mul_(factor)
    info = info or ModelInfo()
    info.parent_version = info.parent_version or shipped.info.version
    return registry.add(make_checkpoint(network, shipped.config, info), accepted=accepted)
