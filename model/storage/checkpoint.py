"""Checkpoints: weights plus the metadata needed to rebuild, trust and trace a model.

Files are written atomically (temporary file, fsync, os.replace) and read with
``torch.load(weights_only=True)``, which unpickles only tensors and plain containers: a file that
tries to run code is refused instead of executed.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import warnings
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from model.files import limits, validate
from model.files.disk import atomic_write_bytes
from model.files.validate import describe_os_error
from model.recognition.network import NetConfig, build_network
from model.recognition.preprocess import PREPROCESS_VERSION
from model.storage import checkpoint_fields
from model.storage.model_info import CheckpointError, ModelInfo, check_declared_sizes

__all__ = ["Checkpoint", "CheckpointError", "ModelInfo", "load_checkpoint", "make_checkpoint", "save_checkpoint",
           "weights_digest"]

FORMAT = "hwr-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """A network's config, weights and info, as stored in one file."""

    config: NetConfig
    state_dict: dict
    info: ModelInfo

    def build(self) -> nn.Module:
        """Return the network with these weights, in eval mode."""
        network = build_network(self.config)
        network.load_state_dict(self.state_dict)
        return network.eval()


def weights_digest(state_dict: dict) -> str:
    """Return a 10-hex-digit id of the weights, identical for identical tensors."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:10]


def make_checkpoint(network: nn.Module, config: NetConfig, info: ModelInfo) -> Checkpoint:
    """Return a checkpoint of the network with a CPU copy of its weights, version and time set."""
    state_dict = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
    info = ModelInfo(**asdict(info))
    info.version = weights_digest(state_dict)
    info.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Checkpoint(config, state_dict, info)


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike) -> Path:
    """Write the checkpoint atomically to ``path`` and return the path.

    A crash at any moment leaves either the old file or the new one, never a half-written one.
    Raises OSError (for example when the disk is full) with the old file untouched.
    """
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": checkpoint.config.to_dict(),
        "info": asdict(checkpoint.info),
        "state_dict": checkpoint.state_dict,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(Path(path), buffer.getvalue())


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Return the checkpoint stored at ``path``; raises CheckpointError with the reason otherwise.

    Never executes code from the file. Before anything is unpickled the file's size is checked
    (and, for the zip format, the sizes its entries declare); before any weights are built, the
    network's size is counted from its config. Every piece of ``info`` is checked for its type and
    range, and the weights must be exactly the tensors of the architecture the file names, all
    finite. So a bad file is refused here, with one message, rather than failing later.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as error:
        raise CheckpointError(f"Model file {path} does not exist.") from error
    except OSError as error:
        raise CheckpointError(f"Model file {path} cannot be read: {describe_os_error(error)}.") from error
    if not path.is_file():
        raise CheckpointError(f"Model file {path} is not a regular file.")
    if size == 0:
        raise CheckpointError(f"Model file {path} is empty (0 bytes): not a model file.")
    if size > limits.MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"Model file {path} is {size / 2 ** 20:.0f} MB; the limit for a model file is "
                              f"{limits.MAX_CHECKPOINT_BYTES / 2 ** 20:.0f} MB.")
    check_declared_sizes(path)
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols: the message below says it all
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):  # not a pickle at all: plain damage
            raise CheckpointError(f"Model file {path} is damaged or not a model file.") from error
        if "Unsupported global" in str(error) or "allowed global" in str(error):  # a name to import: code
            raise CheckpointError(
                f"Model file {path} was refused: it holds objects other than weights "
                f"(possibly code), which are never loaded.") from error
        raise CheckpointError(f"Model file {path} is damaged or not a model file.") from error
    except OSError as error:
        raise CheckpointError(f"Model file {path} cannot be read: {describe_os_error(error)}.") from error
    except Exception as error:  # an unpickler fed garbage can raise almost anything
        raise CheckpointError(f"Model file {path} is damaged or not a model file.") from error

    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"Model file {path} is not an hwr checkpoint.")
    if payload.get("format_version") != FORMAT_VERSION:
        version = payload.get("format_version")
        raise CheckpointError(
            f"Model file {path} has format version {version if isinstance(version, int) else '?'}; "
            f"this program reads version {FORMAT_VERSION}.")
    try:
        config = checkpoint_fields.checkpoint_config(payload.get("config"), path)
        info = ModelInfo(**checkpoint_fields.checkpoint_info(payload.get("info", {}), path))
        if info.preprocess_version != PREPROCESS_VERSION:
            raise CheckpointError(
                f"Model file {path} expects preprocessing version {info.preprocess_version}; "
                f"this program has version {PREPROCESS_VERSION}.")
        state_dict = checkpoint_fields.checkpoint_weights(payload.get("state_dict"), config, path)
        build_network(config).load_state_dict(state_dict)  # strict; cannot fail after the checks above
    except validate.InvalidInputError as error:
        raise CheckpointError(str(error)) from error
    except (TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"Model file {path} does not match the architecture it names.") from error
    return Checkpoint(config, state_dict, info)
