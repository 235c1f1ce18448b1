"""A model's inference file: what reading digits needs, readable without torch (``default.npz`` beside ``default.pt``).

A checkpoint (``.pt``) is read with torch, which costs about 1.6 s and 650 MB before the first digit
is read. The inference file holds the same network as numpy arrays, batch norm folded in
(:func:`model.recognition.inference.fold`), plus the network's config and the checkpoint's whole
:class:`~model.storage.model_info.ModelInfo` (version, parent, date, accuracies, gate figures), in an
``.npz`` read with ``allow_pickle=False``: loading it never runs code from the file. The registry of
versions writes one beside every version it saves (:mod:`model.storage.versions`), so the window lists
and reads every model without torch. Every array's name and shape must be exactly those the config's
network has, every value finite, the file and the network within :mod:`model.files.limits`;
anything else raises :class:`InferenceFileError` naming the file and the cause.

    python -m model.storage.inference_file assets/default.pt    # writes assets/default.npz

Run it whenever the shipped weights change (a test checks that the two agree). No torch here:
:func:`inference_model` and :func:`write_inference_file` take a checkpoint someone else loaded.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from model.files import limits
from model.files.disk import atomic_write_bytes
from model.files.validate import NETWORK_WIDTHS, VERSION_ID, InvalidInputError, npy_header, read_limited
from model.recognition.inference import NumpyNetwork, fold, inference_shapes
from model.recognition.net_config import NetConfig
from model.recognition.preprocess import PREPROCESS_VERSION
from model.storage.checkpoint_fields import checkpoint_info
from model.storage.model_info import ModelInfo

FORMAT = "hwr-inference"
FORMAT_VERSION = 2  # 2: the whole ModelInfo (1 held version, date and accuracy only)
_META = "__meta__"  # the array holding the JSON facts (UTF-8 bytes as uint8)


class InferenceFileError(InvalidInputError):
    """An inference file that cannot be used; the message names the file and the cause."""


@dataclass(frozen=True)
class InferenceModel:
    """A model ready to read digits with numpy; ``build()`` gives its network (a Predictor takes it)."""

    config: NetConfig
    info: ModelInfo  # the checkpoint's, whole
    arrays: dict

    def build(self) -> NumpyNetwork:
        return NumpyNetwork(self.config, self.arrays)


def inference_path(checkpoint_path: str | os.PathLike) -> Path:
    """Return where the inference file of the checkpoint at ``checkpoint_path`` lives (``.npz`` beside it)."""
    return Path(checkpoint_path).with_suffix(".npz")


def inference_model(checkpoint) -> InferenceModel:
    """Return the InferenceModel of a model.storage.checkpoint.Checkpoint already in memory."""
    arrays = fold(checkpoint.config, {name: tensor.numpy() for name, tensor in checkpoint.state_dict.items()})
    return InferenceModel(checkpoint.config, ModelInfo.from_dict(asdict(checkpoint.info)), arrays)


def inference_bytes(model: InferenceModel) -> bytes:
    """Return the inference file's contents for ``model``."""
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": model.config.to_dict(),
            "info": asdict(model.info)}
    description = json.dumps(meta).encode("utf-8")
    if len(description) > limits.MAX_INFO_BYTES:  # never from hwr's own figures: the file would be refused
        raise InferenceFileError(f"Model {model.info.version}'s description is {len(description):,} bytes; an inference "
                                 f"file holds at most {limits.MAX_INFO_BYTES:,}.")
    buffer = io.BytesIO()
    np.savez(buffer, **{_META: np.frombuffer(description, dtype=np.uint8)}, **model.arrays)
    return buffer.getvalue()


def write_inference_file(checkpoint, path: str | os.PathLike) -> Path:
    """Write the inference file of a model.storage.checkpoint.Checkpoint (or an InferenceModel) to ``path``,
    atomically."""
    model = checkpoint if isinstance(checkpoint, InferenceModel) else inference_model(checkpoint)
    return atomic_write_bytes(Path(path), inference_bytes(model))


def read_inference_file(path: str | os.PathLike) -> InferenceModel:
    """Return the model in the inference file at ``path``; raises InferenceFileError naming the cause.

    The archive is read member by member: each array's header (its type and shape) is checked against
    what the network has before a byte of its data is read, so a file of a few hundred bytes that
    declares an array of terabytes is refused, never allocated.
    """
    path = Path(path)
    try:
        data = read_limited(path, limits.MAX_CHECKPOINT_BYTES, "Inference file")
    except InvalidInputError as error:
        raise InferenceFileError(str(error)) from None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if sum(info.file_size for info in members.values()) > limits.MAX_CHECKPOINT_BYTES:
                raise InferenceFileError(f"Inference file {path} declares more than "
                                         f"{limits.MAX_CHECKPOINT_BYTES // 2 ** 20} MB of contents.")
            names = {name[:-4] if name.endswith(".npy") else name for name in members}
            if _META not in names:
                raise InferenceFileError(f"Inference file {path} is not one hwr wrote (no description).")
            raw = _array(archive, _META, path, np.dtype(np.uint8),
                         lambda shape: len(shape) == 1 and shape[0] <= limits.MAX_INFO_BYTES, "short text")
            meta = _meta(raw, path)
            config = _config(meta.get("config"), path)
            expected = inference_shapes(config)
            if names - {_META} != set(expected):
                raise InferenceFileError(f"Inference file {path} holds other arrays than a {config.arch} network "
                                         f"has ({sorted(names - {_META} - set(expected))[:3]} extra, "
                                         f"{sorted(set(expected) - names)[:3]} missing).")
            arrays = {}
            for name, shape in expected.items():
                array = _array(archive, name, path, np.dtype(np.float32), lambda found, s=shape: found == s,
                               f"float32 {shape}")
                if not np.isfinite(array).all():
                    raise InferenceFileError(f"Inference file {path}: {name} holds values that are not numbers.")
                arrays[name] = array
    except InferenceFileError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError, MemoryError, NotImplementedError) as error:
        raise InferenceFileError(f"Inference file {path} is damaged ({type(error).__name__}: {error}).") from None
    return InferenceModel(config, _info(meta.get("info"), path), arrays)


def _array(archive: zipfile.ZipFile, name: str, path: Path, dtype: np.dtype, shape_ok, wanted: str) -> np.ndarray:
    """Return the array ``name`` of the archive if its header says ``dtype`` and a shape ``shape_ok`` accepts.

    The header is read first (numpy's own .npy header readers, which bound its length); the data only then,
    exactly as many bytes as that shape holds.
    """
    with archive.open(f"{name}.npy") as stream:
        header = npy_header(stream)
        if header is None:
            raise InferenceFileError(f"Inference file {path}: {name} is stored in a form hwr does not write.")
        shape, fortran_order, found = header
        if found != dtype or not shape_ok(shape):
            raise InferenceFileError(f"Inference file {path}: {name} is {found} {shape}, not {wanted}.")
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        content = stream.read(size + 1)
    if len(content) != size:
        raise InferenceFileError(f"Inference file {path}: {name} holds {len(content):,} bytes, not the {size:,} "
                                 f"its shape needs.")
    array = np.frombuffer(content, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")
    return np.ascontiguousarray(array)


def _meta(raw: np.ndarray, path: Path) -> dict:
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > limits.MAX_INFO_BYTES:
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


def _info(value, path: Path) -> ModelInfo:
    """Return the file's ModelInfo, checked as a checkpoint's is; it must name its version."""
    try:
        info = ModelInfo(**checkpoint_info(value, path))
    except InvalidInputError as error:
        raise InferenceFileError(str(error)) from None
    if not VERSION_ID.fullmatch(info.version):
        raise InferenceFileError(f"Inference file {path} has no valid model version.")
    if info.preprocess_version != PREPROCESS_VERSION:
        raise InferenceFileError(f"Inference file {path} expects preprocessing version {info.preprocess_version}; "
                                 f"this program has version {PREPROCESS_VERSION}.")
    return info


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
