"""Untrusted input → typed values: one function per kind of file hwr reads.

Every function here either returns clean, typed values within the limits of :mod:`model.files.limits`,
or raises :class:`InvalidInputError` with one message that names the file and the first bad entry,
in words a user can act on. Sizes are checked before anything large is allocated: a file's byte
count before it is read, a picture's pixel count before it is decoded, a network's size from its
config before its weights are built.

Kinds: stroke files (:func:`stroke_file`, :func:`drawing`), pictures (:func:`picture_file`),
sample exports (:func:`samples_export`), the
``models/active`` marker (:func:`active_marker`).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import stat
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from model.files import limits

# Each width setting of a network config and its bound, for checkpoints and inference files alike.
NETWORK_WIDTHS = {"stem_channels": limits.MAX_CHANNELS, "mid_channels": limits.MAX_CHANNELS,
                  "top_channels": limits.MAX_CHANNELS, "hidden_units": limits.MAX_HIDDEN_UNITS}
VERSION_ID = re.compile(r"[0-9a-f]{10}")  # a model version: the first 10 hex digits of its weights' SHA-256
UID = re.compile(r"[0-9A-Za-z_-]{1,64}")  # a sample's id (the app writes 32 hex digits)


class InvalidInputError(ValueError):
    """Input from a file (or a drawing) is unusable; the message names the file and the cause."""


Point = tuple[float, float, float, float]  # x, y, pressure, t


# -- bytes and JSON ---------------------------------------------------------------------------

def read_limited(path: str | os.PathLike, limit: int, what: str) -> bytes:
    """Return the bytes of a regular file of at most ``limit`` bytes; raises InvalidInputError otherwise.

    OSError (missing file, no permission) is turned into the same error with the reason in words.
    """
    path = Path(path)
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; regular files ignore it.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(descriptor, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InvalidInputError(f"{what} {path} is not a regular file.")
            if info.st_size > limit:
                raise InvalidInputError(f"{what} {path} is {megabytes(info.st_size)}; the limit is "
                                        f"{megabytes(limit)}.")
            data = stream.read(limit + 1)  # a file that grows while read is still held to the limit
    except InvalidInputError:
        raise
    except OSError as error:
        raise InvalidInputError(f"{what} {path} cannot be read: {describe_os_error(error)}.") from error
    if len(data) > limit:
        raise InvalidInputError(f"{what} {path} is larger than the limit of {megabytes(limit)}.")
    return data


def npy_header(stream) -> tuple[tuple[int, ...], bool, Any] | None:
    """Return (shape, Fortran order, dtype) from the .npy header at the start of ``stream``, read with numpy's
    own header readers (which bound its length), leaving the stream at the array's data; None for a .npy
    version hwr does not write. A header that is not one raises ValueError."""
    import numpy as np  # here: this module is read by start-ups that need no numpy

    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(stream)
    return None


def describe_os_error(error: OSError) -> str:
    """Return an OSError's cause in words, without Python's decoration."""
    return (error.strerror or str(error) or type(error).__name__).rstrip(".").lower()


def megabytes(count: int) -> str:
    """Return a byte count in words: megabytes from one up, bytes below."""
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{count:,} bytes"


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(data: bytes, path: str | os.PathLike, what: str) -> Any:
    """Return the JSON document in ``data``; raises InvalidInputError naming the file otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInputError(f"{what} {path} is not UTF-8 text (byte {error.start} is not).") from error
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as error:
        raise InvalidInputError(f"{what} {path} is nested too deeply to be a {what.lower()}.") from error
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"{what} {path} is not valid JSON: {error.msg} at line {error.lineno}, "
                                f"column {error.colno}.") from error
    except ValueError as error:  # NaN/Infinity, or an integer of thousands of digits
        raise InvalidInputError(f"{what} {path} is not valid JSON: {error}.") from error


# -- numbers ----------------------------------------------------------------------------------

def is_number(value: Any) -> bool:
    """Return True for ints and floats (numpy's included), False for booleans and everything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def _bounded_number(value: Any, bound: float, where: str, name: str) -> float:
    """Return ``value`` as a float if it is a finite number with |value| <= bound."""
    if not is_number(value):
        raise InvalidInputError(f"{where}: {name} is {shown(value)}, not a number.")
    # Compare before converting: float() of a 400-digit integer overflows.
    if not isinstance(value, numbers.Integral) and not math.isfinite(value):
        raise InvalidInputError(f"{where}: {name} is {value}, not a finite number.")
    if not -bound <= value <= bound:
        raise InvalidInputError(f"{where}: {name} is {shown(value)}; it must lie within ±{bound:g}.")
    return float(value)


def shown(value: Any) -> str:
    """Return a short description of a value for a message (a huge one is not printed whole)."""
    if isinstance(value, (dict, list)):
        return f"a {'list' if isinstance(value, list) else 'JSON object'}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10 ** 15:
        return f"an integer of {len(str(abs(value)))} digits"
    text = json.dumps(value) if isinstance(value, (str, bool, type(None))) else repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


# -- drawings and stroke files ----------------------------------------------------------------

def drawing(value: Any, where: str = "The drawing") -> list[list[Point]]:
    """Return strokes of (x, y, pressure, t) points from untrusted data; empty strokes are dropped.

    A drawing is a list of strokes; a stroke a list of points; a point a list of 2 to 4 numbers:
    x and y (within ±MAX_COORDINATE), then optionally pressure (0..MAX_PRESSURE, default 1) and
    time in seconds (default 0). At most MAX_STROKES_PER_DRAWING strokes and
    MAX_POINTS_PER_DRAWING points in all; at least one point.
    """
    if not isinstance(value, (list, tuple)):
        raise InvalidInputError(f"{where}: the strokes are {shown(value)}, not a list of strokes.")
    if len(value) > limits.MAX_STROKES_PER_DRAWING:
        raise InvalidInputError(f"{where} has {len(value):,} strokes; the limit is "
                                f"{limits.MAX_STROKES_PER_DRAWING:,}.")
    strokes: list[list[Point]] = []
    total = 0
    for s, stroke in enumerate(value, 1):
        if not isinstance(stroke, (list, tuple)):
            raise InvalidInputError(f"{where}: stroke {s} is {shown(stroke)}, not a list of points.")
        total += len(stroke)
        if total > limits.MAX_POINTS_PER_DRAWING:
            raise InvalidInputError(f"{where} has more than {limits.MAX_POINTS_PER_DRAWING:,} points, "
                                    f"the limit for one drawing.")
        points = [_point(point, f"{where}: stroke {s}, point {p}") for p, point in enumerate(stroke, 1)]
        if points:
            strokes.append(points)
    if not strokes:
        raise InvalidInputError(f"{where} has no points.")
    xs = [p[0] for stroke in strokes for p in stroke]
    ys = [p[1] for stroke in strokes for p in stroke]
    extent = max(max(xs) - min(xs), max(ys) - min(ys))
    if 0 < extent < limits.MIN_DRAWING_EXTENT:
        raise InvalidInputError(f"{where} is only {extent:.3g} units across: its points are too close together "
                                f"to be told apart (coordinates are in screen pixels).")
    return strokes


def _point(value: Any, where: str) -> Point:
    if not isinstance(value, (list, tuple)) or not 2 <= len(value) <= 4:
        raise InvalidInputError(f"{where} is {shown(value)}; a point is [x, y], [x, y, pressure] or "
                                f"[x, y, pressure, time].")
    x = _bounded_number(value[0], limits.MAX_COORDINATE, where, "x")
    y = _bounded_number(value[1], limits.MAX_COORDINATE, where, "y")
    pressure = _bounded_number(value[2], limits.MAX_PRESSURE, where, "pressure") if len(value) > 2 else 1.0
    if pressure < 0:
        raise InvalidInputError(f"{where}: pressure is {pressure:g}; it cannot be negative.")
    t = _bounded_number(value[3], limits.MAX_TIME, where, "time") if len(value) > 3 else 0.0
    return (x, y, pressure, t)


def stroke_file(path: str | os.PathLike) -> list[list[Point]]:
    """Return the drawing in a JSON stroke file: ``{"strokes": [...]}`` or the bare list of strokes."""
    document = parse_json(read_limited(path, limits.MAX_STROKE_FILE_BYTES, "Stroke file"), path, "Stroke file")
    if isinstance(document, dict):
        if "strokes" not in document:
            raise InvalidInputError(f"Stroke file {path} has no \"strokes\" entry; expected "
                                    f"{{\"strokes\": [[[x, y], …], …]}}.")
        document = document["strokes"]
    return drawing(document, f"Stroke file {path}")


# -- pictures ---------------------------------------------------------------------------------

def picture_file(path: str | os.PathLike):
    """Return the picture in ``path`` as a decoded PIL image (first frame), within the pixel limit."""
    import io

    from PIL import Image

    data = read_limited(path, limits.MAX_PICTURE_FILE_BYTES, "Picture")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size  # from the header: nothing decoded yet
                if width * height > limits.MAX_PICTURE_PIXELS:
                    raise InvalidInputError(
                        f"Picture {path} is {width:,}×{height:,} pixels; the limit is "
                        f"{limits.MAX_PICTURE_PIXELS:,} pixels (for example 4096×4096).")
                if width == 0 or height == 0:
                    raise InvalidInputError(f"Picture {path} is empty ({width}×{height} pixels).")
                picture.load()
                return picture.copy()
        except InvalidInputError:
            raise
        except Image.UnidentifiedImageError as error:
            raise InvalidInputError(f"Picture {path} is not a picture format hwr can read "
                                    f"(PNG, JPEG, BMP, GIF, TIFF, WebP…).") from error
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:  # raised by open()
            declared = re.search(r"\((\d+) pixels\)", str(error))
            size = f"{int(declared.group(1)):,} pixels" if declared else "larger than that"
            raise InvalidInputError(f"Picture {path} is {size}; the limit is {limits.MAX_PICTURE_PIXELS:,} pixels "
                                    f"(for example 4096×4096).") from error
        except Exception as error:  # a damaged picture makes decoders raise almost anything
            raise InvalidInputError(f"Picture {path} is damaged and cannot be decoded "
                                    f"({type(error).__name__}: {error}).") from error


def is_iso_time(text: str) -> bool:
    """Return True if ``text`` is an ISO 8601 time of at most 64 characters that Python can read, in
    the years limits.EARLIEST_YEAR–LATEST_YEAR (so that any time zone, and every platform's local
    time, can show it: year 1 at +14:00 is before year 1 in UTC, and Windows has no local time
    before 1970)."""
    if not isinstance(text, str) or len(text) > 64:
        return False
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    return limits.EARLIEST_YEAR <= moment.year <= limits.LATEST_YEAR


def fraction(value: Any, field: str) -> float:
    """Return ``value`` as a float if it is a finite number from 0 to 1; raises InvalidInputError naming ``field``."""
    if not (is_number(value) and math.isfinite(value) and 0 <= value <= 1):
        raise InvalidInputError(f"{field} is {shown(value)}, not a fraction from 0 to 1.")
    return float(value)


# -- sample exports ---------------------------------------------------------------------------

EXPORT_FORMAT = "hwr-samples"
EXPORT_VERSION = 1
_SAMPLE_KEYS = {"uid", "created", "label", "predicted", "probabilities", "model_version", "strokes", "number"}
_REQUIRED_SAMPLE_KEYS = ("uid", "label", "strokes")


def samples_export(document: Any, path: str | os.PathLike) -> list[dict]:
    """Return the samples of a parsed export file as dicts of clean values, or raise naming the first bad one.

    Schema (README, "Nothing is lost")::

        {"format": "hwr-samples", "version": 1, "samples": [
            {"uid": "<1–64 of A–Z a–z 0–9 _ ->",      required
             "label": <integer 0–9>,                  required
             "strokes": <a drawing, as a stroke file>, required
             "created": "<ISO 8601 time>",            optional
             "predicted": <integer 0–9 or null>,      optional
             "probabilities": <10 numbers 0–1, or null>, optional
             "model_version": "<version id or empty>", optional
             "number": "<the number it was written in: 1–64 digits>" optional}, …]}

    Nothing else is accepted: no other keys, no labels written as text or as fractions.
    """
    where = f"Samples file {path}"
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise InvalidInputError(f"{where} is not an hwr samples export (its \"format\" is not "
                                f"\"{EXPORT_FORMAT}\").")
    version = document.get("version")
    if not (isinstance(version, int) and not isinstance(version, bool)) or version != EXPORT_VERSION:
        raise InvalidInputError(f"{where} has format version {shown(version)}; this program reads version "
                                f"{EXPORT_VERSION}.")
    unknown = sorted(set(document) - {"format", "version", "samples"})
    if unknown:
        raise InvalidInputError(f"{where} has an unknown entry {unknown[0][:40]!r}.")
    samples = document.get("samples")
    if not isinstance(samples, list):
        raise InvalidInputError(f"{where}: \"samples\" is {shown(samples)}, not a list.")
    if len(samples) > limits.MAX_SAMPLES_PER_EXPORT:
        raise InvalidInputError(f"{where} holds {len(samples):,} samples; the limit is "
                                f"{limits.MAX_SAMPLES_PER_EXPORT:,}.")
    return [sample_entry(entry, f"{where}: sample {number}") for number, entry in enumerate(samples, 1)]


# Bytes a JSON drawing made only of numbers can hold; anything else (true, null, NaN, strings…) goes
# through the full check, which names the problem.
_PLAIN_JSON = b"0123456789+-.eE[], \t\r\n"


def drawing_json(raw: bytes, path: str | os.PathLike, what: str, where: str) -> list[list[Point]]:
    """Return the drawing in JSON text ``raw``: exactly what ``drawing(parse_json(raw, …))`` returns or
    raises, but a drawing made only of numbers is checked column by column, over twice as fast (a store
    of 20,000 samples: 6.6 → 2.8 s, BENCHMARKS "A large sample store in the window")."""
    if raw and not raw.translate(None, _PLAIN_JSON):
        try:
            strokes = _plain_strokes(json.loads(raw))
        except (ValueError, OverflowError, TypeError, RecursionError):
            strokes = None
        if strokes is not None:
            return strokes
    return drawing(parse_json(raw, path, what), where)


def _plain_strokes(document: Any) -> list[list[Point]] | None:
    """Return the strokes if every rule of :func:`drawing` plainly holds, else None (check in full).

    Called only on JSON made of numbers and brackets, so every value is an int or a float (an
    overflowing 1e999 is inf, which fails the bounds; no NaN, no booleans can be in it).
    """
    if not isinstance(document, list) or len(document) > limits.MAX_STROKES_PER_DRAWING:
        return None
    strokes, total = [], 0
    low_x = low_y = math.inf
    high_x = high_y = -math.inf
    for stroke in document:
        if not isinstance(stroke, list):
            return None
        if not stroke:
            continue
        widths = set(map(len, stroke))  # a number where a point should be: TypeError
        width = widths.pop()
        if widths or not 2 <= width <= 4:
            return None
        total += len(stroke)
        if total > limits.MAX_POINTS_PER_DRAWING:
            return None
        columns = list(zip(*stroke))  # a list nested in a point makes min, max or float raise TypeError
        xs, ys = columns[0], columns[1]
        low_x, high_x = min(low_x, min(xs)), max(high_x, max(xs))
        low_y, high_y = min(low_y, min(ys)), max(high_y, max(ys))
        if width > 2 and not (0 <= min(columns[2]) and max(columns[2]) <= limits.MAX_PRESSURE):
            return None
        if width > 3 and not (-limits.MAX_TIME <= min(columns[3]) and max(columns[3]) <= limits.MAX_TIME):
            return None
        if width == 2:
            strokes.append([(float(x), float(y), 1.0, 0.0) for x, y in stroke])
        elif width == 3:
            strokes.append([(float(x), float(y), float(p), 0.0) for x, y, p in stroke])
        else:
            strokes.append([(float(x), float(y), float(p), float(t)) for x, y, p, t in stroke])
    bound = limits.MAX_COORDINATE
    if not strokes or not (-bound <= low_x and high_x <= bound and -bound <= low_y and high_y <= bound):
        return None
    extent = max(high_x - low_x, high_y - low_y)
    return None if 0 < extent < limits.MIN_DRAWING_EXTENT else strokes


def is_number_text(value: Any) -> bool:
    """Return True if ``value`` is the text of a written number: 1 to MAX_NUMBER_DIGITS digits 0–9."""
    return (isinstance(value, str) and value.isascii() and value.isdigit()
            and len(value) <= limits.MAX_NUMBER_DIGITS)


def sample_entry(entry: Any, where: str, strokes: list[list[Point]] | None = None) -> dict:
    """Return one sample (a dict as an export file holds it) with every field checked, or raise naming
    ``where`` and the field: the same rules for an export file and for a row of the sample database.
    ``strokes``: the entry's drawing already checked (by :func:`drawing_json`), not checked again."""
    if not isinstance(entry, dict):
        raise InvalidInputError(f"{where} is {shown(entry)}, not a JSON object.")
    for key in _REQUIRED_SAMPLE_KEYS:
        if key not in entry:
            raise InvalidInputError(f"{where} has no \"{key}\".")
    unknown = sorted(set(entry) - _SAMPLE_KEYS)
    if unknown:
        raise InvalidInputError(f"{where} has an unknown entry {unknown[0][:40]!r}.")
    uid = entry["uid"]
    if not (isinstance(uid, str) and UID.fullmatch(uid)):
        raise InvalidInputError(f"{where}: \"uid\" is {shown(uid)}; it must be 1–64 letters, digits, _ or -.")
    label = _digit(entry["label"], where, "label")
    predicted = entry.get("predicted")
    if predicted is not None:
        predicted = _digit(predicted, where, "predicted")
    probabilities = entry.get("probabilities")
    if probabilities is not None:
        if not (isinstance(probabilities, list) and len(probabilities) == 10):
            raise InvalidInputError(f"{where}: \"probabilities\" is {shown(probabilities)}, not a list of ten "
                                    f"numbers.")
        probabilities = [fraction(p, f"{where}: \"probabilities\" item {i}") for i, p in enumerate(probabilities)]
    created = entry.get("created", "")
    if not (isinstance(created, str) and (created == "" or is_iso_time(created))):
        raise InvalidInputError(f"{where}: \"created\" is {shown(created)}, not an ISO 8601 time in the years "
                                f"{limits.EARLIEST_YEAR}–{limits.LATEST_YEAR}.")
    model_version = entry.get("model_version", "")
    if not (isinstance(model_version, str) and (model_version == "" or VERSION_ID.fullmatch(model_version))):
        raise InvalidInputError(f"{where}: \"model_version\" is {shown(model_version)}, not a version id "
                                f"(10 hex digits) or empty.")
    number = entry.get("number")
    if number is not None and not is_number_text(number):
        raise InvalidInputError(f"{where}: \"number\" is {shown(number)}, not a string of 1–"
                                f"{limits.MAX_NUMBER_DIGITS} digits.")
    strokes = drawing(entry["strokes"], where) if strokes is None else strokes
    return {"uid": uid, "created": created, "label": label, "predicted": predicted,
            "probabilities": probabilities, "model_version": model_version, "strokes": strokes, "number": number}


def _digit(value: Any, where: str, name: str) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9):
        raise InvalidInputError(f"{where}: \"{name}\" is {shown(value)}, not a whole number from 0 to 9.")
    return value


# -- the active-model marker ------------------------------------------------------------------

def active_marker_file(path: str | os.PathLike, shipped: str) -> str:
    """Return the version id the ``models/active`` file at ``path`` names, ``shipped`` when there is none.

    Raises InvalidInputError (naming the file) for a link, a folder, a file over its size limit or
    content that is not a version id.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return shipped
    if path.is_symlink() or not path.is_file():
        raise InvalidInputError(f"The active-model file {path} is not a regular file.")
    return active_marker(read_limited(path, limits.MAX_ACTIVE_MARKER_BYTES, "The active-model file"), path, shipped)


def active_marker(data: bytes, path: str | os.PathLike, shipped: str) -> str:
    """Return the version id written in ``models/active``: ``shipped`` or 10 hex digits, nothing else.

    The id is never a path: the registry turns it into ``models/<id>.pt`` itself.
    """
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError as error:
        raise InvalidInputError(f"The active-model file {path} holds bytes that are not text.") from error
    if text == "":
        return shipped
    if text != shipped and not VERSION_ID.fullmatch(text):
        raise InvalidInputError(f"The active-model file {path} holds {shown(text)}, not a version id.")
    return text
