"""What each part of the stroke augmentation buys, measured on UNIPEN's validation writers.

    python -m benchmarks.pen_ablation --init runs/mnist-only.pt --mnist-dir ../shared/data \\
        --unipen-dir ../shared/data/unipen [--epochs 2] [--no-write]

Each configuration — all parts, none, and all but one part — continues the same MNIST-only model
for the same short schedule on MNIST plus the training writers' pen digits, with the same seed; only
the stroke augmentation differs. It is then read on the *validation* writers (the test writers are
never used to choose a setting) and on MNIST's validation digits. The short schedule ranks the
parts; the shipped model is trained longer with the configuration kept.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from benchmarks.common import default_data_dir, markdown_table, publish
from model.storage.checkpoint import load_checkpoint
from model.constants import default_unipen_dir
from model.training.data import load_mnist, split_validation
from model.training.evaluate import evaluate
from model.training.pen_data import PenTrainingSet, pen_digit_set, render_variants
from model.training.train import STROKE_AUGMENT_PARTS, TrainConfig, stroke_augment_config, train_model
from model.training.unipen import load_suspects, pen_digits

KEEP_SUSPECTS = "all, suspects kept"  # the noisy-label choice: train on the listed suspects too
CONFIGURATIONS = ["all", "none", *[f"no-{part.replace('_', '-')}" for part in STROKE_AUGMENT_PARTS], KEEP_SUSPECTS]


def add_short_schedule_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of a short training schedule that ranks configurations (this and style_ablation)."""
    parser.add_argument("--init", type=Path, required=True, help="the MNIST-only model every run starts from")
    parser.add_argument("--mnist-dir", type=Path, default=default_data_dir())
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir())
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--mnist-per-epoch", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=4, help="rendered variants per pen digit")


def short_schedule(args: argparse.Namespace) -> TrainConfig:
    """Return the short schedule's training settings from its options (this, style_ablation and writer_cv)."""
    return TrainConfig(epochs=args.epochs, max_lr=1e-3, seed=1, pen_repeat=1, pen_variants=args.variants,
                       mnist_per_epoch=args.mnist_per_epoch)


def train_short(config: TrainConfig, teach: list, augment, mnist_training, initial) -> torch.nn.Module:
    """Return ``initial`` continued for the short schedule on MNIST and ``teach``'s pen digits, rendered with the
    stroke augmentation ``augment`` (None: plain, one rendering each)."""
    variants = render_variants(teach, config.pen_variants if augment else 1, augment, seed=config.seed)
    labels = torch.tensor([d.label for d in teach])
    network, _, _ = train_model(config, mnist_training, mnist_training.subset(slice(0, 0)), torch.device("cpu"),
                                log=lambda line: None, pen_training=PenTrainingSet(variants, labels), initial=initial)
    return network


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_short_schedule_options(parser)
    parser.add_argument("--configurations", nargs="+", default=CONFIGURATIONS, choices=CONFIGURATIONS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    initial = load_checkpoint(args.init)
    suspects = load_suspects()
    everyone = pen_digits(args.unipen_dir, "train")
    teach = [d for d in everyone if (d.file, d.line) not in suspects]
    check = pen_digit_set(pen_digits(args.unipen_dir, "val"))
    mnist_training, mnist_validation = split_validation(load_mnist(args.mnist_dir, train=True), 5000, seed=1)
    base = short_schedule(args)
    rows = []
    before = evaluate(initial.build(), check)
    rows.append(["MNIST-only model (start)", f"{before.accuracy:.2%}", f"{len(before.misclassified)}",
                 f"{evaluate(initial.build(), mnist_validation).accuracy:.2%}", "—"])
    for name in args.configurations:
        started = time.perf_counter()
        config = replace(base, stroke_augment="all" if name == KEEP_SUSPECTS else name)
        network = train_short(config, everyone if name == KEEP_SUSPECTS else teach,
                              stroke_augment_config(config.stroke_augment), mnist_training, initial)
        pen = evaluate(network, check)
        mnist = evaluate(network, mnist_validation)
        rows.append([name, f"{pen.accuracy:.2%}", f"{len(pen.misclassified)}", f"{mnist.accuracy:.2%}",
                     f"{time.perf_counter() - started:.0f} s"])
        print(rows[-1], flush=True)
    body = ["The noisy-label choice is measured the same way: the last row trains on the "
            f"{len(everyone) - len(teach)} listed suspects too.", "",
            f"Each run continues `{args.init}` for {args.epochs} epochs ({args.mnist_per_epoch:,} MNIST digits "
            f"and the {len(teach):,} pen digits of the training writers per epoch, {args.variants} rendered "
            f"variants each, seed 1); read on the {len(check):,} digits of the {len({d.writer for d in pen_digits(args.unipen_dir, 'val')})} "
            "validation writers and MNIST's 5,000 validation digits.", "",
            *markdown_table(["stroke augmentation", "pen validation writers", "wrong", "MNIST validation",
                             "time (render + train)"], rows)]
    publish("pen-ablation", "Stroke augmentation: what each part buys", body, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
