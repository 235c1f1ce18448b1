"""Turn strokes or a raster into the 1×28×28 tensor the network reads, the way MNIST was made.

MNIST's digits were produced by fitting the ink into a 20×20 box while keeping the aspect ratio,
with anti-aliasing, and then placing that box in a 28×28 field so that the ink's centre of mass
lands in the centre. This module is the single implementation of that recipe; training,
fine-tuning, the app and the CLI all call it.

Two entry points produce the same kind of 28×28 image (float32, ink = 1.0, background = 0.0):

* :func:`strokes_to_image` renders pen strokes at the target scale with an MNIST-like stroke
  width, whatever the on-screen pen width or digit size was;
* :func:`raster_to_image` takes a grayscale picture of any size and either polarity.

:func:`image_to_tensor` normalises such an image with MNIST's mean and standard deviation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate
from typing import Iterable, Sequence

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

if TYPE_CHECKING:  # torch is loaded only by what feeds torch networks (training, fine-tuning)
    import torch

# Bumped whenever the output of this module changes, so that checkpoints and stored samples can
# tell which recipe produced their images.
PREPROCESS_VERSION = 1

MNIST_MEAN = 0.1307  # mean pixel value of MNIST's training images, ink scaled to [0, 1]
MNIST_STD = 0.3081  # their standard deviation

IMAGE_SIZE = 28  # side of the field the network reads
BOX_SIZE = 20  # side of the box the ink is fitted into
# Pen diameter, in pixels of the 20×20 box, for a pen pressed with average force. MNIST's strokes
# are about 2–3 pixels wide after its size normalisation; 2.4 sits in the middle.
STROKE_WIDTH = 2.4
SUPERSAMPLE = 4  # strokes are drawn this many times larger, then reduced with anti-aliasing
# Pressure changes the width by at most this factor either way; beyond it a tablet's noise
# would turn one digit into several styles.
PRESSURE_WIDTH_RANGE = (0.6, 1.5)


class NothingDrawnError(ValueError):
    """Raised when the input holds no ink at all (an empty canvas or a blank picture)."""

    def __init__(self, message: str = "Nothing drawn: the input holds no ink.") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class StrokePoint:
    """One sampled pen position; ``pressure`` is 1.0 for a mouse, 0..1 for a tablet pen."""

    x: float
    y: float
    pressure: float = 1.0
    t: float = 0.0  # seconds since the stroke began; kept for storage, not used for rendering


Stroke = Sequence[StrokePoint]


def as_points(raw_stroke: Iterable[Sequence[float]]) -> list[StrokePoint]:
    """Return StrokePoints from tuples (x, y), (x, y, pressure) or (x, y, pressure, t)."""
    return [point if isinstance(point, StrokePoint) else StrokePoint(*map(float, point))
            for point in raw_stroke]


def strokes_to_image(strokes: Sequence[Iterable[Sequence[float]]]) -> np.ndarray:
    """Return the 28×28 float image (ink 1.0) that MNIST's recipe makes of these strokes.

    Coordinates may be in any unit and any origin: only their shape matters. The stroke width in
    the result is fixed in the 20×20 box (modulated by pen pressure), so a thin or thick screen pen,
    a tiny or huge digit, or a digit in a corner of the canvas all come out alike.
    """
    strokes_points = [points for points in map(_stroke_array, strokes) if len(points)]
    if not strokes_points:
        raise NothingDrawnError()
    # The rendering is ink already (background exactly 0, strokes drawn at full strength), so it skips
    # the paper estimation a picture needs: same result, a third of the time.
    return _fit_and_centre(_render_strokes(strokes_points))


def _stroke_array(stroke: Iterable[Sequence[float]]) -> np.ndarray:
    """Return a stroke's points as an (n, 3) float64 array of x, y and pressure.

    Points given as tuples of numbers (as the canvas and stroke files give them) are converted by
    numpy in one go; anything else (StrokePoints, a mix of point lengths, values that are not
    finite numbers) goes through :func:`as_points` one point at a time, which also raises for a
    malformed point. Both give the same floats.
    """
    if not isinstance(stroke, (list, tuple)):
        stroke = list(stroke)  # an iterator can be read only once
    try:
        values = np.array(stroke, dtype=np.float64)
    except (TypeError, ValueError):  # StrokePoints, ragged points
        values = None
    if values is None or values.ndim != 2 or not 2 <= values.shape[1] <= 4 or not np.isfinite(values).all():
        return np.array([(p.x, p.y, p.pressure) for p in as_points(stroke)], dtype=np.float64).reshape(-1, 3)
    if values.shape[1] == 2:  # no pressure: a mouse
        return np.column_stack((values, np.ones(len(values))))
    return values[:, :3]


def _render_strokes(strokes_points: list[np.ndarray]) -> np.ndarray:
    """Return a supersampled raster (ink 1.0) of the strokes, the long side spanning the 20-box, cropped.

    ``strokes_points`` holds one (n, 3) array of x, y and pressure per stroke. Pillow draws; the
    coordinates and widths are computed for all points at once, and each run of segments of one
    width is a single polyline call, which Pillow draws segment by segment exactly as separate
    calls would (for widths above 1, which the pen always has).
    """
    points = np.concatenate(strokes_points)
    xy, pressures = points[:, :2], np.ascontiguousarray(points[:, 2])
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    extent = float((hi - lo).max())
    big_box = BOX_SIZE * SUPERSAMPLE
    pen = STROKE_WIDTH * SUPERSAMPLE
    # The pen's width is part of the ink's bounding box, exactly as in the 20×20 fit that follows;
    # a lone dot (extent 0) becomes a disc, which the fit then scales up as MNIST would have.
    scale = (big_box - pen) / extent if extent > 0 else 1.0
    mean_pressure = float(pressures.mean())
    mean_pressure = mean_pressure if mean_pressure > 0 else 1.0

    margin = math.ceil(pen * PRESSURE_WIDTH_RANGE[1]) + 2
    width = math.ceil((hi[0] - lo[0]) * scale) + 2 * margin
    height = math.ceil((hi[1] - lo[1]) * scale) + 2 * margin
    placed = (xy - lo) * scale + margin
    widths = pen * _pressure_factor(pressures, mean_pressure)
    # Each segment is drawn with the mean width of its two ends, each point as a disc of its own width.
    segment_widths = [max(1, round(w)) for w in ((widths[:-1] + widths[1:]) / 2).tolist()]
    radii = (widths / 2)[:, None]
    discs = np.concatenate((placed - radii, placed + radii), axis=1).tolist()  # (x0, y0, x1, y1) boxes
    coordinates = placed.ravel().tolist()  # x0, y0, x1, y1, …: the flat form Pillow takes

    picture = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(picture)
    start = 0
    for end in accumulate(len(stroke) for stroke in strokes_points):
        run = start  # first point of the current run of segments of one width
        for i in range(start + 1, end):  # the segment from point i - 1 to point i
            if i == end - 1 or segment_widths[i] != segment_widths[i - 1]:
                draw.line(coordinates[2 * run:2 * i + 2], fill=255, width=segment_widths[i - 1])
                run = i
        for box in discs[start:end]:  # round caps and joints
            draw.ellipse(box, fill=255)
        start = end
    box = picture.getbbox()  # the ink's bounding box, found in C
    if box is None:
        raise NothingDrawnError()
    left, top, right, bottom = box
    pixels = np.frombuffer(picture.tobytes(), dtype=np.uint8).reshape(height, width)  # see _fit_into_box
    return pixels[top:bottom, left:right] / np.float32(255)  # float32, as ink / 255.0 would be


def _pressure_factor(pressure: np.ndarray, mean_pressure: float) -> np.ndarray:
    """Return the width factors for points' pressures relative to the stroke set's mean."""
    low, high = PRESSURE_WIDTH_RANGE
    return np.clip(pressure / mean_pressure, low, high)


def raster_to_image(raster: np.ndarray | Image.Image, ink_is_dark: bool | None = None) -> np.ndarray:
    """Return the 28×28 float image (ink 1.0) that MNIST's recipe makes of a grayscale picture.

    ``raster`` may be any size, uint8 (0..255) or float (0..1), RGB or gray. The polarity is taken
    from the picture unless ``ink_is_dark`` says it: the paper is the tone of most of the border
    (or, if the border is split evenly, of most of the picture). Ink may touch the edges.
    """
    ink = _ink_map(raster, ink_is_dark)
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    cols = np.flatnonzero(ink.max(axis=0) > 0)
    if rows.size == 0:
        raise NothingDrawnError()
    return _fit_and_centre(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def _fit_and_centre(ink: np.ndarray) -> np.ndarray:
    """Return the 28×28 image of ink cropped to its bounding box: fit into 20×20, centre by mass."""
    return _centre_by_mass(_fit_into_box(ink))


def _ink_map(raster: np.ndarray | Image.Image, ink_is_dark: bool | None) -> np.ndarray:
    """Return the picture as float32 ink intensity in [0, 1], background exactly 0."""
    if isinstance(raster, Image.Image):
        has_alpha = raster.mode in ("RGBA", "LA", "PA") or "transparency" in raster.info
        raster = np.asarray(raster.convert("RGBA" if has_alpha else "L"))
    values = np.asarray(raster)
    if values.size == 0 or values.ndim not in (2, 3):
        raise ValueError(f"Expected a 2-D grayscale or colour picture, got shape {values.shape}.")
    values = values.astype(np.float32)
    if np.issubdtype(np.asarray(raster).dtype, np.integer) or values.max() > 1.0:
        values = values / 255.0
    if values.ndim == 3:
        gray = values[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32) if values.shape[-1] >= 3 \
            else values[..., 0]
        if values.shape[-1] in (2, 4) and values[..., -1].min() < 1.0:
            # Transparent background (as drawing apps export): lay the ink on contrasting paper.
            alpha = values[..., -1]
            opaque = gray[alpha > 0.5]
            paper = 1.0 if opaque.size == 0 or opaque.mean() < 0.5 else 0.0
            gray = gray * alpha + paper * (1 - alpha)
        values = gray
    threshold = _otsu_threshold(values)
    if ink_is_dark is None:
        ink_is_dark = _paper_is_light(values, threshold)
    ink = 1.0 - values if ink_is_dark else values
    threshold = 1.0 - threshold if ink_is_dark else threshold
    # The paper's own tone and its grain are not ink: subtract the paper's level plus a margin for
    # its noise, so a grey or noisy scan neither reads as ink nor stretches the crop. Both are
    # estimated from the whole picture, not its border, because ink may touch every edge.
    background, noise = _paper_level(ink, threshold)
    ink = np.clip(ink - background - noise, 0.0, None)
    peak = float(ink.max())
    return ink / peak if peak > 0 else ink


PAPER_MARGIN = 2  # pixels around the clear ink that may hold its anti-aliased edge: not used to judge the paper
SURE_PAPER_SHARE = 0.25  # below this share of paper far from the ink, the paper is judged by its tone instead


def _otsu_threshold(values: np.ndarray) -> float:
    """Return the grey level (0..1) that best splits the picture into two tones (Otsu's method)."""
    counts, edges = np.histogram(values, bins=256, range=(0.0, 1.0))
    counts = counts.astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(counts)
    mass_below = np.cumsum(counts * centres)
    total, mass = below[-1], mass_below[-1]
    above = total - below
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mass_below * total - mass * below) ** 2 / (below * above)  # ∝ between-class variance
    between[~np.isfinite(between)] = -1.0
    if between.max() <= 0:  # one tone only
        return 1.0
    return float(edges[int(between.argmax()) + 1])


def _paper_is_light(values: np.ndarray, threshold: float) -> bool:
    """Return True if the paper is the lighter tone: the tone of most of the border, else of most pixels.

    The border is mostly paper even when the ink touches the edges (a digit cropped to its ink has
    ink in a few border pixels of each side); a picture whose border is split evenly is decided by
    the whole picture, where the paper is the more common tone.
    """
    border = np.concatenate([values[0], values[-1], values[:, 0], values[:, -1]])
    light_share = float((border > threshold).mean())
    if abs(light_share - 0.5) < 0.1:
        light_share = float((values > threshold).mean())
    return light_share > 0.5


def _paper_level(ink: np.ndarray, threshold: float) -> tuple[float, float]:
    """Return (paper level, noise margin) of an ink-intensity picture (ink high, paper low).

    Both are measured on the pixels that are surely paper: below the two-tone threshold and more
    than PAPER_MARGIN pixels from any pixel above it, so neither the ink nor its anti-aliased edge
    counts, wherever the ink lies (touching the edges, or filling the frame). The margin is six
    times the 90th percentile of the paper's deviation from its level; MNIST's paper gives 0 and 0.
    """
    clear_ink = ink > threshold
    near_ink = clear_ink.copy()
    for axis in (0, 1):  # a square dilation, done as two separable passes
        grown = near_ink.copy()
        for shift in range(1, PAPER_MARGIN + 1):
            grown[(slice(shift, None),) if axis == 0 else (slice(None), slice(shift, None))] |= \
                near_ink[(slice(None, -shift),) if axis == 0 else (slice(None), slice(None, -shift))]
            grown[(slice(None, -shift),) if axis == 0 else (slice(None), slice(None, -shift))] |= \
                near_ink[(slice(shift, None),) if axis == 0 else (slice(None), slice(shift, None))]
        near_ink = grown
    paper = ink[~near_ink]
    if paper.size >= SURE_PAPER_SHARE * ink.size:
        background = float(np.median(paper))
        noise = 6.0 * float(np.percentile(np.abs(paper - background), 90))
    else:
        # Little paper far from the ink (a digit filling its frame), or "ink" everywhere (a blank,
        # grainy scan split in two by the threshold): the paper is the most common tone below the
        # threshold, and its grain is measured on the pixels darker than it, which ink cannot reach.
        below = ink[~clear_ink] if (~clear_ink).any() else ink.ravel()
        counts, edges = np.histogram(below, bins=256, range=(0.0, 1.0))
        mode = int(counts.argmax())
        background = float(np.median(below[(below >= edges[mode]) & (below <= edges[mode + 1])]))
        under = background - below[below <= background]
        sigma = 1.4826 * float(np.median(under)) if under.size else 0.0
        noise = 6.0 * 1.645 * sigma  # the same margin as above, for Gaussian grain of this deviation
    if background + noise >= float(ink.max()):
        return background, noise  # nothing stands out of the paper's grain: a blank page
    # Never lift the cut above the two-tone threshold: what is above it is ink, however grainy the paper.
    return background, min(noise, max(0.0, threshold - background))


def _fit_into_box(ink: np.ndarray) -> np.ndarray:
    """Return the cropped ink resized so its long side is BOX_SIZE, aspect ratio kept."""
    height, width = ink.shape
    scale = BOX_SIZE / max(height, width)
    new_h = max(1, round(height * scale))
    new_w = max(1, round(width * scale))
    if (new_h, new_w) == (height, width):
        return ink
    # PIL's resampling widens its filter when reducing, which is the anti-aliasing MNIST had. The
    # picture goes to PIL and back as raw bytes: Image.fromarray and np.asarray take the array
    # interface's longer road, which costs as much as the resizing on pictures this small.
    pixels = np.ascontiguousarray(ink, dtype=np.float32)
    picture = Image.frombuffer("F", (width, height), pixels, "raw", "F", 0, 1)
    resized = picture.resize((new_w, new_h), Image.Resampling.BILINEAR)
    return np.clip(np.frombuffer(resized.tobytes(), dtype=np.float32).reshape(new_h, new_w), 0.0, 1.0)


def _centre_by_mass(boxed: np.ndarray) -> np.ndarray:
    """Return a 28×28 field with the ink placed so its centre of mass is at the field's centre."""
    height, width = boxed.shape
    total = float(boxed.sum())
    rows, cols = np.arange(height)[:, None], np.arange(width)  # broadcast: the products are (height, width)
    mass_y = float((rows * boxed).sum() / total)
    mass_x = float((cols * boxed).sum() / total)
    centre = IMAGE_SIZE / 2  # MNIST puts the centre of mass at index 14 (its digits: 13.5..14.5)
    # Whole-pixel shifts keep the strokes crisp; clamp so the 20×20 box never leaves the field.
    top = min(max(round(centre - mass_y), 0), IMAGE_SIZE - height)
    left = min(max(round(centre - mass_x), 0), IMAGE_SIZE - width)
    field = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    field[top:top + height, left:left + width] = boxed
    return field


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """Return the normalised (1, 28, 28) float tensor for a 28×28 image with ink 1.0."""
    import torch

    pixels = torch.as_tensor(np.ascontiguousarray(image), dtype=torch.float32)
    if pixels.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"Expected a {IMAGE_SIZE}×{IMAGE_SIZE} image, got {tuple(pixels.shape)}.")
    return ((pixels - MNIST_MEAN) / MNIST_STD).unsqueeze(0)  # (1, 28, 28)


def strokes_to_tensor(strokes: Sequence[Iterable[Sequence[float]]]) -> torch.Tensor:
    """Return the normalised (1, 28, 28) tensor for strokes; raises NothingDrawnError if empty."""
    return image_to_tensor(strokes_to_image(strokes))
