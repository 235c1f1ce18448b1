"""Read a number from a picture: ink components, cut where digits touch, regrouped by recognition.

The picture's ink (dark on light or the reverse, as ``model.recognition.preprocess`` decides) is split into
8-connected components. Specks are dropped. A component much wider than the number's height is
probably two or more touching digits, so it is cut at the columns where it holds least ink (the
narrow necks between digits); the cuts are only candidates. The pieces then go through the same
search as strokes (``model.recognition.numbers``): every run of neighbouring pieces is a candidate digit, read
by the network in one batch, and the best grouping wins — which also puts the pieces of a broken
digit (a 5 whose hat came apart, a 4 in two strokes) back together.

A picture read as one digit made of all its ink gets exactly what ``Predictor.predict_file`` gives.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from model.recognition.numbers import (DEFAULT_CONFIG, NumberReader, NumberReading, Piece, SegmenterConfig,
                           network_probabilities, number_height)
from model.recognition.preprocess import NothingDrawnError, _ink_map, raster_to_image

INK_LEVEL = 0.25  # ink intensity (0..1, after the paper's tone is removed) that counts as ink
WORK_HEIGHT = 64  # the ink is reduced to about this many pixels high before it is cut up
SPECK_SHARE = 0.01  # components with less than this share of all ink are dirt, not digits
TOUCHING_FROM = 0.7  # components wider than this many number-heights are cut at candidate columns
CUT_SPACING = 0.28  # candidate cuts at least this many number-heights apart
MAX_CROSSED = 3.0  # a cut path may cross at most this many stroke widths of ink
CUT_COST = 0.3  # charged per stroke crossed when a digit boundary cuts through an ink component
MAX_PIXELS = 40_000_000  # a larger picture is refused before it is read
# Pictures are cut into more, smaller pieces than strokes are: no bonus per digit, and the geometry
# weights chosen on numbers composed from MNIST's training digits (the benchmark reports on its
# test digits), whose digits are fitted into a square box, unlike pen digits.
PICTURE_CONFIG = replace(DEFAULT_CONFIG, digit_bonus=0.0, overlap_penalty=3.0, overlap_floor=0.15,
                         widest=(0.95,) * 10)


def ink_components(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """Return (labels, count): 8-connected components of ``ink > INK_LEVEL``, labelled 1..count.

    Works on runs of ink per row (union-find over runs), which is fast in numpy-less Python because
    a picture of a number has a few runs per row, not thousands of pixels.
    """
    mask = ink > INK_LEVEL
    parent: list[int] = []

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    runs_by_row: list[list[tuple[int, int, int]]] = []  # (start, end exclusive, run id)
    for row in mask:
        padded = np.concatenate(([False], row, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        runs = []
        for start, end in zip(edges[::2], edges[1::2]):
            run_id = len(parent)
            parent.append(run_id)
            runs.append((int(start), int(end), run_id))
        if runs_by_row:
            above = runs_by_row[-1]
            j = 0
            for start, end, run_id in runs:
                while j < len(above) and above[j][1] < start:  # ends left of this run minus one: no contact
                    j += 1
                k = j
                while k < len(above) and above[k][0] <= end:  # 8-connected: touching diagonally counts
                    a, b = find(above[k][2]), find(run_id)
                    if a != b:
                        parent[b] = a
                    k += 1
        runs_by_row.append(runs)
    labels = np.zeros(mask.shape, dtype=np.int32)
    roots: dict[int, int] = {}
    for y, runs in enumerate(runs_by_row):
        for start, end, run_id in runs:
            root = find(run_id)
            labels[y, start:end] = roots.setdefault(root, len(roots) + 1)
    return labels, len(roots)


def picture_pieces(ink: np.ndarray) -> list[tuple[Piece, np.ndarray, float]]:
    """Return (piece, mask, ink crossed by the cut on its left) triples, left to right: components,
    wide ones cut along candidate paths."""
    labels, count = ink_components(ink)
    if count == 0:
        raise NothingDrawnError()
    total = float(ink[labels > 0].sum())
    components = []
    for label in range(1, count + 1):
        mask = labels == label
        if float(ink[mask].sum()) < SPECK_SHARE * total:
            continue
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        components.append((label, mask, (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))))
    height = number_height([box for _, _, box in components])
    pieces = []
    for label, mask, box in components:
        cuts = _cuts(mask, box, height)
        x = np.arange(mask.shape[1])[None, :]
        bounds = [np.full(mask.shape[0], -1)] + [path for _, path, _ in cuts] + [np.full(mask.shape[0], mask.shape[1])]
        edges = [int(box[0])] + [column for column, _, _ in cuts] + [int(box[2])]
        crossed = [0.0] + [ink_crossed for _, _, ink_crossed in cuts]
        for k in range(len(bounds) - 1):
            part = mask & (x >= bounds[k][:, None]) & (x < bounds[k + 1][:, None])
            rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
            if rows.size == 0:
                continue
            piece_box = (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))
            pieces.append((Piece(label, edges[k], edges[k + 1], piece_box), part, crossed[k]))
    pieces.sort(key=lambda item: ((item[0].box[0] + item[0].box[2]) / 2, item[0].stroke))
    return pieces


def _cuts(mask: np.ndarray, box: tuple[float, float, float, float], height: float
          ) -> list[tuple[int, np.ndarray, float]]:
    """Return candidate cuts of a wide component, left to right: (column, path per row, ink crossed).

    Candidate columns are tried every CUT_SPACING digit heights; from each, the top-to-bottom path
    that crosses least ink is kept if it crosses little (a neck where two digits touch, or a gap),
    and paths that found the same neck are kept once.
    """
    left, right = int(box[0]), int(box[2])
    if right - left <= TOUCHING_FROM * height:
        return []
    widths = _run_lengths(mask)
    stroke = float(np.median(widths)) if widths.size else 1.0
    step = max(1, int(round(CUT_SPACING * height / 2)))
    margin = max(2, int(round(0.25 * height)))
    found: list[tuple[int, np.ndarray, float]] = []
    for column in range(left + margin, right - margin + 1, step):
        path = _cut_path(mask, column, height)
        ink = float(mask[np.arange(mask.shape[0]), path].sum()) / max(stroke, 1.0)
        if ink > MAX_CROSSED:
            continue
        column = int(round(np.median(path[mask.any(axis=1)])))
        if found and abs(column - found[-1][0]) < CUT_SPACING * height:
            if ink < found[-1][2]:
                found[-1] = (column, path, ink)
            continue
        found.append((column, path, ink))
    return found


def _run_lengths(mask: np.ndarray) -> np.ndarray:
    """Return the lengths of the horizontal runs of ink (their median is about the stroke width)."""
    padded = np.pad(mask, ((0, 0), (1, 1))).astype(np.int8)
    changes = np.diff(padded, axis=1)
    starts, ends = np.nonzero(changes == 1), np.nonzero(changes == -1)
    return ends[1] - starts[1]


def _cut_path(mask: np.ndarray, column: int, height: float) -> np.ndarray:
    """Return, per row, the column where a top-to-bottom cut near ``column`` crosses least ink.

    Touching digits overlap horizontally, so a straight cut would leave part of one in the other;
    the path may drift one column per row within a band around the candidate column (dynamic
    programming over rows, as in shortest-path segmentation of touching characters).
    """
    band = max(1, int(round(0.25 * height)))
    lo, hi = max(0, column - band), min(mask.shape[1], column + band + 1)
    cost = mask[:, lo:hi].astype(np.float64) + 0.02 * np.abs(np.arange(lo, hi) - column)[None, :]
    total = cost.copy()
    step = np.zeros(cost.shape, dtype=np.int64)
    for y in range(1, cost.shape[0]):
        previous = total[y - 1]
        options = np.stack([np.r_[np.inf, previous[:-1]], previous, np.r_[previous[1:], np.inf]])  # from x-1, x, x+1
        choice = options.argmin(axis=0)
        total[y] += options[choice, np.arange(len(previous))]
        step[y] = choice - 1
    path = np.zeros(cost.shape[0], dtype=np.int64)
    path[-1] = int(total[-1].argmin())
    for y in range(cost.shape[0] - 1, 0, -1):
        path[y - 1] = path[y] + step[y, path[y]]
    return path + lo


def cut_costs(pieces: list[Piece], crossed: list[float]) -> list[float]:
    """Return the cost of a digit boundary before each piece: CUT_COST per stroke width the cut crossed."""
    costs = [0.0] * len(pieces)
    for i in range(1, len(pieces)):
        if pieces[i - 1].stroke == pieces[i].stroke and pieces[i - 1].end == pieces[i].first:
            costs[i] = CUT_COST * crossed[i]
    return costs


def read_picture_number(picture: Image.Image | np.ndarray, network, expected_count: int | None = None,
                        config: SegmenterConfig = PICTURE_CONFIG) -> NumberReading:
    """Return the best reading of a picture of a number (any size, either polarity)."""
    size = picture.size[0] * picture.size[1] if isinstance(picture, Image.Image) else int(np.asarray(picture).size)
    if size > MAX_PIXELS:
        raise ValueError(f"The picture has {size:,} pixels; at most {MAX_PIXELS:,} are read.")
    ink = _ink_map(picture, None)
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    if rows.size == 0:
        raise NothingDrawnError()
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = min(1.0, WORK_HEIGHT / ink.shape[0])
    if scale < 1:  # reduce big scans: components and cuts need only a few dozen pixels per digit
        size_xy = (max(1, round(ink.shape[1] * scale)), WORK_HEIGHT)
        ink = np.asarray(Image.fromarray(ink, mode="F").resize(size_xy, Image.Resampling.BOX), dtype=np.float32)
    pieces = picture_pieces(ink)
    if not pieces:
        raise NothingDrawnError()
    masks = [mask for _, mask, _ in pieces]
    only_pieces = [piece for piece, _, _ in pieces]
    keys = [(piece.stroke, piece.first, piece.end) for piece in only_pieces]

    def render(candidate) -> np.ndarray:
        union = np.logical_or.reduce(masks[candidate.first:candidate.end])
        # A blank margin: raster_to_image takes the paper's tone from the border, which must not be ink.
        return raster_to_image(np.pad(np.where(union, ink, 0.0).astype(np.float32), 2), ink_is_dark=False)

    reading = NumberReader(network, config).read_pieces(only_pieces, keys, render, expected_count,
                                                        cut_costs(only_pieces, [crossed for _, _, crossed in pieces]))
    digits = []
    for digit in reading.digits:
        x0, y0, x1, y1 = digit.box  # back to the picture's own pixels
        box = (cols[0] + x0 / scale, rows[0] + y0 / scale, cols[0] + x1 / scale, rows[0] + y1 / scale)
        digits.append(replace(digit, box=tuple(float(v) for v in box)))
    if len(digits) == 1:
        # One digit: read the whole picture exactly as a single digit always was.
        image = raster_to_image(picture)
        digits = [replace(digits[0], probabilities=network_probabilities(network, [image])[0], image=image)]
    return replace(reading, digits=tuple(digits))
