"""A checkpoint's fields, untrusted → typed: its network config, its info and notes, its weights.

Part of reading a model file (:func:`model.storage.checkpoint.load_checkpoint`): each function returns
clean values within :mod:`model.files.limits` or raises :class:`~model.files.validate.InvalidInputError`
naming the file and the first bad field. A network's size is checked from its config before any
weights are built; the expected tensors come from the network built on torch's meta device. Torch is
imported only by the two functions that need it: an inference file's info is checked here without it.
"""

from __future__ import annotations

import math
import os
from typing import Any

from model.files import limits
from model.files.validate import NETWORK_WIDTHS, VERSION_ID, InvalidInputError, fraction, is_iso_time, is_number, shown
from model.recognition.net_config import ARCHITECTURES, NetConfig

# -- checkpoints ------------------------------------------------------------------------------

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

    from model.recognition.network import build_network, count_parameters

    where = f"Model file {path}"
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where} does not match the architecture it names (its config is {shown(value)}).")
    known = set(NetConfig.__dataclass_fields__)
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        raise InvalidInputError(f"{where} names an unknown architecture setting {unknown[0]!r}.")
    arch = value.get("arch", "compact")
    if arch not in ARCHITECTURES:
        raise InvalidInputError(f"{where} names an unknown architecture {shown(arch)}; this program knows "
                                f"{', '.join(ARCHITECTURES)}.")
    for name, bound in NETWORK_WIDTHS.items():
        if name in value and not (isinstance(value[name], int) and not isinstance(value[name], bool)
                                  and 1 <= value[name] <= bound):
            raise InvalidInputError(f"{where}: the architecture setting {name} is {shown(value[name])}; "
                                    f"it must be a whole number from 1 to {bound}.")
    for name in _CONFIG_FRACTIONS:
        if name in value and not (is_number(value[name]) and 0 <= value[name] < 1):
            raise InvalidInputError(f"{where}: the architecture setting {name} is {shown(value[name])}; "
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
        raise InvalidInputError(f"{where} has unusable metadata: its info is {shown(value)}, not a dict.")
    budget = [limits.MAX_INFO_ITEMS]
    clean: dict = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"{where} has unusable metadata: a key of its info is {shown(key)}.")
        field = f"{where} has unusable metadata: info.{key[:40]}"
        if key in ("version", "parent_version"):
            if not (isinstance(item, str) and (item == "" or VERSION_ID.fullmatch(item))):
                raise InvalidInputError(f"{field} is {shown(item)}, not a version id (10 hex digits).")
        elif key == "created":
            if not (isinstance(item, str) and (item == "" or is_iso_time(item))):
                raise InvalidInputError(f"{field} is {shown(item)}, not an ISO 8601 time in the years "
                                        f"{limits.EARLIEST_YEAR}–{limits.LATEST_YEAR}.")
        elif key == "training_command":
            if not (isinstance(item, str) and len(item) <= limits.MAX_INFO_TEXT):
                raise InvalidInputError(f"{field} is {shown(item)}, not a text of at most "
                                        f"{limits.MAX_INFO_TEXT:,} characters.")
        elif key == "preprocess_version":
            if not (isinstance(item, int) and not isinstance(item, bool)):
                raise InvalidInputError(f"{field} is {shown(item)}, not a whole number.")
        elif key == "mnist_test_accuracy":
            if item is not None:
                fraction(item, field)
        elif key in ("mnist_test_size", "sample_count"):
            _count(item, field)
        elif key == "seed":
            if item is not None and not (isinstance(item, int) and not isinstance(item, bool)
                                         and abs(item) < 2 ** 63):
                raise InvalidInputError(f"{field} is {shown(item)}, not a whole number.")
        elif key == "notes":
            item = _notes(item, field, budget)
        else:
            _plain(item, field, 1, budget)
            continue  # a newer program's field: checked, then dropped
        clean[key] = item
    return clean


def _count(value: Any, field: str) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limits.MAX_COUNT):
        raise InvalidInputError(f"{field} is {shown(value)}, not a count from 0 to {limits.MAX_COUNT:,}.")
    return value


def _notes(value: Any, field: str, budget: list[int]) -> dict:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{field} is {shown(value)}, not a dict.")
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"{field} has a key {shown(key)} that is not text.")
        if key in _FRACTION_NOTES:
            fraction(item, f"{field}.{key}")
        elif key in _COUNT_NOTES:
            _count(item, f"{field}.{key}")
        elif key in _BOOL_NOTES:
            if not isinstance(item, bool):
                raise InvalidInputError(f"{field}.{key} is {shown(item)}, not true or false.")
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
            raise InvalidInputError(f"{field} is {shown(value)}, larger than any figure hwr writes.")
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
                raise InvalidInputError(f"{field} has a key {shown(key)} that is not text.")
            _plain(item, field, depth + 1, budget)
        return
    raise InvalidInputError(f"{field} is a {type(value).__name__}, not plain data (text, numbers, lists).")


def checkpoint_weights(value: Any, config, path: str | os.PathLike) -> dict:
    """Return the state dict if it has exactly the tensors ``config``'s network has, all finite.

    Expected names, shapes and dtypes come from the network built on torch's meta device.
    """
    import torch

    from model.recognition.network import build_network

    where = f"Model file {path}"
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where} does not match the architecture it names (its weights are "
                                f"{shown(value)}).")
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
