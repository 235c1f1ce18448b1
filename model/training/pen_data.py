"""Pen-drawn digits for training: stroke-level augmentation and rendering through the canvas path.

UNIPEN's digits are strokes, like the canvas's. They are turned into pictures by
:func:`model.recognition.preprocess.strokes_to_image` — exactly what the app does with a drawing — after
augmentation is applied to the *points* (what really varies between people and input devices):

* an affine change: rotation, slant, aspect ratio (size alone changes nothing: the recipe fits the
  ink into the 20×20 box);
* point jitter (a shaky hand, a noisy digitiser);
* resampling as a mouse reports at different speeds: points kept at random uneven spacing, so
  curves become polygons of a few long segments or stay dense;
* an occasional extra pen lift: one stroke split in two at a random point;
* optionally (``style_probability``, off by default), before all of the above: a 1, 4, 7 or 9 redrawn
  in a random continental style of :mod:`model.training.styles` — a flagged 1 (some with a foot), a
  crossed 7, an open 4, a 9 with a small loop — each time with a freshly drawn writer's style.
  Off, nothing is drawn from the random generator for it, so the renderings stay exactly as before.

Rendering in Python is the costly part (about 1–2 ms a digit), so :func:`render_variants` makes a
fixed number of augmented variants of every digit once, before training, and each epoch picks one
variant per digit (plus the cheap tensor augmentation that MNIST gets). The variants are
deterministic for a seed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from model.training.data import DigitSet
from model.training.styles import STYLED_DIGITS, writer_style
from model.recognition.preprocess import NothingDrawnError, strokes_to_image
from model.training.unipen import PenDigit

Strokes = list[np.ndarray]  # each (N, 2): x, y with y down


@dataclass(frozen=True)
class StrokeAugment:
    """How far each stroke-level effect is pushed; each digit draws its own amounts."""

    rotation_degrees: float = 10.0  # ± rotation
    slant: float = 0.25  # ± horizontal shear (tan of the slant angle)
    aspect_jitter: float = 0.15  # ± stretch of width against height
    jitter: float = 0.012  # point noise, as a fraction of the digit's height (standard deviation)
    resample_probability: float = 0.5  # share of digits resampled like a fast mouse
    resample_keep: tuple[float, float] = (0.15, 0.6)  # share of points such a digit keeps
    pen_lift_probability: float = 0.1  # share of digits given one extra pen lift
    style_probability: float = 0.0  # share of 1s, 4s, 7s and 9s redrawn in a random WriterStyle first (0: off)
    style_digits: tuple[int, ...] = STYLED_DIGITS  # which of them (1: flag and foot, 4: open, 7: bar, 9: loop)
    style_flags: str = "narrow"  # how a 1's flag is drawn (model.training.styles.FLAG_SPREADS)

    def without(self, *parts: str) -> "StrokeAugment":
        """Return this config with the named parts ('affine', 'jitter', 'resample', 'pen_lift') off."""
        values = dict(self.__dict__)
        if "affine" in parts:
            values.update(rotation_degrees=0.0, slant=0.0, aspect_jitter=0.0)
        if "jitter" in parts:
            values.update(jitter=0.0)
        if "resample" in parts:
            values.update(resample_probability=0.0)
        if "pen_lift" in parts:
            values.update(pen_lift_probability=0.0)
        return StrokeAugment(**values)


def as_arrays(strokes: Sequence[Sequence[Sequence[float]]]) -> Strokes:
    """Return each stroke as an (N, 2) float64 array of x, y."""
    return [np.asarray(stroke, dtype=np.float64).reshape(-1, 2)[:, :2] for stroke in strokes if len(stroke)]


def augment_strokes(strokes: Strokes, config: StrokeAugment, rng: np.random.Generator,
                    label: int | None = None) -> Strokes:
    """Return an augmented copy of the strokes (the input is left as it is).

    ``label``: the digit's class; only with it can a 1, 4, 7 or 9 be redrawn in a style
    (``config.style_probability``).
    """
    if config.style_probability and label in config.style_digits and rng.random() < config.style_probability:
        strokes = random_style(rng, config.style_flags).apply(strokes, label, rng)
    points = np.concatenate(strokes)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    height = max(float(np.ptp(points[:, 1])), float(np.ptp(points[:, 0])), 1e-9)

    angle = math.radians(rng.uniform(-config.rotation_degrees, config.rotation_degrees))
    shear = rng.uniform(-config.slant, config.slant)
    aspect = rng.uniform(-config.aspect_jitter, config.aspect_jitter)
    cos, sin = math.cos(angle), math.sin(angle)
    # rotation, then slant (x moves with -y: y grows downwards), then aspect
    matrix = np.array([[1 + aspect, 0.0], [0.0, 1 - aspect]]) @ np.array([[1.0, -shear], [0.0, 1.0]]) \
        @ np.array([[cos, -sin], [sin, cos]])

    result: Strokes = []
    for stroke in strokes:
        moved = (stroke - centre) @ matrix.T
        if config.jitter:
            moved = moved + rng.normal(0.0, config.jitter * height, size=moved.shape)
        result.append(moved)

    if config.resample_probability and rng.random() < config.resample_probability:
        keep = rng.uniform(*config.resample_keep)
        result = [_resample(stroke, keep, rng) for stroke in result]
    if config.pen_lift_probability and rng.random() < config.pen_lift_probability:
        result = _extra_pen_lift(result, rng)
    return result


def random_style(rng: np.random.Generator, flags: str = "narrow"):
    """Return the WriterStyle of a random synthetic writer (model.training.styles.writer_style's ranges)."""
    return writer_style(f"augment/{int(rng.integers(0, 2**63))}", flags)


def _resample(stroke: np.ndarray, keep: float, rng: np.random.Generator) -> np.ndarray:
    """Return the stroke with a random share ``keep`` of its inner points; the ends always stay."""
    if len(stroke) <= 3:
        return stroke
    inner = np.flatnonzero(rng.random(len(stroke) - 2) < keep) + 1
    return stroke[np.concatenate(([0], inner, [len(stroke) - 1]))]


def _extra_pen_lift(strokes: Strokes, rng: np.random.Generator) -> Strokes:
    """Return the strokes with the longest one split in two at a random inner point."""
    longest = max(range(len(strokes)), key=lambda i: len(strokes[i]))
    stroke = strokes[longest]
    if len(stroke) < 6:
        return strokes
    cut = int(rng.integers(2, len(stroke) - 2))
    return strokes[:longest] + [stroke[:cut], stroke[cut:]] + strokes[longest + 1:]


def render(strokes: Strokes) -> np.ndarray:
    """Return the (28, 28) uint8 picture the app would make of these strokes."""
    return np.round(strokes_to_image(strokes) * 255).astype(np.uint8)


def render_variants(digits: Sequence[PenDigit], variants: int, config: StrokeAugment | None, seed: int,
                    log: Callable[[str], None] | None = None) -> torch.Tensor:
    """Return uint8 pictures (variants, N, 28, 28): variant 0 unaugmented, the rest augmented.

    A digit whose augmented strokes leave no ink (impossible for real strokes, but cheap to guard)
    keeps its unaugmented picture.
    """
    rng = np.random.default_rng(seed)
    pictures = np.zeros((variants, len(digits), 28, 28), dtype=np.uint8)
    started = time.perf_counter()
    for n, digit in enumerate(digits):
        strokes = as_arrays(digit.strokes)
        pictures[0, n] = plain = render(strokes)
        for v in range(1, variants):
            try:
                pictures[v, n] = render(augment_strokes(strokes, config, rng, digit.label)) if config else plain
            except NothingDrawnError:
                pictures[v, n] = plain
        if log and (n + 1) % 2000 == 0:
            log(f"  rendered {n + 1:,}/{len(digits):,} pen digits × {variants} "
                f"({time.perf_counter() - started:.0f} s)")
    return torch.from_numpy(pictures)


def pen_digit_set(digits: Sequence[PenDigit]) -> DigitSet:
    """Return the digits rendered once, unaugmented, as a DigitSet (for evaluation)."""
    pictures = render_variants(digits, 1, None, seed=0)[0]
    return DigitSet(pictures, torch.tensor([d.label for d in digits], dtype=torch.long))


@dataclass(frozen=True)
class PenTrainingSet:
    """Rendered variants of the training writers' digits; each epoch draws one variant per digit."""

    variants: torch.Tensor  # (V, N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64

    def epoch(self, generator: torch.Generator) -> DigitSet:
        """Return one picture of every digit, each from a randomly chosen variant."""
        count = self.variants.shape[1]
        choice = torch.randint(0, self.variants.shape[0], (count,), generator=generator)
        return DigitSet(self.variants[choice, torch.arange(count)], self.labels)
