"""Classify strokes, pictures or stroke files through the one preprocessing pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from typing import TYPE_CHECKING

import numpy as np

from model.files import validate
from model.recognition.answer import DigitAnswer, UnusableOutputError
from model.recognition.inference import NumpyNetwork
from model.recognition.numbers import NumberReader, TooManyPiecesError, network_probabilities
from model.recognition.picture_numbers import read_picture_number
from model.recognition.preprocess import raster_to_image, strokes_to_image

if TYPE_CHECKING:
    from torch import nn


class HasVersion(Protocol):
    version: str  # the first 10 hex digits of the weights' SHA-256


class BuildsNetwork(Protocol):
    """What a Predictor needs of a model: a way to build its network, and its version for messages.

    model.storage.checkpoint.Checkpoint is one (a torch network); model.storage.inference_file's
    InferenceModel another (the same network read with numpy, without loading torch). Recognition
    does not import storage, which sits above it.
    """

    info: HasVersion

    def build(self) -> "nn.Module | NumpyNetwork": ...


@dataclass(frozen=True)
class Prediction(DigitAnswer):
    """What the model makes of one digit."""

    probabilities: np.ndarray  # (10,) float, sums to 1
    image: np.ndarray  # (28, 28) float, ink 1.0: what the model saw


class Predictor:
    """One model ready for inference; use each instance from one thread at a time."""

    def __init__(self, checkpoint: BuildsNetwork) -> None:
        self.checkpoint = checkpoint
        network = checkpoint.build()
        if not isinstance(network, NumpyNetwork):
            import torch

            # channels_last weights take the faster convolution path on the CPU (benchmarks/latency.py).
            network = network.to(memory_format=torch.channels_last)
        self.network = network
        self._number_reader = None  # model.recognition.numbers.NumberReader, made on first use

    @property
    def version(self) -> str:
        return self.checkpoint.info.version

    def predict_image(self, image: np.ndarray) -> Prediction:
        """Return the prediction for a preprocessed 28×28 image (ink 1.0)."""
        try:  # the number reader's one way to run a network, torch's or numpy's
            probabilities = network_probabilities(self.network, [image])[0]
        except UnusableOutputError:  # finite weights can still overflow: never show a NaN
            raise UnusableOutputError(f"Model {self.version} gave no usable answer (its output is not a number); "
                                      f"use another model version.") from None
        return Prediction(probabilities, image)

    def predict_strokes(self, strokes: Sequence[Sequence[Sequence[float]]]) -> Prediction:
        """Return the prediction for strokes; raises NothingDrawnError for no ink."""
        return self.predict_image(strokes_to_image(strokes))

    def predict_file(self, path: str | Path) -> Prediction:
        """Return the prediction for an image file, or a JSON file of strokes.

        A stroke file holds ``{"strokes": [[[x, y], ...], ...]}`` or just the list of strokes;
        points may carry pressure and time as third and fourth values. Raises InvalidInputError
        (naming the file and the cause) for a file that cannot be used, NothingDrawnError for no ink.
        """
        path = Path(path)
        if path.suffix.lower() == ".json":
            return self.predict_strokes(validate.stroke_file(path))
        return self.predict_image(raster_to_image(validate.picture_file(path)))

    def read_number(self, strokes: Sequence[Sequence[Sequence[float]]], expected_count: int | None = None):
        """Return the model.recognition.numbers.NumberReading of strokes holding one digit or several."""
        if self._number_reader is None:
            self._number_reader = NumberReader(self.network)
        return self._number_reader.read(strokes, expected_count)

    def read_number_file(self, path: str | Path, expected_count: int | None = None):
        """Return the model.recognition.numbers.NumberReading of a picture or a stroke file of one digit or several.

        A file holding one digit reads exactly as :meth:`predict_file` reads it. The file is checked
        as :meth:`predict_file` checks it (size, points, pixels), raising InvalidInputError.
        """
        path = Path(path)
        try:
            if path.suffix.lower() == ".json":
                return self.read_number(validate.stroke_file(path), expected_count)
            return read_picture_number(validate.picture_file(path), self.network, expected_count)
        except TooManyPiecesError as error:  # refused like any other file beyond the limits: named
            raise TooManyPiecesError(f"{path}: {error}") from None
