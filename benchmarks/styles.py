"""Continental digit styles in UNIPEN, found by stroke geometry, and how the shipped model reads them.

    python -m benchmarks.styles --unipen-dir ../shared/data/unipen [--weights PATH] [--baseline PATH] [--no-write]
        [--validation-only] [--flags narrow|writers|mixed]

Groundwork for issue 19. Each style is detected on a digit's *raw strokes* (y down) by a few
explainable rules; H is the digit's height (the y extent of all its ink). A stroke's *arms* are its
two halves either side of its topmost point, each running down from that point. Walking *up* from
a point means following the stroke, in either direction, for as long as it does not go down by
more than 5 % of H; the stem of a 1, 4 or 9 is what that walk covers from the digit's lowest point.

* **1 with a flag** (``flagged-1``): some arm that is not the stem (the stem: the arm reaching the
  bottom 15 % of H with the largest vertical extent) starts in the top 25 % of H, ends below and to
  the left of its start, at least 0.25·H from it, and at least 0.1·H left of the stem (of the stem at
  the height where the flag ends, or of its top if the flag ends above it).
* **1 with flag and foot** (``flagged-footed-1``): a flagged 1 whose ink within the bottom 8 % of H
  reaches at least 0.1·H to the left *and* to the right of the stem's lowest point.
* **crossed 7** (``crossed-7``): a stroke other than the one of largest vertical extent that is
  roughly horizontal (height ≤ 0.6 × width, width ≥ 0.15·H), whose middle lies in the lower 2/3 of the
  digit, and that reaches at least 0.03·H past the main stroke's x on *both* sides at its height.
* **open 4** (``open-4``): the stem is walked up from the lowest point (its top: the highest point
  that walk reaches); the rest of the ink is the left part. The 4 is open when the left part's
  topmost point and the stem's top are at least 0.2·H apart horizontally — the diagonal does not
  meet the stem at the top. An "L + stem" 4 (left vertical, then the bar) meets this rule too.
* **9 with a small loop** (``small-loop-9``): the stem is everything walked up from the lowest
  point (both directions, so a curled tail counts as stem); the rest is the loop. Its height (from
  the top of the digit to the loop's lowest point) is at most 0.35·H.

For every style: digits and writers per split (fixed writer split of model.training.unipen), the
shipped model's accuracy on the style group and on the other digits of the same class, on the
validation and test writers; and the accuracy on *synthetic* renderings: every validation and every
test writer's digits of that class redrawn by model.training.styles with that writer's one fixed style
(``writer_style(writer)``; the flag-and-foot row forces the foot, the flag row leaves it off) — the
validation writers' to choose a model on, the test writers' to report — with the share of the test
writers' the rule above detects as the style (a check of the rules against the transform). With ``--baseline`` every accuracy is given for that model and this one side by side.
Last, without a model, the transforms against the writers: the flags' reach, angle and bow and the small loops'
height of the training writers' real flagged 1s and quick-loop 9s, against their 1s and 9s redrawn in their
styles, the flags in each of model.training.styles.FLAG_SPREADS (:func:`calibration_rows`;
model.training.styles.LOOP_SCALES and the "writers" and "bowed" flag spreads were chosen on it). One grid per
style (up to 40 digits of training writers, spread over the writers, as the network sees them, captioned
label→reading) goes to docs/styles-<name>.png when the section is stored (or to ``--docs-dir`` when given).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from benchmarks.common import REPO_ROOT, default_unipen_dir, markdown_table, publish, repo_relative
from model.training.evaluate import write_captioned_grid
from model.training.styles import FLAG_SPREADS, as_arrays, styled_copies

Strokes = list[np.ndarray]


# -- the rules ----------------------------------------------------------------------------------


def _dense(stroke: np.ndarray, step: float) -> np.ndarray:
    """Return the stroke with points every ``step`` along it (ends kept)."""
    if len(stroke) < 2:
        return stroke
    at = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])
    if at[-1] <= 0:
        return stroke[:1]
    where = np.append(np.arange(0.0, at[-1], step), at[-1])
    return np.stack([np.interp(where, at, stroke[:, 0]), np.interp(where, at, stroke[:, 1])], axis=1)


def _prepared(strokes) -> tuple[Strokes, np.ndarray, np.ndarray, float]:
    """Return the strokes resampled densely (1/100 of the digit's size), its box corners and height."""
    arrays = as_arrays(strokes)
    points = np.concatenate(arrays)
    lo, hi = points.min(0), points.max(0)
    height = float(max(hi[1] - lo[1], 1e-9))
    size = float(max(height, hi[0] - lo[0], 1e-6))
    return [_dense(a, size / 100) for a in arrays], lo, hi, height


def _arms(stroke: np.ndarray) -> list[np.ndarray]:
    """Return the stroke's two halves either side of its topmost point, each starting there."""
    top = int(np.argmin(stroke[:, 1]))
    return [arm for arm in (stroke[:top + 1][::-1], stroke[top:]) if len(arm) >= 2]


def _climbs(stroke: np.ndarray, start: int, height: float) -> tuple[int, int]:
    """Return the highest point's index reached walking up from ``start`` backwards and forwards."""
    tops = []
    for step in (-1, 1):
        at = top = start
        while 0 <= at + step < len(stroke) and stroke[at + step, 1] <= stroke[top, 1] + 0.05 * height:
            at += step
            if stroke[at, 1] < stroke[top, 1]:
                top = at
        tops.append(top)
    return tops[0], tops[1]


def _stem_and_rest(arrays: Strokes, height: float, both: bool) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Return (the stem's points, the stem's top, the other pieces of ink) walking up from the lowest point.

    ``both``: the stem is what both walks cover; else only the walk that reaches higher.
    """
    which = int(np.argmax([a[:, 1].max() for a in arrays]))
    stroke = arrays[which]
    bottom = int(np.argmax(stroke[:, 1]))
    back, forward = _climbs(stroke, bottom, height)
    if not both:
        if stroke[back, 1] < stroke[forward, 1]:
            forward = bottom
        else:
            back = bottom
    stem = stroke[back:forward + 1]
    top = stem[int(np.argmin(stem[:, 1]))]
    rest = [a for i, a in enumerate(arrays) if i != which] + [p for p in (stroke[:back], stroke[forward + 1:]) if len(p)]
    return stem, top, rest


def _flag_and_stem(arrays: Strokes, lo: np.ndarray, hi: np.ndarray, height: float
                   ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Return (the first flag's points from the 1's top, or None; the stem, or None)."""
    arms = [arm for stroke in arrays for arm in _arms(stroke)]
    stems = [arm for arm in arms if arm[:, 1].max() >= hi[1] - 0.15 * height]
    if not stems:
        return None, None
    stem = max(stems, key=lambda arm: float(np.ptp(arm[:, 1])))
    for arm in arms:
        if arm is stem or arm[0, 1] > lo[1] + 0.25 * height:
            continue
        start, end = arm[0], arm[-1]
        left, down = start[0] - end[0], end[1] - start[1]
        if left <= 0 or down < 0 or np.hypot(left, down) < 0.25 * height:
            continue
        if end[1] < stem[0, 1]:
            stem_x = float(stem[0, 0])
        else:
            near = stem[np.abs(stem[:, 1] - end[1]) < 0.04 * height]
            if not len(near):
                continue
            stem_x = float(np.median(near[:, 0]))
        if end[0] <= stem_x - 0.1 * height:
            return arm, stem
    return None, stem


def flag_measures(strokes) -> tuple[float, float, float] | None:
    """Return a flagged 1's flag as (its reach to the left, its drop, each over H; its bow: how far it strays from
    its chord at most, over the chord's length, > 0 below the chord (a flag that sags), < 0 above it (one that
    arches up, as a 7's bar turning down)); None if it has no flag. A flag that arches above the 1's top is
    measured from its own highest point (where the rule splits the stroke), so its reach and bow are understated:
    narrow flags with a bow below about -0.19, and some real ones."""
    arrays, lo, hi, height = _prepared(strokes)
    arm = _flag_and_stem(arrays, lo, hi, height)[0]
    if arm is None:
        return None
    chord = arm[-1] - arm[0]
    off = (arm - arm[0]) @ np.array([chord[1], -chord[0]]) / float(chord @ chord)
    return float(-chord[0] / height), float(chord[1] / height), float(off[int(np.argmax(np.abs(off)))])


def one_flag_and_foot(strokes) -> tuple[bool, bool]:
    """Return (a 1 with a flag, a 1 with a flag and a foot) by the module's rules."""
    arrays, lo, hi, height = _prepared(strokes)
    arm, stem = _flag_and_stem(arrays, lo, hi, height)
    if stem is None:
        return False, False
    flag = arm is not None
    points = np.concatenate(arrays)
    low = points[points[:, 1] >= hi[1] - 0.08 * height]
    foot_at = stem[int(np.argmax(stem[:, 1]))]
    foot = low[:, 0].min() <= foot_at[0] - 0.1 * height and low[:, 0].max() >= foot_at[0] + 0.1 * height
    return flag, flag and bool(foot)


def crossed_seven(strokes) -> bool:
    """Return whether a 7 has a separate, roughly horizontal stroke crossing its stem in the lower 2/3."""
    arrays, lo, hi, height = _prepared(strokes)
    if len(arrays) < 2:
        return False
    main = max(range(len(arrays)), key=lambda i: float(np.ptp(arrays[i][:, 1])))
    for i, stroke in enumerate(arrays):
        if i == main:
            continue
        width, tall = float(np.ptp(stroke[:, 0])), float(np.ptp(stroke[:, 1]))
        middle = (stroke[:, 1].min() + stroke[:, 1].max()) / 2
        if width < 0.15 * height or tall > 0.6 * width or middle < lo[1] + height / 3:
            continue
        near = arrays[main][np.abs(arrays[main][:, 1] - middle) < 0.05 * height]
        if not len(near):
            continue
        stem_x = float(np.median(near[:, 0]))
        if stroke[:, 0].min() <= stem_x - 0.03 * height and stroke[:, 0].max() >= stem_x + 0.03 * height:
            return True
    return False


def open_four(strokes) -> bool:
    """Return whether a 4's left part and stem are ≥ 0.2·H apart horizontally at their tops."""
    arrays, lo, hi, height = _prepared(strokes)
    _, stem_top, rest = _stem_and_rest(arrays, height, both=False)
    if not rest:
        return False
    points = np.concatenate(rest)
    left_top = points[int(np.argmin(points[:, 1]))]
    return abs(float(stem_top[0] - left_top[0])) >= 0.2 * height


def loop_share(strokes) -> float:
    """Return a 9's loop height (digit top to the loop's lowest point) over the digit's height."""
    arrays, lo, hi, height = _prepared(strokes)
    _, _, rest = _stem_and_rest(arrays, height, both=True)
    if not rest:
        return 1.0
    return float((np.concatenate(rest)[:, 1].max() - lo[1]) / height)


def small_loop(share: float) -> bool:
    """Return whether a 9's loop height (loop_share) makes it the quick-loop style: at most 0.35 of H."""
    return share <= 0.35


def small_loop_nine(strokes) -> bool:
    return small_loop(loop_share(strokes))


@dataclass(frozen=True)
class Style:
    name: str
    title: str
    label: int
    detect: Callable[[Sequence], bool]
    foot: bool | None = None  # for the 1s: force the synthetic style's foot on or off

    def among(self, digits: Sequence) -> np.ndarray:
        """Return which of ``digits`` (each with ``label`` and ``strokes``) are written in this style."""
        return np.array([d.label == self.label and bool(self.detect(d.strokes)) for d in digits], dtype=bool)


STYLES = (
    Style("flagged-1", "1 with a flag", 1, lambda s: one_flag_and_foot(s)[0], foot=False),
    Style("flagged-footed-1", "1 with flag and foot", 1, lambda s: one_flag_and_foot(s)[1], foot=True),
    Style("crossed-7", "crossed 7", 7, crossed_seven),
    Style("open-4", "open 4", 4, open_four),
    Style("small-loop-9", "9 with a small loop", 9, small_loop_nine),
)


# -- the measurement ----------------------------------------------------------------------------


def _render(strokes_list: Sequence) -> torch.Tensor:
    from model.training.pen_data import as_arrays as pen_arrays, render

    return torch.from_numpy(np.stack([render(pen_arrays(s)) for s in strokes_list])) if len(strokes_list) \
        else torch.empty(0, 28, 28, dtype=torch.uint8)


def _read(network, pictures: torch.Tensor) -> np.ndarray:
    from model.training.data import DigitSet
    from model.training.evaluate import predict_labels

    if not len(pictures):
        return np.empty(0, dtype=np.int64)
    return predict_labels(network, DigitSet(pictures, torch.zeros(len(pictures), dtype=torch.long))).numpy()


def _accuracy(right: np.ndarray) -> str:
    return f"{right.mean():.2%} ({int((~right).sum())} wrong of {len(right)})" if len(right) else "—"


def _spread(digits: list, limit: int) -> list:
    """Return up to ``limit`` digits taken round-robin over their writers (writers in a fixed hashed order)."""
    by_writer: dict[str, list] = defaultdict(list)
    for digit in digits:
        by_writer[digit.writer].append(digit)
    writers = sorted(by_writer, key=lambda w: hashlib.sha256(w.encode()).hexdigest())
    chosen, round_ = [], 0
    while len(chosen) < limit and any(round_ < len(by_writer[w]) for w in writers):
        chosen += [by_writer[w][round_] for w in writers if round_ < len(by_writer[w])]
        round_ += 1
    return chosen[:limit]


def _cell(values: list[str]) -> str:
    """Return one table cell: a model's figure, or the baseline's and the model's side by side."""
    return " → ".join(values)


def _spread_cell(values: Sequence[float], unit: str = "", below: float | None = None, places: int = 2) -> str:
    """Return 'median [5th–95th percentile] (count)' of ``values`` (and the share below ``below``)."""
    if not len(values):
        return "—"
    low, mid, high = (round(float(v), places) + 0.0 for v in np.quantile(np.asarray(values), [0.05, 0.5, 0.95]))
    share = f"; {np.mean(np.asarray(values) < below):.0%} below {below:g}" if below is not None else ""
    return f"{mid:.{places}f}{unit} [{low:.{places}f}–{high:.{places}f}{unit}] ({len(values)}{share})"


def drawn_shapes(digits: Sequence, flags: str = "narrow"
                 ) -> tuple[list[list[tuple[float, float, float]]], list[list[float]]]:
    """Return ([real flags, redrawn flags], [real loop heights, redrawn loop heights]) of ``digits``' 1s and 9s:
    each flagged 1's (reach, drop, bow) and each quick-loop 9's loop height over H (flag_measures, loop_share), of
    the digits as drawn and of the same digits redrawn each in its writer's style (its flag drawn as ``flags`` says,
    model.training.styles.FLAG_SPREADS), those the rules count as the style. No model is read."""
    real_flags = [f for f in map(flag_measures, (d.strokes for d in digits if d.label == 1)) if f is not None]
    nines = [d for d in digits if d.label == 9]
    redrawn_nines = styled_copies(((d.writer, d.strokes, 9) for d in nines), 9)
    loops = [[v for v in map(loop_share, drawings) if small_loop(v)] for drawings in ([d.strokes for d in nines],
                                                                                       redrawn_nines)]
    return [real_flags, redrawn_flags(digits, flags)], loops


def redrawn_flags(digits: Sequence, flags: str) -> list[tuple[float, float, float]]:
    """Return the (reach, drop, bow) of ``digits``' 1s redrawn each in its writer's style with ``flags``' flag, those
    the flag rule counts as flagged (drawn_shapes' second list of flags)."""
    redrawn = styled_copies(((d.writer, d.strokes, 1) for d in digits if d.label == 1), 1, False, flags)
    return [f for f in map(flag_measures, redrawn) if f is not None]


def calibration_rows(training: Sequence) -> list[list[str]]:
    """Return the shape of the flags and the small loops the training writers drew, against the transform's on
    the same writers' digits (drawn_shapes), one column per flag spread (FLAG_SPREADS; the loops do not depend
    on it, so each column repeats them): is the synthetic style the one people write? No model is read."""
    flags, (real_loops, loops) = drawn_shapes(training, FLAG_SPREADS[0])
    flags += [redrawn_flags(training, spread) for spread in FLAG_SPREADS[1:]]
    loops = [real_loops] + [loops] * len(FLAG_SPREADS)
    return [["1 with a flag: the flag's reach to the left (× H)", *[_spread_cell([f[0] for f in fl]) for fl in flags]],
            ["1 with a flag: the flag's angle below the horizontal",
             *[_spread_cell([float(np.degrees(np.arctan2(f[1], f[0]))) for f in fl], "°", places=0) for fl in flags]],
            ["1 with a flag: the flag's bow off its chord (× chord; < 0 arches up)",
             *[_spread_cell([f[2] for f in fl]) for fl in flags]],
            ["9 with a small loop: the loop's height (× H)", *[_spread_cell(lp, below=0.2) for lp in loops]]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir())
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped model)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkpoint (the model shipped before), read side by side: 'baseline → model'")
    parser.add_argument("--docs-dir", type=Path, default=None,
                        help="where the grids go (default: docs/, and only when the section is stored)")
    parser.add_argument("--grid-size", type=int, default=40, help="digits per style grid")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-write", action="store_true", help="print the section without storing it")
    parser.add_argument("--validation-only", action="store_true",
                        help="read the validation writers alone (the test writers are not even loaded), to choose a "
                             "model on; prints without storing and writes no grid")
    parser.add_argument("--flags", choices=FLAG_SPREADS, default="narrow",
                        help="how the synthetic 1s' flags are drawn (model.training.styles.FLAG_SPREADS); another than "
                             "the default prints the section without storing it")
    args = parser.parse_args(argv)
    from model.assets import default_weights_path
    from model.storage.checkpoint import load_checkpoint
    from model.training.unipen import UnipenUnavailableError, pen_digits

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    store = not (args.no_write or args.validation_only or args.flags != "narrow")  # the section, in BENCHMARKS.md
    write_grids = args.docs_dir is not None or store  # a run that only prints leaves docs/ alone
    docs_dir = args.docs_dir or REPO_ROOT / "docs"
    try:
        read_splits = ("train", "val") if args.validation_only else ("train", "val", "test")
        splits = {split: [d for d in pen_digits(args.unipen_dir, split) if d.label in {s.label for s in STYLES}]
                  for split in read_splits}
    except UnipenUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    weights = args.weights or default_weights_path()
    models = ([args.baseline] if args.baseline else []) + [weights]
    networks = [load_checkpoint(path).build() for path in models]

    found = {split: {style.name: style.among(digits) for style in STYLES} for split, digits in splits.items()}
    judged = read_splits[1:]  # the writers each model is read on
    pictures = {split: _render([d.strokes for d in splits[split]]) for split in judged}
    read = [{split: _read(network, pictures[split]) for split in judged} for network in networks]
    labels = {split: np.array([d.label for d in digits]) for split, digits in splits.items()}

    count_rows, accuracy_rows, synthetic_rows, error_lines = [], [], [], []
    for style in STYLES:
        cells = [style.title]
        for split, digits in splits.items():
            mask = found[split][style.name]
            of_class = int((labels[split] == style.label).sum())
            writers = {d.writer for d, hit in zip(digits, mask) if hit}
            class_writers = {d.writer for d in digits if d.label == style.label}
            cells.append(f"{int(mask.sum())} of {of_class} ({len(writers)} of {len(class_writers)} writers)")
        count_rows.append(cells)

        cells = [style.title]
        for split in judged:
            in_class = labels[split] == style.label
            mask = found[split][style.name]
            rights = [reading[split] == labels[split] for reading in read]
            cells += [_cell([_accuracy(right[mask]) for right in rights]),
                      _cell([_accuracy(right[in_class & ~mask]) for right in rights])]
            wrong = [int(r) for r, m, ok in zip(read[-1][split], mask, rights[-1]) if m and not ok]
            if wrong:
                readings = ", ".join(f"{n}× as {v}" for v, n in sorted(
                    ((v, wrong.count(v)) for v in set(wrong)), key=lambda t: -t[1]))
                error_lines.append(f"- {style.title}, {split}: read {readings}")
        accuracy_rows.append(cells)

        # Synthetic: every validation and test writer's digits of the class, redrawn in that writer's fixed style.
        cells = [style.title]
        for split in judged:
            styled = styled_copies(((d.writer, d.strokes, d.label) for d in splits[split]), style.label, style.foot,
                                   args.flags)
            by_writer = {d.writer for d in splits[split] if d.label == style.label}
            styled_pictures = _render(styled)
            rights = [_read(network, styled_pictures) == style.label for network in networks]
            cells += [f"{len(styled)} ({len(by_writer)} writers)", _cell([_accuracy(right) for right in rights])]
            if split == judged[-1]:  # the rules checked on the test writers' (the validation writers' alone: theirs)
                detected = np.array([style.detect(s) for s in styled], dtype=bool)
                on_detected = _cell([_accuracy(right[detected]) for right in rights])  # those that became the style
        synthetic_rows.append([*cells, f"{detected.mean():.0%}" if len(detected) else "—", on_detected])
        if args.validation_only or not write_grids:
            continue

        # The grid: training writers' digits of the style, as the network sees them.
        shown = _spread([d for d, hit in zip(splits["train"], found["train"][style.name]) if hit], args.grid_size)
        grid = _render([d.strokes for d in shown])
        answers = _read(networks[-1], grid)
        write_captioned_grid(grid, [f"{d.label}->{int(a)}" for d, a in zip(shown, answers)],
                             docs_dir / f"styles-{style.name}.png", tile=84)

    calibration = calibration_rows(splits["train"])
    elapsed = time.perf_counter() - started
    named = lambda path: f"`{repo_relative(path)}`"  # noqa: E731
    writers = {"train": "training", "val": "validation", "test": "test"}
    synthetic_text = (
        "every validation and test writer's digits of the class redrawn by `model.training.styles.styled_copies` in "
        "that writer's fixed style (`writer_style(writer)`; flag row without foot, flag-and-foot row with it); the "
        "validation writers' to choose on, the test writers' to report; \"detected\": the share of the test writers' "
        "the rule above recognises as the style, and the accuracy on those" if not args.validation_only else
        "every validation writer's digits of the class redrawn by `model.training.styles.styled_copies` in that "
        "writer's fixed style (the test writers not read); \"detected\": the share the rule above recognises, and the accuracy on those")
    lines = [
        "Continental digit styles among UNIPEN's writers, detected by stroke geometry on the raw strokes "
        "(rules in `benchmarks/styles.py`'s docstring), and how the model reads them. Grids of "
        "training writers' examples: " + ", ".join(f"[{s.title}](docs/styles-{s.name}.png)" for s in STYLES) + ".",
        "",
        f"Model: {named(weights)}" + (f"; read side by side with {named(args.baseline)} as "
                                      f"'baseline → model'." if args.baseline else "."),
        "",
        "**How many** (digits of the style of all digits of the class; writers with at least one):",
        "",
        *markdown_table(["style", *[f"{writers[split]} writers" for split in read_splits]], count_rows),
        "",
        "**Accuracy**, on the style and on the other digits of the same class:",
        "",
        *markdown_table(["style", *[f"{split}: {what}" for split in judged for what in ("style", "rest of class")]],
                        accuracy_rows),
        "",
        *(["Style digits the model reads wrong:", "", *error_lines, ""] if error_lines else []),
        f"**Synthetic**: {synthetic_text}"
        + ("" if args.flags == "narrow" else f" (the 1s' flags drawn `{args.flags}`: model.training.styles.FLAG_SPREADS)")
        + ". Issue 19's target: ≥ 97 % on each:",
        "",
        *markdown_table(["style", *[f"{writers[split]}: {what}" for split in judged
                                    for what in ("synthetic digits", "accuracy")], f"{writers[judged[-1]]}: detected",
                         f"{writers[judged[-1]]}: accuracy on the detected"],
                        synthetic_rows),
        "",
        "**The transforms against the writers** (no model read): the training writers' real flagged 1s and quick-loop "
        "9s, against the same writers' 1s and 9s redrawn each in its writer's style (those the rule above counts as "
        "the style), the 1s with each way of drawing the flag (`model.training.styles.FLAG_SPREADS`: `narrow`, "
        "0.45–0.65 of the height to the left and 0.3–0.5 down, the shipped recipe's; `writers`, drawn from the "
        "spread of these real flags; `mixed`, half the writers each way; `bowed`, the narrow flags curved as much as "
        "these real flags are); median [5th–95th percentile] (digits):",
        "",
        *markdown_table(["shape", "real (training writers)",
                         *[f"redrawn, flags `{flags}`" for flags in FLAG_SPREADS]], calibration),
        "",
        f"Run time: {elapsed:.0f} s.",
    ]
    publish("styles", "Continental digit styles in UNIPEN (issue 19)", lines,
            write=store)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
