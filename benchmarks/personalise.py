"""Personalisation on real writers: each UNIPEN test writer plays the user, corrects digits, fine-tunes.

    .venv/bin/python -m benchmarks.personalise                  # every test writer, three protocols
    .venv/bin/python -m benchmarks.personalise --quick --no-write   # the five largest writers only

The writers are the UNIPEN *test* writers of the project's writer split (model.training.unipen.writer_split):
never trained on, never used to pick a setting (``--split val`` runs the same on the validation
writers, which is where a setting of model.personal.finetune may be tuned). Each writer's digits, in the order they were written,
are rendered through the canvas pipeline (model.recognition.preprocess.strokes_to_image) and split by a protocol
into *corrections* (the samples the user saves) and *new drawings* (what the user draws afterwards):

* ``k2``, ``k5`` (k per class): the writer's first k digits of each class are the corrections; the
  writer's remaining digits are the new drawings;
* ``corrections`` (corrections only): the model reads the writer's first half; every digit it reads
  wrong is corrected and every fifth one it reads right is confirmed; the second half is the new
  drawings.

A writer is skipped for a protocol when it gives fewer than model.constants.MIN_SAMPLES corrections
(the app cannot fine-tune on fewer) or fewer than ``--min-new`` new drawings. For every other writer the
base model is fine-tuned exactly as the app does it (model.personal.finetune.finetune with its defaults, the
reference digits the app uses) and the new drawings are read before and after. A rejected fine-tune
leaves the base model in charge, so it counts as no change; whether the rejection was right is
judged by what the kept-aside model would have done on the new drawings (right if it would not have
made fewer errors, or if it broke a gate by more than 0.3 points).

A fourth protocol, ``session``, plays the app's real use over a writer's whole file: every digit,
in order, is read by the model in charge; each one read wrong is corrected and every fifth read right
confirmed, and every 10 saved samples (the app's "fine-tune after every 10 corrections") the model in
charge is fine-tuned on all of them, a fine-tune the gate accepts taking charge for the digits after it.
Its errors are counted on the digits after the first fine-tune, against the shipped model's on the same
digits; it has its own table (it has no targets of its own).

Reported per protocol: errors on the new drawings before → after (pooled over writers) and the
relative error reduction, accepted and rejected fine-tunes and how many rejections were right, the
average and worst MNIST and pen gate drops of accepted models, and the wall time of a fine-tune.
Every writer's row is kept, so the spread is visible, not only the mean.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/personalise.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from benchmarks.common import (REPO_ROOT, default_data_dir, default_unipen_dir, markdown_table, percentiles, publish,
                               verdict)
from model.assets import default_weights_path
from model.storage.checkpoint import Checkpoint, load_checkpoint
from model.constants import MIN_SAMPLES

PROTOCOLS = ("k2", "k5", "corrections")
HARD_PROTOCOLS = ("k2", "corrections")
TARGET_REDUCTION = {"k2": 0.50, "k5": 0.70, "corrections": 0.70}  # relative error reduction on new drawings
TARGET_AVERAGE_DROP = 0.1  # points, MNIST and pen gates, average over accepted fine-tunes
TARGET_WORST_DROP = 0.3  # points, always
CONFIRM_EVERY = 5  # corrections-only protocol: every fifth digit read right is confirmed
SESSION_EVERY = 10  # session protocol: a fine-tune after every 10 saved samples, the app's smallest choice


@dataclass
class WriterRun:
    """One writer under one protocol."""

    writer: str
    protocol: str
    corrections: int
    new: int
    errors_before: int  # base model's errors on the new drawings
    errors_kept: int  # errors of the model in charge afterwards (the base model if rejected)
    errors_trained: int  # errors the fine-tuned model makes, accepted or not
    accepted: bool
    reason: str
    mnist_drop: float  # points, base − fine-tuned on the MNIST gate
    pen_drop: float | None  # points, on the pen gate
    seconds: float
    evidence: str = ""  # the gate's paired comparison: fixed/broken samples, loss gain ± its standard error
    right_new: int = 0  # new drawings the base model reads right
    broken_new: int = 0  # of those, the ones the model in charge afterwards reads wrong
    kind: str = ""  # "hard" (picked by the base model's error), "synthetic" (a styled writer) or ""

    @property
    def rejection_right(self) -> bool:
        """A rejection is right when the kept-aside model would not have helped or broke a gate."""
        broke_gate = self.mnist_drop > TARGET_WORST_DROP or (self.pen_drop or 0.0) > TARGET_WORST_DROP
        return self.errors_trained >= self.errors_before or broke_gate


def split_by_protocol(protocol: str, labels: np.ndarray, base_right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (indices of the corrections, indices of the new drawings) of one writer's digits, in order."""
    order = np.arange(len(labels))
    if protocol.startswith("k"):
        k = int(protocol[1:])
        seen: dict[int, int] = {}
        corrections = []
        for index in order:
            label = int(labels[index])
            if seen.get(label, 0) < k:
                corrections.append(index)
                seen[label] = seen.get(label, 0) + 1
        corrections = np.asarray(corrections, dtype=np.int64)
        return corrections, np.setdiff1d(order, corrections)
    half = len(labels) // 2
    corrections, right_seen = [], 0
    for index in order[:half]:
        if not base_right[index]:
            corrections.append(index)
        else:
            right_seen += 1
            if right_seen % CONFIRM_EVERY == 0:
                corrections.append(index)
    return np.asarray(corrections, dtype=np.int64), order[half:]


@torch.inference_mode()
def read_digits(checkpoint: Checkpoint, images: np.ndarray) -> np.ndarray:
    """Return the checkpoint's digit for each (N, 28, 28) picture (ink 1.0), in batch."""
    from model.training.data import normalise

    network = checkpoint.build()
    return network(normalise(torch.as_tensor(images, dtype=torch.float32).unsqueeze(1))).argmax(1).numpy()


def finetune_config(settings: list[str]):
    """Return model.personal.finetune's FinetuneConfig with ``name=value`` settings applied (numbers only)."""
    from dataclasses import fields, replace

    from model.personal.finetune import FinetuneConfig

    config = FinetuneConfig()
    kinds = {f.name: type(getattr(config, f.name)) for f in fields(config)}
    changes = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if kinds.get(name) not in (int, float):
            raise ValueError(f"--set {setting}: FinetuneConfig has no number setting named {name!r}")
        changes[name] = kinds[name](value)
    return replace(config, **changes)


def timed_finetune(base: Checkpoint, writer: str, images: np.ndarray, labels: np.ndarray, chosen, cache, config):
    """Return (model.personal.finetune's result, seconds) of fine-tuning ``base`` on the chosen digits, as the app does."""
    from model.personal.finetune import finetune

    started = time.perf_counter()
    steps = finetune(base, images[chosen], labels[chosen].tolist(), cache, config,
                     sample_keys=[f"{writer}-{i}" for i in chosen])
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            return finished.value, time.perf_counter() - started


def run_writer(base: Checkpoint, cache, writer: str, images: np.ndarray, labels: np.ndarray, protocol: str,
               min_new: int, base_answers: np.ndarray, config=None) -> WriterRun | None:
    """Return one writer's figures under one protocol, or None when the writer gives too few digits."""
    from model.personal.finetune import FinetuneConfig

    config = config or FinetuneConfig()
    corrections, new = split_by_protocol(protocol, labels, base_answers == labels)
    if len(corrections) < MIN_SAMPLES or len(new) < min_new:
        return None
    result, seconds = timed_finetune(base, writer, images, labels, corrections, cache, config)
    errors_before = int((base_answers[new] != labels[new]).sum())
    trained_answers = read_digits(result.checkpoint, images[new])
    errors_trained = int((trained_answers != labels[new]).sum())
    base_right = base_answers[new] == labels[new]
    broken_new = int((base_right & (trained_answers != labels[new])).sum()) if result.accepted else 0
    before, after = result.before, result.after
    pen_drop = None if after.pen_accuracy is None else (before.pen_accuracy - after.pen_accuracy) * 100
    return WriterRun(writer, protocol, len(corrections), len(new), errors_before,
                     errors_trained if result.accepted else errors_before, errors_trained, result.accepted,
                     result.reason, (before.mnist_accuracy - after.mnist_accuracy) * 100, pen_drop, seconds,
                     f"+{result.evidence.fixed}/−{result.evidence.broken}, {result.evidence.loss_gain:+.2f} ± "
                     f"{result.evidence.loss_gain_se:.2f}", int(base_right.sum()), broken_new)


@dataclass
class SessionRun:
    """One writer's whole file under the session protocol."""

    writer: str
    digits: int
    saved: int  # corrections and confirmations saved over the session
    fine_tunes: int
    accepted: int
    counted: int  # digits after the first fine-tune, on which the errors are counted
    errors_base: int  # the shipped model's errors on them
    errors_session: int  # errors of the model in charge at each digit
    mnist_drop: float | None  # points, shipped − final model in charge, on the MNIST gate (None: never changed)
    pen_drop: float | None
    seconds: list[float]


def run_session(base: Checkpoint, cache, writer: str, images: np.ndarray, labels: np.ndarray,
                base_answers: np.ndarray, config=None, every: int = SESSION_EVERY) -> SessionRun | None:
    """Return one writer's session, or None when it never saves enough samples for a fine-tune."""
    from model.personal.finetune import FinetuneConfig

    config = config or FinetuneConfig()
    model, answers = base, base_answers
    saved: list[int] = []
    pending = right_seen = 0
    first_counted = None
    errors_session = fine_tunes = accepted = 0
    seconds: list[float] = []
    first_gates = last_gates = None
    for index in range(len(labels)):
        wrong = answers[index] != labels[index]
        if first_counted is not None:
            errors_session += int(wrong)
        if wrong:
            saved.append(index)
            pending += 1
        else:
            right_seen += 1
            if right_seen % CONFIRM_EVERY == 0:
                saved.append(index)
                pending += 1
        if pending < every or len(saved) < MIN_SAMPLES or index == len(labels) - 1:
            continue
        result, took = timed_finetune(model, writer, images, labels, saved, cache, config)
        seconds.append(took)
        fine_tunes += 1
        pending = 0
        if first_counted is None:
            first_counted = index + 1
            first_gates = (result.before.mnist_accuracy, result.before.pen_accuracy)
        if result.accepted:
            accepted += 1
            model = result.checkpoint
            answers = read_digits(model, images)
            last_gates = (result.after.mnist_accuracy, result.after.pen_accuracy)
    if first_counted is None:
        return None
    counted = len(labels) - first_counted
    errors_base = int((base_answers[first_counted:] != labels[first_counted:]).sum())
    mnist_drop = pen_drop = None
    if last_gates is not None:
        mnist_drop = (first_gates[0] - last_gates[0]) * 100
        if first_gates[1] is not None and last_gates[1] is not None:
            pen_drop = (first_gates[1] - last_gates[1]) * 100
    return SessionRun(writer, len(labels), len(saved), fine_tunes, accepted, counted, errors_base,
                      errors_session, mnist_drop, pen_drop, seconds)


def session_lines(sessions: list[SessionRun], writers: int) -> list[str]:
    """Return the session protocol's section: pooled figures, then every writer that fine-tuned."""
    if not sessions:
        return ["", "### Session protocol", "", "No writer saved enough samples for a fine-tune."]
    before, after = sum(s.errors_base for s in sessions), sum(s.errors_session for s in sessions)
    counted = sum(s.counted for s in sessions)
    changed = [s for s in sessions if s.mnist_drop is not None]
    drops = [s.mnist_drop for s in changed] or [float("nan")]
    pen = [s.pen_drop for s in changed if s.pen_drop is not None] or [float("nan")]
    times = percentiles(t for s in sessions for t in s.seconds)
    lines = ["", "### Session protocol: corrections as they happen, a fine-tune every "
             f"{SESSION_EVERY} saved samples", "",
             f"{len(sessions)} of {writers} writers saved enough samples for at least one fine-tune (the others "
             f"never change model). Errors are counted on each writer's digits after its first fine-tune; drops "
             f"are the shipped model's gate accuracy minus the last model in charge's, in points.", ""]
    lines += markdown_table(["writers", "digits counted", "errors: shipped model → model in charge",
                             "relative error reduction", "fine-tunes accepted / run",
                             "MNIST drop avg / worst", "pen drop avg / worst", "fine-tune s p50 / max"],
                            [[len(sessions), f"{counted:,}", f"{before} → {after}", f"**{reduction(before, after):.0%}**",
                              f"{sum(s.accepted for s in sessions)} / {sum(s.fine_tunes for s in sessions)}",
                              f"{np.mean(drops):.2f} / {np.max(drops):.2f}", f"{np.mean(pen):.2f} / {np.max(pen):.2f}",
                              f"{times['p50']:.2f} / {times['max']:.2f}"]])
    lines += ["", "Every writer with an error or an accepted fine-tune:", ""]
    rows = [[s.writer, s.digits, s.saved, f"{s.accepted} / {s.fine_tunes}", s.counted,
             f"{s.errors_base} → {s.errors_session}", "–" if s.mnist_drop is None else f"{s.mnist_drop:+.2f}",
             "–" if s.pen_drop is None else f"{s.pen_drop:+.2f}"]
            for s in sessions if s.errors_base or s.errors_session or s.accepted]
    lines += markdown_table(["writer", "digits", "saved", "accepted / fine-tunes", "digits counted",
                             "errors: shipped → in charge", "MNIST drop", "pen drop"], rows)
    return lines


def render_writer(digits) -> tuple[np.ndarray, np.ndarray]:
    """Return (images, labels) of a writer's PenDigits (or (strokes, label) pairs), in order, through the canvas pipeline."""
    from model.recognition.preprocess import NothingDrawnError, strokes_to_image

    images, labels = [], []
    for digit in digits:
        strokes, label = (digit.strokes, digit.label) if hasattr(digit, "strokes") else digit
        try:
            images.append(strokes_to_image(strokes))
        except NothingDrawnError:
            continue
        labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def hard_writers(base: Checkpoint, by_writer: dict[str, list], count: int, min_digits: int
                 ) -> tuple[list[str], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Return (the ``count`` writers the base model reads worst, by error rate, among those with at least
    ``min_digits`` digits; their rendered digits). Picked by the base model's figures, never by hand."""
    rendered, rates = {}, {}
    for writer, digits in by_writer.items():
        if len(digits) < min_digits:
            continue
        images, labels = render_writer(digits)
        rendered[writer] = (images, labels)
        rates[writer] = float((read_digits(base, images) != labels).mean())
    hard = sorted(rates, key=lambda w: (-rates[w], w))[:count]
    for writer in hard:
        print(f"  hard writer {writer}: {len(rendered[writer][1])} digits, base error {rates[writer]:.1%}", flush=True)
    return hard, {w: rendered[w] for w in hard}


def synthetic_writers(by_writer: dict[str, list], count: int, digits: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return name → (images, labels) of ``count`` synthetic continental writers: the real strokes of the
    split's writers with the most digits (``digits`` of them, spread over the file in order), drawn in one consistent style each
    (model.training.styles: long-flag 1, crossed 7, open 4, small-loop 9)."""
    from model.training.styles import styled_writer, writer_style

    sources = sorted(by_writer, key=lambda w: (-len(by_writer[w]), w))[:count]
    made = {}
    for source in sources:
        name = f"styled:{source}"
        every = max(1, len(by_writer[source]) // digits)  # spread over the whole file, in the order written
        pairs = [(d.strokes, d.label) for d in by_writer[source][::every][:digits]]
        made[name] = render_writer(styled_writer(name, pairs))
        print(f"  synthetic writer {name}: {len(made[name][1])} digits, {writer_style(name)}", flush=True)
    return made


def hard_lines(runs: list[WriterRun], protocols) -> list[str]:
    """Return the --hard run's per-kind figures and targets (accuracy on new drawings, right ones broken)."""
    lines = ["", "### Hard and synthetic writers", ""]
    rows = []
    for protocol in protocols:
        for kind in ("hard", "synthetic", "all"):
            mine = [r for r in runs if r.protocol == protocol and (kind == "all" or r.kind == kind)]
            if not mine:
                continue
            new, before, after = sum(r.new for r in mine), sum(r.errors_before for r in mine), sum(r.errors_kept for r in mine)
            right, broken = sum(r.right_new for r in mine), sum(r.broken_new for r in mine)
            worst = min(1 - r.errors_kept / r.new for r in mine)
            worst_broken = max(r.broken_new / max(r.right_new, 1) for r in mine)
            rows.append([protocol, kind, len(mine), new, f"{1 - before / new:.1%} → {1 - after / new:.1%}",
                         f"{before} → {after}", f"**{reduction(before, after):.0%}**", f"{worst:.1%}",
                         f"{broken} of {right} (worst writer {worst_broken:.1%})",
                         f"{sum(r.accepted for r in mine)} / {len(mine)}"])
    lines += markdown_table(["protocol", "writers", "n", "new drawings", "accuracy before → after", "errors",
                             "error reduction", "worst writer after", "right ones broken", "accepted"], rows)
    return lines


def summary_rows(runs: list[WriterRun], skipped: dict[str, int]) -> list[list[object]]:
    rows = []
    for protocol in PROTOCOLS:
        mine = [r for r in runs if r.protocol == protocol]
        if not mine:
            continue
        before, after = sum(r.errors_before for r in mine), sum(r.errors_kept for r in mine)
        new = sum(r.new for r in mine)
        accepted = [r for r in mine if r.accepted]
        rejected = [r for r in mine if not r.accepted]
        mnist = [r.mnist_drop for r in accepted] or [float("nan")]
        pen = [r.pen_drop for r in accepted if r.pen_drop is not None] or [float("nan")]
        times = percentiles(r.seconds for r in mine)
        rows.append([protocol, f"{len(mine)} ({skipped.get(protocol, 0)} skipped)",
                     f"{np.mean([r.corrections for r in mine]):.0f}", f"{new:,}",
                     f"{before / new:.2%} → {after / new:.2%} ({before} → {after})",
                     f"**{reduction(before, after):.0%}**",
                     f"{len(accepted)} / {len(rejected)}",
                     f"{sum(r.rejection_right for r in rejected)} of {len(rejected)}",
                     f"{np.mean(mnist):.2f} / {np.max(mnist):.2f}", f"{np.mean(pen):.2f} / {np.max(pen):.2f}",
                     f"{times['p50']:.2f} / {times['max']:.2f}"])
    return rows


def reduction(before: int, after: int) -> float:
    """Return the relative error reduction (1 − after / before); 0 when there were no errors."""
    return 1 - after / before if before else 0.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.personalise", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir(),
                        help="UNIPEN folder ($HWR_UNIPEN_DIR, else ../shared/data/unipen)")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder holding MNIST/raw, used only when the assets hold no reference digits")
    parser.add_argument("--assets", type=Path, default=REPO_ROOT / "assets",
                        help="the folder with the reference digits (mnist_reference.npz, pen_gate.npz)")
    parser.add_argument("--weights", type=Path, default=default_weights_path(), help="the base checkpoint")
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--no-session", action="store_true", help="skip the session protocol")
    parser.add_argument("--split", default="test", choices=("test", "val"),
                        help="whose digits: the test writers (the figure), or the validation writers (for tuning "
                             "a setting: test writers must never be used for that); val writes its own section")
    parser.add_argument("--min-new", type=int, default=10, help="fewest new drawings a writer must leave")
    parser.add_argument("--writers", type=int, default=0, help="only the first N test writers (0 = all)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = the app's TORCH_THREADS)")
    parser.add_argument("--quick", action="store_true", help="only the five writers with the most digits")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument("--hard", action="store_true",
                        help="only the hard writers (picked by the base model's per-writer error) and synthetic "
                             "continental writers (model.training.styles on real strokes), k2 and corrections, no session; "
                             "its own section of BENCHMARKS.md")
    parser.add_argument("--hard-writers", type=int, default=5, help="--hard: how many writers the base reads worst")
    parser.add_argument("--hard-min-digits", type=int, default=30,
                        help="--hard: fewest digits a hard writer must have (k2 needs 20 corrections + new drawings)")
    parser.add_argument("--synthetic", type=int, default=5,
                        help="--hard: synthetic writers, styled from the split's writers with the most digits")
    parser.add_argument("--synthetic-digits", type=int, default=200,
                        help="--hard: N digits of each synthetic writer's source writer, every k-th in order")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a FinetuneConfig setting to try instead of its default (repeatable; implies "
                             "--no-write, so that BENCHMARKS.md only ever shows the defaults)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.hard:  # the hard and synthetic writers: k2 and corrections, no session, a section of its own
        args.no_session = True
        if args.protocols == list(PROTOCOLS):
            args.protocols = list(HARD_PROTOCOLS)
    from model.constants import TORCH_THREADS
    from model.personal.features import FeatureCache
    from model.training.data import MnistUnavailableError
    from model.personal.reference import ReferenceFileError, load_reference
    from model.training.unipen import UnipenUnavailableError, pen_digits

    torch.set_num_threads(args.threads or TORCH_THREADS)
    unipen_dir = args.unipen_dir
    try:
        digits = pen_digits(unipen_dir, args.split)
        cache = FeatureCache(load_reference(args.assets, args.data_dir))
    except (OSError, ValueError, MnistUnavailableError, ReferenceFileError, UnipenUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        config = finetune_config(args.set)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    base = load_checkpoint(args.weights)
    by_writer: dict[str, list] = {}
    for digit in digits:
        by_writer.setdefault(digit.writer, []).append(digit)
    writers = sorted(by_writer)
    kinds: dict[str, str] = {}
    rendered: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if args.hard:  # the writers the base model reads worst, then synthetic continental writers
        hard, rendered = hard_writers(base, by_writer, args.hard_writers, args.hard_min_digits)
        synthetic = synthetic_writers(by_writer, args.synthetic, args.synthetic_digits)
        rendered.update(synthetic)
        writers = hard + sorted(synthetic)
        kinds = {**{w: "hard" for w in hard}, **{w: "synthetic" for w in synthetic}}
    elif args.quick:  # the five writers with the most digits: every protocol has something to measure
        writers = sorted(sorted(writers, key=lambda w: -len(by_writer[w]))[:5])
    elif args.writers:
        writers = writers[:args.writers]

    runs: list[WriterRun] = []
    sessions: list[SessionRun] = []
    skipped: dict[str, int] = {}
    started = time.perf_counter()
    for writer in writers:
        images, labels = rendered[writer] if writer in rendered else render_writer(by_writer[writer])
        base_answers = read_digits(base, images)
        for protocol in args.protocols:
            run = run_writer(base, cache, writer, images, labels, protocol, args.min_new, base_answers, config)
            if run is None:
                skipped[protocol] = skipped.get(protocol, 0) + 1
                continue
            run.kind = kinds.get(writer, "")
            runs.append(run)
            print(f"  {writer} {protocol}: {run.corrections} corrections, errors {run.errors_before} → "
                  f"{run.errors_kept} of {run.new} ({'accepted' if run.accepted else 'rejected'}, "
                  f"trained model {run.errors_trained}; right ones broken {run.broken_new} of {run.right_new}; "
                  f"{run.evidence}), {run.seconds:.1f} s", flush=True)
        session = None if args.no_session else run_session(base, cache, writer, images, labels, base_answers, config)
        if session is not None:
            sessions.append(session)
            print(f"  {writer} session: {session.saved} saved, {session.accepted} of {session.fine_tunes} fine-tunes "
                  f"accepted, errors {session.errors_base} → {session.errors_session} of {session.counted}", flush=True)

    gates = ", ".join(f"{g.name} gate {len(g):,} digits" for g in cache.reference.gates)
    lines = [f"Base model {base.info.version} (`{args.weights.name}`); {len(writers)} UNIPEN {args.split} writers "
             f"({len(digits):,} digits in the {args.split} split); model.personal.finetune "
             f"{', '.join(args.set) if args.set else 'defaults'}; {gates}; torch threads "
             f"{torch.get_num_threads()}; {time.perf_counter() - started:.0f} s in all.", "",
             "Errors are on each writer's new drawings, pooled over writers; after = the model in charge after the "
             "fine-tune (the base model when the gate rejected it). Drops are in points, base − fine-tuned, over "
             "accepted fine-tunes (average / worst).", ""]
    lines += markdown_table(["protocol", "writers", "corrections per writer (mean)", "new drawings",
                             "error before → after", "relative error reduction", "accepted / rejected",
                             "rejections right", "MNIST drop avg / worst", "pen drop avg / worst",
                             "fine-tune s p50 / max"], summary_rows(runs, skipped))
    lines += ["", "### Targets", ""]
    for protocol in args.protocols:
        mine = [r for r in runs if r.protocol == protocol]
        if not mine:
            lines.append(f"- {protocol}: no writer had enough digits")
            continue
        value = reduction(sum(r.errors_before for r in mine), sum(r.errors_kept for r in mine)) * 100
        lines.append(verdict(f"{protocol}: relative error reduction on new drawings", value,
                             TARGET_REDUCTION[protocol] * 100, "%", higher_is_better=True, digits=0))
    accepted = [r for r in runs if r.accepted]
    for name, drops in (("MNIST", [r.mnist_drop for r in accepted]),
                        ("pen", [r.pen_drop for r in accepted if r.pen_drop is not None])):
        if drops:
            lines.append(verdict(f"{name} gate drop, average over accepted fine-tunes", float(np.mean(drops)),
                                 TARGET_AVERAGE_DROP, "points"))
            lines.append(verdict(f"{name} gate drop, worst accepted fine-tune", float(np.max(drops)),
                                 TARGET_WORST_DROP, "points"))
    if not args.no_session:
        lines += session_lines(sessions, len(writers))
    lines += ["", "### Every writer", ""]
    rows = [[r.writer, r.protocol, r.corrections, r.new, f"{r.errors_before} → {r.errors_kept}",
             "yes" if r.accepted else ("no (right)" if r.rejection_right else "no (wrong)"), r.errors_trained,
             r.evidence, f"{r.mnist_drop:+.2f}", "–" if r.pen_drop is None else f"{r.pen_drop:+.2f}",
             f"{r.broken_new} of {r.right_new}", f"{r.seconds:.1f}"] for r in runs]
    lines += markdown_table(["writer", "protocol", "corrections", "new", "errors before → after", "accepted",
                             "errors of the fine-tuned model", "gate evidence: fixed/broken, loss gain ± se",
                             "MNIST drop", "pen drop", "right ones broken", "s"], rows)
    if args.hard:
        lines += hard_lines(runs, args.protocols)
    name, title = (("personalise", "Personalisation on real writers (UNIPEN test writers)") if args.split == "test"
                   else ("personalise-val", "Personalisation on UNIPEN validation writers (for tuning settings)"))
    if args.hard:
        name, title = f"{name}-hard", title.replace("real writers", "hard and continental writers").replace(
            "validation writers", "validation writers' hard and continental writers")
    publish(name, title, lines, write=not (args.no_write or args.set))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
