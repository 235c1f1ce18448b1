"""A model's inference file: what reading digits needs, readable without torch (``default.npz`` beside ``default.pt``).

A checkpoint (``.pt``) is read with torch, which costs about 1.6 s and 650 MB before the first digit
is read. The inference file holds the same network as numpy arrays, batch norm folded in
(:func:`model.recognition.inference.fold`), plus the network's config and the few facts the window
shows (version, date, general accuracy), in an ``.npz`` read with ``allow_pickle=False``: loading it
never runs code from the file. Every array's name and shape must be exactly those the config's
network has, every value finite, the file and the network within :mod:`model.files.limits`;
anything else raises :class:`InferenceFileError` naming the file and the cause.

    python -m model.storage.inference_file assets/default.pt    # writes assets/default.npz

Run it whenever the shipped weights change (a test checks that the two agree). No torch here
except in :func:`write_inference_file`, which reads a checkpoint.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.files import limits
from model.files.disk import atomic_write_bytes
from model.files.validate import NETWORK_WIDTHS, VERSION_ID, InvalidInputError, is_iso_time, read_limited
from model.recognition.inference import NumpyNetwork, fold, inference_shapes
from model.recognition.net_config import NetConfig

FORMAT = "hwr-inference"
FORMAT_VERSION = 1
_META = "__meta__"  # the array holding the JSON facts (UTF-8 bytes as uint8)


class InferenceFileError(InvalidInputError):
    """An inference file that cannot be used; the message names the file and the cause."""


@dataclass(frozen=True)
class InferenceInfo:
    """What the window shows about the model an inference file holds."""

    version: str  # the first 10 hex digits of the weights' SHA-256, as in the checkpoint
    created: str = ""
    mnist_test_accuracy: float | None = None


@dataclass(frozen=True)
class InferenceModel:
    """A model ready to read digits with numpy; ``build()`` gives its network (a Predictor takes it)."""

    config: NetConfig
    info: InferenceInfo
    arrays: dict

    def build(self) -> NumpyNetwork:
        return NumpyNetwork(self.config, self.arrays)


def inference_path(checkpoint_path: str | os.PathLike) -> Path:
    """Return where the inference file of the checkpoint at ``checkpoint_path`` lives (``.npz`` beside it)."""
    return Path(checkpoint_path).with_suffix(".npz")


def write_inference_file(checkpoint, path: str | os.PathLike) -> Path:
    """Write the inference file of a model.storage.checkpoint.Checkpoint to ``path``, atomically."""
    arrays = fold(checkpoint.config, {name: tensor.numpy() for name, tensor in checkpoint.state_dict.items()})
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": checkpoint.config.to_dict(),
            "version": checkpoint.info.version, "created": checkpoint.info.created,
            "mnist_test_accuracy": checkpoint.info.mnist_test_accuracy}
    buffer = io.BytesIO()
    np.savez(buffer, **{_META: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}, **arrays)
    return atomic_write_bytes(Path(path), buffer.getvalue())


def read_inference_file(path: str | os.PathLike) -> InferenceModel:
    """Return the model in the inference file at ``path``; raises InferenceFileError naming the cause."""
    path = Path(path)
    try:
        data = read_limited(path, limits.MAX_CHECKPOINT_BYTES, "Inference file")
    except InvalidInputError as error:
        raise InferenceFileError(str(error)) from None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            names = set(archive.files)
            if _META not in names:
                raise InferenceFileError(f"Inference file {path} is not one hwr wrote (no description).")
            meta = _meta(archive[_META], path)
            config = _config(meta.get("config"), path)
            expected = inference_shapes(config)
            if names - {_META} != set(expected):
                raise InferenceFileError(f"Inference file {path} holds other arrays than a {config.arch} network "
                                         f"has ({sorted(names - {_META} - set(expected))[:3]} extra, "
                                         f"{sorted(set(expected) - names)[:3]} missing).")
            arrays = {}
            for name, shape in expected.items():
                array = archive[name]
                if array.dtype != np.float32 or array.shape != shape:
                    raise InferenceFileError(f"Inference file {path}: {name} is {array.dtype} {array.shape}, "
                                             f"not float32 {shape}.")
                if not np.isfinite(array).all():
                    raise InferenceFileError(f"Inference file {path}: {name} holds values that are not numbers.")
                arrays[name] = array
    except InferenceFileError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as error:
        raise InferenceFileError(f"Inference file {path} is damaged ({type(error).__name__}: {error}).") from None
    return InferenceModel(config, _info(meta, path), arrays)


def _meta(raw: np.ndarray, path: Path) -> dict:
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > 64 * 1024:
        raise InferenceFileError(f"Inference file {path} has a description that is not short text.")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InferenceFileError(f"Inference file {path} has a description that is not JSON.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InferenceFileError(f"Inference file {path} is not an hwr inference file.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise InferenceFileError(f"Inference file {path} was written by another version of hwr "
                                 f"(format {meta.get('format_version')!r}); write it again from its .pt file.")
    return meta


def _config(value, path: Path) -> NetConfig:
    if not isinstance(value, dict):
        raise InferenceFileError(f"Inference file {path} names no network.")
    try:
        config = NetConfig.from_dict(value)
    except (TypeError, ValueError) as error:
        raise InferenceFileError(f"Inference file {path} names a network hwr cannot build ({error}).") from None
    for field, bound in NETWORK_WIDTHS.items():
        number = getattr(config, field)
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= bound:
            raise InferenceFileError(f"Inference file {path}: {field} is {number!r}, not 1–{bound}.")
    if sum(int(np.prod(shape)) for shape in inference_shapes(config).values()) > limits.MAX_NETWORK_PARAMETERS:
        raise InferenceFileError(f"Inference file {path} holds a network larger than "
                                 f"{limits.MAX_NETWORK_PARAMETERS:,} parameters.")
    return config


def _info(meta: dict, path: Path) -> InferenceInfo:
    version, created, accuracy = meta.get("version"), meta.get("created", ""), meta.get("mnist_test_accuracy")
    if not (isinstance(version, str) and VERSION_ID.fullmatch(version)):
        raise InferenceFileError(f"Inference file {path} has no valid model version.")
    if not (isinstance(created, str) and (created == "" or is_iso_time(created))):
        created = ""
    if not (isinstance(accuracy, float) and 0.0 <= accuracy <= 1.0):
        accuracy = None
    return InferenceInfo(version, created, accuracy)


def main(argv: list[str] | None = None) -> int:
    """Write the inference file beside each checkpoint named on the command line."""
    from model.storage.checkpoint import CheckpointError, load_checkpoint

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m model.storage.inference_file CHECKPOINT.pt [...]\n\n"
              "Write CHECKPOINT.npz beside each checkpoint: its network for reading digits without torch.")
        return 0 if argv else 2
    for name in argv:
        try:
            written = write_inference_file(load_checkpoint(name), inference_path(name))
        except (CheckpointError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{written}: {written.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
