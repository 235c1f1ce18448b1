"""A network's configuration: everything needed to rebuild it, stored in every checkpoint. No torch.

Kept apart from :mod:`model.recognition.network` so that reading a model for inference
(:mod:`model.recognition.inference`) never loads torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

ARCHITECTURES = ("compact", "seed")
NUM_CLASSES = 10


@dataclass(frozen=True)
class NetConfig:
    """Everything needed to rebuild a network; stored in every checkpoint."""

    arch: str = "compact"  # one of ARCHITECTURES
    stem_channels: int = 32  # compact: channels of the one 28×28 convolution
    mid_channels: int = 48  # compact: channels of the two 14×14 convolutions
    top_channels: int = 96  # compact: channels of the two 7×7 convolutions
    hidden_units: int = 128  # seed: width of the fully connected layer
    dropout: float = 0.5  # seed: dropout before the last layer, as in the article
    head_dropout: float = 0.1  # compact: dropout on the pooled features

    def to_dict(self) -> dict:
        """Return the config as plain types, safe for a weights-only checkpoint."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "NetConfig":
        """Return a config from a dict, refusing unknown keys or architectures."""
        known = {field.name for field in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown network settings: {sorted(unknown)}")
        config = cls(**values)
        if config.arch not in ARCHITECTURES:
            raise ValueError(f"Unknown architecture {config.arch!r}; expected one of {ARCHITECTURES}")
        return config
