"""Train a digit classifier from scratch on MNIST and, where given, UNIPEN's pen-drawn digits.

    python -m model.train --mnist-dir ../shared/data --unipen-dir ../shared/data/unipen --output model.pt

With a UNIPEN folder, every epoch mixes MNIST's training digits with the pen digits of UNIPEN's
*training writers* (model.training.unipen.writer_split), rendered through the canvas path with stroke-level
augmentation (model.training.pen_data). Validation writers are reported each epoch; test writers only at
the end, by model.training.evaluate.

Every dependency of the loop is passed in, as in pytorch/examples' ``mnist/main.py``, so the same
functions serve the CLI, the tests and the benchmarks.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from model.storage.checkpoint import Checkpoint, CheckpointError, ModelInfo, load_checkpoint, make_checkpoint, save_checkpoint
from model.constants import UNIPEN_DIR_ENV, default_unipen_dir
from model.training.data import (MNIST_DIR_ENV, AugmentConfig, DigitSet, MnistUnavailableError, augment, concat_digit_sets,
                        default_mnist_dir, load_mnist, normalise, split_validation, to_unit_ink)
from model.training.evaluate import DefaultsOnceFormatter, accuracy_of, add_mnist_dir_option
from model.files.limits import MAX_CHANNELS
from model.recognition.network import ARCHITECTURES, NetConfig, build_network, count_parameters
from model.training.pen_data import PenTrainingSet, StrokeAugment, pen_digit_set, render_variants
from model.training.styles import FLAG_SPREADS, STYLED_DIGITS
from model.training.unipen import UnipenFormatError, UnipenUnavailableError, load_suspects, pen_digits

STROKE_AUGMENT_PARTS = ("affine", "jitter", "resample", "pen_lift")
DEFAULT_DISTILL_WEIGHT = 0.5  # --distill-weight once --distill-from names a teacher


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run; the CLI's defaults come from here (but --distill-weight's: 0.5 once
    --distill-from names a teacher)."""

    arch: str = "compact"  # network architecture, one of ARCHITECTURES
    channels: tuple[int, int, int] = (0, 0, 0)  # compact: stem, middle and top channels (0s: NetConfig's defaults)
    epochs: int = 16  # passes over the training part
    batch_size: int = 128  # digits per optimisation step
    max_lr: float = 4e-3  # peak learning rate of the one-cycle schedule (AdamW)
    weight_decay: float = 5e-4  # AdamW's decoupled weight decay
    label_smoothing: float = 0.05  # softens targets; helps calibration of the live probabilities
    validation_size: int = 5000  # training digits held out to validate each epoch
    seed: int = 1  # seeds weights, shuffling, augmentation and (unless split_seed) the validation split
    split_seed: int = 0  # seeds MNIST's validation split when not 0: runs of several seeds can share one split
    augment: bool = True  # imitate screen drawing: stroke width, slant, rotation, size, position
    limit: int = 0  # use only this many training digits (0: all); for quick checks
    pen_repeat: int = 2  # how many times each pen training digit appears per epoch (one variant each)
    pen_variants: int = 8  # rendered variants per pen digit (variant 0 unaugmented)
    stroke_augment: str = "all"  # stroke augmentation: all, none, or all without one part (no-affine…)
    mnist_per_epoch: int = 0  # MNIST training digits drawn afresh each epoch (0: all of them every epoch)
    # Share of pen 1s, 4s, 7s and 9s redrawn in a random continental style (model.training.styles) before
    # the stroke augmentation; 0 (the shipped model's recipe) leaves every rendering as it was.
    style_prob: float = 0.0
    style_digits: tuple[int, ...] = STYLED_DIGITS  # the digits whose style transform --style-prob applies
    style_flags: str = "narrow"  # how those 1s' flags are drawn (model.training.styles.FLAG_SPREADS)
    # Whose pen digits teach: "train" (the validation writers are read after each epoch), or "train+val" for a
    # final model once every setting is chosen (then nothing is left to validate on pen digits).
    pen_writers: str = "train"
    # With a teacher (--distill-from): the share of the loss that pulls the network's answers towards the
    # teacher's on the same pictures, the rest from the labels (Hinton et al. 2015, at temperature 1). Meant
    # to keep a model continued from the teacher reading as it did where the new data teaches nothing new;
    # measured once (0.5, the CLI's default with a teacher): it also held back what the new data taught
    # (BENCHMARKS.md, "Base-model candidates not yet put to the test writers"). A history's loss is then the mix.
    distill_weight: float = 0.0

    @property
    def validation_split_seed(self) -> int:
        """The seed of MNIST's validation split: ``split_seed``, else ``seed``."""
        return self.split_seed or self.seed


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
                generator: torch.Generator, progress: ProgressCallback | None = None,
                teacher: nn.Module | None = None) -> tuple[float, float]:
    """Run one epoch and return (mean loss, training accuracy) over it; with a ``teacher`` (in eval mode),
    ``config.distill_weight`` of the loss is the distance from its answers on the same pictures."""
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
        pictures = normalise(unit_ink)
        logits = network(pictures)
        loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
        if teacher is not None and config.distill_weight > 0:
            with torch.no_grad():
                taught = F.log_softmax(teacher(pictures), dim=1)
            distance = F.kl_div(F.log_softmax(logits, dim=1), taught, log_target=True, reduction="batchmean")
            loss = (1 - config.distill_weight) * loss + config.distill_weight * distance
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
                pen_training: PenTrainingSet | None = None, pen_validation: DigitSet | None = None,
                initial: Checkpoint | None = None, teacher: Checkpoint | None = None
                ) -> tuple[nn.Module, NetConfig, list[dict]]:
    """Return (trained network, its config, per-epoch history) for the given data and settings.

    With ``pen_training``, each epoch adds ``config.pen_repeat`` pictures of every pen digit (each
    from a randomly chosen rendered variant) to the MNIST digits; ``pen_validation`` is reported
    beside MNIST's validation part. With ``initial``, training continues from that checkpoint's
    weights instead of random ones (its architecture is used). With ``teacher``, ``config.distill_weight`` of
    the loss pulls the network towards that checkpoint's answers (see TrainConfig.distill_weight).
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    widths = {} if not any(config.channels) else dict(zip(("stem_channels", "mid_channels", "top_channels"),
                                                          config.channels))
    net_config = initial.config if initial is not None else NetConfig(arch=config.arch, **widths)
    network = (initial.build().train() if initial is not None else build_network(net_config)).to(device)
    teaching = teacher.build().eval().to(device) if teacher is not None else None
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.max_lr, weight_decay=config.weight_decay)
    pen_count = config.pen_repeat * len(pen_training.labels) if pen_training is not None else 0
    mnist_count = min(config.mnist_per_epoch or len(training), len(training))
    steps_per_epoch = (mnist_count + pen_count + config.batch_size - 1) // config.batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.max_lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch)
    log(f"{net_config.arch}: {count_parameters(network):,} parameters; {mnist_count:,} MNIST + {pen_count:,} pen "
        f"training digits per epoch, {len(validation):,} + {len(pen_validation or ())} validation digits on {device}")
    history = []
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        epoch_digits = training
        if mnist_count < len(training):
            epoch_digits = training.subset(torch.randperm(len(training), generator=generator)[:mnist_count])
        if pen_training is not None:
            epoch_digits = concat_digit_sets([epoch_digits] + [pen_training.epoch(generator)
                                                           for _ in range(config.pen_repeat)])
        loss, train_accuracy = train_epoch(network, device, epoch_digits, optimizer, scheduler, config,
                                           generator, progress_for_epoch(epoch), teaching)
        # None, not NaN, where nothing was measured: a checkpoint's notes hold finite numbers only
        validation_accuracy = accuracy_of(network, validation, device) if len(validation) else None
        pen_accuracy = accuracy_of(network, pen_validation, device) if pen_validation else None
        elapsed = time.perf_counter() - started
        history.append({"epoch": epoch, "loss": loss, "train_accuracy": train_accuracy,
                        "validation_accuracy": validation_accuracy, "pen_validation_accuracy": pen_accuracy,
                        "seconds": elapsed})
        log(f"epoch {epoch}/{config.epochs}: loss {loss:.4f}, train {train_accuracy:.2%}"
            + (f", validation MNIST {validation_accuracy:.2%}" if validation_accuracy is not None else "")
            + (f", pen {pen_accuracy:.2%}" if pen_accuracy is not None else "") + f", {elapsed:.0f} s")
    return network.eval(), net_config, history


def stroke_augment_config(name: str, style_prob: float = 0.0, style_digits: tuple[int, ...] = STYLED_DIGITS,
                          style_flags: str = "narrow") -> StrokeAugment | None:
    """Return the stroke augmentation named on the command line ('all', 'none', 'no-jitter', …), redrawing
    ``style_prob`` of the ``style_digits`` in a continental style first ('none' redraws nothing either), the 1s'
    flags drawn as ``style_flags`` says (model.training.styles.FLAG_SPREADS)."""
    if name == "none":
        return None
    if name == "all":
        augment = StrokeAugment()
    elif name.startswith("no-") and name[3:].replace("-", "_") in STROKE_AUGMENT_PARTS:
        augment = StrokeAugment().without(name[3:].replace("-", "_"))
    else:
        raise ValueError(f"unknown stroke augmentation {name!r}")
    return replace(augment, style_probability=style_prob, style_digits=style_digits, style_flags=style_flags)


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


def build_parser(prog: str = "python -m model.train") -> argparse.ArgumentParser:
    """Return the CLI parser (``prog``: the command's name in its help); every default is shown in --help."""
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog=prog, description="Train a digit classifier from scratch on MNIST (and UNIPEN's pen digits).",
        formatter_class=DefaultsOnceFormatter)
    parser.add_argument("--arch", choices=ARCHITECTURES, default=defaults.arch, help="network architecture")
    widths = NetConfig()
    parser.add_argument("--channels", type=_channel_list, default=defaults.channels, metavar="STEM,MID,TOP",
                        help="compact, trained from scratch: channels of its three stages (0,0,0 = "
                             f"{widths.stem_channels},{widths.mid_channels},{widths.top_channels})")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="passes over the training digits")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="digits per step")
    parser.add_argument("--lr", type=float, default=defaults.max_lr, help="peak learning rate (one-cycle)")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay, help="AdamW weight decay")
    parser.add_argument("--validation-size", type=int, default=defaults.validation_size,
                        help="training digits held out for validation each epoch")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (weights, order, augmentation)")
    parser.add_argument("--split-seed", type=int, default=defaults.split_seed,
                        help="seed of MNIST's validation split (0 = --seed): keep the split of the run "
                             "continued with --init, so its held-out digits stay unseen")
    parser.add_argument("--no-augment", action="store_true", help="train on the digits as they are")
    parser.add_argument("--limit", type=int, default=defaults.limit,
                        help="use only this many training digits (0 = all)")
    parser.add_argument("--dry-run", action="store_true",
                        help="one epoch on 512 digits, nothing saved: checks that everything runs")
    add_mnist_dir_option(parser)
    parser.add_argument("--download", action="store_true", help="download MNIST if it is missing")
    parser.add_argument("--unipen-dir", type=Path, default=None,
                        help=f"folder holding UNIPEN's train_r01_v07, to train on its training writers' pen "
                             f"digits too (default: ${UNIPEN_DIR_ENV} if set, else MNIST only)")
    parser.add_argument("--style-digits", type=_digit_list, default=defaults.style_digits,
                        help="the digits --style-prob redraws, comma-separated (1: flag and foot, 4: open top, "
                             "7: cross bar, 9: small loop), to measure each transform alone")
    parser.add_argument("--style-prob", type=float, default=defaults.style_prob,
                        help="share of pen 1s, 4s, 7s and 9s redrawn in a random continental style (flagged 1, "
                             "crossed 7, open 4, quick-loop 9) before the stroke augmentation")
    parser.add_argument("--style-flags", choices=FLAG_SPREADS, default=defaults.style_flags,
                        help="how the redrawn 1s' flags are drawn: 'narrow' (long and flat, 0.45-0.65 of the height "
                             "to the left), 'writers' (the spread of the UNIPEN training writers' real flags) or "
                             "'mixed' (half the writers each way); with --style-prob")
    parser.add_argument("--pen-repeat", type=int, default=defaults.pen_repeat,
                        help="pictures of each pen training digit per epoch")
    parser.add_argument("--pen-variants", type=int, default=defaults.pen_variants,
                        help="augmented renderings made of each pen digit before training")
    parser.add_argument("--stroke-augment", default=defaults.stroke_augment,
                        choices=["all", "none"] + [f"no-{part.replace('_', '-')}" for part in STROKE_AUGMENT_PARTS],
                        help="stroke-level augmentation of pen digits (all, none, or all but one part)")
    parser.add_argument("--mnist-per-epoch", type=int, default=defaults.mnist_per_epoch,
                        help="MNIST training digits drawn afresh each epoch (0 = all every epoch)")
    parser.add_argument("--init", type=Path, default=None,
                        help="continue from this checkpoint's weights instead of random ones (its architecture "
                             "replaces --arch)")
    parser.add_argument("--distill-from", type=Path, default=None, metavar="CHECKPOINT",
                        help="a teacher: part of the loss pulls the network towards its answers on the same pictures "
                             "(with --init of the same checkpoint: meant to keep what the new data does not teach)")
    parser.add_argument("--distill-weight", type=_share, default=None,
                        help=f"with --distill-from: the teacher's share of the loss (0 to 1; the labels have the rest; "
                             f"default {DEFAULT_DISTILL_WEIGHT})")
    parser.add_argument("--pen-writers", choices=("train", "train+val"), default=defaults.pen_writers,
                        help="whose pen digits teach: the training writers (the validation writers are read after "
                             "each epoch), or both, for a final model once every setting is chosen on validation")
    parser.add_argument("--no-test", action="store_true",
                        help="read neither MNIST's test set nor UNIPEN's test writers at the end: a candidate still "
                             "being chosen on validation digits is put to them once, later "
                             "(benchmarks/base_candidates.py)")
    parser.add_argument("--no-pen-test", action="store_true",
                        help="do not read UNIPEN's test writers at the end (MNIST's test set is read)")
    parser.add_argument("--keep-suspects", action="store_true",
                        help="train on the pen segments listed as probably mislabelled too "
                             "(model/unipen_suspects.txt; see the README)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                        help="where to train; auto picks cuda, then mps, then cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--output", type=Path, default=Path("model.pt"), help="checkpoint to write")
    return parser


def _channel_list(text: str) -> tuple[int, int, int]:
    """Parse "32,64,128" into (32, 64, 128): the compact network's channels per stage."""
    try:
        channels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three channel counts such as 32,64,128, got {text!r}") from None
    if len(channels) != 3 or any(not 0 <= c <= MAX_CHANNELS for c in channels) or (any(channels) and not all(channels)):
        raise argparse.ArgumentTypeError(f"expected three channel counts from 1 to {MAX_CHANNELS} (or 0,0,0), "
                                         f"got {text!r}")
    return channels  # type: ignore[return-value]


def _share(text: str) -> float:
    """Parse a share from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _digit_list(text: str) -> tuple[int, ...]:
    """Parse "1,7" into (1, 7): digits that have a style transform."""
    try:
        digits = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected digits separated by commas, got {text!r}") from None
    if not digits or any(d not in STYLED_DIGITS for d in digits):
        raise argparse.ArgumentTypeError(f"style transforms exist for 1, 4, 7 and 9 only, not {text!r}")
    return digits


def load_pen_training(unipen_dir: Path, config: TrainConfig, keep_suspects: bool, dry_run: bool,
                      log: Callable[[str], None]) -> tuple[PenTrainingSet, DigitSet | None]:
    """Return the teaching writers' rendered variants and the validation writers' digits (None when the
    validation writers teach too: ``config.pen_writers == "train+val"``)."""
    train_writers = pen_digits(unipen_dir, "train")
    validation_writers = pen_digits(unipen_dir, "val")
    if config.pen_writers == "train+val":
        train_writers, validation_writers = train_writers + validation_writers, []
    if not keep_suspects:
        suspects = load_suspects()
        kept = [digit for digit in train_writers if (digit.file, digit.line) not in suspects]
        log(f"pen training digits: {len(kept):,} of {len(train_writers):,} "
            f"({len(train_writers) - len(kept)} listed as probably mislabelled left out)")
        train_writers = kept
    if dry_run:
        train_writers, validation_writers = train_writers[:256], validation_writers[:256]
    started = time.perf_counter()
    augment = stroke_augment_config(config.stroke_augment, config.style_prob, config.style_digits, config.style_flags)
    variants = render_variants(train_writers, config.pen_variants if augment else 1, augment,  # plain: 1 suffices
                               seed=config.seed, log=log)
    log(f"rendered {variants.shape[0]} variants of {variants.shape[1]:,} pen digits in "
        f"{time.perf_counter() - started:.0f} s")
    labels = torch.tensor([digit.label for digit in train_writers], dtype=torch.long)
    return PenTrainingSet(variants, labels), pen_digit_set(validation_writers) if validation_writers else None


def main(argv: list[str] | None = None, prog: str = "python -m model.train") -> int:
    """Run the CLI (named ``prog`` in its help) and return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.distill_from is None and args.distill_weight is not None:
        parser.error("--distill-weight needs --distill-from (the teacher whose answers it weighs)")
    if args.distill_from is not None and args.distill_weight is None:
        args.distill_weight = DEFAULT_DISTILL_WEIGHT
    if args.distill_from is not None and args.distill_weight == 0:
        parser.error("--distill-weight 0 gives the teacher no part of the loss: leave out --distill-from")
    if any(args.channels) and (args.init is not None or args.arch != "compact"):
        parser.error("--channels sets the width of a compact network trained from scratch; a network continued "
                     "with --init keeps its own, and --arch seed has none")
    config = TrainConfig(arch=args.arch, channels=args.channels, epochs=1 if args.dry_run else args.epochs,
                         batch_size=args.batch_size,
                         max_lr=args.lr, weight_decay=args.weight_decay,
                         validation_size=min(args.validation_size, 512) if args.dry_run else args.validation_size,
                         seed=args.seed, split_seed=args.split_seed, augment=not args.no_augment,
                         limit=512 if args.dry_run else args.limit,
                         pen_repeat=args.pen_repeat, pen_variants=2 if args.dry_run else args.pen_variants,
                         stroke_augment=args.stroke_augment, mnist_per_epoch=args.mnist_per_epoch,
                         style_prob=args.style_prob, style_digits=args.style_digits, style_flags=args.style_flags,
                         pen_writers=args.pen_writers,
                         distill_weight=args.distill_weight or 0.0)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    data_dir = args.data_dir or default_mnist_dir()
    try:
        train_digits = load_mnist(data_dir, train=True, download=args.download)
        test_digits = None if args.no_test else load_mnist(data_dir, train=False, download=args.download)
    except MnistUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    try:
        initial = load_checkpoint(args.init) if args.init is not None else None
        teacher = load_checkpoint(args.distill_from) if args.distill_from is not None else None
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    unipen_dir = args.unipen_dir or (default_unipen_dir() if os.environ.get(UNIPEN_DIR_ENV) else None)
    started = time.perf_counter()
    pen_training = pen_validation = None
    if unipen_dir is not None:
        try:
            pen_training, pen_validation = load_pen_training(unipen_dir, config, args.keep_suspects, args.dry_run,
                                                             log=lambda line: print(line, flush=True))
        except (UnipenUnavailableError, UnipenFormatError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    training, validation = split_validation(train_digits, config.validation_size, config.validation_split_seed)
    if config.limit:
        training = training.subset(slice(0, config.limit))
    network, net_config, history = train_model(config, training, validation, device,
                                               progress_for_epoch=lambda e: progress_bar(e, config.epochs),
                                               pen_training=pen_training, pen_validation=pen_validation,
                                               initial=initial, teacher=teacher)
    wall_seconds = time.perf_counter() - started
    if args.dry_run and test_digits is not None:
        test_digits = test_digits.subset(slice(0, 512))
    test_accuracy = None if test_digits is None else accuracy_of(network, test_digits, device)
    print(("MNIST test set: not read (--no-test)" if test_accuracy is None else
           f"MNIST test accuracy: {test_accuracy:.2%} on {len(test_digits):,} digits")
          + f"; trained in {wall_seconds:.0f} s (pen rendering included)")
    notes = {"mnist_test": "not read"} if test_accuracy is None else {}
    if unipen_dir is not None and (args.no_pen_test or args.no_test):
        print(f"UNIPEN test writers: not read ({'--no-test' if args.no_test else '--no-pen-test'})")
        notes["pen_test"] = "not read"
    elif unipen_dir is not None:
        pen_test = pen_digit_set(pen_digits(unipen_dir, "test")[:512 if args.dry_run else None])
        if len(pen_test):
            pen_accuracy = accuracy_of(network, pen_test, device)
            print(f"UNIPEN test writers: {pen_accuracy:.2%} on {len(pen_test):,} digits")
            notes.update(pen_test_accuracy=pen_accuracy, pen_test_size=len(pen_test))
    if args.dry_run:
        print("dry run: nothing saved")
        return 0
    command = "python -m model.train " + shlex.join(argv)
    if teacher is not None:
        notes.update(distilled_from=teacher.info.version, distill_weight=config.distill_weight)
    if initial is not None:
        notes["continued_from"] = initial.info.version
        if initial.info.training_command:
            command = f"{initial.info.training_command} && {command}"  # the whole recipe, from scratch
    info = ModelInfo(
        mnist_test_accuracy=test_accuracy, mnist_test_size=0 if test_digits is None else len(test_digits),
        training_command=command, seed=config.seed,
        notes={"train_seconds": round(wall_seconds, 1), "device": str(device),
               "threads": torch.get_num_threads(), "history": history,
               "validation_split_seed": config.validation_split_seed, "pen_writers": config.pen_writers,
               **notes},
    )
    path = save_checkpoint(make_checkpoint(network.cpu(), net_config, info), args.output)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
