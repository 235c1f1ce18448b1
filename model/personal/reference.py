"""The digits a fine-tune replays and is checked against, shipped with the app or read from MNIST.

A fine-tune needs three fixed sets of digits that are not the user's:

* *replay*: MNIST training digits mixed into every step, so the model keeps seeing every class;
* the *MNIST gate*: a class-balanced subset of MNIST's test set;
* the *pen gate*: digits drawn with a pen by writers other than the user (UNIPEN validation
  writers, never its test writers), rendered through the canvas's own pipeline.

Both gates ship inside the package as compact ``.npz`` files (28×28 uint8 pictures, labels and the
preprocessing version, read with ``allow_pickle=False``), so the first fine-tune needs no download.
``python -m model.personal build`` makes them from MNIST and UNIPEN; ``python -m model.personal stamp``
stores a model's gate figures in its checkpoint, so its first fine-tune need not measure them.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.files.validate import npy_header
from model.training.data import DigitSet, MnistUnavailableError, balanced_subset, read_mnist
from model.recognition.preprocess import PREPROCESS_VERSION

MNIST_REFERENCE_NAME = "mnist_reference.npz"  # replay + MNIST gate, from MNIST (CC BY-SA 3.0)
PEN_GATE_NAME = "pen_gate.npz"  # the pen gate, from UNIPEN validation writers (CC BY 4.0)
REPLAY_PER_CLASS = 200  # MNIST training digits of each class a fine-tune replays from
MNIST_GATE_PER_CLASS = 500  # MNIST test digits of each class in the MNIST gate (5,000 in all)
PEN_GATE_PER_CLASS = 150  # pen digits of each class in the pen gate, at most (1,500 in all)
MAX_REFERENCE_BYTES = 20 * 2 ** 20  # a reference file larger than this is refused unread
MAX_REFERENCE_DIGITS = 20_000  # per array
MAX_REFERENCE_CONTENT_BYTES = 2 * MAX_REFERENCE_DIGITS * 28 * 28  # all arrays' data together: 31 MB


class ReferenceFileError(RuntimeError):
    """A reference file cannot be used; the message names the file and the cause."""


@dataclass(frozen=True)
class GateSet:
    """One fixed set of digits a new model must not lose accuracy on."""

    name: str  # "MNIST" or "pen", as the user is told
    digits: DigitSet
    digest: str  # identifies the digits: a stored figure is reused only for the very same set

    def __len__(self) -> int:
        return len(self.digits)


@dataclass(frozen=True)
class Reference:
    """Everything a fine-tune needs besides the user's samples."""

    replay: DigitSet
    gates: tuple[GateSet, ...]

    def gate(self, name: str) -> GateSet | None:
        """Return the gate called ``name``, or None when this reference has none."""
        return next((gate for gate in self.gates if gate.name == name), None)


def digits_digest(digits: DigitSet) -> str:
    """Return a 10-hex-digit id of the digits (pictures and labels, in order)."""
    digest = hashlib.sha256()
    digest.update(digits.images.contiguous().numpy().tobytes())
    digest.update(digits.labels.numpy().astype(np.int64).tobytes())
    return digest.hexdigest()[:10]


def gate_set(name: str, digits: DigitSet) -> GateSet:
    """Return the gate of these digits, with its digest."""
    return GateSet(name, digits, digits_digest(digits))


# -- reading --------------------------------------------------------------------------------------


def read_digit_file(path: Path) -> dict[str, DigitSet]:
    """Return the digit sets stored in a reference ``.npz`` (``NAME_images`` + ``NAME_labels``).

    Raises ReferenceFileError naming the file and the cause: missing, too large, not an npz, a pickled
    object, wrong shapes or labels, or pictures made by another preprocessing version. Each array's
    header (type and shape) is checked against the limits before a byte of its data is read
    (:func:`_array_header`), so a small file that declares millions of pictures is refused unread.
    """
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ReferenceFileError(f"Reference digits {path} cannot be read ({error.strerror or error}).") from error
    if not path.is_file():
        raise ReferenceFileError(f"Reference digits {path} are not a regular file.")
    if size > MAX_REFERENCE_BYTES:
        raise ReferenceFileError(f"Reference digits {path} are {size:,} bytes; at most {MAX_REFERENCE_BYTES:,} are read.")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            headers = {name: _array_header(archive, name, path) for name in members}
            declared = sum(header[3] for header in headers.values())
            if declared > MAX_REFERENCE_CONTENT_BYTES:
                raise ReferenceFileError(f"Reference digits {path} declare {declared:,} bytes of arrays; at most "
                                         f"{MAX_REFERENCE_CONTENT_BYTES:,} are read.")
            arrays = {name[:-len(".npy")]: _array_data(archive, name, headers[name], path) for name in members}
    except ReferenceFileError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, NotImplementedError) as error:
        raise ReferenceFileError(f"Reference digits {path} are damaged or not an .npz file ({error}).") from error
    version = arrays.pop("preprocess_version", None)
    if (version is None or version.shape != () or not np.issubdtype(version.dtype, np.integer)
            or int(version) != PREPROCESS_VERSION):
        raise ReferenceFileError(f"Reference digits {path} were made by preprocessing version "
                             f"{None if version is None else version.tolist()}; this program has version "
                             f"{PREPROCESS_VERSION}. Rebuild them with `python -m model.personal build`.")
    sets = {}
    for key in sorted(arrays):
        if not key.endswith("_images"):
            continue
        name = key[:-len("_images")]
        images, labels = arrays[key], arrays.get(f"{name}_labels")
        if (labels is None or images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28)
                or labels.shape != (len(images),) or len(images) > MAX_REFERENCE_DIGITS
                or not np.issubdtype(labels.dtype, np.integer) or labels.min(initial=0) < 0
                or labels.max(initial=0) > 9):
            raise ReferenceFileError(f"Reference digits {path}: '{name}' is not a set of 28×28 uint8 pictures "
                                 f"with labels 0–9.")
        sets[name] = DigitSet(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))
    return sets


def _array_header(archive: zipfile.ZipFile, member: str, path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Return (shape, fortran_order, dtype, data bytes) from the .npy header of one member of the archive.

    Reads only the header (numpy's own readers, which bound its length). Raises ReferenceFileError when
    the member is not an array, holds pickled objects, or declares more than a reference file may hold:
    more than MAX_REFERENCE_DIGITS pictures or labels, or more than MAX_REFERENCE_CONTENT_BYTES of data.
    """
    name = member[:-len(".npy")] if member.endswith(".npy") else member
    if not member.endswith(".npy"):
        raise ReferenceFileError(f"Reference digits {path} are damaged or not an .npz file ('{name[:40]}' is not "
                                 f"an array).")
    with archive.open(member) as stream:
        header = npy_header(stream)
    if header is None:
        raise ReferenceFileError(f"Reference digits {path}: '{name[:40]}' is stored in a form hwr does not write.")
    shape, fortran_order, dtype = header
    if any(length < 0 for length in shape):
        raise ReferenceFileError(f"Reference digits {path} are damaged or not an .npz file ('{name[:40]}' has a "
                                 f"negative length).")
    if dtype.hasobject:  # an object array would need pickle: refused, never unpickled
        raise ReferenceFileError(f"Reference digits {path} are damaged or not an .npz file ('{name[:40]}' holds "
                                 f"pickled objects, which are never loaded).")
    count = shape[0] if shape else 1
    if name.endswith("_images") and count > MAX_REFERENCE_DIGITS:
        raise ReferenceFileError(f"Reference digits {path}: '{name[:-len('_images')][:40]}' declares {count:,} "
                                 f"pictures; at most {MAX_REFERENCE_DIGITS:,} are read.")
    if name.endswith("_labels") and count > MAX_REFERENCE_DIGITS:
        raise ReferenceFileError(f"Reference digits {path}: '{name[:-len('_labels')][:40]}' declares {count:,} "
                                 f"labels; at most {MAX_REFERENCE_DIGITS:,} are read.")
    size = math.prod(shape) * dtype.itemsize
    if size > MAX_REFERENCE_CONTENT_BYTES:
        raise ReferenceFileError(f"Reference digits {path}: '{name[:40]}' declares {size:,} bytes of data; at most "
                                 f"{MAX_REFERENCE_CONTENT_BYTES:,} are read.")
    return shape, fortran_order, dtype, size


def _array_data(archive: zipfile.ZipFile, member: str, header: tuple, path: Path) -> np.ndarray:
    """Return the array of one member whose header :func:`_array_header` has checked: exactly as many bytes as
    its shape holds are read; a member that holds fewer or more is damage."""
    shape, fortran_order, dtype, size = header
    with archive.open(member) as stream:
        npy_header(stream)  # checked before: this moves past it, to the data
        content = stream.read(size + 1)
    if len(content) != size:
        raise ReferenceFileError(f"Reference digits {path} are damaged or not an .npz file ('{member[:-4][:40]}' "
                                 f"holds {len(content):,} bytes of data, not the {size:,} its shape needs).")
    array = np.frombuffer(content, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")
    return np.array(array)  # a writable copy in C order


def write_digit_file(path: Path, sets: dict[str, DigitSet], note: str) -> Path:
    """Write digit sets to a compressed ``.npz`` atomically (with the preprocessing version); return path."""
    from model.files.disk import atomic_write_bytes

    arrays: dict[str, np.ndarray] = {"preprocess_version": np.array(PREPROCESS_VERSION, np.int64),
                                     "note": np.array(note)}
    for name, digits in sets.items():
        arrays[f"{name}_images"] = digits.images.numpy().astype(np.uint8)
        arrays[f"{name}_labels"] = digits.labels.numpy().astype(np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def load_reference(assets: Path, mnist_dir: Path | None = None, download: bool = False) -> Reference:
    """Return the replay digits and the gates: shipped files first, MNIST's own files otherwise.

    The MNIST part comes from ``assets/mnist_reference.npz`` if present, else from ``mnist_dir``
    (downloaded only if ``download``; raises MnistUnavailableError with a clear message). The pen
    gate comes from ``assets/pen_gate.npz``; without that file there is no pen gate.
    """
    shipped = assets / MNIST_REFERENCE_NAME
    if shipped.is_file():
        sets = read_digit_file(shipped)
        if "replay" not in sets or "mnist_gate" not in sets:
            raise ReferenceFileError(f"Reference digits {shipped} lack the 'replay' or 'mnist_gate' set.")
        replay, mnist_gate = sets["replay"], sets["mnist_gate"]
    elif mnist_dir is None:
        raise MnistUnavailableError(f"Neither {shipped} nor an MNIST folder is available to fine-tune with.")
    else:
        replay, mnist_gate = mnist_reference_sets(mnist_dir, download)
    gates = [gate_set("MNIST", mnist_gate)]
    pen = assets / PEN_GATE_NAME
    if pen.is_file():
        pen_sets = read_digit_file(pen)
        if "pen_gate" not in pen_sets:
            raise ReferenceFileError(f"Reference digits {pen} lack the 'pen_gate' set.")
        gates.append(gate_set("pen", pen_sets["pen_gate"]))
    return Reference(replay, tuple(gates))


def mnist_reference_sets(mnist_dir: Path, download: bool = False) -> tuple[DigitSet, DigitSet]:
    """Return (replay, MNIST gate) drawn from MNIST's files: fixed, class-balanced subsets."""
    replay = balanced_subset(read_mnist(mnist_dir, train=True, download=download), REPLAY_PER_CLASS, seed=0)
    gate = balanced_subset(read_mnist(mnist_dir, train=False, download=download), MNIST_GATE_PER_CLASS, seed=2024)
    return replay, gate


# -- building the shipped files -------------------------------------------------------------------


def pen_gate_digits(unipen_dir: Path, per_class: int = PEN_GATE_PER_CLASS, seed: int = 0) -> DigitSet:
    """Return up to ``per_class`` digits of each class from UNIPEN's *validation* writers, rendered.

    Validation writers only: test writers are never used for anything but the final measurement,
    and training writers' digits are what the model learnt from (a gate on them would flatter it).
    Digits are picked at random (``seed``) across writers, so no single writer dominates.
    """
    from model.recognition.preprocess import NothingDrawnError, strokes_to_image
    from model.training.unipen import pen_digits

    digits = pen_digits(unipen_dir, "val")
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label in range(10):
        members = [d for d in digits if d.label == label]
        for index in rng.permutation(len(members)):
            if sum(1 for x in labels if x == label) >= per_class:
                break
            try:
                image = strokes_to_image(members[index].strokes)
            except NothingDrawnError:
                continue
            images.append(np.clip(np.rint(image * 255), 0, 255).astype(np.uint8))
            labels.append(label)
    return DigitSet(torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64))


def build_assets(assets: Path, mnist_dir: Path | None, unipen_dir: Path | None) -> list[Path]:
    """Write the shipped reference files that the given data allow; return their paths."""
    written = []
    if mnist_dir is not None:
        replay, gate = mnist_reference_sets(mnist_dir)
        written.append(write_digit_file(assets / MNIST_REFERENCE_NAME, {"replay": replay, "mnist_gate": gate},
                                        "MNIST (Y. LeCun, C. Cortes, C. J. C. Burges), CC BY-SA 3.0: "
                                        f"{REPLAY_PER_CLASS}/class training + {MNIST_GATE_PER_CLASS}/class test"))
    if unipen_dir is not None:
        written.append(write_digit_file(assets / PEN_GATE_NAME, {"pen_gate": pen_gate_digits(unipen_dir)},
                                        "UNIPEN train_r01_v07 1a validation writers, CC BY 4.0, rendered by "
                                        "model.recognition.preprocess.strokes_to_image"))
    return written
