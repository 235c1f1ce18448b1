"""Fine-tuning on personal samples: wall time, what it does to MNIST and to the style, and the GUI's stalls.

    .venv/bin/python -m benchmarks.finetune                # about a minute
    .venv/bin/python -m benchmarks.finetune --quick --no-write   # a quick check that it runs

Part 1, headless: for each style of model.training.synthetic.STYLES and each sample count, draw that many
samples of the style (model.training.synthetic.draw_many → model.storage.samples.make_sample, as a correction in the
app stores them) and time what the app's fine-tune worker computes: re-rendering the samples
(model.storage.samples.rendered_images) and running model.personal.finetune.finetune to the end with its default
settings and the reference digits the app uses (model.personal.reference.load_reference: the shipped files,
else MNIST). The first fine-tune of the process also computes the frozen trunk's features of the
reference digits (the app's first fine-tune pays that once); every later one reuses them. Reported:
the time, the MNIST and pen gate accuracies before and after, the samples read right before and out
of fold, whether the gate accepted the new model, and the accuracy on 100 NEW drawings of the style
(another seed) before and after.

Part 3, the profile: cProfile of one warm 20-sample fine-tune, with the time of each phase
(re-rendering, the user's trunk features, training steps, out-of-fold and gate evaluation) and the
operations that take the most time.

Part 2, in the real window (offscreen Qt platform, an isolated temporary data folder), runs first,
before part 1 imports anything of the fine-tune, so that the window's first fine-tune pays what a
user's first one pays (its imports, loading MNIST). Samples are added to the window's store, ``window.start_finetune()``
is called, and a 10 ms heartbeat timer on the GUI thread records every gap between its ticks until
the worker has finished. The longest gap is the worst event-loop stall a user could feel. A second
fine-tune (MNIST already loaded) then runs while digits are drawn on the canvas with real mouse
events, timing pen-up → prediction shown (the recognizer's prediction_ready), compared with the same
drawing when nothing runs in the background.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything can import Qt's GUI

if __package__ in (None, ""):  # run as `python benchmarks/finetune.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from benchmarks.common import default_data_dir, markdown_table, percentiles, publish, verdict
from model.assets import default_weights_path
from model.storage.checkpoint import Checkpoint, load_checkpoint
from model.recognition.preprocess import image_to_tensor
from model.storage.samples import make_sample, rendered_images
from model.training.synthetic import STANDARD, STYLES, draw_many, jitter

if TYPE_CHECKING:  # imported for real inside the runs, so the first fine-tune pays its own imports
    from model.personal.finetune import FinetuneConfig, FinetuneResult

TARGET_SECONDS_20 = 2.0  # fine-tune on 20 samples, wall time, gate included
TARGET_SECONDS_200 = 4.0  # fine-tune on 200 samples
TARGET_STALL_MS = 16.0  # longest event-loop stall while it runs: one frame at 60 Hz
TARGET_MNIST_DROP_POINTS = 0.3  # gate accuracy lost, in percentage points
TARGET_NEW_STYLE = 0.90  # share of new drawings of the style read right afterwards
HEARTBEAT_MS = 10
APP_TIMEOUT_S = 180


# -- part 1: headless ----------------------------------------------------------------------------


@dataclass
class HeadlessRun:
    style: str
    count: int
    seconds: float
    training_seconds: float  # from the call to the first "checking" progress
    result: FinetuneResult
    new_before: float
    new_after: float
    cold: bool = False  # the process's first fine-tune: trunk features of the reference digits computed


def style_samples(style: str, count: int, seed: int) -> list:
    """Return ``count`` samples of a personal style, made as the app makes a correction."""
    digit, template = STYLES[style]
    return [make_sample(digit, strokes) for strokes in draw_many(template, count, seed)]


@torch.inference_mode()
def accuracy_on(checkpoint: Checkpoint, images: np.ndarray, label: int) -> float:
    """Return the share of the (N, 28, 28) images the checkpoint reads as ``label``."""
    batch = torch.stack([image_to_tensor(image) for image in images])  # (N, 1, 28, 28)
    return float((checkpoint.build()(batch).argmax(1) == label).float().mean())


def timed_finetune(base: Checkpoint, samples: list, cache, config: FinetuneConfig) -> tuple[FinetuneResult, dict]:
    """Run what the app's worker computes; return the result and the seconds of each phase."""
    from model.personal.finetune import finetune

    moments = {"start": time.perf_counter()}
    images = rendered_images(samples)  # what the app's worker does first
    moments["rendered"] = time.perf_counter()
    steps = finetune(base, images, [s.label for s in samples], cache, config, sample_keys=[s.uid for s in samples])
    while True:
        try:
            progress = next(steps)
        except StopIteration as finished:
            result = finished.value
            break
        moments.setdefault("first step", time.perf_counter())
        if progress.phase == "checking":
            moments.setdefault("checking", time.perf_counter())
    moments["end"] = time.perf_counter()
    return result, {"re-rendering the samples": moments["rendered"] - moments["start"],
                    "features of the samples' augmented copies, first step":
                        moments["first step"] - moments["rendered"],
                    "training steps (fold models and the final one)": moments["checking"] - moments["first step"],
                    "checking: out-of-fold figures, MNIST and pen gates": moments["end"] - moments["checking"],
                    "total": moments["end"] - moments["start"]}


def run_headless(base: Checkpoint, cache, style: str, count: int, train_seed: int,
                 new_images: np.ndarray, config: FinetuneConfig) -> HeadlessRun:
    """Return the figures of one fine-tune on ``count`` samples of ``style``."""
    digit = STYLES[style][0]
    cold = not cache.has_features
    result, phases = timed_finetune(base, style_samples(style, count, train_seed), cache, config)
    return HeadlessRun(style, count, phases["total"], phases["total"] - phases["checking: out-of-fold figures, "
                                                                              "MNIST and pen gates"],
                       result, accuracy_on(base, new_images, digit), accuracy_on(result.checkpoint, new_images, digit),
                       cold)


def profile_lines(base: Checkpoint, cache, style: str, count: int, config: FinetuneConfig) -> list[str]:
    """Return the profile of one warm fine-tune as markdown: phases, then the costliest operations."""
    import cProfile
    import pstats

    samples = style_samples(style, count, 0)
    _, phases = timed_finetune(base, samples, cache, config)  # unprofiled: the phases' true times
    profiler = cProfile.Profile()
    profiler.enable()
    timed_finetune(base, samples, cache, config)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, name) → (calls, _, own time, cumulative, _)
    profiled_total = sum(own for _, _, own, _, _ in stats.values())
    top = sorted(stats.items(), key=lambda item: -item[1][2])[:10]
    lines = [f"Phases of a warm fine-tune on {count} `{style}` samples (wall time, unprofiled):", ""]
    lines += markdown_table(["phase", "s", "share"],
                            [[name, f"{seconds:.3f}", f"{seconds / phases['total']:.0%}"]
                             for name, seconds in phases.items()])
    lines += ["", "Operations that take the most time (cProfile of the same fine-tune, own time):", ""]
    rows = []
    for (filename, line, name), (calls, _, own, _, _) in top:
        where = name if filename == "~" else f"{Path(filename).name}:{line} {name}"
        rows.append([where.replace("|", "/"), calls, f"{own:.3f}", f"{own / profiled_total:.0%}"])
    lines += markdown_table(["operation", "calls", "own s", "share"], rows)
    return lines + [""]


# -- part 2: in the window -----------------------------------------------------------------------


class Heartbeat:
    """A precise 10 ms timer on the GUI thread that records the gap before each of its ticks."""

    def __init__(self, interval_ms: int = HEARTBEAT_MS) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps_ms: list[float] = []
        self.ticks: list[float] = []  # perf_counter of each tick
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps_ms.append((now - self._last) * 1e3)
        self.ticks.append(now)
        self._last = now

    def stop(self) -> None:
        self._timer.stop()


@dataclass
class AppRun:
    """One fine-tune started in the window, with the moments it passed through."""

    label: str
    samples: int = 0  # in the store when it started (0: the run's --app-count)
    started: float = 0.0
    first_step: float | None = None
    checking: float | None = None
    result_at: float | None = None
    finished: float | None = None
    outcome: str = ""
    gaps_ms: list[float] = field(default_factory=list)
    gap_ends: list[float] = field(default_factory=list)
    pen_up_to_prediction_ms: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return (self.finished or float("nan")) - self.started

    @property
    def completed(self) -> bool:
        """True if the fine-tune ran to a judged result (accepted or kept aside)."""
        return self.outcome.startswith(("accepted", "kept aside"))

    def phase_at(self, moment: float) -> str:
        """Return which part of the fine-tune was running at ``moment`` (perf_counter)."""
        if self.first_step is None or moment <= self.first_step:
            return "preparing (imports, MNIST load, re-rendering, first step)"
        if self.checking is None or moment <= self.checking:
            return "training steps"
        if self.result_at is None or moment <= self.result_at:
            return "checking (gate and held-out evaluation)"
        return "handling the result (saving, activating, dialog)"


def close_dialogs(window) -> None:
    """Close the result message boxes, as a user would, so that the canvas takes the pointer again."""
    from PySide6.QtWidgets import QMessageBox

    for box in window.findChildren(QMessageBox):
        if box.isVisible():
            box.accept()


def time_predictions(window, drawings: list, arrivals: list[float], keep_going=lambda: True) -> list[float]:
    """Draw each digit, wait for its prediction; return pen-up → prediction times in ms."""
    from benchmarks.qt_driving import draw_on_canvas, wait_until

    latencies = []
    for strokes in drawings:
        if not keep_going():
            break
        window.canvas.clear()
        wait_until(lambda: window.prediction is None, 5, "the canvas to clear")
        before = len(arrivals)
        pen_up = draw_on_canvas(window.canvas, strokes)
        wait_until(lambda: len(arrivals) > before and window.prediction is not None, 30, "a prediction")
        latencies.append((arrivals[-1] - pen_up) * 1e3)
        window.canvas.clear()
    return latencies


def start_and_follow(window, run: AppRun, heartbeat: Heartbeat | None, during=None) -> AppRun:
    """Start a fine-tune in the window, note its moments, run ``during()`` meanwhile, wait for its end."""
    from benchmarks.qt_driving import wait_until

    run.started = time.perf_counter()
    window.start_finetune()
    worker = window.finetune_worker
    if worker is None:
        raise RuntimeError("the window did not start a fine-tune (too few samples, or still loading?)")

    def on_progress(progress) -> None:
        now = time.perf_counter()
        if run.first_step is None:
            run.first_step = now
        if progress.phase == "checking" and run.checking is None:
            run.checking = now

    def on_succeeded(result, entry) -> None:
        run.result_at = time.perf_counter()
        run.outcome = ("accepted" if result.accepted else "kept aside") + f": {result.reason}"

    def on_failed(message: str) -> None:
        run.result_at = time.perf_counter()
        run.outcome = f"failed: {message}"

    def on_finished() -> None:
        run.finished = time.perf_counter()

    # Queued from the worker thread, so nothing can arrive before these connections are made.
    worker.progress.connect(on_progress)
    worker.succeeded.connect(on_succeeded)
    worker.failed.connect(on_failed)
    worker.finished.connect(on_finished)
    if during is not None:
        run.pen_up_to_prediction_ms = during(lambda: run.finished is None)
    wait_until(lambda: run.finished is not None and window.finetune_worker is None, APP_TIMEOUT_S,
               "the fine-tune to finish")
    if heartbeat is not None:
        heartbeat.stop()
        inside = [(gap, end) for gap, end in zip(heartbeat.gaps_ms, heartbeat.ticks)
                  if run.started < end <= run.finished + HEARTBEAT_MS / 1e3]
        run.gaps_ms = [gap for gap, _ in inside]
        run.gap_ends = [end for _, end in inside]
    return run


def run_in_window(data_dir: Path, style: str, count: int, seed: int, draws: int,
                  fresh_process: bool) -> tuple[list[AppRun], list[float]]:
    """Return the two in-app fine-tunes and the idle pen-up → prediction times."""
    from PySide6.QtWidgets import QApplication

    from benchmarks.qt_driving import pause, wait_until
    from hwr_app.main_window import MainWindow
    from hwr_app.startup import AppPaths

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory(prefix="hwr-bench-") as folder:
        window = MainWindow(AppPaths(user_dir=Path(folder) / "user", mnist_dir=data_dir), download_mnist=False)
        window.show()
        try:
            wait_until(lambda: window.is_ready() and window.store is not None, 120, "the model and the store")
            for sample in style_samples(style, count, seed):
                window.store.add(sample)
            arrivals: list[float] = []
            window.recognizer.prediction_ready.connect(lambda _: arrivals.append(time.perf_counter()))
            pause(0.3)  # let start-up's last events settle before the heartbeat starts
            cold = start_and_follow(window, AppRun("first fine-tune (loads MNIST), heartbeat only"), Heartbeat())
            if "torchvision" in sys.modules:
                cold.label += (" — it imported torchvision" if fresh_process
                               else " — torchvision was imported before it")
            close_dialogs(window)
            quiet = start_and_follow(window, AppRun("second fine-tune (reference digits ready), heartbeat only"),
                                     Heartbeat())
            close_dialogs(window)
            rng = np.random.default_rng(seed)
            drawings = [jitter(STANDARD[i % 10], rng, 0.5) for i in range(draws)]
            idle = time_predictions(window, drawings, arrivals)
            third = AppRun("third fine-tune, digits drawn meanwhile")
            if window.finetune_flow.refused_on is not None:
                # The second was kept aside, and the window rightly will not repeat a refused fine-tune on the
                # same samples and model: one more sample of the style comes first, as a user would add it.
                window.store.add(style_samples(style, 1, seed + 1)[0])
                third.label += f" ({count + 1} samples: the second was kept aside)"
                third.samples = count + 1
            warm = start_and_follow(window, third, None,
                                    during=lambda running: time_predictions(window, drawings * 20, arrivals,
                                                                            running))
            close_dialogs(window)
        finally:
            window.close()
    return [cold, quiet, warm], idle


# -- the report ----------------------------------------------------------------------------------


def short_outcome(run: AppRun) -> str:
    """Return "accepted", "kept aside", or the whole message of a failure."""
    return run.outcome.split(":")[0] if run.completed else (run.outcome or "no result").replace("|", "/")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.finetune", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder holding MNIST/raw, used only when the package ships no reference digits")
    parser.add_argument("--weights", type=Path, default=default_weights_path(), help="the base checkpoint")
    parser.add_argument("--styles", nargs="+", default=["z-two", "long-flag-one"], choices=sorted(STYLES),
                        help="personal styles to fine-tune on (the first is also used in the window)")
    parser.add_argument("--counts", nargs="+", type=int, default=[20, 200], help="samples per fine-tune")
    parser.add_argument("--new", type=int, default=100, help="new drawings of the style to check on")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training drawings")
    parser.add_argument("--new-seed", type=int, default=10_000, help="seed of the new drawings")
    parser.add_argument("--app-count", type=int, default=20, help="samples in the window's fine-tunes")
    parser.add_argument("--draws", type=int, default=10, help="digits drawn idle (and repeatedly during fine-tune)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads of parts 1 and 3 (0 = the app's model.constants.TORCH_THREADS)")
    parser.add_argument("--spread", type=int, default=0, metavar="N",
                        help="also repeat, N times each: the window's fine-tunes (each in a new window), and the "
                             "headless 20-sample fine-tune on the main thread and on a new thread, alternately "
                             "— how much the figures vary from run to run")
    parser.add_argument("--no-app", action="store_true", help="skip part 2 (the window)")
    parser.add_argument("--no-profile", action="store_true", help="skip part 3 (the profile)")
    parser.add_argument("--quick", action="store_true",
                        help="one style, 20 samples, 3 digits drawn, 30 new drawings: checks that it runs")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    return parser


def headless_lines(args, base: Checkpoint, cache, config: FinetuneConfig, runs: list[HeadlessRun]) -> list[str]:
    gates = ", ".join(f"{g.name} gate = {len(g):,} digits" for g in cache.reference.gates)
    lines = [f"Base model {base.info.version} ({base.config.arch}, `{args.weights.name}`); "
             f"model.personal.finetune defaults: {config.folds} fold models + the final one, {config.steps} steps each of "
             f"{config.user_batch} user + {config.replay_per_class * 10} MNIST replay digits (from a replay pool of "
             f"{len(cache.reference.replay):,}); {gates}. Torch threads: {torch.get_num_threads()}.", "",
             "### Headless: what the fine-tune worker computes", ""]
    rows = []
    for run in runs:
        r = run.result
        pen = (f"{r.before.pen_accuracy:.2%} → {r.after.pen_accuracy:.2%} "
               f"({(r.after.pen_accuracy - r.before.pen_accuracy) * 100:+.2f})") if r.after.pen_accuracy is not None else "–"
        rows.append([run.style, run.count, f"{run.seconds:.2f}" + (" (first: trunk features)" if run.cold else ""),
                     f"{run.training_seconds:.2f}",
                     f"{r.before.mnist_accuracy:.2%} → {r.after.mnist_accuracy:.2%} "
                     f"({(r.after.mnist_accuracy - r.before.mnist_accuracy) * 100:+.2f})", pen,
                     f"{r.before.user_correct} → {r.after.user_correct} of {r.after.user_count}",
                     f"{run.new_before:.0%} → {run.new_after:.0%}", "yes" if r.accepted else "no"])
    lines += markdown_table(["style", "samples", "wall s", "of which before checking s",
                             "MNIST gate before → after (points)", "pen gate before → after (points)",
                             "samples right: base → out of fold", f"{args.new} new drawings right", "accepted"], rows)
    lines += ["", "Wall time = re-rendering the samples + model.personal.finetune.finetune (augmented copies through the "
              "frozen trunk, the fold models and the final model, then the out-of-fold figures and the gates). "
              "The app's worker adds saving the checkpoint (part 2 measures the whole).", ""]
    return lines


def app_lines(args, app_runs: list[AppRun], idle: list[float]) -> list[str]:
    warm = app_runs[-1]
    lines = ["### In the window (offscreen), fine-tune on " f"{args.app_count} `{args.styles[0]}` samples", ""]
    rows = []
    for run in app_runs:
        gaps = percentiles(run.gaps_ms) if run.gaps_ms else None
        worst = int(np.argmax(run.gaps_ms)) if run.gaps_ms else None
        rows.append([run.label, f"{run.seconds:.2f}", f"{(run.first_step or float('nan')) - run.started:.2f}",
                     f"{gaps['p50']:.1f}" if gaps else "–", f"{gaps['p99']:.1f}" if gaps else "–",
                     f"{gaps['max']:.0f} ({run.phase_at(run.gap_ends[worst])})" if gaps else "–",
                     short_outcome(run)])
    lines += markdown_table(["run", "start_finetune → worker finished, s", "to first step, s",
                             f"heartbeat gap p50 ms ({HEARTBEAT_MS} ms timer)", "gap p99 ms",
                             "longest gap ms (when)", "outcome"], rows)
    for run, which in zip(app_runs, ("first", "second")):
        slow = sorted(((gap, run.phase_at(end)) for gap, end in zip(run.gaps_ms, run.gap_ends)
                       if gap > 2 * HEARTBEAT_MS), reverse=True)[:5]
        if slow:
            lines += ["", f"Longest gaps of the {which} run: " + "; ".join(f"{g:.0f} ms in {p}" for g, p in slow) + "."]
    idle_stats, busy_stats = percentiles(idle), percentiles(warm.pen_up_to_prediction_ms)
    lines += ["", "Live recognition in the window: pen-up → prediction shown (recognizer's prediction_ready), "
              "digits drawn with real mouse events:", ""]
    lines += markdown_table(["while", "digits", "p50 ms", "p99 ms", "max ms"],
                            [["nothing else runs", idle_stats["count"], f"{idle_stats['p50']:.1f}",
                              f"{idle_stats['p99']:.1f}", f"{idle_stats['max']:.1f}"],
                             ["a fine-tune runs", busy_stats["count"], f"{busy_stats['p50']:.1f}",
                              f"{busy_stats['p99']:.1f}", f"{busy_stats['max']:.1f}"]])
    return lines + [""]


def target_lines(args, runs: list[HeadlessRun], app_runs: list[AppRun]) -> list[str]:
    lines = ["### Targets", ""]
    for run in runs:
        target = {20: TARGET_SECONDS_20, 200: TARGET_SECONDS_200}.get(run.count)
        if target is not None and not run.cold:
            lines.append(verdict(f"{run.style}, {run.count} samples, wall time (headless, gate included)",
                                 run.seconds, target, "s", digits=2))
    if app_runs:
        for run, which in zip(app_runs, ("first fine-tune", "second, nothing else running", "third, digits drawn")):
            name = f"{args.styles[0]}, {run.samples or args.app_count} samples, wall time in the app ({which})"
            lines.append(verdict(name, run.seconds, TARGET_SECONDS_20, "s", digits=2) if run.completed
                         else f"- {name}: **the fine-tune did not complete** ({run.outcome or 'no result'})")
        gaps = [gaps_around_result(run) for run in app_runs]
        lines.append(verdict("longest event-loop stall while the fine-tunes compute (start → result)",
                             np.nanmax([g[0] for g in gaps]), TARGET_STALL_MS, "ms", digits=0))
        lines.append(verdict("longest event-loop stall while the window takes the result (activating the new model, "
                             "showing the result dialog)", np.nanmax([g[1] for g in gaps]), TARGET_STALL_MS, "ms",
                             digits=0))
    for run in runs:
        r = run.result
        drop = (r.before.mnist_accuracy - r.after.mnist_accuracy) * 100
        lines.append(verdict(f"{run.style} × {run.count}: MNIST gate drop", drop, TARGET_MNIST_DROP_POINTS, "points"))
        if r.after.pen_accuracy is not None:
            lines.append(verdict(f"{run.style} × {run.count}: pen gate drop",
                                 (r.before.pen_accuracy - r.after.pen_accuracy) * 100, TARGET_MNIST_DROP_POINTS,
                                 "points"))
        lines.append(verdict(f"{run.style} × {run.count}: new drawings right after", run.new_after * 100,
                             TARGET_NEW_STYLE * 100, "%", higher_is_better=True, digits=0))
    return lines


def gaps_around_result(run: AppRun) -> tuple[float, float]:
    """Return the longest heartbeat gaps (ms) before the result arrived and while the window took it."""
    computing = [g for g, end in zip(run.gaps_ms, run.gap_ends) if run.result_at is None or end <= run.result_at]
    showing = [g for g, end in zip(run.gaps_ms, run.gap_ends) if run.result_at is not None and end > run.result_at]
    return max(computing or [np.nan]), max(showing or [np.nan])


def spread_lines(args, base: Checkpoint, cache, config: FinetuneConfig) -> list[str]:
    """Repeat the window's fine-tunes and the headless one; return a section of how much they vary."""
    import threading

    windows = []
    for _ in range(args.spread):
        app_runs, _ = run_in_window(args.data_dir, args.styles[0], args.app_count, args.seed, 0, False)
        windows.append(app_runs[:2])  # the first (reading the reference digits) and the second fine-tune
    samples = style_samples(args.styles[0], 20, args.seed)
    timed = {"main thread": [], "a new thread (as the app's worker)": []}
    for _ in range(args.spread):
        timed["main thread"].append(timed_finetune(base, samples, cache, config)[1]["total"])
        out: list[float] = []
        worker = threading.Thread(target=lambda: out.append(timed_finetune(base, samples, cache, config)[1]["total"]))
        worker.start()
        worker.join()
        timed["a new thread (as the app's worker)"].extend(out)
    lines = [f"### Spread over repeated runs (`--spread {args.spread}`)", "",
             f"The window part again, {args.spread} times, each in a new window (its first fine-tune reads the "
             f"reference digits again); longest heartbeat gaps in ms before the result arrived and while the "
             f"window took it (activating the model, showing the dialog):", ""]
    rows = []
    for number, (first, second) in enumerate(windows, 1):
        rows.append([number, *(f"{value:.0f}" for value in gaps_around_result(first)), f"{second.seconds:.2f}",
                     *(f"{value:.0f}" for value in gaps_around_result(second)), short_outcome(second)])
    lines += markdown_table(["window", "first fine-tune: gap computing", "gap taking the result",
                             "second fine-tune s", "gap computing", "gap taking the result", "outcome"], rows)
    lines += ["", f"The headless 20-sample `{args.styles[0]}` fine-tune, {args.spread} times on each thread, "
                  f"alternately (s):", ""]
    lines += markdown_table(["run on", "min", "p50", "max"],
                            [[where, f"{min(values):.2f}", f"{np.median(values):.2f}", f"{max(values):.2f}"]
                             for where, values in timed.items()])
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.styles, args.counts, args.draws, args.new = args.styles[:1], [20], 3, 30
    from model.constants import TORCH_THREADS

    # The window first, while nothing of the fine-tune is imported yet: its first fine-tune then pays
    # what a user's first one pays.
    fresh_process = "torchvision" not in sys.modules
    app_runs, idle = ([], []) if args.no_app else run_in_window(args.data_dir, args.styles[0], args.app_count,
                                                              args.seed, args.draws, fresh_process)

    from hwr_app.finetune_worker import MnistCache
    from model.training.data import MnistUnavailableError
    from model.personal.finetune import FinetuneConfig
    from model.personal.reference import ReferenceFileError

    torch.set_num_threads(args.threads or TORCH_THREADS)
    try:
        cache = MnistCache(args.data_dir, download=False).get()  # the digits the app replays and gates on
    except (MnistUnavailableError, ReferenceFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    base = load_checkpoint(args.weights)
    config = FinetuneConfig()
    runs = []
    for style in args.styles:
        digit, template = STYLES[style]
        new_images = rendered_images([make_sample(digit, s) for s in draw_many(template, args.new, args.new_seed)])
        for count in args.counts:
            run = run_headless(base, cache, style, count, args.seed, new_images, config)
            if run.cold:  # the first one computed the trunk features: measure it warm too
                runs.append(run)
                run = run_headless(base, cache, style, count, args.seed, new_images, config)
            runs.append(run)
            print(f"  {style} × {count}: {run.seconds:.2f} s, accepted={run.result.accepted}, "
                  f"new {run.new_before:.0%} → {run.new_after:.0%}", flush=True)

    lines = headless_lines(args, base, cache, config, runs)
    if app_runs:
        lines += app_lines(args, app_runs, idle)
    if args.spread:
        lines += spread_lines(args, base, cache, config)
    if not args.no_profile:
        lines += ["### Where the time goes", ""] + profile_lines(base, cache, args.styles[0], 20, config)
    lines += target_lines(args, runs, app_runs)
    publish("finetune", "Fine-tuning on personal samples", lines, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
