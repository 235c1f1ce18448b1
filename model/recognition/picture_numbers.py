"""Read a number from a picture: ink components, cut where digits touch, regrouped by recognition.

The picture's ink (dark on light or the reverse, as ``model.recognition.preprocess`` decides) is split into
8-connected components, labelled once over runs of ink and each kept cropped to its box.
Specks (marks much smaller than a digit) are dropped and counted (``NumberReading.dropped``); more
marks than a number may have are refused before any piece is built. A component much wider than the number's height is
probably two or more touching digits, so it is cut at the columns where it holds least ink (the
narrow necks between digits); the cuts are only candidates. The pieces then go through the same
search as strokes (``model.recognition.numbers``): every run of neighbouring pieces is a candidate digit, read
by the network in one batch, and the best grouping wins — which also puts the pieces of a broken
digit (a 5 whose hat came apart, a 4 in two strokes) back together.

A picture read as one digit made of all its ink gets exactly what ``Predictor.predict_file`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from model.files import limits
from model.recognition.numbers import (DEFAULT_CONFIG, NumberReader, NumberReading, Piece, SegmenterConfig,
                                       TooManyPiecesError, network_probabilities)
from model.recognition.preprocess import NothingDrawnError, _ink_map, raster_to_image

INK_LEVEL = 0.25  # ink intensity (0..1, after the paper's tone is removed) that counts as ink
WORK_HEIGHT = 64  # the ink is reduced to about this many pixels high before it is cut up
# Components smaller every way than this many digit heights are dirt, not digits (nor parts of one:
# the hat of a 5 is half a height wide). Measured against the digits' height, not the share of all
# ink, so the digits of a long number are never specks however many there are.
SPECK_SIZE = 0.15
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


def ink_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (row, start, end exclusive) of every horizontal run of ink, in reading order."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    changes = np.diff(padded, axis=1)
    del padded
    opening = changes == 1
    count = int(np.count_nonzero(opening))
    if count > limits.MAX_PICTURE_INK_RUNS:  # before the runs' positions take 24 bytes each
        raise TooManyPiecesError(f"The picture's ink is broken into {count:,} runs of pixels (at most "
                                 f"{limits.MAX_PICTURE_INK_RUNS:,} are read): it is not a number.")
    rows, starts = np.nonzero(opening)
    del opening
    _, ends = np.nonzero(changes == -1)
    # int64 throughout: the keys below multiply rows by the width.
    return rows.astype(np.int64), starts.astype(np.int64), ends.astype(np.int64)


def label_runs(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int) -> tuple[np.ndarray, int]:
    """Return (component index 0..count-1 of each run, count): runs joined 8-connected across rows.

    Vectorised union-find (hook the larger root onto the smaller, then jump pointers), so a picture
    of millions of runs costs a few numpy passes, not a Python loop per run; components come in the
    order of their first run (top to bottom, left to right).
    """
    n = rows.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    stride = width + 2
    start_key, end_key = rows * stride + starts, rows * stride + ends
    # Runs of the next row touching run i (8-connected): start <= end_i and end >= start_i.
    low = np.searchsorted(end_key, (rows + 1) * stride + starts, side="left")
    high = np.searchsorted(start_key, (rows + 1) * stride + ends, side="right")
    counts = np.maximum(high - low, 0)
    total = int(counts.sum())
    first = np.repeat(np.arange(n), counts)
    second = np.repeat(low, counts) + (np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts))
    parent = np.arange(n)
    while first.size:
        a, b = parent[first], parent[second]
        apart = a != b
        if not apart.any():
            break
        first, second, a, b = first[apart], second[apart], a[apart], b[apart]
        np.minimum.at(parent, np.maximum(a, b), np.minimum(a, b))
        while True:  # every run points at its root again
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    roots, component = np.unique(parent, return_inverse=True)
    return component.reshape(-1), int(roots.size)


def ink_components(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """Return (labels, count): 8-connected components of ``ink > INK_LEVEL``, labelled 1..count
    (a picture-sized array; the reader itself keeps each component cropped to its box)."""
    mask = ink > INK_LEVEL
    rows, starts, ends = ink_runs(mask)
    component, count = label_runs(rows, starts, ends, mask.shape[1])
    flat = np.zeros(mask.size + 1, dtype=np.int32)
    width = mask.shape[1]
    flat[rows * width + starts] += (component + 1).astype(np.int32)
    flat[rows * width + ends] -= (component + 1).astype(np.int32)
    return np.cumsum(flat[:-1], dtype=np.int32).reshape(mask.shape), count


def component_boxes(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, component: np.ndarray,
                    count: int) -> np.ndarray:
    """Return (count, 4) int64 boxes x0, y0, x1, y1 (exclusive) of the components."""
    boxes = np.empty((count, 4), dtype=np.int64)
    boxes[:, 0], boxes[:, 1] = np.iinfo(np.int64).max, np.iinfo(np.int64).max
    boxes[:, 2], boxes[:, 3] = -1, -1
    np.minimum.at(boxes[:, 0], component, starts)
    np.minimum.at(boxes[:, 1], component, rows)
    np.maximum.at(boxes[:, 2], component, ends)
    np.maximum.at(boxes[:, 3], component, rows + 1)
    return boxes


def boxes_height(boxes: np.ndarray) -> float:
    """Return :func:`model.recognition.numbers.number_height` of int boxes, vectorised (any count)."""
    if boxes.shape[0] == 0:
        return 1.0
    order = np.argsort(boxes[:, 0], kind="stable")
    x0, x1 = boxes[order, 0], boxes[order, 2]
    reach = np.maximum.accumulate(x1)
    new = np.r_[True, x0[1:] > reach[:-1]]
    cluster_starts = np.flatnonzero(new)
    tops = np.minimum.reduceat(boxes[order, 1], cluster_starts)
    bottoms = np.maximum.reduceat(boxes[order, 3], cluster_starts)
    heights = (bottoms - tops).astype(np.float64)
    heights = heights[heights >= 0.5 * heights.max()]
    height = float(np.median(heights)) if heights.size else 0.0
    return height if height > 0 else max(float((boxes[:, 2] - boxes[:, 0]).max()), 1.0)


@dataclass(frozen=True)
class PicturePiece:
    """A piece of a picture's ink, kept cropped to its box: ``mask`` covers box's pixels only."""

    piece: Piece
    left: int  # the box's corner in the (worked) picture
    top: int
    mask: np.ndarray
    crossed: float  # ink crossed by the cut on its left, in stroke widths


def picture_pieces(ink: np.ndarray) -> tuple[list[PicturePiece], int]:
    """Return (pieces left to right, specks left out): components, wide ones cut along candidate paths.

    Components are labelled once; specks (smaller every way than SPECK_SIZE digit heights) are left
    out; more than MAX_NUMBER_PIECES components, or ink wider than that many digit heights, is
    refused (TooManyPiecesError) before any piece is built. Each piece is kept cropped to its box.
    """
    mask = ink > INK_LEVEL
    rows, starts, ends = ink_runs(mask)
    component, count = label_runs(rows, starts, ends, mask.shape[1])
    if count == 0:
        raise NothingDrawnError()
    boxes = component_boxes(rows, starts, ends, component, count)
    height = boxes_height(boxes)
    sizes = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    kept = np.flatnonzero(sizes >= SPECK_SIZE * height)
    dropped = count - kept.size
    if kept.size == 0:
        raise NothingDrawnError()
    if kept.size > limits.MAX_NUMBER_PIECES:
        raise TooManyPiecesError(f"The picture holds {kept.size:,} separate marks; at most "
                                 f"{limits.MAX_NUMBER_PIECES} are read as one number.")
    height = boxes_height(boxes[kept])
    span = float((boxes[kept, 2] - boxes[kept, 0]).sum())
    if span > limits.MAX_NUMBER_PIECES * height:
        raise TooManyPiecesError(f"The picture's ink is {span / height:,.0f} times as wide as it is high; at most "
                                 f"{limits.MAX_NUMBER_PIECES} digits are read as one number.")
    order = np.argsort(component, kind="stable")
    bounds = np.searchsorted(component[order], np.arange(count + 1))
    pieces: list[PicturePiece] = []
    for index in kept:
        chosen = order[bounds[index]:bounds[index + 1]]
        x0, y0, x1, y1 = (int(v) for v in boxes[index])
        crop = np.zeros((y1 - y0, x1 - x0 + 1), dtype=np.int8)
        crop_rows = rows[chosen] - y0
        np.add.at(crop, (crop_rows, starts[chosen] - x0), 1)
        np.add.at(crop, (crop_rows, ends[chosen] - x0), -1)
        crop = np.cumsum(crop, axis=1)[:, :-1] > 0
        label = int(index) + 1
        cuts = _cuts(crop, (0.0, 0.0, float(x1 - x0), float(y1 - y0)), height)
        x = np.arange(crop.shape[1])[None, :]
        lines = ([np.full(crop.shape[0], -1)] + [path for _, path, _ in cuts]
                 + [np.full(crop.shape[0], crop.shape[1])])
        edges = [x0] + [x0 + column for column, _, _ in cuts] + [x1]
        crossed = [0.0] + [ink_crossed for _, _, ink_crossed in cuts]
        for k in range(len(lines) - 1):
            part = crop if len(lines) == 2 else crop & (x >= lines[k][:, None]) & (x < lines[k + 1][:, None])
            part_rows, part_cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
            if part_rows.size == 0:
                continue
            r0, r1, c0, c1 = int(part_rows[0]), int(part_rows[-1]) + 1, int(part_cols[0]), int(part_cols[-1]) + 1
            box = (float(x0 + c0), float(y0 + r0), float(x0 + c1), float(y0 + r1))
            pieces.append(PicturePiece(Piece(label, edges[k], edges[k + 1], box), x0 + c0, y0 + r0,
                                       part[r0:r1, c0:c1].copy(), crossed[k]))
    pieces.sort(key=lambda item: ((item.piece.box[0] + item.piece.box[2]) / 2, item.piece.stroke))
    return pieces, dropped


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
    pieces, dropped = picture_pieces(ink)
    only_pieces = [item.piece for item in pieces]
    keys = [(piece.stroke, piece.first, piece.end) for piece in only_pieces]

    def render(candidate) -> np.ndarray:
        group = pieces[candidate.first:candidate.end]
        left, top = min(item.left for item in group), min(item.top for item in group)
        right = max(item.left + item.mask.shape[1] for item in group)
        bottom = max(item.top + item.mask.shape[0] for item in group)
        union = np.zeros((bottom - top, right - left), dtype=bool)
        for item in group:
            y, x = item.top - top, item.left - left
            union[y:y + item.mask.shape[0], x:x + item.mask.shape[1]] |= item.mask
        values = np.where(union, ink[top:bottom, left:right], 0.0).astype(np.float32)
        # A blank margin: raster_to_image takes the paper's tone from the border, which must not be ink.
        return raster_to_image(np.pad(values, 2), ink_is_dark=False)

    reading = NumberReader(network, config).read_pieces(only_pieces, keys, render, expected_count,
                                                        cut_costs(only_pieces, [item.crossed for item in pieces]))
    digits = []
    for digit in reading.digits:
        x0, y0, x1, y1 = digit.box  # back to the picture's own pixels
        box = (cols[0] + x0 / scale, rows[0] + y0 / scale, cols[0] + x1 / scale, rows[0] + y1 / scale)
        digits.append(replace(digit, box=tuple(float(v) for v in box)))
    if len(digits) == 1:
        # One digit: read the whole picture exactly as a single digit always was.
        image = raster_to_image(picture)
        digits = [replace(digits[0], probabilities=network_probabilities(network, [image])[0], image=image)]
    return replace(reading, digits=tuple(digits), dropped=dropped)
