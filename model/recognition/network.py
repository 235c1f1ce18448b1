"""The digit classifiers in torch: only the networks, no I/O (their configuration is in net_config).

Two architectures share one config so a checkpoint can rebuild either from the file alone:

* ``compact`` (default): built for a 2-core CPU. It halves the resolution right after the first
  convolution, so almost all work happens at 14×14 and 7×7, uses batch norm for fast, stable
  training, and ends in global average pooling instead of a large fully connected layer.
* ``seed``: the network of the article this project started from (one 3×3 convolution with 32
  channels, 2×2 max-pool, FC-128, dropout 0.5, FC-10), with its shape error fixed: the flattened
  size after a valid 3×3 convolution and pooling is 32×13×13, not 32×14×14.
"""

from __future__ import annotations

import torch
from torch import nn

from model.recognition.net_config import ARCHITECTURES, NUM_CLASSES, NetConfig  # noqa: F401  (re-exported)


def _conv_bn(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class CompactNet(nn.Module):
    """A small CNN for the CPU: 28×28 → 14×14 → 7×7 → pooled features → 10 logits."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        s, m, t = config.stem_channels, config.mid_channels, config.top_channels
        self.features = nn.Sequential(
            _conv_bn(1, s),  # (B, s, 28, 28)
            nn.MaxPool2d(2),  # (B, s, 14, 14): downsample early, the rest is cheap
            _conv_bn(s, m),
            _conv_bn(m, m),  # (B, m, 14, 14)
            nn.MaxPool2d(2),  # (B, m, 7, 7)
            _conv_bn(m, t),
            _conv_bn(t, t),  # (B, t, 7, 7)
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),  # (B, t)
        )
        self.head = nn.Sequential(nn.Dropout(config.head_dropout), nn.Linear(t, NUM_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 1, 28, 28)
        return self.head(self.features(x))  # (B, 10) logits


class SeedNet(nn.Module):
    """The seed article's network, corrected so that its layer sizes agree."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3),  # (B, 32, 26, 26)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # (B, 32, 13, 13)
            nn.Flatten(),  # (B, 5408)
        )
        self.head = nn.Sequential(
            nn.Linear(32 * 13 * 13, config.hidden_units),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_units, NUM_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 1, 28, 28)
        return self.head(self.features(x))  # (B, 10) logits


def build_network(config: NetConfig) -> nn.Module:
    """Return a freshly initialised network for the config."""
    if config.arch == "compact":
        return CompactNet(config)
    if config.arch == "seed":
        return SeedNet(config)
    raise ValueError(f"Unknown architecture {config.arch!r}; expected one of {ARCHITECTURES}")


def count_parameters(network: nn.Module) -> int:
    """Return the number of trainable parameters."""
    return sum(p.numel() for p in network.parameters() if p.requires_grad)
