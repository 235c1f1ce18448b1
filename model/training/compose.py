"""Numbers composed from single handwritten digits, for measuring the number reader.

A number is laid out as a person writes one: left to right, each digit scaled to a common height
with some variation, its bottom near a common baseline, and the space before it drawn at random —
sometimes negative, so that neighbouring boxes overlap as they do in real writing. The strokes of
each digit keep their own order, and the digits follow each other in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Layout:
    """How the digits of a composed number vary; lengths are in digit heights."""

    gap_mean: float = 0.22  # mean space between neighbouring boxes
    gap_sd: float = 0.18  # its spread; about one gap in ten is negative (the boxes overlap)
    size_sd: float = 0.08  # relative spread of the digits' heights
    baseline_sd: float = 0.05  # spread of the digits' bottoms around the baseline
    slope_sd: float = 0.03  # spread of the baseline's slope (digit heights per digit)


@dataclass(frozen=True)
class ComposedNumber:
    """A composed number: its strokes in writing order, and which strokes belong to which digit."""

    text: str
    strokes: list[list[tuple[float, ...]]]
    digit_strokes: list[list[int]]  # for each digit, the indices of its strokes
    overlaps: int  # how many neighbouring pairs of boxes overlap


def compose_number(digits: Sequence[Sequence[Sequence[Sequence[float]]]], labels: Sequence[int],
                   rng: np.random.Generator, height: float = 100.0, layout: Layout = Layout()) -> ComposedNumber:
    """Return the digits (each a list of strokes of (x, y, ...) points, y down) written as one number."""
    strokes: list[list[tuple[float, ...]]] = []
    digit_strokes: list[list[int]] = []
    cursor, previous_right, overlaps = 0.0, None, 0
    slope = rng.normal(0, layout.slope_sd)
    for position, drawing in enumerate(digits):
        xy = np.array([(p[0], p[1]) for stroke in drawing for p in stroke if len(stroke)], dtype=np.float64)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        own_height = max(float(hi[1] - lo[1]), 1e-6)
        scale = height * max(0.5, 1.0 + rng.normal(0, layout.size_sd)) / own_height
        width = float(hi[0] - lo[0]) * scale
        left = cursor if previous_right is None else previous_right + height * rng.normal(layout.gap_mean, layout.gap_sd)
        bottom = height * (1.0 + slope * position + rng.normal(0, layout.baseline_sd))
        top = bottom - own_height * scale
        if previous_right is not None and left < previous_right:
            overlaps += 1
        indices = []
        for stroke in drawing:
            if not len(stroke):
                continue
            indices.append(len(strokes))
            strokes.append([(left + (p[0] - lo[0]) * scale, top + (p[1] - lo[1]) * scale, *p[2:]) for p in stroke])
        digit_strokes.append(indices)
        previous_right = left + width
    return ComposedNumber("".join(str(int(d)) for d in labels), strokes, digit_strokes, overlaps)


def compose_picture(images: Sequence[np.ndarray], labels: Sequence[int], rng: np.random.Generator,
                    touching: int = 0, layout: Layout = Layout()) -> tuple[np.ndarray, str]:
    """Return (picture, number): digit pictures (ink high, e.g. MNIST's) laid side by side as one number.

    Each picture is cropped to its ink; ``touching`` neighbouring pairs (chosen at random) are
    pushed together until their ink touches, the others are spaced as ``layout`` says. The result
    is a float picture, ink 1.0 on 0.0, with a margin around the ink.
    """
    crops = []
    for image in images:
        values = np.asarray(image, dtype=np.float32)
        values = values / 255.0 if values.max() > 1.0 else values
        rows, cols = np.flatnonzero(values.max(axis=1) > 0.1), np.flatnonzero(values.max(axis=0) > 0.1)
        crops.append(values[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    height = max(crop.shape[0] for crop in crops)
    pairs = rng.choice(max(len(crops) - 1, 1), size=min(touching, max(len(crops) - 1, 0)), replace=False)
    lefts, x = [], 0
    for index, crop in enumerate(crops):
        if index:
            if index - 1 in pairs:
                x = _touching_left(crops[index - 1], lefts[-1], crop, x_previous_end=x)
            else:
                x = x + int(round(height * max(0.05, rng.normal(layout.gap_mean, layout.gap_sd))))
        lefts.append(x)
        x += crop.shape[1]
    margin = 4
    tops = [margin + int(round((height - crop.shape[0]) + rng.normal(0, layout.baseline_sd * height)))
            for crop in crops]
    top_shift = -min(0, min(tops) - margin)
    picture = np.zeros((max(t + top_shift + c.shape[0] for t, c in zip(tops, crops)) + margin,
                        max(left + c.shape[1] for left, c in zip(lefts, crops)) + 2 * margin), np.float32)
    for left, top, crop in zip(lefts, tops, crops):
        window = picture[top + top_shift:top + top_shift + crop.shape[0], margin + left:margin + left + crop.shape[1]]
        np.maximum(window, crop, out=window)
    return picture, "".join(str(int(label)) for label in labels)


def _touching_left(previous: np.ndarray, previous_left: int, crop: np.ndarray, x_previous_end: int) -> int:
    """Return the left edge that brings ``crop`` against ``previous`` until some ink touches (bottoms aligned)."""
    left = x_previous_end
    for shift in range(0, min(previous.shape[1], crop.shape[1]) // 2):
        candidate = x_previous_end - shift
        overlap = x_previous_end - candidate
        if overlap <= 0:
            continue
        a = previous[-min(previous.shape[0], crop.shape[0]):, previous.shape[1] - overlap - 1:]
        b = crop[-a.shape[0]:, :overlap + 1]
        if ((a > 0.3) & (b > 0.3)).any():
            return candidate
        left = candidate
    return left


def join_neighbours(number: ComposedNumber, rng: np.random.Generator, share: float) -> list[list[tuple[float, ...]]]:
    """Return the number's strokes with the pen kept down between some neighbouring digits.

    For a ``share`` of the neighbouring pairs, the last stroke of a digit and the first stroke of
    the next become one stroke, as in joined (cursive) writing.
    """
    strokes = [list(stroke) for stroke in number.strokes]
    joined: list[list[tuple[float, ...]]] = []
    skip = set()
    for position in range(len(number.digit_strokes) - 1):
        if rng.random() < share:
            last, first = number.digit_strokes[position][-1], number.digit_strokes[position + 1][0]
            if last + 1 == first:  # digits written one after the other
                strokes[first] = strokes[last] + strokes[first]
                skip.add(last)
    for index, stroke in enumerate(strokes):
        if index not in skip:
            joined.append(stroke)
    return joined
