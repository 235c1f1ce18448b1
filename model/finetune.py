"""Fine-tune a copy of a model on the user's samples without forgetting MNIST.

Method (each part guards against a known failure of naive fine-tuning on a handful of digits):

* the user's samples, re-rendered from their strokes and augmented, are mixed in every step with a
  class-balanced replay of MNIST training digits, so the model keeps seeing every class;
* on the replayed digits the new model is also taught to give the base model's answers
  (distillation, as in "Learning without Forgetting"), which keeps what it knew about MNIST;
* an L2-SP penalty pulls the weights towards the base model's, so a few samples cannot drag it far;
* batch-norm statistics stay frozen (the network runs in eval mode), so a batch dominated by one
  user's style cannot shift what every other digit is normalised with;
* part of the user's samples is held out; the new model is accepted only if it does better on them
  and loses at most ``max_mnist_drop`` on a fixed, class-balanced subset of MNIST's test set.

:func:`finetune` is a generator: it yields :class:`Progress` after every step (the caller may stop
at any yield, which is how cancellation works) and returns a :class:`FinetuneResult`.
"""

from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass, field
from typing import Generator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from model.checkpoint import Checkpoint, ModelInfo, make_checkpoint
from model.constants import MIN_SAMPLES
from model.data import AugmentConfig, DigitSet, augment, balanced_subset, normalise, to_unit_ink
from model.evaluate import accuracy_of



@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of one fine-tune; defaults sized to finish within seconds on a 2-core CPU."""

    steps: int = 60  # optimisation steps
    user_batch: int = 16  # user digits per step (drawn with replacement, augmented)
    replay_per_class: int = 8  # MNIST training digits of each class per step
    learning_rate: float = 5e-4  # Adam
    anchor_strength: float = 0.05  # weight of the L2-SP penalty sum((w - w_base)^2)
    distill_strength: float = 1.0  # weight of matching the base model's answers on the replayed digits
    distill_temperature: float = 2.0  # softens both answers so the runner-up classes count too
    holdout_fraction: float = 0.25  # share of each digit's samples kept for validation
    gate_per_class: int = 500  # MNIST test digits per class in the gate subset (5,000 in all)
    max_mnist_drop: float = 0.003  # the most MNIST accuracy a new model may lose (0.3 points)
    seed: int = 0
    user_augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(
        rotation_degrees=8.0, slant=0.15, scale_range=(0.9, 1.05), aspect_jitter=0.08,
        shift_pixels=1.5, thickening=0.6, thinning=0.3))


@dataclass(frozen=True)
class Progress:
    """One step of a fine-tune, as a progress bar shows it."""

    phase: str  # "training" or "checking"
    step: int
    steps: int
    loss: float


@dataclass(frozen=True)
class Figures:
    """How one model does on the held-out user samples and on the MNIST gate subset."""

    user_accuracy: float
    user_loss: float
    mnist_accuracy: float


@dataclass(frozen=True)
class FinetuneResult:
    """The new checkpoint and whether it earned being put in charge."""

    checkpoint: Checkpoint
    accepted: bool
    reason: str  # one sentence for the user
    before: Figures
    after: Figures
    train_count: int
    holdout_count: int


class NotEnoughSamplesError(ValueError):
    """Raised when there are too few samples to fine-tune and judge the result."""


def gate_subset(mnist_test: DigitSet, config: FinetuneConfig = FinetuneConfig()) -> DigitSet:
    """Return the fixed MNIST test subset the acceptance gate measures on."""
    return balanced_subset(mnist_test, config.gate_per_class, seed=2024)


def split_holdout(labels: Sequence[int], fraction: float,
                  keys: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (training indices, held-out indices), holding out about ``fraction`` of every digit.

    Which samples are held out follows a hash of each sample's key (its uid), so a sample keeps its
    role as more samples are added: a model fine-tuned earlier is never judged on samples it was
    trained on. A digit with a single sample stays in training, and every digit keeps at least one
    training sample. Raises NotEnoughSamplesError if no digit has two samples.
    """
    labels = np.asarray(labels)
    keys = [str(i) for i in range(len(labels))] if keys is None else list(keys)
    score = np.array([int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 2 ** 32 for key in keys])
    held: list[int] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            continue
        members = members[np.argsort(score[members])]
        count = int((score[members] < fraction).sum())
        held.extend(members[:min(max(count, 1), len(members) - 1)])
    if not held:
        raise NotEnoughSamplesError("Fine-tuning needs at least two samples of some digit, so that one "
                                    "can be held out to check the new model.")
    held_out = np.sort(np.asarray(held, dtype=np.int64))
    return np.setdiff1d(np.arange(len(labels)), held_out), held_out


@torch.inference_mode()
def _user_figures(network: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    logits = network(normalise(images))
    return float((logits.argmax(1) == labels).float().mean()), float(F.cross_entropy(logits, labels))


def finetune(base: Checkpoint, images: np.ndarray, labels: Sequence[int], replay: DigitSet, gate: DigitSet,
             config: FinetuneConfig = FinetuneConfig(), base_mnist_accuracy: float | None = None,
             sample_keys: Sequence[str] | None = None) -> Generator[Progress, None, FinetuneResult]:
    """Yield progress while fine-tuning a copy of ``base``; return the judged result.

    ``images`` are the user's (N, 28, 28) pictures (ink 1.0), ``labels`` their true digits,
    ``replay`` MNIST training digits, ``gate`` the fixed MNIST test subset (see gate_subset).
    ``base_mnist_accuracy`` may pass the base model's gate accuracy if already known;
    ``sample_keys`` (the samples' uids) keep the held-out choice stable between fine-tunes.
    """
    if len(labels) < MIN_SAMPLES:
        raise NotEnoughSamplesError(f"Fine-tuning needs at least {MIN_SAMPLES} samples; there are {len(labels)}.")
    generator = torch.Generator().manual_seed(config.seed)
    train_index, holdout_index = split_holdout(labels, config.holdout_fraction, sample_keys)
    user_ink = torch.as_tensor(np.asarray(images, dtype=np.float32)).unsqueeze(1)  # (N, 1, 28, 28)
    user_labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    train_ink, train_labels = user_ink[train_index], user_labels[train_index]
    holdout_ink, holdout_labels = user_ink[holdout_index], user_labels[holdout_index]
    replay_by_class = [torch.nonzero(replay.labels == digit).flatten() for digit in range(10)]

    base_network = base.build()
    network = copy.deepcopy(base_network).eval()  # eval: batch-norm statistics stay frozen
    anchors = [p.detach().clone() for p in network.parameters()]
    optimizer = _Adam(network.parameters())

    for step in range(1, config.steps + 1):
        pick = torch.randint(len(train_labels), (config.user_batch,), generator=generator)
        replay_pick = torch.cat([members[torch.randint(len(members), (config.replay_per_class,), generator=generator)]
                                 for members in replay_by_class])
        batch_ink = torch.cat([augment(train_ink[pick], config.user_augment, generator),
                               to_unit_ink(replay.images[replay_pick])])  # (B, 1, 28, 28)
        batch_labels = torch.cat([train_labels[pick], replay.labels[replay_pick]])
        batch_input = normalise(batch_ink)
        logits = network(batch_input)
        loss = F.cross_entropy(logits, batch_labels)
        anchor = sum(((p - a) ** 2).sum() for p, a in zip(network.parameters(), anchors))
        penalty = config.anchor_strength * anchor
        if config.distill_strength:
            with torch.no_grad():
                base_logits = base_network(batch_input[config.user_batch:])
            t = config.distill_temperature
            penalty = penalty + config.distill_strength * t * t * F.kl_div(
                F.log_softmax(logits[config.user_batch:] / t, 1), F.log_softmax(base_logits / t, 1),
                log_target=True, reduction="batchmean")
        (loss + penalty).backward()
        # Cosine decay to zero: the last steps only polish, so stopping points matter less.
        optimizer.step(config.learning_rate * 0.5 * (1 + math.cos(math.pi * (step - 1) / config.steps)))
        yield Progress("training", step, config.steps, loss.item())

    network.eval()
    yield Progress("checking", config.steps, config.steps, float("nan"))
    if base_mnist_accuracy is None:  # a fine-tuned base carries its own gate figure
        base_mnist_accuracy = base.info.notes.get("gate_mnist_accuracy")
    if base_mnist_accuracy is None or base.info.notes.get("gate_size") not in (None, len(gate)):
        base_mnist_accuracy = accuracy_of(base_network, gate)
    before = Figures(*_user_figures(base_network, holdout_ink, holdout_labels), base_mnist_accuracy)
    after = Figures(*_user_figures(network, holdout_ink, holdout_labels), accuracy_of(network, gate))
    accepted, reason = judge(before, after, config.max_mnist_drop)

    info = ModelInfo(parent_version=base.info.version, mnist_test_accuracy=base.info.mnist_test_accuracy,
                     mnist_test_size=base.info.mnist_test_size,
                     training_command=f"fine-tune of {base.info.version} on {len(labels)} samples",
                     seed=config.seed, sample_count=len(labels),
                     notes={"gate_mnist_accuracy": after.mnist_accuracy, "gate_size": len(gate),
                            "base_gate_mnist_accuracy": before.mnist_accuracy,
                            "holdout_accuracy": after.user_accuracy, "base_holdout_accuracy": before.user_accuracy,
                            "holdout_count": len(holdout_index)})
    # The full-test-set figure of a fine-tune is estimated from the gate's change, not re-measured.
    if base.info.mnist_test_accuracy is not None:
        info.mnist_test_accuracy = base.info.mnist_test_accuracy + (after.mnist_accuracy - before.mnist_accuracy)
        info.notes["mnist_test_accuracy_is_estimate"] = True
    return FinetuneResult(make_checkpoint(network, base.config, info), accepted, reason, before, after,
                          len(train_index), len(holdout_index))


class _Adam:
    """Adam (Kingma & Ba), written out in a few in-place tensor operations.

    torch.optim's first ``step()`` imports torch._dynamo in this torch version: about 900 modules,
    1.1 s, 158 MB of memory, and a pause of over 100 ms for every other thread (the app's window
    included) while it holds the interpreter lock. A fine-tune inside a desktop app cannot pay that.
    """

    def __init__(self, parameters, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.parameters = [p for p in parameters if p.requires_grad]
        self.first = [torch.zeros_like(p) for p in self.parameters]
        self.second = [torch.zeros_like(p) for p in self.parameters]
        self.betas, self.eps, self.steps = betas, eps, 0

    @torch.no_grad()
    def step(self, learning_rate: float) -> None:
        """Update every parameter from its gradient, then clear the gradients."""
        self.steps += 1
        beta1, beta2 = self.betas
        correction1, correction2 = 1 - beta1 ** self.steps, 1 - beta2 ** self.steps
        for parameter, first, second in zip(self.parameters, self.first, self.second):
            if parameter.grad is None:
                continue
            first.lerp_(parameter.grad, 1 - beta1)
            second.mul_(beta2).addcmul_(parameter.grad, parameter.grad, value=1 - beta2)
            denominator = (second / correction2).sqrt_().add_(self.eps)
            parameter.addcdiv_(first, denominator, value=-learning_rate / correction1)
            parameter.grad = None


def judge(before: Figures, after: Figures, max_mnist_drop: float) -> tuple[bool, str]:
    """Return (accepted, reason): better on held-out samples and MNIST within the allowed drop."""
    drop = before.mnist_accuracy - after.mnist_accuracy
    if drop > max_mnist_drop:
        return False, (f"MNIST accuracy would fall by {drop:.2%} (allowed: {max_mnist_drop:.2%}); "
                       f"the new model was kept aside.")
    # Only a higher held-out accuracy counts: lower loss at the same accuracy would be reported as
    # "better (10 % → 10 %)", and a user cannot see what changed.
    better = after.user_accuracy > before.user_accuracy
    if not better:
        return False, (f"The new model is not better on your held-out samples ({after.user_accuracy:.0%} "
                       f"against {before.user_accuracy:.0%}); it was kept aside.")
    return True, (f"Better on your held-out samples ({accuracy_change(before.user_accuracy, after.user_accuracy)}) "
                  f"and MNIST accuracy within {max_mnist_drop:.1%} ({before.mnist_accuracy:.2%} → "
                  f"{after.mnist_accuracy:.2%}).")


def accuracy_change(before: float, after: float) -> str:
    """Return "a % → b %" with as many decimals as it takes for a change to show (up to two)."""
    for decimals in (0, 1, 2):
        text = f"{before:.{decimals}%} → {after:.{decimals}%}"
        if before == after or f"{before:.{decimals}%}" != f"{after:.{decimals}%}":
            return text
    return text
