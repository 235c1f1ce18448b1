"""Candidate base models side by side: chosen on validation, then judged once on the test writers.

    python -m benchmarks.base_candidates --baseline assets/default.pt \\
        runs/pen-b-s06.pt runs/pen-a-s06.pt:0.3+runs/pen-b-s06.pt:0.7 ... [--no-write]

Each candidate is a checkpoint, or a soup of checkpoints (``A:0.3+B:0.7``, averaged as model.soup
does). Columns, in the order a retraining is decided: the *validation* figures — MNIST's 5,000 held-out
training digits (split with seed 1, as model.train does for ``--seed 1``: for a model trained with
another seed some of them were training digits, so that cell is marked), UNIPEN's validation writers,
and each continental style group among them (benchmarks/styles.py's rules) — then the *test* figures,
MNIST's 10,000 test digits and UNIPEN's 57 test writers, with the digits the candidate fixes and breaks
against ``--baseline`` and McNemar's exact two-sided p for those (a small p: the change is not chance).
The test columns judge a candidate chosen on the others; they choose nothing. ``--validation-only``
leaves them out (the test sets are not read) and adds the pen validation digits fixed and broken against
the baseline, for candidates still being chosen (its own section). Cells a candidate cannot
be validated on are marked: † MNIST validation digits a run of another split seed trained on (the
split seed is that of the run's last stage; a soup saved by model.soup keeps the one its runs share), ‡ pen
validation writers that taught it (``--pen-writers train+val``, from the checkpoint's notes or, for a soup,
its recipe's commands).
"""

from __future__ import annotations

import argparse
import re
from math import comb
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import default_data_dir, default_unipen_dir, markdown_table, publish
from benchmarks.styles import STYLES

VALIDATION_SEED = 1  # the seed of the MNIST validation split read here
# model.train's --pen-writers train+val as a command may spell it (argparse takes "=" and any unique prefix)
TAUGHT_BY_VALIDATION = re.compile(r"--pen-w[a-z-]*(=|\s+)['\"]?train\+val")


def mcnemar_p(fixed: int, broken: int) -> float:
    """Return McNemar's exact two-sided p-value for ``fixed`` against ``broken`` discordant digits."""
    n, k = fixed + broken, min(fixed, broken)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0


def load(recipe: str):
    """Return (network, the seeds of its MNIST validation splits, whether the validation writers taught it, its
    version id or '' for a soup) of a checkpoint path or a soup 'A:w+B:w'."""
    from model.storage.checkpoint import Checkpoint, load_checkpoint
    from model.training.soup import ingredient, soup

    parts = [(load_checkpoint(path), weight) for path, weight in
             (ingredient(part) if ":" in part else (part, 1.0) for part in recipe.split("+"))]
    seeds = {checkpoint.info.notes.get("validation_split_seed", checkpoint.info.seed) for checkpoint, _ in parts}
    first = parts[0][0]
    network = first.build() if len(parts) == 1 else Checkpoint(first.config, soup(parts), first.info).build()
    taught = any(checkpoint.info.notes.get("pen_writers") == "train+val"
                 or bool(TAUGHT_BY_VALIDATION.search(checkpoint.info.training_command or ""))  # a soup: commands
                 for checkpoint, _ in parts)
    return network, seeds, taught, first.info.version if len(parts) == 1 else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("candidates", nargs="+", help="checkpoints or soups (A:0.3+B:0.7)")
    parser.add_argument("--baseline", default="assets/default.pt",
                        help="the model the candidates are judged against: the one shipped when they were")
    parser.add_argument("--mnist-dir", type=Path, default=default_data_dir())
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir())
    parser.add_argument("--note", action="append", default=[], help="a line to add under the table (repeatable)")
    parser.add_argument("--validation-only", action="store_true",
                        help="the validation columns alone, for candidates not yet put to the test writers "
                             "(written to the section base-candidates-validation)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    from model.training.data import load_mnist, split_validation
    from model.training.evaluate import predict_labels
    from model.training.pen_data import pen_digit_set
    from model.training.unipen import pen_digits

    torch.set_num_threads(2)
    _, mnist_val = split_validation(load_mnist(args.mnist_dir, train=True), 5000, VALIDATION_SEED)
    val_writers = pen_digits(args.unipen_dir, "val")
    pen_val = pen_digit_set(val_writers)
    if not args.validation_only:  # the test sets are not even read for candidates still being chosen
        mnist_test = load_mnist(args.mnist_dir, train=False)
        test_writers = pen_digits(args.unipen_dir, "test")
        pen_test = pen_digit_set(test_writers)
    groups = {style.name: style.among(val_writers) for style in STYLES if style.name != "flagged-footed-1"}

    def right(network, digits) -> np.ndarray:
        return (predict_labels(network, digits) == digits.labels).numpy()

    def against(before: np.ndarray, after: np.ndarray) -> str:
        fixed, broken = int((~before & after).sum()), int((before & ~after).sum())
        return f"+{fixed} −{broken}, p = {mcnemar_p(fixed, broken):.2f}"

    tests = [] if args.validation_only else [("MNIST", mnist_test), ("pen", pen_test)]
    base: dict = {}  # the baseline's readings: it is read first
    baseline_version = ""
    rows = []
    for recipe in [args.baseline, *args.candidates]:
        network, seeds, taught, version = load(recipe)
        if recipe == args.baseline:
            baseline_version = version
        mnist_ok = right(network, mnist_val)
        read = {"pen val": right(network, pen_val), **{name: right(network, digits) for name, digits in tests}}
        base = base or read
        pen_ok = read["pen val"]
        own_split = seeds <= {VALIDATION_SEED, None}  # None: a soup saved before soups kept their runs' split seed
        cells = [f"`{recipe}`" + (" (baseline)" if recipe == args.baseline else ""),
                 f"{int((~mnist_ok).sum())}" + ("" if own_split else " †"),
                 f"{int((~pen_ok).sum())}" + (" ‡" if taught else "")]
        cells += [f"{int((~pen_ok[mask]).sum())} of {int(mask.sum())}" + (" ‡" if taught else "")
                  for mask in groups.values()]
        if args.validation_only:
            cells.append("—" if recipe == args.baseline else against(base["pen val"], pen_ok) + (" ‡" if taught else ""))
        for name, _ in tests:
            ok = read[name]
            cells.append(f"{ok.mean():.2%} ({int((~ok).sum())}"
                         + ("" if recipe == args.baseline else f"; {against(base[name], ok)}") + ")")
        rows.append(cells)
        print(" | ".join(cells), flush=True)
    header = ["model", "MNIST val: wrong of 5,000", f"pen val: wrong of {len(pen_val):,}",
              *[f"val {style.title}" for style in STYLES if style.name in groups],
              *(["pen val against the baseline (+fixed −broken, p)"] if args.validation_only else
                ["MNIST test (wrong; +fixed −broken against the baseline, p)",
                 "pen test (wrong; +fixed −broken against the baseline, p)"])]
    tested = ("the test sets were not read." if args.validation_only else
              f"test: MNIST's 10,000 test digits and the {len({d.writer for d in test_writers})} test writers "
              f"({len(pen_test):,}).")
    lines = [f"Baseline: `{args.baseline}`" + (f" (version {baseline_version})" if baseline_version else "")
             + ", the model in charge when the candidates were judged. "
             f"Validation: MNIST's 5,000 held-out training digits (seed {VALIDATION_SEED} split) and UNIPEN's "
             f"{len({d.writer for d in val_writers})} validation writers ({len(pen_val):,} digits); {tested} "
             "Val cells: digits read wrong. † trained with another seed: part of this MNIST validation split was "
             "its training data. ‡ the validation writers were among its teachers (`--pen-writers train+val`): "
             "those cells are not a validation. A soup saved by model.soup keeps its runs' split seed where they share "
             "one; those here saved before it did are of runs trained with seed 1 unless "
             "their name says otherwise.", "",
             *markdown_table(header, rows), "", *[f"- {note}" for note in args.note]]
    if args.validation_only:
        publish("base-candidates-validation", "Base-model candidates not yet put to the test writers (issue 19)",
                lines, write=not args.no_write)
    else:
        publish("base-candidates", "Base-model candidates: validation, then test (issue 19)", lines,
                write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
