"""strokes_to_image draws exactly what the plain recipe draws: one Pillow call per segment and per dot.

The module computes all coordinates at once, draws each run of segments of one width as a single
polyline, crops with Pillow's bounding box and passes pictures to and from Pillow as raw bytes, all
for speed (benchmarks/latency.py). Stored samples and trained models depend on its images, so
they must stay byte for byte those of the straightforward version below, whatever Pillow does.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.recognition.preprocess import (BOX_SIZE, IMAGE_SIZE, PRESSURE_WIDTH_RANGE, STROKE_WIDTH, SUPERSAMPLE,
                                          StrokePoint, as_points, strokes_to_image)
from model.training.synthetic import STANDARD, STYLES, jitter


def plain_strokes_to_image(strokes) -> np.ndarray:
    """Return the image of the strokes by the recipe, point by point (the module's first version)."""
    strokes = [points for points in (as_points(stroke) for stroke in strokes) if points]
    xy = np.array([(p.x, p.y) for points in strokes for p in points], dtype=np.float64)
    pressures = np.array([p.pressure for points in strokes for p in points])
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    extent = float((hi - lo).max())
    pen = STROKE_WIDTH * SUPERSAMPLE
    scale = (BOX_SIZE * SUPERSAMPLE - pen) / extent if extent > 0 else 1.0
    mean_pressure = float(pressures.mean()) if pressures.mean() > 0 else 1.0
    margin = int(np.ceil(pen * PRESSURE_WIDTH_RANGE[1])) + 2
    picture = Image.new("L", (int(np.ceil((hi[0] - lo[0]) * scale)) + 2 * margin,
                              int(np.ceil((hi[1] - lo[1]) * scale)) + 2 * margin), 0)
    draw = ImageDraw.Draw(picture)
    for points in strokes:
        placed = [((p.x - lo[0]) * scale + margin, (p.y - lo[1]) * scale + margin,
                   pen * float(np.clip(p.pressure / mean_pressure, *PRESSURE_WIDTH_RANGE))) for p in points]
        for (x0, y0, w0), (x1, y1, w1) in zip(placed, placed[1:]):
            draw.line((x0, y0, x1, y1), fill=255, width=max(1, round((w0 + w1) / 2)))
        for x, y, w in placed:
            draw.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=255)
    ink = np.asarray(picture, dtype=np.float32) / 255.0
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    height, width = ink.shape
    fit = BOX_SIZE / max(height, width)
    size = (max(1, round(width * fit)), max(1, round(height * fit)))
    if size != (width, height):
        resized = Image.fromarray(ink, mode="F").resize(size, Image.Resampling.BILINEAR)
        ink = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    height, width = ink.shape
    rows, cols = np.indices(ink.shape)
    total = float(ink.sum())
    top = int(np.clip(round(IMAGE_SIZE / 2 - float((rows * ink).sum() / total)), 0, IMAGE_SIZE - height))
    left = int(np.clip(round(IMAGE_SIZE / 2 - float((cols * ink).sum() / total)), 0, IMAGE_SIZE - width))
    field = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    field[top:top + height, left:left + width] = ink
    return field


def drawings(count: int, seed: int):
    """Yield jittered digits of every style, with pressure as a mouse, a steady pen or a shaky one."""
    rng = np.random.default_rng(seed)
    templates = list(STANDARD.values()) + [strokes for _, strokes in STYLES.values()]
    for i in range(count):
        strokes = jitter(templates[i % len(templates)], rng, amount=rng.uniform(0, 2),
                         canvas_size=rng.uniform(50, 1000))
        if i % 3 == 1:  # a tablet pen: the width changes along the stroke, in runs or point by point
            levels, runs = rng.choice([0.2, 0.5, 1.0, 3.0], size=4), i % 2 == 1
            strokes = [[(x, y, float(levels[4 * k // len(stroke)] if runs else rng.random()), t)
                        for k, (x, y, _, t) in enumerate(stroke)] for stroke in strokes]
        elif i % 3 == 2:  # a mouse: points without pressure
            strokes = [[(x, y) for x, y, *_ in stroke] for stroke in strokes]
        yield strokes


@pytest.mark.parametrize("seed", range(4))
def test_drawn_digits_are_byte_identical_to_the_plain_recipe(seed):
    for strokes in drawings(150, seed):
        assert strokes_to_image(strokes).tobytes() == plain_strokes_to_image(strokes).tobytes()


@pytest.mark.parametrize("strokes", [
    [[(50.0, 80.0)]],
    [[(50.0, 80.0), (50.0, 80.0)], [], [(52.0, 81.0, 0.0)]],
    [[(0, 0), (0, 100)], [(30, 50, 0.1), (70, 50, 2.0), (71, 50, 2.0), (90, 52, 0.5)]],
    [[StrokePoint(1, 2, 0.3), StrokePoint(40, 9, 0.9)], [(3, 4, 0.5, 0.1), (50, 50)]],
    [np.array([[0.0, 0.0], [10.0, 20.5], [30.0, 7.0]])],
], ids=["dot", "dots", "pressure runs", "mixed points", "array"])
def test_unusual_strokes_are_byte_identical_to_the_plain_recipe(strokes):
    assert strokes_to_image(strokes).tobytes() == plain_strokes_to_image(strokes).tobytes()
