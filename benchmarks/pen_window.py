"""Pen digits of unseen writers drawn in the real window: what a user would see, model by model.

    QT_QPA_PLATFORM=offscreen python -m benchmarks.pen_window --unipen-dir ../shared/data/unipen \\
        --weights runs/old.pt assets/default.pt [--limit N] [--no-write]

Every digit of UNIPEN's *test writers* (never used for training or tuning) is replayed on the
canvas of a real MainWindow as mouse drags (press, moves, release per stroke); after the last pen
lift the benchmark waits for the window's answer and reads the big label, as a user would: the
right digit, another digit (shown as sure, yet wrong), or a question ("4 or 7?": the window says it is unsure).
The same digits rendered straight through ``model.recognition.preprocess`` give the model-only figure beside it,
so a gap between the two would show a difference between the canvas and the training path.
Each ``--weights`` is measured in the same run, so the figures compare like with like.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.common import default_data_dir, markdown_table, publish  # noqa: E402
from model.constants import default_unipen_dir  # noqa: E402


def replay(weights: Path, digits, mnist_dir: Path, app) -> dict:
    """Return counts of what the window showed for each digit, and per-source right answers."""
    from benchmarks.qt_driving import draw_on_canvas, wait_until
    from hwr_app.main_window import MainWindow
    from hwr_app.startup import AppPaths

    with tempfile.TemporaryDirectory() as user_dir:
        window = MainWindow(AppPaths(user_dir=Path(user_dir), mnist_dir=mnist_dir, weights_override=weights),
                            download_mnist=False)
        window.resize(900, 700)
        window.show()
        wait_until(window.is_ready, 120, "the model to load")
        answers = []
        window.recognizer.prediction_ready.connect(answers.append)
        shown = Counter()
        by_source: dict[str, list[int]] = {}
        started = time.perf_counter()
        for digit in digits:
            window.canvas.clear()
            wait_until(lambda: window.prediction_view.digit_label.text() == "", 10, "the canvas to clear")
            draw_on_canvas(window.canvas, digit.strokes)
            answers.clear()
            wait_until(lambda: bool(answers), 30, "the window's answer")
            text = window.prediction_view.digit_label.text()
            # an unsure answer is shown as a question ("4 or 7?"; nothing at all before the careful-user issue)
            outcome = "unsure" if text == "" or text.endswith("?") else "right" if text == str(digit.label) else "wrong"
            shown[outcome] += 1
            by_source.setdefault(digit.source, []).append(outcome == "right")
        seconds = time.perf_counter() - started
        window.close()
        app.processEvents()
    return {"shown": shown, "by_source": by_source, "seconds": seconds}


def model_only(weights: Path, digits) -> float:
    """Return the accuracy of the model on the same digits rendered without the window."""
    from model.storage.checkpoint import load_checkpoint
    from model.training.evaluate import accuracy_of
    from model.training.pen_data import pen_digit_set

    return accuracy_of(load_checkpoint(weights).build(), pen_digit_set(digits))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir(),
                        help="folder holding train_r01_v07 (default: $HWR_UNIPEN_DIR)")
    parser.add_argument("--mnist-dir", type=Path, default=default_data_dir())
    parser.add_argument("--weights", type=Path, nargs="+", required=True, help="checkpoints to compare")
    parser.add_argument("--limit", type=int, default=0, help="replay only every k-th digit so N remain (0 = all)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)

    import torch
    from PySide6.QtWidgets import QApplication

    from model.training.unipen import UnipenUnavailableError, pen_digits

    torch.set_num_threads(1)
    try:
        digits = pen_digits(args.unipen_dir, "test")
    except UnipenUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.limit:
        digits = digits[::max(1, len(digits) // args.limit)][:args.limit]
    app = QApplication.instance() or QApplication([])
    rows, source_rows = [], {}
    for weights in args.weights:
        result = replay(weights, digits, args.mnist_dir, app)
        shown, total = result["shown"], len(digits)
        rows.append([f"`{weights}`", f"{shown['right'] / total:.2%}", f"{shown['wrong'] / total:.2%}",
                     f"{shown['unsure'] / total:.2%}", f"{shown['wrong'] + shown['unsure']:,}",
                     f"{model_only(weights, digits):.2%}", f"{result['seconds'] / total * 1000:.0f} ms"])
        for source, outcomes in result["by_source"].items():
            source_rows.setdefault(source, [source, f"{len(outcomes):,}"]).append(f"{sum(outcomes) / len(outcomes):.1%}")
    body = [f"{len(digits):,} digits of UNIPEN's {len({d.writer for d in digits})} test writers, each drawn on "
            "the canvas of the real window (900×700, offscreen) as mouse drags, one stroke per drag; the "
            "window's big label read after the last pen lift.", "",
            *markdown_table(["model", "shown right", "shown as sure, wrong", "shown unsure", "not right",
                             "model alone (same digits)", "per digit (draw + answer)"], rows), "",
            "Shown right by UNIPEN source (one column per model, in the order above):", "",
            *markdown_table(["source", "digits", *[f"`{w.name}`" for w in args.weights]],
                            sorted(source_rows.values()))]
    publish("pen-window", "Pen digits of unseen writers, drawn in the window", body, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
