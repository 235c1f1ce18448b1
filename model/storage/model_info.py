"""What a model file says about its model beside the weights, the error a model file that cannot be used
raises, and the check of a checkpoint's declared sizes that needs no torch (all torch-free).

:class:`ModelInfo` travels in a checkpoint (``.pt``) and in its inference file (``.npz``) alike, so the
window can name, date and judge every version without loading torch. Its fields are checked by
:func:`model.storage.checkpoint_fields.checkpoint_info` wherever they are read.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path

from model.files import limits
from model.files.validate import describe_os_error
from model.recognition.preprocess import PREPROCESS_VERSION


class CheckpointError(Exception):
    """A checkpoint file could not be used; the message says which file and why."""


@dataclass
class ModelInfo:
    """What a checkpoint says about its model, beside the weights."""

    version: str = ""  # short id derived from the weights; set when saved
    parent_version: str = ""  # the version this one was fine-tuned from, "" for a base model
    created: str = ""  # ISO 8601 UTC time of saving
    preprocess_version: int = PREPROCESS_VERSION
    mnist_test_accuracy: float | None = None  # in [0, 1]; None if never measured
    mnist_test_size: int = 0  # how many MNIST test digits that accuracy is measured on
    training_command: str = ""  # how the model was made
    seed: int | None = None
    sample_count: int = 0  # personal samples used for fine-tuning
    notes: dict = field(default_factory=dict)  # any further figures (plain types only)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelInfo":
        """Return the info, ignoring keys written by newer versions of this program."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


ZIP_START = b"PK\x03\x04"  # how a zip archive begins: torch.load reads any file that does as one


def check_declared_sizes(path: Path) -> None:
    """Refuse a zip-format checkpoint whose entries declare more bytes than the size limit, or whose
    archive Python's zipfile cannot read.

    torch's zip format stores tensors uncompressed; a compressed entry could expand far beyond the
    file's own size (a zip bomb), so the declared sizes are checked before torch reads any of them.
    torch takes any file that starts as a zip for one, and its own zip reader passes over flaws that
    Python's refuses (a malformed extra field, for one): such an archive cannot have its sizes counted
    and is refused as damaged, never left to torch. A file that does not start as a zip is torch's
    older format, plain pickles, and is left to the full load.
    """
    try:
        with open(path, "rb") as file:
            start = file.read(len(ZIP_START))
        if start != ZIP_START:
            return  # the legacy format: plain pickles, which torch reads as such
        with zipfile.ZipFile(path) as archive:
            declared = sum(entry.file_size for entry in archive.infolist())
    except OSError as error:
        raise CheckpointError(f"Model file {path} cannot be read: {describe_os_error(error)}.") from error
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as error:
        cause = str(error).rstrip(".") or type(error).__name__
        raise CheckpointError(f"Model file {path} is damaged or not a model file: its zip archive cannot be "
                              f"read ({cause[:80]}).") from error
    if declared > limits.MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"Model file {path} declares {declared / 2 ** 20:.0f} MB of contents; the limit "
                              f"for a model file is {limits.MAX_CHECKPOINT_BYTES / 2 ** 20:.0f} MB.")
