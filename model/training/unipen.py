"""Read UNIPEN's isolated pen-drawn digits (category 1a) as strokes the canvas would record.

UNIPEN ("UNIPEN project of on-line data exchange and recognizer benchmarks", Guyon, Schomaker,
Plamondon, Liberman and Janet, ICPR 1994; train_r01_v07, CC BY 4.0) stores pen trajectories in
plain text. A *segmentation file* under ``data/1a/<source>/`` ``.INCLUDE``s one or more recordings
(paths relative to ``include/``; recordings may include headers themselves) and then lists

    .SEGMENT CHARACTER <components> <quality> "<label>"

Components are the ``.PEN_DOWN`` / ``.PEN_UP`` blocks that hold points, numbered from 0 in file
order across everything included. ``<components>`` is a comma-separated list of ``N``, ``A-B`` or
point ranges ``A:P-B:Q`` (either end may omit its ``:P``; points count from 0, both ends
inclusive). Pen-up blocks inside a range are hover, not ink, and are dropped.

The parser is made of pure functions over text (:func:`parse_segment_spec`, :func:`parse_recording`,
:func:`parse_segmentation`) so tests can feed it small strings; :func:`read_unipen` walks a real
folder. Every format error names the file and the line.

Writers: a segment's writer is the ``.WRITER_ID`` in force where its first component was recorded,
else the recording itself (one writer per recording, as UNIPEN's README says). Writer ids are
qualified by their source (``"apa/PaulArnao"``) because sources reuse short ids.

:func:`writer_split` assigns every writer, by a hash of its id, to ``train``, ``val`` or ``test``;
the split is fixed, documented in the README, and test writers are used for nothing but reporting.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Literal, Sequence

import numpy as np

from model.constants import UNIPEN_DIR_ENV, default_unipen_dir  # noqa: F401  (re-exported)

Point = tuple[float, float]
Stroke = tuple[Point, ...]
Split = Literal["train", "val", "test"]

# UNIPEN's y axis grows upwards, as a tablet's Cartesian axes do (imp's with negative numbers);
# the screen and the canvas grow y downwards, so y is negated on reading. Checked per source by
# benchmarks/unipen_orientation.py: read by the MNIST-only model of 2026-11 as recorded, each
# category-1a source scores 24-44 %, flipped 84-100 % (200 digits per source). A source that
# records y downwards would be listed here; none of category 1a does.
Y_DOWN_SOURCES: frozenset[str] = frozenset()

# Limits that keep a crafted file from exhausting memory (the real files stay far below them).
MAX_FILE_BYTES = 32 * 1024 * 1024  # one recording or segmentation file
MAX_INCLUDE_DEPTH = 8  # nested .INCLUDEs
MAX_POINTS_PER_DIGIT = 20_000  # one segment's points

# Header files that only describe a recording; a few distributions reference ones they do not
# ship (imp/imp0.doc, pri/pri.doc). Their absence loses no ink, so it is not an error.
_OPTIONAL_INCLUDE_SUFFIXES = (".doc", ".lex")

_KEYWORD = re.compile(r"^(\.[A-Z][A-Z_0-9]*)(?=[ \t\r\n]|$)", re.MULTILINE)
_SPLIT_BUCKETS = 100
_TEST_BUCKETS = range(0, 20)  # 20 % of writers
_VAL_BUCKETS = range(20, 30)  # 10 % of writers; the rest train


class UnipenFormatError(ValueError):
    """A UNIPEN file that cannot be read; the message names the file and the line."""

    def __init__(self, path: str | os.PathLike, line: int | None, reason: str) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


class UnipenUnavailableError(RuntimeError):
    """The UNIPEN folder is missing; the message says which path was looked at and how to set it."""


@dataclass(frozen=True)
class PenDigit:
    """One pen-drawn digit: strokes in screen orientation (y down), its label and who wrote it."""

    strokes: tuple[Stroke, ...]
    label: int
    writer: str  # "source/writer-id", unique across sources
    source: str  # the contributor's three-letter name, e.g. "apa"
    file: str  # segmentation file, relative to data/1a
    line: int  # line of its .SEGMENT in that file
    quality: str = "?"  # the segment's quality field ("OK" or "?")


@dataclass(frozen=True)
class Component:
    """One pen-down or pen-up block of a recording; its points are parsed when first asked for.

    A recording holds letters, words and digits; category 1a names a small share of its blocks,
    so parsing only those makes reading the whole set several times faster.
    """

    pen_down: bool
    body: str  # the block's point lines, as written
    first_line: int  # line number of the body's first line
    columns: tuple[int, int]  # indices of X and Y in a point line (from .COORD)
    writer: str | None  # the .WRITER_ID in force when it was recorded
    recording: str  # the file it came from, relative to include/

    def points(self) -> np.ndarray:
        """Return the (N, 2) float64 array of the block's x, y as recorded."""
        return _parse_points(self.body, self.columns, self.recording, self.first_line)


@dataclass(frozen=True)
class ComponentRange:
    """``first[:first_point]-last[:last_point]``; a missing point index means the whole end."""

    first: int
    last: int
    first_point: int | None = None
    last_point: int | None = None


# ----------------------------------------------------------------------------------------------
# Pure parsing over text


def parse_segment_spec(spec: str) -> list[ComponentRange]:
    """Return the ranges of a .SEGMENT's component field (``3``, ``3-5``, ``3,7``, ``3:4-5:9``)."""
    ranges = []
    for item in spec.split(","):
        match = re.fullmatch(r"(\d+)(?::(\d+))?(?:-(\d+)(?::(\d+))?)?", item.strip())
        if not match:
            raise ValueError(f"bad component list {spec!r}")
        first, first_point, last, last_point = match.groups()
        if last is None:  # "N" or "N:P" alone
            last, last_point = first, first_point
        ranges.append(ComponentRange(int(first), int(last),
                                     int(first_point) if first_point is not None else None,
                                     int(last_point) if last_point is not None else None))
        if ranges[-1].last < ranges[-1].first:
            raise ValueError(f"component range runs backwards in {spec!r}")
    return ranges


def _coord_columns(value: str) -> tuple[int, int]:
    """Return the column indices of X and Y named by a .COORD value such as ``X Y T``."""
    names = value.split()
    try:
        return names.index("X"), names.index("Y")
    except ValueError:
        raise ValueError(f".COORD {value!r} names no X and Y") from None


def _keyword_blocks(text: str) -> Iterator[tuple[int, str, str, str, int]]:
    """Yield (line, keyword, rest of its line, the lines after it, their first line) per keyword.

    A keyword starts in the first column (``.PEN_DOWN``); an indented line, even one that begins
    with a dot, continues the free text of a header field such as ``.PAD``. Line numbers are
    counted only up to each keyword, so a 10 MB recording is split in one pass.
    """
    matches = list(_KEYWORD.finditer(text))
    line = 1
    position = 0
    for index, match in enumerate(matches):
        line += text.count("\n", position, match.start())
        position = match.start()
        body_end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end():body_end]
        first_line = line + 1 if "\n" in body else line
        newline = body.find("\n")
        rest = body[:newline] if newline >= 0 else body
        yield line, match.group(1), rest.strip(), body[newline + 1:] if newline >= 0 else "", first_line


def _parse_points(body: str, columns: tuple[int, int], name: str, first_line: int) -> np.ndarray:
    """Return the (N, 2) float array of the point lines in ``body`` (x and y columns only)."""
    rows = body.split("\n")
    width = next((len(row.split()) for row in rows if row.strip()), 0)
    try:
        values = np.array(body.split(), dtype=np.float64)
        if width <= max(columns) or values.size % width:
            raise ValueError
        points = values.reshape(-1, width)[:, columns]
    except ValueError:
        # find the first line that is not a point, to name it
        for offset, row in enumerate(rows):
            fields = row.split()
            if not fields:
                continue
            try:
                if len(fields) != width or width <= max(columns):
                    raise ValueError
                [float(field) for field in fields]
            except ValueError:
                raise UnipenFormatError(name, first_line + offset, f"expected a point of {max(width, 2)} numbers "
                                                                   f"(X and Y), found {row.strip()[:40]!r}") from None
        raise UnipenFormatError(name, first_line, "unreadable points") from None
    if not np.isfinite(points).all():
        bad = int(np.flatnonzero(~np.isfinite(points).all(axis=1))[0])
        raise UnipenFormatError(name, first_line + bad, "a point's coordinate is not a finite number")
    return points


@dataclass(frozen=True)
class _State:
    """What earlier lines set for the points that follow: the .COORD columns and the writer."""

    columns: tuple[int, int] = (0, 1)
    writer: str | None = None


def parse_recording(text: str, name: str, include: "IncludeReader | None" = None, depth: int = 0,
                    state: _State = _State()) -> tuple[list[Component], _State]:
    """Return the components of a recording's text and the state after it.

    .INCLUDEs are followed through ``include``; a ``.COORD`` or ``.WRITER_ID`` stays in force
    after the file that set it, as in UNIPEN's own reader.
    """
    components: list[Component] = []
    for number, keyword, rest, body, first_line in _keyword_blocks(text):
        if keyword in (".PEN_DOWN", ".PEN_UP"):
            if body.strip():  # only blocks that hold points are components
                components.append(Component(keyword == ".PEN_DOWN", body, first_line, state.columns,
                                            state.writer, name))
        elif keyword == ".COORD":
            try:
                state = _State(_coord_columns(rest), state.writer)
            except ValueError as error:
                raise UnipenFormatError(name, number, str(error)) from None
        elif keyword == ".WRITER_ID":
            state = _State(state.columns, rest.split()[0] if rest else None)
        elif keyword == ".INCLUDE":
            if include is None:
                raise UnipenFormatError(name, number, f".INCLUDE {rest} but no include folder is known")
            if depth >= MAX_INCLUDE_DEPTH:
                raise UnipenFormatError(name, number, f".INCLUDEs nested deeper than {MAX_INCLUDE_DEPTH}")
            inner, state = include.components(rest, name, number, depth + 1, state)
            components.extend(inner)
    return components, state


class IncludeReader:
    """Read included files relative to ``include/``, refusing paths that leave it."""

    def __init__(self, include_root: Path) -> None:
        self.root = include_root.resolve()
        self._parsed: dict[tuple[str, _State], tuple[list[Component], _State]] = {}

    def components(self, relative: str, including: str, line: int, depth: int,
                   state: _State) -> tuple[list[Component], _State]:
        """Return an included file's components and the state after it, parsed once per state.

        A missing header (.doc, .lex) holds no components and changes nothing.
        """
        key = (relative, state)
        if key not in self._parsed:
            text = self._read(relative, including, line)
            self._parsed[key] = ([], state) if text is None else parse_recording(text, relative, self, depth, state)
        return self._parsed[key]

    def _read(self, relative: str, including: str, line: int) -> str | None:
        path = (self.root / relative).resolve()
        if self.root not in path.parents:
            raise UnipenFormatError(including, line, f".INCLUDE {relative} points outside {self.root}")
        if not path.is_file():
            if relative.endswith(_OPTIONAL_INCLUDE_SUFFIXES):
                return None
            raise UnipenFormatError(including, line, f".INCLUDE {relative}: no such file in {self.root}")
        return _read_text(path)


def _read_text(path: Path) -> str:
    """Return a file's text (Latin-1, as the 1990s files are), refusing oversized files."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnipenFormatError(path, None, f"{size:,} bytes is more than the {MAX_FILE_BYTES:,} allowed")
    return path.read_bytes().decode("latin-1")


def _segment_strokes(components: Sequence[Component], ranges: Sequence[ComponentRange],
                     name: str, line: int) -> tuple[tuple[Stroke, ...], Component]:
    """Return the pen-down strokes a segment names, and its first component."""
    strokes: list[Stroke] = []
    total = 0
    for part in ranges:
        if part.last >= len(components):
            raise UnipenFormatError(name, line, f"component {part.last} named, but the recording has "
                                                f"{len(components)} (0–{len(components) - 1})")
        for index in range(part.first, part.last + 1):
            component = components[index]
            points = component.points()
            start = part.first_point if index == part.first and part.first_point is not None else 0
            stop = part.last_point + 1 if index == part.last and part.last_point is not None else len(points)
            if start >= len(points):
                raise UnipenFormatError(name, line, f"point {start} of component {index} named, "
                                                    f"but it has {len(points)}")
            if not component.pen_down or stop <= start:
                continue
            total += stop - start
            if total > MAX_POINTS_PER_DIGIT:
                raise UnipenFormatError(name, line, f"more than {MAX_POINTS_PER_DIGIT:,} points in one digit")
            strokes.append(tuple(map(tuple, points[start:stop].tolist())))
    return tuple(strokes), components[ranges[0].first]


def parse_segmentation(text: str, name: str, source: str, include: IncludeReader | None) -> list[PenDigit]:
    """Return the digits a segmentation file names, reading its recordings through ``include``."""
    components: list[Component] = []
    digits: list[PenDigit] = []
    state = _State()
    y_up = source not in Y_DOWN_SOURCES
    for number, keyword, rest, _, _ in _keyword_blocks(text):
        if keyword == ".INCLUDE":
            if include is None:
                raise UnipenFormatError(name, number, f".INCLUDE {rest} but no include folder is known")
            inner, state = include.components(rest, name, number, 1, state)
            components.extend(inner)
        elif keyword in (".PEN_DOWN", ".PEN_UP"):
            raise UnipenFormatError(name, number, "points in a segmentation file; expected .INCLUDE and .SEGMENT")
        elif keyword == ".SEGMENT":
            digits.append(_parse_segment(rest, components, name, number, source, y_up))
    return digits


def _parse_segment(rest: str, components: Sequence[Component], name: str, number: int,
                   source: str, y_up: bool) -> PenDigit:
    match = re.fullmatch(r'(\S+)\s+(\S+)\s+(\S+)\s+"(.*)"', rest)
    if not match:
        raise UnipenFormatError(name, number, f'expected .SEGMENT <level> <components> <quality> "<label>", '
                                              f"found {rest[:60]!r}")
    level, spec, quality, label = match.groups()
    if level != "CHARACTER" or label not in "0123456789" or len(label) != 1:
        raise UnipenFormatError(name, number, f'expected a digit CHARACTER segment, found {level} "{label}"')
    try:
        ranges = parse_segment_spec(spec)
    except ValueError as error:
        raise UnipenFormatError(name, number, str(error)) from None
    strokes, first = _segment_strokes(components, ranges, name, number)
    if y_up:
        strokes = tuple(tuple((x, 0.0 - y) for x, y in stroke) for stroke in strokes)
    writer_id = first.writer or Path(first.recording).stem
    return PenDigit(strokes, int(label), f"{source}/{writer_id}", source, name, number, quality)


# ----------------------------------------------------------------------------------------------
# The real folder


def dataset_root(root: str | os.PathLike) -> Path:
    """Return the ``train_r01_v07`` folder under ``root`` (or ``root`` itself if it is that folder)."""
    root = Path(root).expanduser()
    for candidate in (root / "train_r01_v07", root):
        if (candidate / "data" / "1a").is_dir() and (candidate / "include").is_dir():
            return candidate
    raise UnipenUnavailableError(
        f"UNIPEN was not found in {root} (expected train_r01_v07/data/1a and train_r01_v07/include "
        f"there). Set HWR_UNIPEN_DIR or --unipen-dir to the folder that holds train_r01_v07; the data "
        f"is UNIPEN train_r01_v07 from Zenodo, doi:10.5281/zenodo.1195803.")


def segmentation_files(root: Path) -> list[Path]:
    """Return the category-1a segmentation files under a ``train_r01_v07`` folder, sorted."""
    return sorted(path for path in (root / "data" / "1a").rglob("*") if path.is_file())


def read_unipen(root: str | os.PathLike) -> list[PenDigit]:
    """Return every category-1a digit under ``root`` (the folder that holds ``train_r01_v07``)."""
    base = dataset_root(root)
    include = IncludeReader(base / "include")
    digits: list[PenDigit] = []
    data = base / "data" / "1a"
    for path in segmentation_files(base):
        relative = path.relative_to(data).as_posix()
        source = relative.split("/", 1)[0]
        digits.extend(parse_segmentation(_read_text(path), relative, source, include))
    return digits


def writer_split(writer: str) -> Split:
    """Return the fixed split of a writer: 20 % test, 10 % validation, 70 % training, by SHA-256."""
    bucket = int.from_bytes(hashlib.sha256(writer.encode("utf-8")).digest()[:8], "big") % _SPLIT_BUCKETS
    if bucket in _TEST_BUCKETS:
        return "test"
    if bucket in _VAL_BUCKETS:
        return "val"
    return "train"


def select_split(digits: Iterable[PenDigit], split: Split) -> list[PenDigit]:
    """Return the digits whose writer falls in ``split``."""
    return [digit for digit in digits if writer_split(digit.writer) == split]


SUSPECTS_PATH = Path(__file__).with_name("unipen_suspects.txt")


def load_suspects(path: Path | None = None) -> set[tuple[str, int]]:
    """Return the (segmentation file, line) of the segments listed as probably mislabelled or badly cut.

    The list (one ``file:line`` a line, ``#`` comments) is made by benchmarks/unipen_suspects.py
    from training and validation writers only; see the README for how and what it changes.
    """
    path = SUSPECTS_PATH if path is None else path
    if not path.is_file():
        return set()
    suspects = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        name, _, segment_line = entry.rpartition(":")
        if not name or not segment_line.isdigit():
            raise UnipenFormatError(path, number, f"expected file:line, found {entry!r}")
        suspects.add((name, int(segment_line)))
    return suspects


_loaded: dict[Path, list[PenDigit]] = {}


def pen_digits(root: str | os.PathLike, split: Split | None = None) -> list[PenDigit]:
    """Return UNIPEN's digits (one split of writers, or all), read once per process."""
    base = dataset_root(root).resolve()
    if base not in _loaded:
        _loaded[base] = read_unipen(base)
    digits = _loaded[base]
    return list(digits) if split is None else select_split(digits, split)
