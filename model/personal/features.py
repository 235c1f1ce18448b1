"""The frozen trunk and what is measured through it: split networks, cached features, gate figures.

A fine-tune trains only the top of the network; the trunk (its first layers) never changes, so the
reference digits (replay and gates) are seen through it once and reused by every fine-tune that
shares it (:class:`FeatureCache`). A model's gate figures are stored in its checkpoint's notes
(:func:`stamp_gate_figures` for the shipped model) so they are measured once.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import replace

import torch
from torch import nn

from model.personal.reference import GateSet, Reference
from model.storage.checkpoint import Checkpoint, weights_digest
from model.training.data import normalise, to_unit_ink

# Layers of ``network.features`` that stay frozen, per architecture. compact: stem, pool, the two
# 14×14 convolutions, the pool and the first 7×7 convolution → (B, 96, 7, 7), so only the last
# convolution and the linear layer learn; seed: none (the whole small net learns). Freezing the
# first 7×7 convolution too (depth 5 → 6) took a 20-sample fine-tune from 3.9 to 2.6 s and a
# 200-sample one from 4.2 to 2.8 s (benchmarks.finetune, quiet machine, 2 threads) with the same
# new-drawing accuracy on the synthetic styles and on UNIPEN validation writers (benchmarks.personalise
# --split val: k2 29 → 29 errors either way, corrections 10 → 9 at depth 5, 10 → 10 at depth 6).
TRUNK_DEPTH = {"compact": 6, "seed": 0}
EVAL_CHUNK = 1000  # digits per forward pass when measuring a gate


def split_network(network: nn.Module, arch: str) -> tuple[nn.Sequential, nn.Sequential]:
    """Return (frozen trunk, trainable top) sharing ``network``'s modules: top(trunk(x)) == network(x)."""
    depth = TRUNK_DEPTH[arch]
    layers = list(network.features)
    return nn.Sequential(*layers[:depth]), nn.Sequential(*layers[depth:], *network.head)


@torch.inference_mode()
def trunk_features(trunk: nn.Module, unit_ink: torch.Tensor) -> torch.Tensor:
    """Return the trunk's output for (N, 1, 28, 28) ink in [0, 1], stored as float16 to halve memory."""
    parts = [trunk(normalise(unit_ink[i:i + EVAL_CHUNK])).to(torch.float16) for i in range(0, len(unit_ink), EVAL_CHUNK)]
    return torch.cat(parts) if parts else torch.empty(0)


@torch.inference_mode()
def top_logits(top: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """Return (N, 10) logits of ``top`` on stored trunk features, in channels_last (about 2× faster here)."""
    four_d = features.dim() == 4
    model = copy.deepcopy(top).to(memory_format=torch.channels_last) if four_d else top
    parts = []
    for i in range(0, len(features), EVAL_CHUNK):
        chunk = features[i:i + EVAL_CHUNK].float()
        parts.append(model(chunk.contiguous(memory_format=torch.channels_last) if four_d else chunk))
    return torch.cat(parts) if parts else torch.empty(0, 10)


def trunk_key(trunk: nn.Module) -> str:
    """Return an id of the trunk: its depth and weights (the features depend on both)."""
    return f"{len(trunk)}:{weights_digest(trunk.state_dict()) if len(trunk) else '-'}"


class FeatureCache:
    """The reference digits seen through a frozen trunk, and the gate figures of models measured so far.

    A fine-tune never changes the trunk, so every model fine-tuned from the same shipped model shares
    these features: they are computed on the first fine-tune of a run and reused by the next ones.
    Thread-safe; the app keeps one for its lifetime.
    """

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self._lock = threading.Lock()
        self._key: str | None = None
        self._replay: torch.Tensor | None = None
        self._gates: dict[str, torch.Tensor] = {}
        self._replay_logits: dict[str, torch.Tensor] = {}  # base version → its logits on the replay digits
        self._gate_accuracy: dict[tuple[str, str], float] = {}  # (version, gate digest) → accuracy

    @property
    def has_features(self) -> bool:
        """True once the trunk features have been computed (later fine-tunes of the lineage reuse them)."""
        return self._key is not None

    def features(self, trunk: nn.Module) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Return (replay features, gate name → features) for this trunk."""
        key = trunk_key(trunk)
        with self._lock:
            if key != self._key:
                self._replay = self._gates = None
                self._replay_logits.clear()
                replay = trunk_features(trunk, to_unit_ink(self.reference.replay.images))
                gates = {g.name: trunk_features(trunk, to_unit_ink(g.digits.images)) for g in self.reference.gates}
                self._key, self._replay, self._gates = key, replay, gates
            return self._replay, self._gates

    def replay_logits(self, version: str, top: nn.Module, replay: torch.Tensor) -> torch.Tensor:
        """Return the base model's logits on the replay digits (the distillation targets), once per version."""
        with self._lock:
            if version not in self._replay_logits:
                self._replay_logits = {version: top_logits(top, replay)}  # only the latest base is kept
            return self._replay_logits[version]

    def gate_accuracy(self, checkpoint: Checkpoint, top: nn.Module, gate: GateSet, features: torch.Tensor) -> float:
        """Return the checkpoint's accuracy on a gate: stored in it, measured earlier, or measured now."""
        stored = self._stored_accuracy(checkpoint, GATES_NOTE, gate)
        if stored is not None:
            return stored
        key = (checkpoint.info.version, gate.digest)
        if key not in self._gate_accuracy:
            self._gate_accuracy[key] = accuracy(top, features, gate.digits.labels)
        return self._gate_accuracy[key]

    def lineage_accuracy(self, checkpoint: Checkpoint, gate: GateSet) -> float | None:
        """Return the gate accuracy recorded in a fine-tune for the model its line started from, else None."""
        return self._stored_accuracy(checkpoint, LINEAGE_NOTE, gate)

    def _stored_accuracy(self, checkpoint: Checkpoint, note: str, gate: GateSet) -> float | None:
        """Return a gate accuracy stored under ``note`` for these very gate digits and trunk, else None."""
        stored = checkpoint.info.notes.get(note, {})
        figure = stored.get(gate.name) if isinstance(stored, dict) else None
        if (isinstance(figure, dict) and figure.get("digest") == gate.digest and figure.get(TRUNK_NOTE) == self._key
                and isinstance(figure.get("accuracy"), float) and 0.0 <= figure["accuracy"] <= 1.0):
            return figure["accuracy"]
        return None

    def gate_notes(self, accuracies: dict[str, float]) -> dict:
        """Return the ``notes["gates"]`` entry recording gate accuracies, so later fine-tunes reuse them."""
        return {gate.name: {"accuracy": accuracies[gate.name], "size": len(gate), "digest": gate.digest,
                            TRUNK_NOTE: self._key} for gate in self.reference.gates}


TRUNK_NOTE = "trunk"  # gate figures are measured through a trunk; a figure stored for another is not reused
GATES_NOTE = "gates"  # the model's own gate accuracies
LINEAGE_NOTE = "lineage_gates"  # those of the model its line of fine-tunes started from


def accuracy(top: nn.Module, features: torch.Tensor, labels: torch.Tensor) -> float:
    return float((top_logits(top, features).argmax(1) == labels).float().mean())


def stamp_gate_figures(checkpoint: Checkpoint, reference: Reference) -> Checkpoint:
    """Return the checkpoint with its gate accuracies stored in its info (same weights, same version).

    Run on the shipped model (``python -m model.personal stamp assets/default.pt``) so that a user's
    first fine-tune need not measure the base model on the gates.
    """
    cache = FeatureCache(reference)
    trunk, top = split_network(checkpoint.build(), checkpoint.config.arch)
    _, gate_features = cache.features(trunk)
    accuracies = {g.name: accuracy(top, gate_features[g.name], g.digits.labels) for g in reference.gates}
    info = replace(checkpoint.info, notes={**checkpoint.info.notes, GATES_NOTE: cache.gate_notes(accuracies),
                                           "gate_mnist_accuracy": accuracies["MNIST"],
                                           "gate_size": len(reference.gates[0])})
    return Checkpoint(checkpoint.config, checkpoint.state_dict, info)
