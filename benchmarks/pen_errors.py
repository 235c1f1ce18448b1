"""Every UNIPEN test-writer digit the shipped model reads wrong, listed and drawn as it sees them.

    python -m benchmarks.pen_errors --unipen-dir ../shared/data/unipen --grid docs/pen-test-errors.png

What personalisation can fix is bounded by what the errors are: a writer's own style that repeats
(a 1 with a long flag read as 7) can be taught; a segment of UNIPEN that holds a stray line, part
of a digit or several digits under one label cannot. This prints each error (UNIPEN file:line,
label → answer, probability, writer) and writes a grid of the pictures the network read, so the
two kinds can be told apart by eye (BENCHMARKS.md, "Personalisation on real writers").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from benchmarks.unipen_suspects import write_grid
from model.constants import default_unipen_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir())
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped model)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--grid", type=Path, default=Path("docs/pen-test-errors.png"))
    args = parser.parse_args(argv)
    from model.assets import default_weights_path
    from model.storage.checkpoint import load_checkpoint
    from model.recognition.predict import Predictor
    from model.training.unipen import UnipenUnavailableError, pen_digits

    torch.set_num_threads(1)
    try:
        digits = pen_digits(args.unipen_dir, args.split)
    except UnipenUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    predictor = Predictor(load_checkpoint(args.weights or default_weights_path()))
    errors = []
    for digit in digits:
        answer = predictor.predict_strokes(digit.strokes)
        if answer.digit != digit.label:
            errors.append((digit, answer.digit, answer.confidence, (answer.image * 255).astype("uint8")))
    for digit, read, probability, _ in errors:
        print(f"{digit.file}:{digit.line}  {digit.label} -> {read} ({probability:.2f})  writer {digit.writer}")
    write_grid(errors, args.grid, columns=8)
    print(f"{len(errors)} of {len(digits):,} {args.split}-writer digits read wrong; wrote {args.grid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
