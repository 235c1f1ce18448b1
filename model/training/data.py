"""MNIST as in-memory tensors, and the augmentation that imitates drawing on a screen."""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from model.constants import MNIST_DIR_ENV, default_mnist_dir  # noqa: F401  (re-exported)
from model.files import limits
from model.files.validate import describe_os_error, megabytes
from model.recognition.preprocess import MNIST_MEAN, MNIST_STD


class MnistUnavailableError(RuntimeError):
    """Raised when MNIST is neither on disk nor downloadable; the message says how to fix it."""


@dataclass(frozen=True)
class DigitSet:
    """Digits as uint8 images (N, 28, 28) with int64 labels (N,), kept whole in memory."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor | slice) -> "DigitSet":
        """Return the digits at ``index``."""
        return DigitSet(self.images[index], self.labels[index])


IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # IDX magic numbers: unsigned bytes in 3 and in 1 dimensions


def mnist_paths(root: str | os.PathLike, train: bool) -> tuple[Path, Path]:
    """Return the paths of one MNIST split's raw files (pictures, labels) under ``root``."""
    raw = Path(root).expanduser() / "MNIST" / "raw"
    prefix = "train" if train else "t10k"
    return raw / f"{prefix}-images-idx3-ubyte", raw / f"{prefix}-labels-idx1-ubyte"


def load_mnist(root: str | os.PathLike, train: bool, download: bool = False) -> DigitSet:
    """Return MNIST's training or test split from ``root`` (the folder holding ``MNIST/raw``).

    Downloads only when ``download`` is true; any failure becomes MnistUnavailableError with a
    message that names the setting to change. Files that are there are checked first (sizes, headers,
    lengths: :func:`check_mnist_split`), so a damaged one is named as such, never taken for a missing one.
    """
    images_path, labels_path = mnist_paths(root, train)
    if images_path.exists() and labels_path.exists():
        check_mnist_split(images_path, labels_path)

    from torchvision.datasets import MNIST  # here: importing torchvision is heavy (see read_mnist)

    root = Path(root).expanduser()
    try:
        dataset = MNIST(str(root), train=train, download=download)
    except (RuntimeError, OSError) as error:  # torchvision: "Dataset not found"; URLError is OSError
        # torchvision's own text names its download=True argument, which no user of hwr can set: a
        # failed download says why it failed; a missing folder says only which setting to change.
        how = f"the download failed ({error})" if download else "downloading is off"
        raise MnistUnavailableError(
            f"MNIST was not found in {root / 'MNIST' / 'raw'} and {how}. "
            f"Point --mnist-dir or the {MNIST_DIR_ENV} environment variable at a folder that holds "
            f"MNIST/raw, or allow the download on a machine with internet access."
        ) from error
    _check_labels(dataset.targets.numpy(), labels_path)
    return DigitSet(dataset.data.clone(), dataset.targets.clone())


def read_mnist(root: str | os.PathLike, train: bool, download: bool = False) -> DigitSet:
    """Return the same digits as load_mnist, reading MNIST's raw files with numpy when they are there.

    The app uses this: importing torchvision (for its CUDA build) adds about 166 MB of resident
    memory and pauses every other thread for a fifth of a second while its libraries load, yet it
    is needed only to download. Missing files go through load_mnist, which downloads if allowed.
    """
    images_path, labels_path = mnist_paths(root, train)
    if not (images_path.is_file() and labels_path.is_file()):
        return load_mnist(root, train, download)
    images_shape, labels_shape = check_mnist_split(images_path, labels_path)
    images = _read_idx(images_path, IMAGES_MAGIC, images_shape)
    labels = _read_idx(labels_path, LABELS_MAGIC, labels_shape)
    _check_labels(labels, labels_path)
    return DigitSet(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)))


def check_mnist_split(images_path: Path, labels_path: Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return the shapes a split's two raw files declare, (N, 28, 28) and (N,), if each holds exactly that.

    Only the headers are read. Raises MnistUnavailableError naming the damaged file and the cause: over
    the size limit, not an IDX file of its kind (bad magic number), cut short or too long for its header,
    pictures not 28×28, or a count of labels other than the count of pictures.
    """
    images_shape = _idx_shape(images_path, IMAGES_MAGIC)
    labels_shape = _idx_shape(labels_path, LABELS_MAGIC)
    if images_shape[1:] != (28, 28):
        raise _damaged(images_path, f"it declares pictures of {images_shape[1]}×{images_shape[2]} pixels, "
                                    f"not 28×28")
    if labels_shape[0] != images_shape[0]:
        raise _damaged(labels_path, f"it holds {labels_shape[0]:,} labels for {images_shape[0]:,} pictures")
    return images_shape, labels_shape


def _damaged(path: Path, cause: str) -> MnistUnavailableError:
    return MnistUnavailableError(f"MNIST file {path} is damaged ({cause}); delete it to download it again, "
                                 f"or point --mnist-dir or {MNIST_DIR_ENV} at a good copy.")


def _idx_shape(path: Path, magic: int) -> tuple[int, ...]:
    """Return the shape in the header of the uncompressed IDX file at ``path`` (big-endian, unsigned bytes)
    if the file is within the size limit and exactly as long as that shape needs; raises MnistUnavailableError."""
    dimensions = magic & 0xFF
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; regular files ignore it.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(descriptor, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _damaged(path, "it is not a regular file")
            size = info.st_size
            if size > limits.MAX_MNIST_FILE_BYTES:
                raise _damaged(path, f"it is {megabytes(size)}; an MNIST file is at most "
                                     f"{megabytes(limits.MAX_MNIST_FILE_BYTES)}")
            header = stream.read(4 + 4 * dimensions)
    except OSError as error:
        raise MnistUnavailableError(f"MNIST file {path} cannot be read: {describe_os_error(error)}.") from error
    found = int.from_bytes(header[:4], "big") if len(header) >= 4 else None
    if found != magic:
        raise _damaged(path, f"bad magic number: it does not start with {magic}, the IDX magic number of "
                             f"{'pictures' if magic == IMAGES_MAGIC else 'labels'}")
    if len(header) < 4 + 4 * dimensions:
        raise _damaged(path, f"truncated: expected at least {4 + 4 * dimensions} bytes, found {size:,}")
    shape = tuple(int.from_bytes(header[4 + 4 * d:8 + 4 * d], "big") for d in range(dimensions))
    expected = len(header) + math.prod(shape)
    if size != expected:
        cut = "truncated: " if size < expected else ""
        raise _damaged(path, f"{cut}expected {expected:,} bytes, found {size:,}")
    return shape


def _read_idx(path: Path, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    """Return the array of ``shape`` in an IDX file whose header :func:`_idx_shape` has checked."""
    header = 4 + 4 * (magic & 0xFF)
    expected = math.prod(shape)
    try:
        with open(path, "rb") as stream:
            stream.seek(header)
            body = stream.read(expected + 1)  # a file that changed since its check is still held to its shape
    except OSError as error:
        raise MnistUnavailableError(f"MNIST file {path} cannot be read: {describe_os_error(error)}.") from error
    if len(body) != expected:
        cut = "truncated: " if len(body) < expected else ""
        raise _damaged(path, f"{cut}expected {header + expected:,} bytes, found {header + len(body):,}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape).copy()


def _check_labels(labels: np.ndarray, path: Path) -> None:
    """Raise MnistUnavailableError naming the labels file if a label is not a digit 0–9."""
    if labels.size and int(labels.max()) > 9:
        raise _damaged(path, f"label {int(labels.max())} is not a digit")


def concat_digit_sets(parts: list[DigitSet]) -> DigitSet:
    """Return the digits of all parts, in order, as one set."""
    return DigitSet(torch.cat([part.images for part in parts]), torch.cat([part.labels for part in parts]))


def split_validation(digits: DigitSet, validation_size: int, seed: int) -> tuple[DigitSet, DigitSet]:
    """Return (training, validation) parts, the validation part drawn at random from ``seed``."""
    order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(seed))
    return digits.subset(order[validation_size:]), digits.subset(order[:validation_size])


def balanced_subset(digits: DigitSet, per_class: int, seed: int) -> DigitSet:
    """Return ``per_class`` digits of each class, drawn at random from ``seed``, in a fixed order."""
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for label in range(10):
        members = torch.nonzero(digits.labels == label).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return digits.subset(torch.cat(chosen))


@dataclass(frozen=True)
class AugmentConfig:
    """How far each screen-drawing effect is pushed; each sample draws its own amounts."""

    rotation_degrees: float = 12.0  # ± rotation
    slant: float = 0.3  # ± horizontal shear (tan of the slant angle)
    scale_range: tuple[float, float] = (0.85, 1.1)  # overall size
    aspect_jitter: float = 0.1  # ± independent stretch of width against height
    shift_pixels: float = 2.5  # ± translation in each direction
    thickening: float = 1.0  # at most this blend towards a 3×3 dilation (one pixel-ring thicker)
    thinning: float = 0.5  # at most this blend towards a 3×3 erosion: a full one erases 2-px strokes


def to_unit_ink(images_uint8: torch.Tensor) -> torch.Tensor:
    """Return (B, 1, 28, 28) floats in [0, 1] from a (B, 28, 28) uint8 batch."""
    return images_uint8.unsqueeze(1).float() / 255.0


def normalise(unit_ink: torch.Tensor) -> torch.Tensor:
    """Return MNIST-normalised floats from ink in [0, 1]."""
    return (unit_ink - MNIST_MEAN) / MNIST_STD


def augment(unit_ink: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Return a batch (B, 1, 28, 28) of ink in [0, 1] with random width, slant, rotation, size, position.

    All of it runs as a few batched tensor operations, so it costs little next to a training step.
    """
    batch = unit_ink.shape[0]
    device = unit_ink.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(batch, generator=generator).mul(high - low).add(low).to(device)

    # Stroke width: blend towards a dilated (thicker) or eroded (thinner) copy.
    amount = uniform(-1.0, 1.0).view(-1, 1, 1, 1)
    thicker = F.max_pool2d(unit_ink, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-unit_ink, 3, stride=1, padding=1)
    unit_ink = torch.where(amount > 0, unit_ink + amount * config.thickening * (thicker - unit_ink),
                           unit_ink + (-amount) * config.thinning * (thinner - unit_ink))

    angle = uniform(-config.rotation_degrees, config.rotation_degrees) * (math.pi / 180)
    shear = uniform(-config.slant, config.slant)
    scale = uniform(*config.scale_range)
    aspect = uniform(-config.aspect_jitter, config.aspect_jitter)
    scale_x, scale_y = scale * (1 + aspect), scale * (1 - aspect)
    shift = config.shift_pixels * 2 / 28  # affine_grid works in [-1, 1] units
    shift_x, shift_y = uniform(-shift, shift), uniform(-shift, shift)

    cos, sin = torch.cos(angle), torch.sin(angle)
    # Output → input sampling matrix: inverse of (scale · shear · rotation).
    forward = torch.zeros(batch, 3, 3, device=device)
    forward[:, 0, 0] = scale_x * cos
    forward[:, 0, 1] = scale_x * (-sin + shear * cos)
    forward[:, 1, 0] = scale_y * sin
    forward[:, 1, 1] = scale_y * cos
    forward[:, 0, 2] = shift_x
    forward[:, 1, 2] = shift_y
    forward[:, 2, 2] = 1
    theta = torch.linalg.inv(forward)[:, :2, :]
    grid = F.affine_grid(theta, list(unit_ink.shape), align_corners=False)
    return F.grid_sample(unit_ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
