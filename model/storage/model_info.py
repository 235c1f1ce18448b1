"""What a model file says about its model beside the weights, and the error a model file that cannot be
used raises (torch-free).

:class:`ModelInfo` travels in a checkpoint (``.pt``) and in its inference file (``.npz``) alike, so the
window can name, date and judge every version without loading torch. Its fields are checked by
:func:`model.storage.checkpoint_fields.checkpoint_info` wherever they are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

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
