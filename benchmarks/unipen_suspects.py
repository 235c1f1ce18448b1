"""Find UNIPEN segments that are probably mislabelled or badly cut, by cross-fitting.

    python -m benchmarks.unipen_suspects --mnist-dir ../shared/data --unipen-dir ../shared/data/unipen \\
        --output model/unipen_suspects.txt --grid runs/suspects.png

The training and validation writers (never the test writers) are split in two folds by writer.
For each fold a model is trained on MNIST plus the *other* fold's pen digits, then reads this
fold's digits: a digit it gives another label with probability ≥ ``--confidence`` is a suspect —
a model that never saw the digit, nor its writer, is sure the label is wrong. The list is written
as ``file:line`` (the segment's place in UNIPEN), with the label and the models' answer as a
comment, and a PNG grid shows every suspect as the network sees it.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np
import torch

from model.constants import default_mnist_dir, default_unipen_dir
from model.training.data import balanced_subset, load_mnist, normalise, to_unit_ink
from model.training.evaluate import write_captioned_grid
from model.training.pen_data import PenTrainingSet, StrokeAugment, pen_digit_set, render_variants
from model.training.train import TrainConfig, train_model
from model.training.unipen import pen_digits


def fold_of(writer: str) -> int:
    """Return 0 or 1: the writer's fold, by a hash independent of the train/val/test split's."""
    return hashlib.sha256(("fold:" + writer).encode()).digest()[0] % 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mnist-dir", type=Path, default=default_mnist_dir())
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir())
    parser.add_argument("--epochs", type=int, default=4, help="epochs of each fold's model")
    parser.add_argument("--mnist-per-class", type=int, default=2000, help="MNIST digits per class in each fold")
    parser.add_argument("--confidence", type=float, default=0.9, help="probability of another label that flags")
    parser.add_argument("--output", type=Path, default=Path("model/unipen_suspects.txt"))
    parser.add_argument("--grid", type=Path, default=Path("runs/unipen_suspects.png"))
    args = parser.parse_args(argv)
    started = time.perf_counter()

    digits = pen_digits(args.unipen_dir, "train") + pen_digits(args.unipen_dir, "val")
    mnist = balanced_subset(load_mnist(args.mnist_dir, train=True), args.mnist_per_class, seed=3)
    config = TrainConfig(epochs=args.epochs, seed=3, pen_repeat=1, pen_variants=3)
    suspects = []  # (digit, predicted, probability, picture)
    for fold in (0, 1):
        teach = [d for d in digits if fold_of(d.writer) != fold]
        read = [d for d in digits if fold_of(d.writer) == fold]
        variants = render_variants(teach, config.pen_variants, StrokeAugment(), seed=fold)
        labels = torch.tensor([d.label for d in teach])
        network, _, _ = train_model(config, mnist, mnist.subset(slice(0, 0)), torch.device("cpu"),
                                    pen_training=PenTrainingSet(variants, labels))
        read_set = pen_digit_set(read)
        with torch.inference_mode():
            probabilities = torch.softmax(network(normalise(to_unit_ink(read_set.images))), 1)
        best, predicted = probabilities.max(1)
        for n, digit in enumerate(read):
            if int(predicted[n]) != digit.label and float(best[n]) >= args.confidence:
                suspects.append((digit, int(predicted[n]), float(best[n]), read_set.images[n].numpy()))
        accuracy = float((predicted == read_set.labels).float().mean())
        print(f"fold {fold}: taught on {len(teach):,} pen digits, read {len(read):,}: {accuracy:.2%} right, "
              f"{sum(1 for s in suspects if fold_of(s[0].writer) == fold)} suspects", flush=True)

    suspects.sort(key=lambda s: (s[0].file, s[0].line))
    lines = [f"# UNIPEN 1a segments that two cross-fitted models read confidently (p >= {args.confidence}) "
             f"as another digit;", "# made by: python -m benchmarks.unipen_suspects (see the README). "
             "Training and validation writers only.", "# file:line  # label -> read (probability)"]
    lines += [f"{d.file}:{d.line}  # {d.label} -> {p} ({q:.2f}) writer {d.writer}" for d, p, q, _ in suspects]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_grid(suspects, args.grid)
    print(f"{len(suspects)} suspects of {len(digits):,} digits ({len(suspects) / len(digits):.2%}); "
          f"wrote {args.output} and {args.grid} in {time.perf_counter() - started:.0f} s")
    return 0


def write_grid(suspects: list, path: Path, columns: int = 16, tile: int = 56) -> None:
    """Write every suspect as a tile captioned 'label->read'."""
    write_captioned_grid([image for *_, image in suspects],
                         [f"{digit.label}->{predicted}" for digit, predicted, *_ in suspects], path, columns, tile)


if __name__ == "__main__":
    raise SystemExit(main())
