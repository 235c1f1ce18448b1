"""Reference-digit files are judged by their arrays' headers before a byte of data is read."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from model.personal import reference
from model.personal.reference import MNIST_REFERENCE_NAME, ReferenceFileError, read_digit_file
from model.recognition.preprocess import PREPROCESS_VERSION


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_declaring(shape: tuple[int, ...], descr: str = "|u1", data: bytes = b"\x00" * 64) -> bytes:
    """Return an .npy member whose header declares ``shape`` but which holds only ``data``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


def write_reference(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("preprocess_version.npy", npy(np.array(PREPROCESS_VERSION, np.int64)))
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return path


@pytest.mark.parametrize("members, expected", [
    ({"replay_images": npy_declaring((4_000_000, 28, 28)), "replay_labels": npy(np.zeros(10, np.uint8))},
     "'replay' declares 4,000,000 pictures; at most 20,000 are read"),
    ({"replay_images": npy(np.zeros((2, 28, 28), np.uint8)), "replay_labels": npy_declaring((3_000_000,))},
     "'replay' declares 3,000,000 labels; at most 20,000 are read"),
    ({"note": npy_declaring((), descr="<U100000000")}, "'note' declares 400,000,000 bytes of data; at most"),
    ({f"set{n}_images": npy_declaring((15_000, 28, 28)) for n in range(3)}, "declare 35,280,008 bytes of arrays"),
    ({"replay_images": npy_declaring((-5, 28, 28))}, "'replay_images' has a negative length"),
    ({"replay_images": npy_declaring((20, 28, 28))}, "holds 64 bytes of data, not the 15,680 its shape needs"),
])
def test_a_reference_file_is_refused_from_its_headers(tmp_path, monkeypatch, members, expected):
    """A 3 MB file declaring 4 million pictures was inflated whole (3.5 GB, 21 s) before its limits were
    checked, then called "not a set of 28×28 pictures"."""
    path = write_reference(tmp_path / MNIST_REFERENCE_NAME, members)

    def must_not_load(*args, **kwargs):
        raise AssertionError("numpy read an array whose header was not checked")

    monkeypatch.setattr(np, "load", must_not_load)
    monkeypatch.setattr(np.lib.format, "read_array", must_not_load)
    with pytest.raises(ReferenceFileError) as caught:
        read_digit_file(path)
    message = str(caught.value)
    assert message.startswith(f"Reference digits {path}") and expected in message, message
    assert "\n" not in message


def test_a_well_formed_file_written_by_hand_reads_back(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    path = write_reference(tmp_path / "ref.npz", {"pen_gate_images": npy(images),
                                                   "pen_gate_labels": npy(np.array([1, 2, 3], np.int16))})
    digits = read_digit_file(path)["pen_gate"]
    assert digits.images.numpy().tolist() == images.tolist() and digits.labels.tolist() == [1, 2, 3]
    assert digits.images.numpy().flags.writeable


def test_stamp_names_the_reference_file_and_its_count_in_one_line(tmp_path, capsys):
    from model.personal.__main__ import main

    write_reference(tmp_path / MNIST_REFERENCE_NAME, {"replay_images": npy_declaring((4_000_000, 28, 28))})
    assert main(["stamp", "--assets", str(tmp_path), str(tmp_path / "model.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "Traceback" not in err
    assert str(tmp_path / MNIST_REFERENCE_NAME) in err and "declares 4,000,000 pictures; at most 20,000" in err
    assert reference.MAX_REFERENCE_DIGITS == 20_000
