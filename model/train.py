"""Train a digit classifier from scratch on MNIST.

    python -m model.train --data-dir ../shared/data --output assets/default.pt

Every dependency of the loop is passed in, as in pytorch/examples' ``mnist/main.py``, so the same
functions serve the CLI, the tests and the benchmarks.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from model.checkpoint import ModelInfo, make_checkpoint, save_checkpoint
from model.data import (MNIST_DIR_ENV, AugmentConfig, DigitSet, MnistUnavailableError, augment, default_mnist_dir,
                        load_mnist, normalise, split_validation, to_unit_ink)
from model.evaluate import accuracy_of
from model.network import ARCHITECTURES, NetConfig, build_network, count_parameters


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run; the CLI's defaults come from here."""

    arch: str = "compact"  # network architecture, one of ARCHITECTURES
    epochs: int = 16  # passes over the training part
    batch_size: int = 128  # digits per optimisation step
    max_lr: float = 4e-3  # peak learning rate of the one-cycle schedule (AdamW)
    weight_decay: float = 5e-4  # AdamW's decoupled weight decay
    label_smoothing: float = 0.05  # softens targets; helps calibration of the live probabilities
    validation_size: int = 5000  # training digits held out to validate each epoch
    seed: int = 1  # seeds weights, shuffling, augmentation and the validation split
    augment: bool = True  # imitate screen drawing: stroke width, slant, rotation, size, position
    limit: int = 0  # use only this many training digits (0: all); for quick checks


ProgressCallback = Callable[[int, int, float, float], None]  # (step, steps, loss, accuracy)


def select_device(name: str) -> torch.device:
    """Return the torch device for 'auto', 'cpu', 'cuda' or 'mps'."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


def train_epoch(network: nn.Module, device: torch.device, digits: DigitSet, optimizer: torch.optim.Optimizer,
                scheduler: torch.optim.lr_scheduler.LRScheduler, config: TrainConfig,
                generator: torch.Generator, progress: ProgressCallback | None = None) -> tuple[float, float]:
    """Run one epoch and return (mean loss, training accuracy) over it."""
    network.train()
    order = torch.randperm(len(digits), generator=generator)
    steps = (len(digits) + config.batch_size - 1) // config.batch_size
    augment_config = AugmentConfig()
    loss_sum, correct, seen = 0.0, 0, 0
    for step in range(steps):
        index = order[step * config.batch_size:(step + 1) * config.batch_size]
        unit_ink = to_unit_ink(digits.images[index]).to(device)  # (B, 1, 28, 28)
        labels = digits.labels[index].to(device)
        if config.augment:
            unit_ink = augment(unit_ink, augment_config, generator)
        logits = network(normalise(unit_ink))
        loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * len(index)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(index)
        if progress is not None:
            progress(step + 1, steps, loss_sum / seen, correct / seen)
    return loss_sum / seen, correct / seen


def train_model(config: TrainConfig, training: DigitSet, validation: DigitSet, device: torch.device,
                log: Callable[[str], None] = lambda line: print(line, flush=True),
                progress_for_epoch: Callable[[int], ProgressCallback | None] = lambda epoch: None,
                ) -> tuple[nn.Module, NetConfig, list[dict]]:
    """Return (trained network, its config, per-epoch history) for the given data and settings."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    net_config = NetConfig(arch=config.arch)
    network = build_network(net_config).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.max_lr, weight_decay=config.weight_decay)
    steps_per_epoch = (len(training) + config.batch_size - 1) // config.batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.max_lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch)
    log(f"{config.arch}: {count_parameters(network):,} parameters; {len(training):,} training and "
        f"{len(validation):,} validation digits on {device}")
    history = []
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        loss, train_accuracy = train_epoch(network, device, training, optimizer, scheduler, config,
                                           generator, progress_for_epoch(epoch))
        validation_accuracy = accuracy_of(network, validation, device) if len(validation) else float("nan")
        elapsed = time.perf_counter() - started
        history.append({"epoch": epoch, "loss": loss, "train_accuracy": train_accuracy,
                        "validation_accuracy": validation_accuracy, "seconds": elapsed})
        log(f"epoch {epoch}/{config.epochs}: loss {loss:.4f}, train {train_accuracy:.2%}, "
            f"validation {validation_accuracy:.2%}, {elapsed:.0f} s")
    return network.eval(), net_config, history


def progress_bar(epoch: int, epochs: int) -> ProgressCallback:
    """Return a callback that draws a one-line progress bar with loss and accuracy on stderr."""
    def draw(step: int, steps: int, loss: float, accuracy: float) -> None:
        if step % 20 and step != steps:
            return
        filled = int(30 * step / steps)
        sys.stderr.write(f"\r  epoch {epoch}/{epochs} [{'#' * filled}{'.' * (30 - filled)}] "
                         f"{step}/{steps} loss {loss:.4f} acc {accuracy:.2%}")
        if step == steps:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return draw


def build_parser() -> argparse.ArgumentParser:
    """Return the CLI parser; every default is shown in --help."""
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m model.train", description="Train a digit classifier from scratch on MNIST.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--arch", choices=ARCHITECTURES, default=defaults.arch, help="network architecture")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="passes over the training digits")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="digits per step")
    parser.add_argument("--lr", type=float, default=defaults.max_lr, help="peak learning rate (one-cycle)")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay, help="AdamW weight decay")
    parser.add_argument("--validation-size", type=int, default=defaults.validation_size,
                        help="training digits held out for validation each epoch")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (weights, order, augmentation)")
    parser.add_argument("--no-augment", action="store_true", help="train on the digits as they are")
    parser.add_argument("--limit", type=int, default=defaults.limit,
                        help="use only this many training digits (0 = all)")
    parser.add_argument("--dry-run", action="store_true",
                        help="one epoch on 512 digits, nothing saved: checks that everything runs")
    parser.add_argument("--data-dir", "--mnist-dir", dest="data_dir", type=Path, default=None,
                        help=f"folder holding MNIST/raw (default: ${MNIST_DIR_ENV} or {default_mnist_dir()})")
    parser.add_argument("--download", action="store_true", help="download MNIST if it is missing")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                        help="where to train; auto picks cuda, then mps, then cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--output", type=Path, default=Path("model.pt"), help="checkpoint to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    config = TrainConfig(arch=args.arch, epochs=1 if args.dry_run else args.epochs, batch_size=args.batch_size,
                         max_lr=args.lr, weight_decay=args.weight_decay,
                         validation_size=min(args.validation_size, 512) if args.dry_run else args.validation_size,
                         seed=args.seed, augment=not args.no_augment, limit=512 if args.dry_run else args.limit)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    data_dir = args.data_dir or default_mnist_dir()
    try:
        train_digits = load_mnist(data_dir, train=True, download=args.download)
        test_digits = load_mnist(data_dir, train=False, download=args.download)
    except MnistUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    training, validation = split_validation(train_digits, config.validation_size, config.seed)
    if config.limit:
        training = training.subset(slice(0, config.limit))
    started = time.perf_counter()
    network, net_config, history = train_model(config, training, validation, device,
                                               progress_for_epoch=lambda e: progress_bar(e, config.epochs))
    wall_seconds = time.perf_counter() - started
    if args.dry_run:
        test_digits = test_digits.subset(slice(0, 512))
    test_accuracy = accuracy_of(network, test_digits, device)
    print(f"MNIST test accuracy: {test_accuracy:.2%} on {len(test_digits):,} digits; "
          f"trained in {wall_seconds:.0f} s")
    if args.dry_run:
        print("dry run: nothing saved")
        return 0
    info = ModelInfo(
        mnist_test_accuracy=test_accuracy, mnist_test_size=len(test_digits),
        training_command="python -m model.train " + shlex.join(argv), seed=config.seed,
        notes={"train_seconds": round(wall_seconds, 1), "device": str(device),
               "threads": torch.get_num_threads(), "history": history},
    )
    path = save_checkpoint(make_checkpoint(network.cpu(), net_config, info), args.output)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
