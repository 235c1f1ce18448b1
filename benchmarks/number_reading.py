"""Reading numbers: written numbers replayed through the real window, pictures of numbers, reading time.

    .venv/bin/python -m benchmarks.number_reading                      # about 5 min on 2 cores
    .venv/bin/python -m benchmarks.number_reading --numbers 20 --no-write   # a quick check
    .venv/bin/python -m benchmarks.number_reading --split val --no-write    # for tuning: never tune on test

Three parts:

1. **Written numbers.** Numbers of 3, 5 and 8 digits are composed from UNIPEN's digits (one writer
   per number, the writers of the ``--split`` split, ``test`` by default: writers the shipped model
   never saw): each digit scaled to a common height with some variation, its bottom near a sloping
   baseline, the space before it drawn at random so that about one neighbouring pair in ten
   overlaps (``model.training.compose.Layout``). Each number is drawn on the real window's canvas with
   mouse events, stroke by stroke; the reading the window shows after the last pen-up is compared
   with the truth. Next to it, the *perfect-segmentation bound*: the same digits (the strokes the
   canvas recorded) read one by one, alone — the share of numbers whose every digit is then read
   right is what a reader that never misplaces a stroke would reach.
2. **Pictures of numbers.** MNIST test digits laid side by side (``model.training.compose.compose_picture``),
   with no, one or two touching pairs, read by ``model.recognition.picture_numbers``; the bound is each digit's
   own 28×28 picture read alone.
3. **Reading time** of a 10-digit written number, headless on the app's torch threads: at pen lift
   (the reader has seen the number without its last stroke, as in the window) and cold (nothing
   cached), against the target p50 ≤ 30 ms at pen lift.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/number_reading.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import torch

from benchmarks.common import (default_data_dir, default_unipen_dir, markdown_table, other_load, percentiles,
                               publish, verdict)
from model.training.compose import Layout, compose_number, compose_picture

LENGTHS = (3, 5, 8)


TARGET_GAP_POINTS = 2.0  # 5-digit numbers: number accuracy within this many points of the bound
TARGET_PEN_LIFT_P50_MS = 30.0  # reading a 10-digit number at pen lift
LOADED = 0.1  # share of the CPU used by others above which the times are flagged as contaminated
MIN_DIGITS_PER_WRITER = 20  # writers with fewer digits give too little variety for a number


@dataclass
class Outcome:
    """One number read: the truth, the reading, and the digits read alone."""

    writer: str
    truth: str
    read: str
    alone: list[bool]  # each digit read right when read alone (the bound)
    overlaps: int = 0
    seconds: float = float("nan")  # pen-up → reading shown (window) or reading time (pictures)

    @property
    def right(self) -> bool:
        return self.read == self.truth

    def digits_right(self) -> int:
        """Return how many digits are right: the length minus the edit distance, at least 0."""
        return max(0, len(self.truth) - _edit_distance(self.truth, self.read))


@dataclass
class Summary:
    label: str
    outcomes: list[Outcome] = field(default_factory=list)

    def row(self) -> list[str]:
        o = self.outcomes
        numbers = np.mean([x.right for x in o])
        digits = sum(x.digits_right() for x in o) / sum(len(x.truth) for x in o)
        bound = np.mean([all(x.alone) for x in o])
        alone = np.mean([a for x in o for a in x.alone])
        pairs = sum(len(x.truth) - 1 for x in o)
        overlap = sum(x.overlaps for x in o) / pairs if pairs else 0.0
        count_right = np.mean([len(x.read) == len(x.truth) for x in o])
        return [self.label, f"{len(o)}", f"{overlap:.0%}", f"**{numbers:.1%}**", f"{bound:.1%}",
                f"{(bound - numbers) * 100:+.1f}", f"{digits:.1%}", f"{alone:.1%}", f"{count_right:.1%}"]

    def gap_points(self) -> float:
        return float((np.mean([all(x.alone) for x in self.outcomes]) - np.mean([x.right for x in self.outcomes])) * 100)


HEADER = ["numbers", "count", "neighbours overlapping", "number accuracy", "perfect-segmentation bound",
          "bound − accuracy (points)", "digit accuracy", "digits read alone", "digit count right"]


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


# -- written numbers ------------------------------------------------------------------------------


def pen_writers(source: str, unipen_dir: Path | None, split: str) -> dict[str, list[tuple[list, int]]]:
    """Return {writer: [(strokes, label), ...]} of the writers of a split (writers with enough digits)."""
    writers: dict[str, list[tuple[list, int]]] = defaultdict(list)
    if source == "synthetic":  # no data set needed: model.training.synthetic's digits, one "writer" per seed
        from model.training.synthetic import STANDARD, jitter

        for writer in range(40):
            rng = np.random.default_rng(writer)
            for index in range(60):
                label = index % 10
                writers[f"synthetic-{writer}"].append((jitter(STANDARD[label], rng, 1.0), label))
        return dict(writers)
    from model.training.unipen import pen_digits

    for digit in pen_digits(unipen_dir, split):
        writers[digit.writer].append(([list(stroke) for stroke in digit.strokes], int(digit.label)))
    return {w: digits for w, digits in writers.items() if len(digits) >= MIN_DIGITS_PER_WRITER}


def compose_written(writers: dict[str, list], length: int, count: int, rng: np.random.Generator) -> list:
    """Return ``count`` (writer, ComposedNumber) pairs, the writers taken in turn in a shuffled order."""
    names = sorted(writers)
    rng.shuffle(names)
    numbers = []
    for k in range(count):
        writer = names[k % len(names)]
        pool = writers[writer]
        picks = rng.choice(len(pool), size=length, replace=len(pool) < length)
        digits = [pool[int(i)] for i in picks]
        numbers.append((writer, compose_number([strokes for strokes, _ in digits], [label for _, label in digits],
                                               rng, layout=Layout())))
    return numbers


def replay_in_window(numbers_by_length: dict[int, list], data_dir: Path) -> dict[int, list[Outcome]]:
    """Draw every number on the real window's canvas with mouse events; return what it read."""
    from PySide6.QtWidgets import QApplication

    from benchmarks.qt_driving import wait_until
    from hwr_app.main_window import MainWindow
    from hwr_app.startup import AppPaths
    from model.recognition.predict import Predictor
    from tests.qt_helpers import drag

    from PySide6.QtCore import qInstallMessageHandler

    # The offscreen platform says this once per window resize; it would bury the progress lines.
    qInstallMessageHandler(lambda kind, context, message: None if "propagateSizeHints" in message
                           else print(message, file=sys.stderr))
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    results: dict[int, list[Outcome]] = {}
    with tempfile.TemporaryDirectory(prefix="hwr-bench-") as folder:
        window = MainWindow(AppPaths(user_dir=Path(folder) / "user", mnist_dir=data_dir), download_mnist=False)
        window.resize(1400, 700)
        window.show()
        try:
            wait_until(window.is_ready, 120, "the model")
            alone = Predictor(window.checkpoint)  # the same model, each digit read on its own
            arrivals: list[float] = []
            window.recognizer.prediction_ready.connect(lambda _: arrivals.append(time.perf_counter()))
            canvas = window.canvas
            for length, numbers in numbers_by_length.items():
                outcomes = []
                for writer, number in numbers:
                    canvas.clear()
                    wait_until(lambda: window.prediction is None, 10, "the canvas to clear")
                    placed = _fit(number.strokes, canvas.width(), canvas.height())
                    for stroke in placed:
                        drag(canvas, stroke)
                    pen_up = time.perf_counter()  # the last release asked for the reading of the whole number
                    wait_until(window.recognizer.is_idle, 30, "the reading of a number")
                    reading = window.numbers.reading
                    recorded = canvas.strokes()
                    alone_right = [alone.predict_strokes([recorded[i] for i in indices]).digit == int(label)
                                   for indices, label in zip(number.digit_strokes, number.text)]
                    outcomes.append(Outcome(writer, number.text, reading.text, alone_right, number.overlaps,
                                            arrivals[-1] - pen_up))
                results[length] = outcomes
                print(f"  {length}-digit numbers in the window: {np.mean([o.right for o in outcomes]):.1%}", flush=True)
        finally:
            window.close()
    return results


def _fit(strokes: list, width: int, height: int) -> list:
    """Return the strokes scaled into the canvas (margins for the outlines), as whole pixels."""
    xy = np.array([p[:2] for stroke in strokes for p in stroke], dtype=np.float64)
    lo, span = xy.min(axis=0), np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-6)
    scale = min((width - 80) / span[0], (height - 140) / span[1], 0.45 * height / span[1] * 2)
    return [[(round(40 + (x - lo[0]) * scale), round(80 + (y - lo[1]) * scale)) for x, y, *_ in stroke]
            for stroke in strokes]


# -- pictures -------------------------------------------------------------------------------------


def picture_outcomes(mnist_test, network, length: int, touching: int, count: int,
                     rng: np.random.Generator) -> list[Outcome]:
    """Read ``count`` pictures of ``length``-digit numbers composed from MNIST test digits."""
    from model.recognition.picture_numbers import read_picture_number
    from model.recognition.predict import Predictor  # noqa: F401  (network built by the caller)
    from model.recognition.preprocess import raster_to_image
    from model.recognition.numbers import network_probabilities

    images, labels = mnist_test.images.numpy(), mnist_test.labels.numpy()
    outcomes = []
    for _ in range(count):
        picks = rng.integers(0, len(labels), size=length)
        picture, truth = compose_picture([images[i] for i in picks], [int(labels[i]) for i in picks], rng,
                                         touching=touching)
        paper = (255 - picture * 255).astype(np.uint8)  # dark ink on light paper, as scanned
        started = time.perf_counter()
        reading = read_picture_number(paper, network)
        seconds = time.perf_counter() - started
        alone = network_probabilities(network, [raster_to_image(images[i]) for i in picks]).argmax(axis=1)
        outcomes.append(Outcome("mnist", truth, reading.text, [int(a) == int(labels[i]) for a, i in zip(alone, picks)],
                                touching, seconds))
    return outcomes


# -- joined writing ------------------------------------------------------------------------------


def joined_figures(writers: dict[str, list], network, count: int, rng: np.random.Generator) -> list[list[str]]:
    """Return table rows: 5-digit numbers read with and without stroke splitting, plain and joined.

    Joined: for half of the neighbouring pairs the pen stays down from one digit to the next
    (model.training.compose.join_neighbours), so one stroke runs through two digits.
    """
    from dataclasses import replace

    from model.training.compose import join_neighbours
    from model.recognition.numbers import DEFAULT_CONFIG, NumberReader

    numbers = [number for _, number in compose_written(writers, 5, count, rng)]
    joined = [join_neighbours(number, rng, 0.5) for number in numbers]
    rows = []
    for name, config in (("off (the default)", DEFAULT_CONFIG),
                         ("on: strokes wider than 1 digit height cut, up to 6 pieces a digit",
                          replace(DEFAULT_CONFIG, split_strokes=True, max_group=6))):
        reader = NumberReader(network, config)
        plain_right = np.mean([reader.read(n.strokes).text == n.text for n in numbers])
        joined_right = np.mean([reader.read(strokes).text == n.text for strokes, n in zip(joined, numbers)])
        rows.append([name, f"{plain_right:.1%}", f"{joined_right:.1%}"])
    return rows


# -- reading time ---------------------------------------------------------------------------------


def reading_times(writers: dict[str, list], network, count: int, rng: np.random.Generator) -> dict[str, list[float]]:
    """Return ms per reading of 10-digit numbers: at pen lift (warm cache) and cold."""
    from model.recognition.numbers import NumberReader

    times: dict[str, list[float]] = {"pen lift": [], "cold": []}
    for _, number in compose_written(writers, 10, count, rng):
        warm = NumberReader(network)
        for end in range(1, len(number.strokes)):  # as the window reads after every pen lift
            warm.read(number.strokes[:end])
        started = time.perf_counter()
        warm.read(number.strokes)
        times["pen lift"].append((time.perf_counter() - started) * 1e3)
        started = time.perf_counter()
        NumberReader(network).read(number.strokes)
        times["cold"].append((time.perf_counter() - started) * 1e3)
    return times


# -- the report -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.number_reading", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder holding MNIST/raw ($HWR_MNIST_DIR if set, else ../shared/data)")
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir(),
                        help="folder holding UNIPEN's train_r01_v07 ($HWR_UNIPEN_DIR if set, else ../shared/data/unipen)")
    parser.add_argument("--source", choices=("unipen", "synthetic"), default="unipen",
                        help="written digits from UNIPEN writers, or model.training.synthetic's (no data set needed)")
    parser.add_argument("--split", choices=("train", "val", "test"), default="test",
                        help="UNIPEN writers to compose numbers from; tune on val, report on test")
    parser.add_argument("--numbers", type=int, default=200, help="numbers per length (written and pictures)")
    parser.add_argument("--picture-numbers", type=int, default=100, help="pictures per row of the picture table")
    parser.add_argument("--timing-numbers", type=int, default=100,
                        help="10-digit numbers timed headless (and 5-digit numbers read with and without splitting)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for the timing (default: the app's, model.constants.TORCH_THREADS)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-window", action="store_true", help="skip the written numbers in the window")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from model.constants import TORCH_THREADS
    from model.assets import default_weights_path
    from model.storage.checkpoint import load_checkpoint
    from model.training.data import load_mnist
    from model.recognition.predict import Predictor

    torch.set_num_threads(args.threads or TORCH_THREADS)
    predictor = Predictor(load_checkpoint(default_weights_path()))
    rng = np.random.default_rng(args.seed)
    writers = pen_writers(args.source, args.unipen_dir, args.split)
    source = (f"UNIPEN, {args.split} writers" if args.source == "unipen" else "model.training.synthetic") + \
        f" ({len(writers)} writers, {sum(len(d) for d in writers.values()):,} digits)"
    print(f"written digits: {source}", flush=True)

    lines = []
    written: dict[int, list[Outcome]] = {}
    if not args.no_window:
        numbers = {length: compose_written(writers, length, args.numbers, rng) for length in LENGTHS}
        written = replay_in_window(numbers, args.data_dir)
        summaries = [Summary(f"{length} digits", written[length]) for length in LENGTHS]
        pen_up = percentiles(o.seconds * 1e3 for outcomes in written.values() for o in outcomes)
        per_writer = defaultdict(list)
        for o in written[5]:
            per_writer[o.writer].append(o.right)
        writer_rates = sorted(np.mean(v) for v in per_writer.values())
        lines += [f"### Written numbers, replayed through the window ({source})", "",
                  *markdown_table(HEADER, [s.row() for s in summaries]), "",
                  f"5-digit numbers per writer ({len(writer_rates)} writers): number accuracy min "
                  f"{writer_rates[0]:.0%}, median {np.median(writer_rates):.0%}, max {writer_rates[-1]:.0%}.",
                  f"Pen-up → reading shown in the window (all lengths): p50 {pen_up['p50']:.1f} ms, "
                  f"p99 {pen_up['p99']:.1f} ms.", "",
                  verdict("5-digit numbers: bound − number accuracy", summaries[1].gap_points(), TARGET_GAP_POINTS,
                          "points", digits=1), ""]
        mistakes = [o for o in written[5] if not o.right][:8]
        if mistakes:
            lines += ["Some 5-digit mistakes (truth → read): " + ", ".join(f"{o.truth} → {o.read or '∅'}"
                                                                            for o in mistakes), ""]

    mnist_test = load_mnist(args.data_dir, train=False)
    picture_rows = []
    picture_times = []
    for length, touching in ((3, 0), (5, 0), (5, 1), (8, 0), (8, 2)):
        outcomes = picture_outcomes(mnist_test, predictor.network, length, touching, args.picture_numbers, rng)
        picture_times += [o.seconds * 1e3 for o in outcomes]
        label = f"{length} digits" + (f", {touching} touching pair{'s' if touching > 1 else ''}" if touching else "")
        picture_rows.append(Summary(label, outcomes).row())
        print(f"  pictures, {label}: {np.mean([o.right for o in outcomes]):.1%}", flush=True)
    picture_header = ["pictures", "count", "touching pairs per number"] + HEADER[3:]
    pictures = percentiles(picture_times)
    lines += ["### Pictures of numbers (MNIST test digits, dark ink on light paper)", "",
              *markdown_table(picture_header, [[r[0], r[1], r[0].split(", ")[1].split(" ")[0] if ", " in r[0] else "0",
                                                *r[3:]] for r in picture_rows]), "",
              f"Reading time per picture: p50 {pictures['p50']:.0f} ms, p99 {pictures['p99']:.0f} ms.", ""]

    rows = joined_figures(writers, predictor.network, args.timing_numbers, rng)
    lines += ["### Strokes that run through two digits (headless, 5-digit written numbers)", "",
              *markdown_table(["stroke splitting", "number accuracy, pen lifted between digits",
                               "number accuracy, pen kept down between half the neighbours"], rows), ""]

    times = reading_times(writers, predictor.network, args.timing_numbers, rng)
    lift, cold = percentiles(times["pen lift"]), percentiles(times["cold"])
    lines += [f"### Reading time of a 10-digit written number ({torch.get_num_threads()} torch threads, headless)", "",
              *markdown_table(["reading", "p50 (ms)", "p99 (ms)", "max (ms)"],
                              [["at pen lift (what was read before is reused, as in the window)",
                                f"{lift['p50']:.1f}", f"{lift['p99']:.1f}", f"{lift['max']:.1f}"],
                               ["cold (nothing read before)", f"{cold['p50']:.1f}", f"{cold['p99']:.1f}",
                                f"{cold['max']:.1f}"]]), "",
              verdict("10-digit number at pen lift, p50", lift["p50"], TARGET_PEN_LIFT_P50_MS, "ms", digits=1), ""]
    if other_load() > LOADED:
        lines += [f"**Other processes used {other_load():.0%} of the CPU while this ran: every time above is "
                  f"inflated (two torch threads fight for busy cores); re-run on a quiet machine before "
                  f"judging the time targets. The accuracies do not depend on load.**", ""]
    publish("numbers", "Reading numbers", lines, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
