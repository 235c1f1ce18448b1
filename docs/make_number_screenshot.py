"""Grab the real window reading a written number, for the README: python docs/make_number_screenshot.py.

The number is written with mouse drags on the canvas, from UNIPEN digits of one test writer when
UNIPEN is found ($HWR_UNIPEN_DIR or ../shared/data/unipen), else from model.training.synthetic's digits.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def writer_digits(number: str, seed: int) -> list:
    """Return one drawing per digit of ``number``: a UNIPEN test writer's if possible."""
    rng = np.random.default_rng(seed)
    try:
        from benchmarks.number_reading import default_unipen_dir
        from model.training.unipen import pen_digits

        by_writer: dict[str, dict[int, list]] = {}
        for digit in pen_digits(default_unipen_dir(), "test"):
            by_writer.setdefault(digit.writer, {}).setdefault(digit.label, []).append(digit.strokes)
        writers = sorted(w for w, digits in by_writer.items() if all(int(c) in digits for c in number))
        digits = by_writer[writers[int(rng.integers(len(writers)))]]
        return [[list(s) for s in digits[int(c)][int(rng.integers(len(digits[int(c)])))]] for c in number]
    except (ImportError, OSError, ValueError, IndexError, RuntimeError):
        from model.training.synthetic import STANDARD, jitter

        return [jitter(STANDARD[int(c)], rng, 0.6) for c in number]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", default="2026", help="the number to write")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("docs/numbers.png"))
    args = parser.parse_args()
    app = QApplication([])
    app.setStyle("Fusion")

    from hwr_app.app import app_icon
    from hwr_app.main_window import MainWindow
    from hwr_app.startup import AppPaths
    from model.training.compose import Layout, compose_number
    from tests.qt_helpers import drag

    def spin(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    with tempfile.TemporaryDirectory() as user_dir:
        window = MainWindow(AppPaths(Path(user_dir), Path(user_dir) / "mnist"), icon=app_icon())
        window.resize(1000, 560)
        window.show()
        deadline = time.monotonic() + 60
        while not window.is_ready() and time.monotonic() < deadline:
            spin(50)
        rng = np.random.default_rng(args.seed)
        labels = [int(c) for c in args.number]
        composed = compose_number(writer_digits(args.number, args.seed), labels, rng, layout=Layout(gap_sd=0.1))
        xy = np.array([p[:2] for stroke in composed.strokes for p in stroke])
        lo, span = xy.min(axis=0), xy.max(axis=0) - xy.min(axis=0)
        canvas = window.canvas
        scale = min((canvas.width() - 100) / span[0], (canvas.height() - 160) / span[1])
        arrivals: list[float] = []
        window.recognizer.prediction_ready.connect(lambda _: arrivals.append(time.monotonic()))
        for stroke in composed.strokes:
            drag(canvas, [(50 + (x - lo[0]) * scale, 90 + (y - lo[1]) * scale) for x, y, *_ in stroke])
        pen_up = time.monotonic()
        while not any(t > pen_up for t in arrivals) and time.monotonic() < pen_up + 30:
            spin(50)
        spin(200)
        window.grab().save(str(args.output))
        print(f"wrote {args.output}: read {window.numbers.reading.text if window.numbers.reading else '-'}")
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
