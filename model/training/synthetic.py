"""Synthetic handwriting: digits as pen strokes, with natural variation and personal styles.

Used by the tests, the benchmarks and the README's figures to draw digits the way a person would
on the canvas (as strokes, not pictures), including styles that MNIST rarely shows, so that the
effect of fine-tuning can be measured on digits the shipped model gets wrong.
"""

from __future__ import annotations

import math
import numpy as np

Polyline = list[tuple[float, float]]  # points in a unit box, y pointing down


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float, n: int = 16) -> Polyline:
    angles = np.linspace(math.radians(start_deg), math.radians(end_deg), n)
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


# Ordinary digits, as most people draw them (strokes in drawing order).
STANDARD: dict[int, list[Polyline]] = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, -90, 270, 28)],
    1: [[(0.52, 0.05), (0.5, 0.5), (0.48, 0.95)]],
    2: [_arc(0.5, 0.3, 0.28, 0.25, 200, 360 + 20, 14) + [(0.2, 0.95), (0.82, 0.95)]],
    3: [_arc(0.48, 0.28, 0.27, 0.23, 200, 450, 14) + _arc(0.48, 0.72, 0.3, 0.24, 270, 500, 14)],
    4: [[(0.6, 0.05), (0.2, 0.62), (0.85, 0.62)], [(0.64, 0.3), (0.64, 0.95)]],
    5: [[(0.78, 0.05), (0.3, 0.05), (0.26, 0.45)] + _arc(0.5, 0.68, 0.3, 0.27, 230, 500, 16)],
    6: [[(0.7, 0.05), (0.45, 0.25), (0.28, 0.55)] + _arc(0.5, 0.72, 0.22, 0.23, 180, 540, 20)],
    7: [[(0.15, 0.08), (0.85, 0.08), (0.42, 0.95)]],
    # a figure-eight as one continuous stroke
    8: [[(0.5 + 0.28 * math.sin(2 * t), 0.5 - 0.45 * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 40)]],
    9: [_arc(0.5, 0.3, 0.26, 0.25, 0, 380, 20) + [(0.75, 0.4), (0.7, 0.95)]],
}

# Personal styles that MNIST seldom shows. Each is (digit, strokes).
STYLES: dict[str, tuple[int, list[Polyline]]] = {
    # A "2" drawn like a Z with a crossbar: the shipped model reads it as a 7.
    "z-two": (2, [[(0.15, 0.08), (0.85, 0.08), (0.15, 0.92), (0.85, 0.92)], [(0.3, 0.5), (0.7, 0.5)]]),
    # A "1" with a long flag and no foot, as taught in much of Europe: read as a 7.
    "long-flag-one": (1, [[(0.05, 0.45), (0.6, 0.05), (0.6, 0.95)]]),
    # Styles the shipped model already reads right, for checking that fine-tuning keeps them.
    "flagged-one": (1, [[(0.2, 0.38), (0.56, 0.05), (0.56, 0.95)], [(0.25, 0.95), (0.85, 0.95)]]),
    "crossed-seven": (7, [[(0.15, 0.2), (0.2, 0.08), (0.85, 0.08), (0.45, 0.95)], [(0.35, 0.52), (0.8, 0.5)]]),
    "closed-four": (4, [[(0.62, 0.95), (0.62, 0.05), (0.15, 0.6), (0.9, 0.6)]]),
    "slashed-zero": (0, [_arc(0.5, 0.5, 0.3, 0.45, -90, 270, 28), [(0.75, 0.1), (0.25, 0.9)]]),
}


def jitter(strokes: list[Polyline], rng: np.random.Generator, amount: float = 1.0,
           canvas_size: float = 360.0) -> list[list[tuple[float, float, float, float]]]:
    """Return strokes as a person would draw them on a canvas: random size, place, slant, wobble.

    Points come back as (x, y, pressure, t) in canvas pixels, as the canvas records them.
    """
    angle = math.radians(rng.normal(0, 5 * amount))
    shear = rng.normal(0, 0.08 * amount)
    scale = canvas_size * rng.uniform(0.45, 0.75)
    aspect = rng.uniform(0.85, 1.15) if amount else 1.0
    offset = rng.uniform(0.02 * canvas_size, canvas_size - 1.2 * scale, size=2)  # anywhere on the canvas
    cos, sin = math.cos(angle), math.sin(angle)
    drawn = []
    for polyline in strokes:
        points = _resample(polyline, 4)
        wobble = rng.normal(0, 0.012 * amount, size=(len(points), 2))
        stroke = []
        for i, ((x, y), (dx, dy)) in enumerate(zip(points, wobble)):
            x, y = x - 0.5 + dx, y - 0.5 + dy
            x += shear * y
            x, y = cos * x - sin * y, sin * x + cos * y
            stroke.append((offset[0] + scale * aspect * (x + 0.5), offset[1] + scale * (y + 0.5), 1.0, 0.01 * i))
        drawn.append(stroke)
    return drawn


def _resample(polyline: Polyline, per_unit_step: int) -> Polyline:
    """Return the polyline with extra points along long segments, as a mouse would report them."""
    points: Polyline = [polyline[0]]
    for (x0, y0), (x1, y1) in zip(polyline, polyline[1:]):
        steps = max(1, int(math.hypot(x1 - x0, y1 - y0) * 10 * per_unit_step / 4))
        points += [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(1, steps + 1)]
    return points


def draw_many(template: list[Polyline], count: int, seed: int, amount: float = 1.0) -> list:
    """Return ``count`` jittered drawings of one template."""
    rng = np.random.default_rng(seed)
    return [jitter(template, rng, amount) for _ in range(count)]

