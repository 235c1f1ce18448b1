"""The ``hwr`` command: ``hwr train``, ``hwr evaluate`` and ``hwr predict FILE...``."""

from __future__ import annotations

import argparse
import json
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


def load_model(weights: Path | None):
    """Return the model ``hwr predict`` reads with: the shipped one read with numpy (no torch to load,
    ``assets/default.npz``), or the checkpoint ``weights`` names (read with torch)."""
    from model.files.validate import InvalidInputError

    if weights is None:
        from model.assets import default_weights_path
        from model.storage.inference_file import inference_path, read_inference_file

        return read_inference_file(inference_path(default_weights_path()))
    from model.storage.checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(weights)
    except CheckpointError as error:
        raise InvalidInputError(str(error)) from None


def predict_main(argv: list[str]) -> int:
    """Read image files or JSON stroke files (one digit or a number); print one line per file, or
    JSON with ``--json``. Return the exit status."""
    from model.recognition.numbers import SegmentationError
    from model.recognition.predict import Predictor, UnusableOutputError
    from model.recognition.preprocess import NothingDrawnError
    from model.files.validate import InvalidInputError

    parser = argparse.ArgumentParser(prog="hwr predict",
                                     description="Read the digit or the number in image files or JSON stroke "
                                                 "files. One digit prints its top candidates; several print the "
                                                 "number and each digit's confidence.")
    parser.add_argument("files", nargs="+", type=Path, help="PNG/JPEG/... pictures or .json stroke files")
    parser.add_argument("--weights", type=Path, default=None,
                        help="checkpoint to use (default: the shipped model)")
    parser.add_argument("--top", type=top_count, default=1,
                        help=f"how many candidates to print per file of one digit (1–{MAX_TOP}; default: 1)")
    parser.add_argument("--digits", type=int, default=None, metavar="N",
                        help="read every file as exactly N digits (default: as many as the reader finds)")
    parser.add_argument("--json", action="store_true", help="print one JSON document with every file's reading")
    args = parser.parse_args(argv)
    if args.digits is not None and args.digits < 1:
        parser.error("--digits must be at least 1")
    try:
        predictor = Predictor(load_model(args.weights))
    except InvalidInputError as error:  # a model file that cannot be used, named with its cause
        print(f"error: {error}", file=sys.stderr)
        return 2
    status = 0
    documents = []
    for path in args.files:
        try:
            reading = predictor.read_number_file(path, args.digits)
        except NothingDrawnError:
            documents.append({"file": str(path), "error": "nothing drawn"})
            if not args.json:
                print(f"{path}: nothing drawn")
            status = 1
            continue
        except (InvalidInputError, UnusableOutputError) as error:  # each names the file or model and the cause
            documents.append({"file": str(path), "error": str(error)})
            if not args.json:
                print(f"error: {error}", file=sys.stderr)
            status = 1
            continue
        except (SegmentationError, ValueError) as error:  # --digits N that this file cannot meet: ordinary input
            documents.append({"file": str(path), "error": str(error)})
            if not args.json:  # one line, like "nothing drawn": the file's answer, not a failure of hwr
                print(f"{path}: {error}")
            status = 1
            continue
        documents.append(reading_document(path, reading, args.top))
        if args.json:
            continue
        if len(reading.digits) == 1:
            candidates = ", ".join(f"{digit} ({probability:.1%})" for digit, probability in reading.digits[0].top(args.top))
            print(f"{path}: {candidates}" + dropped_note(reading))
        else:
            confidences = ", ".join(f"{d.digit} {d.confidence:.1%}" for d in reading.digits)
            print(f"{path}: {reading.text} ({confidences})" + dropped_note(reading))
    if args.json:
        print(json.dumps(documents, indent=1))
    return status


def reading_document(path: Path, reading, top: int) -> dict:
    """Return a model.recognition.numbers.NumberReading of one file as plain JSON-ready data."""
    return {"file": str(path), "number": reading.text, "digits": [
        {"digit": digit.digit, "confidence": round(digit.confidence, 6),
         "top": [[d, round(p, 6)] for d, p in digit.top(max(top, 1))],
         "box": [round(v, 2) for v in digit.box],  # x0, y0, x1, y1: picture pixels or stroke units
         "strokes": list(digit.strokes),  # stroke indices (pictures: ink components)
         } for digit in reading.digits],
        "dropped": getattr(reading, "dropped", 0)}  # marks of a picture left out as specks


def dropped_note(reading) -> str:
    """Return "; 3 small marks left out" when a picture's specks were dropped, else ""."""
    dropped = getattr(reading, "dropped", 0)
    return f"; {dropped} small {'mark' if dropped == 1 else 'marks'} left out" if dropped else ""


COMMANDS = (
    ("predict", "read the digit or the number in pictures and JSON stroke files"),
    ("train", "train a model on MNIST (and UNIPEN's pen digits, if given) from scratch or from a checkpoint"),
    ("evaluate", "measure a model on MNIST's test digits (and UNIPEN's test writers), with confusion pictures"),
)


def usage() -> str:
    """Return what ``hwr`` and ``hwr --help`` print: every command with one sentence."""
    lines = ["usage: hwr COMMAND [options]", "", "Handwritten digits from the command line.", "", "commands:"]
    lines += [f"  {name:<9} {what}" for name, what in COMMANDS]
    lines += ["", "hwr COMMAND --help lists a command's options. The window is hwr-app."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a sub-command and return its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command in ("-h", "--help", "help"):
        print(usage())
        return 0
    if command == "predict":
        try:
            return predict_main(rest)
        except Exception as error:  # a bug, not bad input (that has its own messages): one line, no traceback
            print(f"error: hwr predict failed unexpectedly ({type(error).__name__}: {error}); please report this.",
                  file=sys.stderr)
            return 3
    if command == "train":
        from model.training.train import main as train_main
        return train_main(rest, prog="hwr train")
    if command == "evaluate":
        from model.training.evaluate import main as evaluate_main
        return evaluate_main(rest, prog="hwr evaluate")
    print(usage(), file=sys.stderr)
    if command:
        print(f"\nhwr: {command!r} is not a command.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
