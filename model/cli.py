"""The ``hwr`` command: ``hwr train``, ``hwr evaluate`` and ``hwr predict FILE...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MAX_TOP = 10  # there are ten digits


def top_count(text: str) -> int:
    """Return --top's value: a whole number from 1 to 10 (argparse reports anything else)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_TOP:
        raise argparse.ArgumentTypeError(f"{value} is not from 1 to {MAX_TOP}")
    return value


def predict_main(argv: list[str]) -> int:
    """Classify image files or JSON stroke files; print one line per file. Return the exit status."""
    from model.assets import default_weights_path
    from model.checkpoint import CheckpointError, load_checkpoint
    from model.predict import Predictor, UnusableOutputError
    from model.preprocess import NothingDrawnError
    from model.validate import InvalidInputError

    parser = argparse.ArgumentParser(prog="hwr predict", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                     description="Classify image files or JSON stroke files.")
    parser.add_argument("files", nargs="+", type=Path, help="PNG/JPEG/... pictures or .json stroke files")
    parser.add_argument("--weights", type=Path, default=None,
                        help="checkpoint to use (default: the shipped model)")
    parser.add_argument("--top", type=top_count, default=1, help=f"how many candidates to print per file (1–{MAX_TOP})")
    args = parser.parse_args(argv)
    try:
        predictor = Predictor(load_checkpoint(args.weights or default_weights_path()))
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    status = 0
    for path in args.files:
        try:
            prediction = predictor.predict_file(path)
        except NothingDrawnError:
            print(f"{path}: nothing drawn")
            status = 1
            continue
        except (InvalidInputError, UnusableOutputError) as error:  # each names the file or model and the cause
            print(f"error: {error}", file=sys.stderr)
            status = 1
            continue
        candidates = ", ".join(f"{digit} ({probability:.1%})" for digit, probability in prediction.top(args.top))
        print(f"{path}: {candidates}")
    return status


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a sub-command and return its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "predict":
        try:
            return predict_main(rest)
        except Exception as error:  # a bug, not bad input (that has its own messages): one line, no traceback
            print(f"error: hwr predict failed unexpectedly ({type(error).__name__}: {error}); please report this.",
                  file=sys.stderr)
            return 3
    if command == "train":
        from model.train import main as train_main
        return train_main(rest)
    if command == "evaluate":
        from model.evaluate import main as evaluate_main
        return evaluate_main(rest)
    print("usage: hwr {train,evaluate,predict} [options]  (hwr COMMAND --help for each)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
