"""Untrusted input → typed values: one function per kind of file hwr reads.

Every function here either returns clean, typed values within the limits of :mod:`model.limits`,
or raises :class:`InvalidInputError` with one message that names the file and the first bad entry,
in words a user can act on. Sizes are checked before anything large is allocated: a file's byte
count before it is read, a picture's pixel count before it is decoded, a network's size from its
config before its weights are built.

Kinds: stroke files (:func:`stroke_file`, :func:`drawing`), pictures (:func:`picture_file`),
checkpoints (:func:`checkpoint_payload`), sample exports (:func:`samples_export`), the
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

from model import limits

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
                raise InvalidInputError(f"{what} {path} is {_megabytes(info.st_size)}; the limit is "
                                        f"{_megabytes(limit)}.")
            data = stream.read(limit + 1)  # a file that grows while read is still held to the limit
    except InvalidInputError:
        raise
    except OSError as error:
        raise InvalidInputError(f"{what} {path} cannot be read: {describe_os_error(error)}.") from error
    if len(data) > limit:
        raise InvalidInputError(f"{what} {path} is larger than the limit of {_megabytes(limit)}.")
    return data


def describe_os_error(error: OSError) -> str:
    """Return an OSError's cause in words, without Python's decoration."""
    return (error.strerror or str(error) or type(error).__name__).rstrip(".").lower()


def _megabytes(count: int) -> str:
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

def _is_number(value: Any) -> bool:
    """Return True for ints and floats (numpy's included), False for booleans and everything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def _bounded_number(value: Any, bound: float, where: str, name: str) -> float:
    """Return ``value`` as a float if it is a finite number with |value| <= bound."""
    if not _is_number(value):
        raise InvalidInputError(f"{where}: {name} is {_shown(value)}, not a number.")
    # Compare before converting: float() of a 400-digit integer overflows.
    if not isinstance(value, numbers.Integral) and not math.isfinite(value):
        raise InvalidInputError(f"{where}: {name} is {value}, not a finite number.")
    if not -bound <= value <= bound:
        raise InvalidInputError(f"{where}: {name} is {_shown(value)}; it must lie within ±{bound:g}.")
    return float(value)


def _shown(value: Any) -> str:
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
        raise InvalidInputError(f"{where}: the strokes are {_shown(value)}, not a list of strokes.")
    if len(value) > limits.MAX_STROKES_PER_DRAWING:
        raise InvalidInputError(f"{where} has {len(value):,} strokes; the limit is "
                                f"{limits.MAX_STROKES_PER_DRAWING:,}.")
    strokes: list[list[Point]] = []
    total = 0
    for s, stroke in enumerate(value, 1):
        if not isinstance(stroke, (list, tuple)):
            raise InvalidInputError(f"{where}: stroke {s} is {_shown(stroke)}, not a list of points.")
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
        raise InvalidInputError(f"{where} is {_shown(value)}; a point is [x, y], [x, y, pressure] or "
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


# -- checkpoints ------------------------------------------------------------------------------

_CONFIG_INTS = {"stem_channels": limits.MAX_CHANNELS, "mid_channels": limits.MAX_CHANNELS,
                "top_channels": limits.MAX_CHANNELS, "hidden_units": limits.MAX_HIDDEN_UNITS}
_CONFIG_FRACTIONS = ("dropout", "head_dropout")

# Known notes written by this program, with their types; other notes may be any plain value.
_FRACTION_NOTES = ("gate_mnist_accuracy", "base_gate_mnist_accuracy", "holdout_accuracy", "base_holdout_accuracy")
_COUNT_NOTES = ("gate_size", "holdout_count")
_BOOL_NOTES = ("mnist_test_accuracy_is_estimate",)


def checkpoint_config(value: Any, path: str | os.PathLike):
    """Return the NetConfig a checkpoint names, refusing bad types and networks beyond the size limit.

    The network's size is counted on torch's meta device, which allocates no memory for weights.
    """
    import torch

    from model.network import ARCHITECTURES, NetConfig, build_network, count_parameters

    where = f"Model file {path}"
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where} does not match the architecture it names (its config is {_shown(value)}).")
    known = set(NetConfig.__dataclass_fields__)
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        raise InvalidInputError(f"{where} names an unknown architecture setting {unknown[0]!r}.")
    arch = value.get("arch", "compact")
    if arch not in ARCHITECTURES:
        raise InvalidInputError(f"{where} names an unknown architecture {_shown(arch)}; this program knows "
                                f"{', '.join(ARCHITECTURES)}.")
    for name, bound in _CONFIG_INTS.items():
        if name in value and not (isinstance(value[name], int) and not isinstance(value[name], bool)
                                  and 1 <= value[name] <= bound):
            raise InvalidInputError(f"{where}: the architecture setting {name} is {_shown(value[name])}; "
                                    f"it must be a whole number from 1 to {bound}.")
    for name in _CONFIG_FRACTIONS:
        if name in value and not (_is_number(value[name]) and 0 <= value[name] < 1):
            raise InvalidInputError(f"{where}: the architecture setting {name} is {_shown(value[name])}; "
                                    f"it must be a number from 0 to just under 1.")
    config = NetConfig(**value)
    with torch.device("meta"):
        size = count_parameters(build_network(config))
    if size > limits.MAX_NETWORK_PARAMETERS:
        raise InvalidInputError(f"{where} declares a network of {size:,} parameters; the limit is "
                                f"{limits.MAX_NETWORK_PARAMETERS:,}.")
    return config


def checkpoint_info(value: Any, path: str | os.PathLike) -> dict:
    """Return the checkpoint's ``info`` as clean values for ModelInfo's known fields.

    Known fields must have their type and range; unknown fields (written by a newer program) may be
    any plain value (text, number, true/false, none, or lists and dicts of them) and are dropped.
    """
    where = f"Model file {path}"
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where} has unusable metadata: its info is {_shown(value)}, not a dict.")
    budget = [limits.MAX_INFO_ITEMS]
    clean: dict = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"{where} has unusable metadata: a key of its info is {_shown(key)}.")
        field = f"{where} has unusable metadata: info.{key[:40]}"
        if key in ("version", "parent_version"):
            if not (isinstance(item, str) and (item == "" or VERSION_ID.fullmatch(item))):
                raise InvalidInputError(f"{field} is {_shown(item)}, not a version id (10 hex digits).")
        elif key == "created":
            if not (isinstance(item, str) and (item == "" or is_iso_time(item))):
                raise InvalidInputError(f"{field} is {_shown(item)}, not an ISO 8601 time.")
        elif key == "training_command":
            if not (isinstance(item, str) and len(item) <= limits.MAX_INFO_TEXT):
                raise InvalidInputError(f"{field} is {_shown(item)}, not a text of at most "
                                        f"{limits.MAX_INFO_TEXT:,} characters.")
        elif key == "preprocess_version":
            if not (isinstance(item, int) and not isinstance(item, bool)):
                raise InvalidInputError(f"{field} is {_shown(item)}, not a whole number.")
        elif key == "mnist_test_accuracy":
            if item is not None:
                _fraction(item, field)
        elif key in ("mnist_test_size", "sample_count"):
            _count(item, field)
        elif key == "seed":
            if item is not None and not (isinstance(item, int) and not isinstance(item, bool)
                                         and abs(item) < 2 ** 63):
                raise InvalidInputError(f"{field} is {_shown(item)}, not a whole number.")
        elif key == "notes":
            item = _notes(item, field, budget)
        else:
            _plain(item, field, 1, budget)
            continue  # a newer program's field: checked, then dropped
        clean[key] = item
    return clean


def is_iso_time(text: str) -> bool:
    """Return True if ``text`` is an ISO 8601 time of at most 64 characters that Python can read."""
    if len(text) > 64:
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _fraction(value: Any, field: str) -> float:
    if not (_is_number(value) and math.isfinite(value) and 0 <= value <= 1):
        raise InvalidInputError(f"{field} is {_shown(value)}, not a fraction from 0 to 1.")
    return float(value)


def _count(value: Any, field: str) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limits.MAX_COUNT):
        raise InvalidInputError(f"{field} is {_shown(value)}, not a count from 0 to {limits.MAX_COUNT:,}.")
    return value


def _notes(value: Any, field: str, budget: list[int]) -> dict:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{field} is {_shown(value)}, not a dict.")
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"{field} has a key {_shown(key)} that is not text.")
        if key in _FRACTION_NOTES:
            _fraction(item, f"{field}.{key}")
        elif key in _COUNT_NOTES:
            _count(item, f"{field}.{key}")
        elif key in _BOOL_NOTES:
            if not isinstance(item, bool):
                raise InvalidInputError(f"{field}.{key} is {_shown(item)}, not true or false.")
        _plain(item, f"{field}.{key[:40]}", 2, budget)
    return value


def _plain(value: Any, field: str, depth: int, budget: list[int]) -> None:
    """Check that ``value`` is plain data (text, finite numbers, booleans, None, lists and dicts of them)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise InvalidInputError(f"{field}: the metadata holds more than {limits.MAX_INFO_ITEMS:,} values.")
    if depth > limits.MAX_JSON_DEPTH:
        raise InvalidInputError(f"{field} is nested more than {limits.MAX_JSON_DEPTH} deep.")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) >= 2 ** 63:
            raise InvalidInputError(f"{field} is {_shown(value)}, larger than any figure hwr writes.")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{field} is {value}, not a finite number.")
        return
    if isinstance(value, str):
        if len(value) > limits.MAX_INFO_TEXT:
            raise InvalidInputError(f"{field} is a text of {len(value):,} characters; the limit is "
                                    f"{limits.MAX_INFO_TEXT:,}.")
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _plain(item, field, depth + 1, budget)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"{field} has a key {_shown(key)} that is not text.")
            _plain(item, field, depth + 1, budget)
        return
    raise InvalidInputError(f"{field} is a {type(value).__name__}, not plain data (text, numbers, lists).")


def checkpoint_weights(value: Any, config, path: str | os.PathLike) -> dict:
    """Return the state dict if it has exactly the tensors ``config``'s network has, all finite.

    Expected names, shapes and dtypes come from the network built on torch's meta device.
    """
    import torch

    from model.network import build_network

    where = f"Model file {path}"
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where} does not match the architecture it names (its weights are "
                                f"{_shown(value)}).")
    with torch.device("meta"):
        expected = build_network(config).state_dict()
    missing = [name for name in expected if name not in value]
    if missing:
        raise InvalidInputError(f"{where} does not match the architecture it names: it lacks the tensor "
                                f"{missing[0]!r}.")
    extra = [str(name) for name in value if name not in expected]
    if extra:
        raise InvalidInputError(f"{where} does not match the architecture it names: it has an unexpected "
                                f"tensor {extra[0][:60]!r}.")
    for name, reference in expected.items():
        tensor = value[name]
        if not isinstance(tensor, torch.Tensor) or tensor.layout != torch.strided or tensor.device.type != "cpu":
            raise InvalidInputError(f"{where} does not match the architecture it names: {name!r} is not a "
                                    f"plain tensor.")
        if tensor.shape != reference.shape or tensor.dtype != reference.dtype:
            raise InvalidInputError(
                f"{where} does not match the architecture it names: {name!r} is {tuple(tensor.shape)} "
                f"{tensor.dtype}, expected {tuple(reference.shape)} {reference.dtype}.")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise InvalidInputError(f"{where} is unusable: its weights {name!r} contain NaN or infinite values "
                                    f"(a training run that diverged, or a damaged file).")
    return value


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
        raise InvalidInputError(f"{where} has format version {_shown(version)}; this program reads version "
                                f"{EXPORT_VERSION}.")
    unknown = sorted(set(document) - {"format", "version", "samples"})
    if unknown:
        raise InvalidInputError(f"{where} has an unknown entry {unknown[0][:40]!r}.")
    samples = document.get("samples")
    if not isinstance(samples, list):
        raise InvalidInputError(f"{where}: \"samples\" is {_shown(samples)}, not a list.")
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
        raise InvalidInputError(f"{where} is {_shown(entry)}, not a JSON object.")
    for key in _REQUIRED_SAMPLE_KEYS:
        if key not in entry:
            raise InvalidInputError(f"{where} has no \"{key}\".")
    unknown = sorted(set(entry) - _SAMPLE_KEYS)
    if unknown:
        raise InvalidInputError(f"{where} has an unknown entry {unknown[0][:40]!r}.")
    uid = entry["uid"]
    if not (isinstance(uid, str) and UID.fullmatch(uid)):
        raise InvalidInputError(f"{where}: \"uid\" is {_shown(uid)}; it must be 1–64 letters, digits, _ or -.")
    label = _digit(entry["label"], where, "label")
    predicted = entry.get("predicted")
    if predicted is not None:
        predicted = _digit(predicted, where, "predicted")
    probabilities = entry.get("probabilities")
    if probabilities is not None:
        if not (isinstance(probabilities, list) and len(probabilities) == 10):
            raise InvalidInputError(f"{where}: \"probabilities\" is {_shown(probabilities)}, not a list of ten "
                                    f"numbers.")
        probabilities = [_fraction(p, f"{where}: \"probabilities\" item {i}") for i, p in enumerate(probabilities)]
    created = entry.get("created", "")
    if not (isinstance(created, str) and (created == "" or is_iso_time(created))):
        raise InvalidInputError(f"{where}: \"created\" is {_shown(created)}, not an ISO 8601 time.")
    model_version = entry.get("model_version", "")
    if not (isinstance(model_version, str) and (model_version == "" or VERSION_ID.fullmatch(model_version))):
        raise InvalidInputError(f"{where}: \"model_version\" is {_shown(model_version)}, not a version id "
                                f"(10 hex digits) or empty.")
    number = entry.get("number")
    if number is not None and not is_number_text(number):
        raise InvalidInputError(f"{where}: \"number\" is {_shown(number)}, not a string of 1–"
                                f"{limits.MAX_NUMBER_DIGITS} digits.")
    strokes = drawing(entry["strokes"], where) if strokes is None else strokes
    return {"uid": uid, "created": created, "label": label, "predicted": predicted,
            "probabilities": probabilities, "model_version": model_version, "strokes": strokes, "number": number}


def _digit(value: Any, where: str, name: str) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9):
        raise InvalidInputError(f"{where}: \"{name}\" is {_shown(value)}, not a whole number from 0 to 9.")
    return value


# -- the active-model marker ------------------------------------------------------------------

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
        raise InvalidInputError(f"The active-model file {path} holds {_shown(text)}, not a version id.")
    return text
