"""The test writers' floor: the digits (nearly) every candidate base model reads wrong, and what they are.

    python -m benchmarks.pen_floor assets/default.pt runs/pen-b-s06.pt runs/final-a.pt:0.3+runs/final-b.pt:0.7 ...
        [--spare 1] [--grid docs/pen-test-floor.png] [--no-write]

Each candidate (a checkpoint or a soup, as benchmarks/base_candidates.py takes them) reads UNIPEN's test
writers; a digit that all but ``--spare`` of them read wrong is part of the *floor*: no recipe tried
moves it, so a target that allows as few errors as the floor holds can only be reached by reading every
other digit right or by moving the floor itself. Every digit any candidate reads wrong is listed with how
many read it wrong, what they answered, and the class two readers gave it by eye from its picture and
label (benchmarks/unipen_test_audit.txt; the second reader saw nothing else):

* A: a legible digit of its label;
* B: ambiguous: a careful reader could read it as another digit too (named where one comes to mind);
* C: not a legible digit of its label (a fragment, a single line, a dot, several digits under one
  label, a box, or plainly another digit).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from benchmarks.common import REPO_ROOT, default_unipen_dir, markdown_table, publish, repo_relative
from model.files.validate import InvalidInputError, read_limited

AUDIT = Path(__file__).with_name("unipen_test_audit.txt")
GRID = REPO_ROOT / "docs" / "pen-test-floor.png"
CLASSES = {"A": "a legible digit of its label", "B": "ambiguous", "C": "not a legible digit of its label"}
TARGET_ACCURACY = 0.991  # issue 19's target on the test writers
MAX_AUDIT_BYTES = 1 << 20


class AuditFormatError(ValueError):
    """The audit file is malformed or does not fit the data; the message names the file (and line)."""


@dataclass(frozen=True)
class Judgement:
    """Two readers' classes for one UNIPEN digit (``file:line`` as model.training.unipen.PenDigit names it)."""

    label: int
    first: str  # the lead engineer's class
    second: str  # the second reader's class (a helper who saw only the picture and its label)
    reads_as: tuple[int, ...]  # the digits either reader named for B or C
    audit_line: int  # where in the audit file

    @property
    def agreed(self) -> str | None:
        """The class both readers gave, or None where they differ."""
        return self.first if self.first == self.second else None


def read_audit(path: Path = AUDIT) -> dict[tuple[str, int], Judgement]:
    """Return the audit's judgements by (UNIPEN file, line); a malformed line raises AuditFormatError."""
    try:
        text = read_limited(path, MAX_AUDIT_BYTES, "Audit file").decode("utf-8")
    except InvalidInputError as error:  # missing, not a regular file (a pipe would wait for a writer), too large
        raise AuditFormatError(str(error)) from None
    except UnicodeDecodeError as error:
        raise AuditFormatError(f"{path}: not UTF-8 text (byte {error.start})") from None
    judgements: dict[tuple[str, int], Judgement] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            if not 4 <= len(parts) <= 5:
                raise ValueError
            where, label, first, second = parts[:4]
            reads_as = tuple(int(d) for d in parts[4].split(",") if d != "-") if len(parts) > 4 else ()
            file, _, at = where.rpartition(":")
            key, label_digit = (file, int(at)), int(label)
        except ValueError:
            raise AuditFormatError(f"{path}:{number}: expected 'FILE:LINE LABEL CLASS CLASS [DIGITS]', "
                                   f"got {raw.strip()!r}") from None
        if (not file or key[1] < 1 or not 0 <= label_digit <= 9 or {first, second} - set(CLASSES)
                or any(not 0 <= d <= 9 for d in reads_as)):
            raise AuditFormatError(f"{path}:{number}: a line from 1, a label 0-9, classes from {'/'.join(CLASSES)} "
                                   f"and digits 0-9 expected, got {raw.strip()!r}")
        if key in judgements:
            raise AuditFormatError(f"{path}:{number}: {where} is judged twice")
        judgements[key] = Judgement(label_digit, first, second, reads_as, number)
    return judgements


def check_audit_fits(audit: dict[tuple[str, int], Judgement], digits, path: Path) -> None:
    """Raise AuditFormatError, naming the audit's line, for an entry that is no test-writer digit or whose label
    is not UNIPEN's."""
    labels = {(digit.file, digit.line): digit.label for digit in digits}
    for (file, line), judgement in sorted(audit.items(), key=lambda item: item[1].audit_line):
        if (file, line) not in labels:
            raise AuditFormatError(f"{path}:{judgement.audit_line}: {file}:{line} is not a test writer's digit")
        if labels[file, line] != judgement.label:
            raise AuditFormatError(f"{path}:{judgement.audit_line}: {file}:{line} is labelled "
                                   f"{labels[file, line]} in UNIPEN, not {judgement.label}")


def floor_mask(wrong: np.ndarray, spare: int) -> np.ndarray:
    """Return which digits all but ``spare`` candidates read wrong; ``wrong`` is (candidates, digits) bool."""
    if wrong.ndim != 2 or not 0 <= spare < max(1, wrong.shape[0]):
        raise ValueError(f"need a (candidates, digits) array and 0 <= spare < candidates, got {wrong.shape}, {spare}")
    return wrong.sum(0) >= wrong.shape[0] - spare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("candidates", nargs="+", help="checkpoints or soups (A:0.3+B:0.7)")
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir())
    parser.add_argument("--spare", type=int, default=1, help="a floor digit may be read right by this many candidates")
    parser.add_argument("--audit", type=Path, default=AUDIT, help="the two readers' classes")
    parser.add_argument("--grid", type=Path, default=None,
                        help=f"draw the floor's digits here (default: {repo_relative(GRID)} unless --no-write)")
    parser.add_argument("--note", action="append", default=[], help="a line to add under the tables (repeatable)")
    parser.add_argument("--no-write", action="store_true", help="print only (a grid only where --grid names one)")
    args = parser.parse_args(argv)
    if not 0 <= args.spare < len(args.candidates):
        parser.error(f"--spare must be from 0 to {len(args.candidates) - 1} for {len(args.candidates)} candidates")
    grid = args.grid or (None if args.no_write else GRID)
    from benchmarks.base_candidates import load
    from model.training.evaluate import predict_labels, write_captioned_grid
    from model.training.pen_data import pen_digit_set
    from model.training.unipen import UnipenUnavailableError, pen_digits

    try:
        audit = read_audit(args.audit)
        digits = pen_digits(args.unipen_dir, "test")
        check_audit_fits(audit, digits, args.audit)
    except (OSError, AuditFormatError, UnipenUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    pictures = pen_digit_set(digits)
    answers = np.stack([predict_labels(load(recipe)[0], pictures).numpy() for recipe in args.candidates])
    wrong = answers != pictures.labels.numpy()[None, :]
    floor = floor_mask(wrong, args.spare)
    judged = [audit.get((digit.file, digit.line)) for digit in digits]
    listed = np.flatnonzero(wrong.any(0))
    missing = [f"{digits[i].file}:{digits[i].line}" for i in listed if judged[i] is None]

    def agreed(i: int) -> str:
        return "not audited" if judged[i] is None else (judged[i].agreed or "readers differ")

    rows = []
    for i in sorted(listed, key=lambda i: (-int(wrong[:, i].sum()), digits[i].writer, digits[i].file, digits[i].line)):
        judgement = judged[i]
        answered = Counter(int(a) for a in answers[wrong[:, i], i]).most_common()
        classes = "–" if judgement is None else f"{judgement.first} / {judgement.second}" + (
            f" (as {','.join(map(str, judgement.reads_as))})" if judgement.reads_as else "")
        rows.append([f"`{digits[i].file}:{digits[i].line}`", digits[i].writer, digits[i].label,
                     f"{int(wrong[:, i].sum())} of {len(args.candidates)}",
                     ", ".join(f"{digit} ×{count}" for digit, count in answered), classes])
    in_floor = np.flatnonzero(floor)
    if grid is not None:
        write_captioned_grid([pictures.images[i] for i in in_floor],
                             [f"{digits[i].label} " + ("?" if judged[i] is None else
                                                       f"{judged[i].first}/{judged[i].second}") for i in in_floor], grid)
    allowed = int(np.floor(len(digits) * (1 - TARGET_ACCURACY) + 1e-9))
    by_class = Counter(agreed(i) for i in in_floor)
    by_second = Counter(judged[i].second for i in in_floor if judged[i] is not None)
    summary = [[f"digits read wrong by every candidate but at most {args.spare}", len(in_floor)],
               *[[f"… of them both readers: {name} ({CLASSES[name]})", by_class.get(name, 0)] for name in CLASSES],
               ["… of them the readers differ", by_class.get("readers differ", 0)],
               ["… of them not audited", by_class.get("not audited", 0)],
               ["… of them the second reader alone: " + ", ".join(f"{name} {by_second.get(name, 0)}" for name in CLASSES),
                sum(by_second.values())],
               [f"wrong the target ({TARGET_ACCURACY:.1%} of {len(digits):,}) allows", allowed],
               ["wrong per candidate (fewest–most)", f"{wrong.sum(1).min()}–{wrong.sum(1).max()}"],
               ["wrong per candidate outside the floor (fewest–most)",
                f"{(wrong & ~floor).sum(1).min()}–{(wrong & ~floor).sum(1).max()}"]]
    legible = np.array([agreed(i) == "A" for i in range(len(digits))])
    second_legible = np.array([j is not None and j.second == "A" for j in judged])
    per_candidate = [[f"`{recipe}`", int(wrong[n].sum()), int((wrong[n] & floor).sum()), int((wrong[n] & legible).sum()),
                      int((wrong[n] & second_legible).sum()), int((wrong[n] & ~legible).sum())]
                     for n, recipe in enumerate(args.candidates)]
    lines = [f"UNIPEN's {len({d.writer for d in digits})} test writers ({len(digits):,} digits), read by "
             f"{len(args.candidates)} candidates: {', '.join(f'`{c}`' for c in args.candidates)}."
             + (f" The floor's digits are drawn in `{repo_relative(grid)}` (captioned label and the two readers' classes)."
                if grid is not None else ""), "",
             *markdown_table(["", "digits"], summary), "",
             *markdown_table(["candidate", "wrong", "of them in the floor", "legible to both readers (A / A)",
                              "legible to the second reader (A)", "the rest (B or C to a reader, or not audited)"],
                             per_candidate), "",
             "Every digit a candidate reads wrong (classes: the lead engineer's / the second reader's; "
             "benchmarks/unipen_test_audit.txt):", "",
             *markdown_table(["UNIPEN file:line", "writer", "label", "read wrong by", "answers", "classes"], rows),
             "", *[f"- {note}" for note in args.note]]
    if missing:
        lines.append(f"- Not in the audit: {', '.join(missing)}.")
    publish("pen-floor", "The test writers' floor: what (nearly) every candidate reads wrong (issue 19)", lines,
            write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
