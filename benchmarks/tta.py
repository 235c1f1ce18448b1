"""Test-time augmentation: does reading a picture and a few moved copies of it, and averaging the answers, read
people's handwriting better than reading the picture once?

    python -m benchmarks.tta --mnist-dir ../shared/data --unipen-dir ../shared/data/unipen [--weights PATH]
        [--validation-only] [--no-write]

A recogniser can average its class probabilities over the canvas's picture and copies of it shifted by one
pixel (paper coming in) or turned by a few degrees (:data:`VARIANTS`: ``once``, the app's reading; ``shifts``: the
four one-pixel shifts too; ``rotations``: turned by −8° and +8° too; ``both``). It costs a forward pass a copy. Read here on the
*validation* figures first — MNIST's 5,000 held-out training digits (seed 1 split), UNIPEN's validation writers
and their flagged 1s, real (benchmarks/styles.py's rule) and redrawn (model.training.styles, each writer's fixed
style) — to choose a way; with the test sets (not ``--validation-only``) the same on MNIST's test digits and the
test writers, with the digits each way fixes and breaks against reading once and McNemar's exact p. The test
columns judge what the validation chose; they choose nothing.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.base_candidates import VALIDATION_SEED, mcnemar_p
from benchmarks.common import default_data_dir, default_unipen_dir, markdown_table, publish, repo_relative

SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # (x, y) pixels
ANGLES = (-8.0, 8.0)  # degrees
VARIANTS = ("once", "shifts", "rotations", "both")


def turned(unit_ink: torch.Tensor, degrees: float) -> torch.Tensor:
    """Return the (N, 1, 28, 28) pictures turned by ``degrees`` about their centre, counter-clockwise as seen
    (bilinear; ink 1, paper 0: what comes in from outside is paper)."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=unit_ink.dtype).expand(len(unit_ink), 2, 3)
    grid = F.affine_grid(theta, list(unit_ink.shape), align_corners=False)
    return F.grid_sample(unit_ink, grid, align_corners=False)


def shifted(unit_ink: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Return the (N, 1, 28, 28) pictures moved ``dx`` pixels right and ``dy`` down, paper coming in (the
    canvas's digit is placed by its centre of mass and may touch the edge: no ink wraps round)."""
    height, width = unit_ink.shape[-2:]
    out = torch.zeros_like(unit_ink)
    out[..., max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
        unit_ink[..., max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
    return out


def copy_names(variant: str) -> list[tuple]:
    """Return the copies a way of reading averages over, each as ("picture",), ("shift", dx, dy) or ("turn",
    degrees): the picture itself first."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown way of reading {variant!r} (one of {', '.join(VARIANTS)})")
    return ([("picture",)] + ([("shift", dx, dy) for dx, dy in SHIFTS] if variant in ("shifts", "both") else [])
            + ([("turn", degrees) for degrees in ANGLES] if variant in ("rotations", "both") else []))


def _copy(unit_ink: torch.Tensor, name: tuple) -> torch.Tensor:
    """Return the copy of the pictures that copy_names calls ``name``."""
    if name[0] == "shift":
        return shifted(unit_ink, name[1], name[2])
    return turned(unit_ink, name[1]) if name[0] == "turn" else unit_ink


def copies(unit_ink: torch.Tensor, variant: str) -> list[torch.Tensor]:
    """Return the pictures a way of reading averages over, in copy_names' order: the pictures themselves first."""
    return [_copy(unit_ink, name) for name in copy_names(variant)]


@torch.inference_mode()
def read(network, images: torch.Tensor, variants: Sequence[str], batch_size: int = 2000) -> dict[str, np.ndarray]:
    """Return, for each way of reading, the label each uint8 picture (N, 28, 28) is read as: the class
    probabilities averaged over its copies (each copy read once, whichever ways share it)."""
    from model.training.data import normalise, to_unit_ink

    network = network.eval()
    labels: dict[str, list] = {variant: [] for variant in variants}
    for start in range(0, len(images), batch_size):
        unit_ink = to_unit_ink(images[start:start + batch_size])
        probabilities = {name: torch.softmax(network(normalise(_copy(unit_ink, name))).float(), dim=1)
                         for name in {name for variant in variants for name in copy_names(variant)}}
        for variant in variants:
            names = copy_names(variant)
            labels[variant].append((sum(probabilities[name] for name in names) / len(names)).argmax(1))
    return {variant: torch.cat(parts).numpy() if parts else np.empty(0, dtype=np.int64)
            for variant, parts in labels.items()}


def _cell(right: np.ndarray, against: np.ndarray | None) -> str:
    cell = f"{int((~right).sum())}"
    if against is not None:
        fixed, broken = int((~against & right).sum()), int((against & ~right).sum())
        cell += f" (+{fixed} −{broken}, p = {mcnemar_p(fixed, broken):.2f})"
    return cell


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mnist-dir", type=Path, default=default_data_dir())
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir())
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped model)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS),
                        help="the ways of reading compared (the first is the reference)")
    parser.add_argument("--validation-only", action="store_true",
                        help="the validation figures alone (the test sets are not read); prints without storing")
    parser.add_argument("--note", action="append", default=[], help="a line to add under the table (repeatable)")
    parser.add_argument("--no-write", action="store_true", help="print the section without storing it")
    args = parser.parse_args(argv)
    from benchmarks.styles import STYLES, _render
    from model.assets import default_weights_path
    from model.storage.checkpoint import load_checkpoint
    from model.training.data import load_mnist, split_validation
    from model.training.pen_data import pen_digit_set
    from model.training.styles import styled_copies
    from model.training.unipen import pen_digits

    torch.set_num_threads(2)
    weights = args.weights or default_weights_path()
    network = load_checkpoint(weights).build()
    flagged = next(style for style in STYLES if style.name == "flagged-1")
    _, mnist_val = split_validation(load_mnist(args.mnist_dir, train=True), 5000, VALIDATION_SEED)
    sets = {"validation": (mnist_val, pen_digits(args.unipen_dir, "val"))}
    if not args.validation_only:  # the test sets are not even read for a way still being chosen
        sets["test"] = (load_mnist(args.mnist_dir, train=False), pen_digits(args.unipen_dir, "test"))

    columns, header = {}, ["way of reading"]
    for split, (mnist, writers) in sets.items():
        pen = pen_digit_set(writers)
        real = [d.strokes for d, mine in zip(writers, flagged.among(writers)) if mine]
        redrawn = styled_copies(((d.writer, d.strokes, d.label) for d in writers), 1, False)
        groups = {"MNIST": (mnist.images, mnist.labels.numpy()), "pen": (pen.images, pen.labels.numpy()),
                  "flagged 1s": (_render(real), np.ones(len(real), dtype=np.int64)),
                  "redrawn flagged 1s": (_render(redrawn), np.ones(len(redrawn), dtype=np.int64))}
        for group, (images, labels) in groups.items():
            header.append(f"{split}: {group} wrong of {len(labels):,}")
            columns[(split, group)] = {variant: answers == labels
                                       for variant, answers in read(network, images, args.variants).items()}
    reference = args.variants[0]
    rows = [[f"`{variant}`" + (" (reference)" if variant == reference else ""),
             *[_cell(right[variant], None if variant == reference else right[reference])
               for right in columns.values()]] for variant in args.variants]
    lines = [f"Model: `{repo_relative(weights)}`. Ways of reading (`benchmarks.tta.VARIANTS`): `once` the picture alone (the app's "
             f"reading); `shifts` with its four one-pixel shifts; `rotations` with it turned by "
             f"{' and '.join(f'{a:+.0f}°' for a in ANGLES)}; `both` all of those — the class probabilities averaged. "
             "Validation: MNIST's 5,000 held-out training digits (seed 1 split) and UNIPEN's validation writers; "
             + ("the test sets were not read. " if args.validation_only else
                "test: MNIST's 10,000 test digits and UNIPEN's test writers. ")
             + "Flagged 1s: benchmarks/styles.py's rule on the real strokes; redrawn: every 1 of those writers drawn "
             "with a flag in the writer's fixed style (model.training.styles, the flag row of benchmarks/styles.py). "
             f"Cells: digits read wrong; against `{reference}`: +fixed −broken and McNemar's exact p.",
             "", *markdown_table(header, rows)]
    if args.note:
        lines += ["", *[f"- {note}" for note in args.note]]
    publish("test-time-augmentation", "Test-time augmentation: reading moved copies of the picture too (issue 19)",
            lines, write=not (args.no_write or args.validation_only))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
