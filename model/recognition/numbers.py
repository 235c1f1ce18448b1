"""Read a whole number from pen strokes: segmentation by recognition, as in a check reader.

No fixed rule ("a gap starts a new digit") decides where one digit ends. Instead, following LeCun,
Bottou, Bengio and Haffner (1998, heuristic over-segmentation and recognition-based segmentation):

1. The ink is cut into *pieces*: every stroke, and optionally a long stroke that runs through two
   digits cut at candidate points (:func:`stroke_pieces`). Pieces are ordered left to right by
   their centre, so a stroke added later to an earlier digit (the bar of a 4 or a 7, the hat of a
   5) sits next to that digit's other strokes whatever the time order was.
2. Every run of up to ``max_group`` neighbouring pieces that is not absurdly wide is a candidate
   digit. All candidates are rendered by the one preprocessing pipeline and read by the network in
   one batch.
3. A reading is a path through the candidates that covers each piece once. Its score is the sum of
   the candidates' log-probabilities plus simple geometric evidence — candidates much narrower or
   shorter than the number's height, wide candidates, horizontal gaps inside a candidate, boxes
   of neighbouring digits that overlap — and the best path is found by dynamic programming (Viterbi),
   for any number of digits or for a given one (``expected_count``, when a correction names it).

A drawing read as one digit made of all its strokes gets exactly the probabilities that
``Predictor.predict_strokes`` gives for the whole drawing: it is the same picture and, read at
batch 1 again, the same arithmetic.

Everything here is plain data in, plain data out; the picture reader (``model.recognition.picture_numbers``)
uses the same search over pieces cut from ink components.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence, Union

import numpy as np

from model.files import limits
from model.files.validate import InvalidInputError
from model.recognition.answer import DigitAnswer, UnusableOutputError
from model.recognition.inference import NumpyNetwork
from model.recognition.preprocess import NothingDrawnError, image_to_tensor, strokes_to_image

if TYPE_CHECKING:
    import torch

Network = Union["torch.nn.Module", NumpyNetwork]  # a torch network, or the same read with numpy (no torch)

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the input's units, y down


@dataclass(frozen=True)
class SegmenterConfig:
    """Weights of the geometric evidence, chosen on UNIPEN's training writers for the shipped
    weights by benchmarks/tune_numbers.py (run it again when the weights change): the most 5-digit
    numbers read right among settings that keep single digits drawn with several strokes reading as
    the network reads them whole. Training writers, 2,524 such single digits and 150 numbers: kept
    97.2 % → 99.4 %, numbers 86.0 % → 90.7 % (bound 94.7 %) when the baseline term, the
    half-height rule of number_height and max_width 2.2 came in; validation writers: numbers 92.0 %
    → 92.7 % (bound 95.3 %), single digits 99.8 % → 100 %."""

    max_group: int = 4  # the most pieces one digit may be made of
    # Candidates wider than this many number-heights are not considered: a 5 whose hat runs far to
    # the right is 1.8 heights wide; at 1.6 it could only be read as "51".
    max_width: float = 2.2
    max_gap: float = 0.45  # nor candidates with a horizontal gap wider than this (number-heights)
    digit_bonus: float = 0.5  # added per digit: balances the sum of log-probabilities, which favours few digits
    short_penalty: float = 6.0  # per number-height a candidate falls short of min_height
    min_height: float = 0.5  # a digit is at least this tall relative to the number
    wide_penalty: float = 6.0  # per number-height a candidate is wider than the widest of its digit
    # The widest each digit is written, in heights: the 95th percentile of width/height of UNIPEN's
    # training writers' digits (0s, 2s and 5s are often wider than tall; 9s and 1s seldom).
    widest: tuple[float, ...] = (1.47, 0.94, 1.42, 1.11, 1.09, 1.46, 1.00, 1.31, 1.10, 0.94)
    gap_penalty: float = 8.0  # per number-height of horizontal gap inside a candidate
    overlap_penalty: float = 1.5  # times (share of the narrower box that a neighbour overlaps) ** overlap_power
    # Overlaps are measured against the narrower box, but at least half a height wide: a thin 1
    # that overlaps its neighbour's edge is not taken for the bar inside a 4.
    overlap_floor: float = 0.5
    overlap_power: float = 1.0
    # Digits of a number stand on one baseline: neighbours whose bottoms differ by more than
    # baseline_tolerance number-heights pay baseline_penalty per height beyond it. The pieces of one
    # digit do not: the bar of an open 4 ends halfway down its stem, the hat of a 5 sits on its body.
    baseline_penalty: float = 16.0
    baseline_tolerance: float = 0.25
    # Cut strokes wider than split_from number-heights at candidate points. Off: benchmarks/number_reading.py
    # measures what it gains on numbers written without lifting the pen (little, so far).
    split_strokes: bool = False
    split_from: float = 1.0
    split_cost: float = 1.0  # charged for a digit boundary inside a stroke
    # A drawing that reads as one digit with confidence, is no wider than that digit is written, and
    # whose would-be digits overlap each other at all (a 4's bar across its stem, a 5's hat over its
    # body; not a 1 written beside a 3) is that digit. benchmarks/pen_window.py, UNIPEN test writers'
    # single digits drawn in the window with the weights shipped 2026-11-30: not shown right 114 without this
    # guard or the baseline term, 108 with the guard, 65 with both (the network alone: 32 wrong).
    one_digit_confidence: float = 0.6
    one_digit_overlap: float = 0.0  # share of the narrower box that neighbouring would-be digits must exceed


DEFAULT_CONFIG = SegmenterConfig()
MAX_PIECES = limits.MAX_NUMBER_PIECES  # more strokes (or picture pieces) than this are not read as one number


NETWORK_BATCH = 256  # candidates read by the network at once


class TooManyPiecesError(InvalidInputError):
    """The drawing or picture has more separate strokes or marks than one number is read from."""


@dataclass(frozen=True)
class Piece:
    """A part of the ink: points first..end (exclusive) of one stroke, or a picture's ink component."""

    stroke: int  # index of the stroke (or component) it comes from
    first: int
    end: int
    box: Box


@dataclass(frozen=True)
class DigitReading(DigitAnswer):
    """One digit of a reading: where its ink is and what the network makes of it."""

    strokes: tuple[int, ...]  # indices of the input strokes (or components) it is made of
    parts: tuple[tuple[int, int, int], ...]  # (stroke, first point, end point) of each piece
    probabilities: np.ndarray  # (10,) float64, sums to 1
    image: np.ndarray  # (28, 28) float32, ink 1.0: what the network read
    box: Box


@dataclass(frozen=True)
class NumberReading:
    """The best reading of a drawing: its digits left to right."""

    digits: tuple[DigitReading, ...]
    score: float  # the path's score (log-probabilities plus geometric evidence)
    expected_count: int | None = None  # the digit count the reading was asked for, if any
    candidates: int = 0  # how many candidate digits were read by the network
    rendered: int = 0  # how many of them had to be rendered (the rest came from the cache)
    dropped: int = 0  # marks of a picture left out as specks (much smaller than its digits)

    @property
    def text(self) -> str:
        """Return the number as a string of digits, e.g. ``"2026"``."""
        return "".join(str(digit.digit) for digit in self.digits)

    def __len__(self) -> int:
        return len(self.digits)


class SegmentationError(ValueError):
    """The ink cannot be read as the number of digits asked for."""


# -- geometry ------------------------------------------------------------------------------------


def stroke_box(points: Sequence[Sequence[float]]) -> Box:
    xy = np.asarray([(p[0], p[1]) for p in points], dtype=np.float64)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def union_box(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def x_clusters(boxes: Sequence[Box]) -> list[list[int]]:
    """Return groups of box indices whose horizontal ranges overlap (chains of overlaps), left to right."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    clusters: list[list[int]] = []
    right = -math.inf
    for i in order:
        if clusters and boxes[i][0] <= right:
            clusters[-1].append(i)
            right = max(right, boxes[i][2])
        else:
            clusters.append([i])
            right = boxes[i][2]
    return clusters


def number_height(boxes: Sequence[Box]) -> float:
    """Return the height of one digit of the number: the median height of its overlap clusters,
    leaving out clusters less than half as tall as the tallest.

    The whole drawing's height would grow with a sloping baseline; a cluster of strokes whose
    ranges overlap is usually one digit (or a few touching ones), whose height is the digit's. A
    small cluster is a piece of a digit that sticks out sideways (the hat of a 5, a 7's bar): counted,
    it would halve the height of a two-stroke 5, and the whole 5 would then be "too wide" to be one
    digit.
    """
    heights = [union_box([boxes[i] for i in cluster])[3] - union_box([boxes[i] for i in cluster])[1]
               for cluster in x_clusters(boxes)]
    heights = [h for h in heights if h >= 0.5 * max(heights)] if heights else []
    widths = [b[2] - b[0] for b in boxes]
    height = float(np.median(heights)) if heights else 0.0
    return height if height > 0 else max(max(widths, default=0.0), 1.0)


def horizontal_gap(boxes: Sequence[Box]) -> float:
    """Return how much of the span of these boxes no box covers horizontally."""
    covered, right = 0.0, -math.inf
    for x0, _, x1, _ in sorted(boxes):
        if x1 <= right:
            continue
        covered += x1 - max(x0, right)
        right = x1
    return (max(b[2] for b in boxes) - min(b[0] for b in boxes)) - covered


def candidate_penalty(box: Box, gap: float, height: float, config: SegmenterConfig) -> float:
    """Return the geometric evidence (≤ 0) against one candidate being a digit, whichever digit."""
    h = (box[3] - box[1]) / height
    return -(config.short_penalty * max(0.0, config.min_height - h) + config.gap_penalty * gap / height)


def width_penalty(box: Box, digit: int, height: float, config: SegmenterConfig) -> float:
    """Return the evidence (≤ 0) against a candidate read as ``digit`` being that wide."""
    return -config.wide_penalty * max(0.0, (box[2] - box[0]) / height - config.widest[digit])


def neighbour_penalty(left: Box, right: Box, height: float, config: SegmenterConfig) -> float:
    """Return the evidence (≤ 0) against two boxes being neighbouring digits: they overlap, or they
    do not stand on one baseline."""
    shift = abs(left[3] - right[3]) / height
    evidence = -config.baseline_penalty * max(0.0, shift - config.baseline_tolerance)
    overlap = left[2] - right[0]
    if overlap <= 0:
        return evidence
    narrower = max(min(left[2] - left[0], right[2] - right[0]), config.overlap_floor * height)
    return evidence - config.overlap_penalty * min(1.0, overlap / narrower) ** config.overlap_power


# -- pieces of strokes ---------------------------------------------------------------------------


def stroke_pieces(strokes: Sequence[Sequence[Sequence[float]]], config: SegmenterConfig) -> list[Piece]:
    """Return the pieces of the strokes, left to right; long strokes cut when the config says so."""
    pieces = [Piece(i, 0, len(stroke), stroke_box(stroke)) for i, stroke in enumerate(strokes) if len(stroke)]
    if not pieces:
        raise NothingDrawnError()
    if config.split_strokes:
        height = number_height([p.box for p in pieces])
        cut = []
        for piece in pieces:
            cut.extend(split_stroke(strokes[piece.stroke], piece.stroke, height, config))
        pieces = cut
    return sorted(pieces, key=lambda p: ((p.box[0] + p.box[2]) / 2, p.stroke, p.first))


def split_stroke(points: Sequence[Sequence[float]], index: int, height: float,
                 config: SegmenterConfig) -> list[Piece]:
    """Return a stroke as one piece, or cut where it is likely to join two digits if it is long.

    A stroke wider than ``split_from`` digit heights is cut at the lowest points of its valleys and
    the highest of its hills (the ligatures of joined writing run along the top or the bottom),
    at least 0.3 digit heights of pen travel apart; the search may glue the pieces back together.
    """
    box = stroke_box(points)
    if (box[2] - box[0]) < config.split_from * height or len(points) < 8:
        return [Piece(index, 0, len(points), box)]
    xy = np.asarray([(p[0], p[1]) for p in points], dtype=np.float64)
    y = xy[:, 1]
    along = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]  # arc length at each point
    spacing = 0.3 * height
    cuts: list[int] = []
    for k in range(2, len(points) - 2):
        extreme = (y[k] >= y[k - 2:k + 3].max()) or (y[k] <= y[k - 2:k + 3].min())
        if not extreme or along[k] < spacing or along[-1] - along[k] < spacing:
            continue
        if cuts and along[k] - along[cuts[-1]] < spacing:
            continue
        cuts.append(k)
    bounds = [0] + cuts + [len(points)]
    return [Piece(index, a, b + 1 if b < len(points) else b, stroke_box(points[a:b + 1]))
            for a, b in zip(bounds, bounds[1:]) if b > a]


# -- the search ----------------------------------------------------------------------------------


@dataclass
class _Candidate:
    first: int  # index of its first piece
    end: int  # one past its last piece
    box: Box
    penalty: float
    log_probability: float = 0.0  # of its most likely digit
    probabilities: np.ndarray | None = None
    image: np.ndarray | None = None


def candidates_for(pieces: Sequence[Piece], height: float, config: SegmenterConfig,
                   relaxed: bool = False) -> list[_Candidate]:
    """Return every run of neighbouring pieces that could be one digit.

    ``relaxed`` drops the width and gap limits (used when a correction names the digit count, so
    that a count the geometry finds unlikely can still be met).
    """
    found = []
    for first in range(len(pieces)):
        for end in range(first + 1, min(len(pieces), first + config.max_group) + 1):
            boxes = [p.box for p in pieces[first:end]]
            box = union_box(boxes)
            gap = horizontal_gap(boxes)
            if end - first > 1 and not relaxed:
                if box[2] - box[0] > config.max_width * height:
                    break  # adding more pieces only widens it
                if gap > config.max_gap * height:
                    continue  # a piece further right may still fill the gap
            if end - first > 1 and not _contiguous(pieces[first:end]):
                continue  # parts of one stroke in one digit must follow each other along the stroke
            found.append(_Candidate(first, end, box, candidate_penalty(box, gap, height, config)))
    return found


def _contiguous(pieces: Sequence[Piece]) -> bool:
    """Return True if the pieces cut from each stroke (or component) join up end to start."""
    by_stroke: dict[int, list[tuple[int, int]]] = {}
    for piece in pieces:
        by_stroke.setdefault(piece.stroke, []).append((piece.first, piece.end))
    for ranges in by_stroke.values():
        ranges.sort()
        if any(later[0] > earlier[1] for earlier, later in zip(ranges, ranges[1:])):
            return False
    return True


def best_path(candidates: Sequence[_Candidate], piece_count: int, height: float, config: SegmenterConfig,
              expected_count: int | None = None, cut_costs: Sequence[float] | None = None
              ) -> tuple[float, list[_Candidate]]:
    """Return (score, candidates left to right) of the best reading covering every piece once.

    ``cut_costs[i]`` (≥ 0) is charged when a digit ends right before piece i: the price of cutting
    through ink there (pieces of one stroke or one ink component); 0 between separate strokes.

    Viterbi over states (last candidate, digits so far); the neighbour term needs the previous
    candidate, which is why the state is a candidate rather than a position.
    """
    ending_at: dict[int, list[int]] = {}
    for index, candidate in enumerate(candidates):
        ending_at.setdefault(candidate.end, []).append(index)
    local = [c.log_probability + c.penalty + config.digit_bonus for c in candidates]
    # best[index][count] = (score, previous index or -1) for paths whose last digit is candidate `index`
    best: list[dict[int, tuple[float, int]]] = [dict() for _ in candidates]
    order = sorted(range(len(candidates)), key=lambda i: candidates[i].end)
    for index in order:
        candidate = candidates[index]
        if candidate.first == 0:
            best[index][1] = (local[index], -1)
            continue
        for previous in ending_at.get(candidate.first, ()):
            link = local[index] + neighbour_penalty(candidates[previous].box, candidate.box, height, config)
            if cut_costs is not None:
                link -= cut_costs[candidate.first]
            for count, (score, _) in best[previous].items():
                total = score + link
                if expected_count is not None and count + 1 > expected_count:
                    continue
                if total > best[index].get(count + 1, (-math.inf, 0))[0]:
                    best[index][count + 1] = (total, previous)
    finals = [(score, index, count) for index in ending_at.get(piece_count, ())
              for count, (score, _) in best[index].items() if expected_count in (None, count)]
    if not finals:
        raise SegmentationError(f"The drawing cannot be read as {expected_count} digits.")
    score, index, count = max(finals)
    path = []
    while index >= 0:
        path.append(candidates[index])
        index = best[index][count][1]
        count -= 1
    return score, path[::-1]


# -- reading with a network ----------------------------------------------------------------------


def network_probabilities(network: Network, images: Sequence[np.ndarray]) -> np.ndarray:
    """Return (N, 10) float64 probabilities for 28×28 images (ink 1.0), a batch at a time."""
    parts = []
    if isinstance(network, NumpyNetwork):  # no torch: the app's and the command line's reading path
        for start in range(0, len(images), NETWORK_BATCH):
            parts.append(network.probabilities(np.stack(images[start:start + NETWORK_BATCH])))
    else:
        import torch

        with torch.inference_mode():
            for start in range(0, len(images), NETWORK_BATCH):  # bounded activations: 2,000 candidates take 0.6 GB
                batch = torch.stack([image_to_tensor(image) for image in images[start:start + NETWORK_BATCH]])
                parts.append(torch.softmax(network(batch), 1).numpy().astype(np.float64))
    probabilities = np.concatenate(parts) if parts else np.zeros((0, 10))
    if not np.isfinite(probabilities).all():  # finite weights can still overflow: never show a NaN
        raise UnusableOutputError("The model gave no usable answer (its output is not a number); "
                                  "use another model version.")
    return probabilities


class NumberReader:
    """Reads numbers with one network, remembering what it read of each group of pieces.

    While a number is being written, most candidates of one reading come back in the next (only
    those with the new stroke are new), so each rendering and its probabilities are kept in a
    bounded cache keyed by the pieces' content. Use an instance from one thread at a time.
    """

    def __init__(self, network: Network, config: SegmenterConfig = DEFAULT_CONFIG,
                 cache_size: int = 2048) -> None:
        self.network = network
        self.config = config
        self._cache: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_size = cache_size

    def read(self, strokes: Sequence[Sequence[Sequence[float]]], expected_count: int | None = None) -> NumberReading:
        """Return the best reading of the strokes (points (x, y[, pressure, t])).

        Raises NothingDrawnError for no ink, SegmentationError if ``expected_count`` cannot be met.
        """
        if expected_count is not None and expected_count < 1:
            raise ValueError(f"A number has at least one digit, not {expected_count}.")
        pieces = stroke_pieces(strokes, self.config)
        keys = [_piece_key(strokes[p.stroke], p) for p in pieces]

        def render(candidate: _Candidate) -> np.ndarray:
            return strokes_to_image([strokes[p.stroke][p.first:p.end] for p in pieces[candidate.first:candidate.end]])

        costs = [0.0] + [self.config.split_cost if (a.stroke, a.end - 1) == (b.stroke, b.first) else 0.0
                         for a, b in zip(pieces, pieces[1:])]
        return self.read_pieces(pieces, keys, render, expected_count, costs)

    def read_pieces(self, pieces: Sequence[Piece], keys: Sequence[tuple], render: Callable[[_Candidate], np.ndarray],
                    expected_count: int | None = None, cut_costs: Sequence[float] | None = None) -> NumberReading:
        """Return the best reading of pieces (ordered left to right) of any kind of ink.

        ``keys[i]`` identifies piece i's content for the cache; ``render`` returns the 28×28 image of
        a candidate (its pieces are ``pieces[candidate.first:candidate.end]``); ``cut_costs`` as in
        :func:`best_path`.
        """
        config = self.config
        if len(pieces) > MAX_PIECES:
            raise TooManyPiecesError(f"The drawing has {len(pieces)} strokes or pieces of ink; at most {MAX_PIECES} "
                                     f"are read as one number.")
        height = number_height([p.box for p in pieces])
        if expected_count is not None and expected_count > len(pieces):
            pieces_of_ink = "one piece of ink" if len(pieces) == 1 else f"{len(pieces)} separate pieces of ink"
            raise SegmentationError(f"The drawing has {pieces_of_ink}; it cannot be read as {expected_count} digits.")
        candidates = candidates_for(pieces, height, config)
        rendered = self._read_candidates(candidates, keys, render, height)
        try:
            score, path = best_path(candidates, len(pieces), height, config, expected_count, cut_costs)
        except SegmentationError:
            if expected_count is None:
                raise
            # The count asked for needs a candidate the geometry ruled out (two digits written as
            # one wide blob, say): lift the limits and search again.
            candidates = candidates_for(pieces, height, config, relaxed=True)
            rendered += self._read_candidates(candidates, keys, render, height)
            score, path = best_path(candidates, len(pieces), height, config, expected_count, cut_costs)
        if expected_count is None and len(path) > 1:
            whole = next((c for c in candidates if c.first == 0 and c.end == len(pieces)), None)
            if whole is not None and _plainly_one_digit(whole, path, height, config):
                path = [whole]
        digits = []
        for candidate in path:
            group = pieces[candidate.first:candidate.end]
            probabilities = candidate.probabilities
            if len(path) == 1:
                # Read again alone, so that one digit gets exactly what Predictor gives at batch 1.
                probabilities = network_probabilities(self.network, [candidate.image])[0]
            digits.append(DigitReading(
                strokes=tuple(sorted({p.stroke for p in group})),
                parts=tuple(sorted((p.stroke, p.first, p.end) for p in group)),
                probabilities=probabilities, image=candidate.image, box=candidate.box))
        return NumberReading(tuple(digits), score, expected_count, len(candidates), rendered)

    def _read_candidates(self, candidates: Sequence[_Candidate], keys: Sequence[tuple],
                         render: Callable[[_Candidate], np.ndarray], height: float) -> int:
        """Fill in each candidate's picture, probabilities and the evidence that depends on its digit;
        return how many were rendered anew."""
        missing = []
        for candidate in candidates:
            key = tuple(keys[candidate.first:candidate.end])
            hit = self._cache.get(key)
            if hit is None:
                missing.append((key, candidate, render(candidate)))
            else:
                self._cache.move_to_end(key)
                candidate.image, candidate.probabilities = hit
        if missing:
            probabilities = network_probabilities(self.network, [image for _, _, image in missing])
            for (key, candidate, image), row in zip(missing, probabilities):
                candidate.image, candidate.probabilities = image, row
                self._cache[key] = (image, row)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        for candidate in candidates:
            digit = int(candidate.probabilities.argmax())
            candidate.log_probability = float(np.log(max(candidate.probabilities[digit], 1e-12)))
            candidate.penalty += width_penalty(candidate.box, digit, height, self.config)
        return len(missing)


def _plainly_one_digit(candidate: _Candidate, path: Sequence[_Candidate], height: float,
                       config: SegmenterConfig) -> bool:
    """Return True if the whole drawing reads as one digit surely, is not wider than that digit is
    written, and the digits of ``path`` (the best reading of several) overlap their neighbours."""
    digit = int(candidate.probabilities.argmax())
    if candidate.probabilities[digit] < config.one_digit_confidence:
        return False
    if (candidate.box[2] - candidate.box[0]) / height > config.widest[digit]:
        return False
    for left, right in zip(path, path[1:]):
        narrower = max(min(left.box[2] - left.box[0], right.box[2] - right.box[0]), 1e-9)
        if (min(left.box[2], right.box[2]) - max(left.box[0], right.box[0])) / narrower <= config.one_digit_overlap:
            return False
    return True


def _piece_key(points: Sequence[Sequence[float]], piece: Piece) -> tuple:
    """Return a key that changes whenever the piece's rendering could change (points and pressure)."""
    part = np.asarray([tuple(p[:3]) if len(p) >= 3 else (p[0], p[1], 1.0) for p in points[piece.first:piece.end]],
                      dtype=np.float64)
    return (part.shape[0], hash(part.tobytes()))


def read_number(strokes: Sequence[Sequence[Sequence[float]]], network: Network,
                expected_count: int | None = None, config: SegmenterConfig = DEFAULT_CONFIG) -> NumberReading:
    """Return the best reading of the strokes as a number (see :class:`NumberReader`)."""
    return NumberReader(network, config).read(strokes, expected_count)
