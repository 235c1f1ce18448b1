"""The reference digits a fine-tune replays and is checked against: the shipped files and their reader."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from model.training.data import DigitSet
from model.recognition.preprocess import PREPROCESS_VERSION
from model.personal.reference import (MNIST_REFERENCE_NAME, PEN_GATE_NAME, ReferenceFileError, load_reference, read_digit_file,
                             write_digit_file)
from model.training.unipen import writer_split

ASSETS = Path(__file__).resolve().parent.parent / "assets"  # this checkout's, not an installed copy's


def digits(count: int = 20) -> DigitSet:
    rng = np.random.default_rng(0)
    return DigitSet(torch.from_numpy(rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)),
                    torch.arange(count) % 10)


def test_the_shipped_files_hold_balanced_digits_of_this_preprocessing():
    reference = load_reference(ASSETS, mnist_dir=None)  # no MNIST folder: the shipped files must suffice
    assert np.bincount(reference.replay.labels.numpy()).tolist() == [200] * 10
    mnist, pen = reference.gate("MNIST"), reference.gate("pen")
    assert np.bincount(mnist.digits.labels.numpy()).tolist() == [500] * 10
    assert np.bincount(pen.digits.labels.numpy()).tolist() == [150] * 10
    assert pen.digits.images.dtype == torch.uint8 and pen.digits.images.max() > 200  # ink, not blank
    sizes = {name: (ASSETS / name).stat().st_size for name in (MNIST_REFERENCE_NAME, PEN_GATE_NAME)}
    assert sizes[MNIST_REFERENCE_NAME] < 1.5e6 and sizes[PEN_GATE_NAME] < 0.5e6  # compact, as promised
    assert "CC BY 4.0" in (ASSETS / "DATA-LICENSES.md").read_text(encoding="utf-8")


def test_the_pen_gate_is_built_from_validation_writers_only(monkeypatch):
    import model.training.unipen
    from model.personal.reference import pen_gate_digits
    from model.training.synthetic import STANDARD

    names = [f"src/w{i}" for i in range(200)]
    chosen = {split: [n for n in names if writer_split(n) == split][:2] for split in ("train", "val", "test")}
    everyone = [model.training.unipen.PenDigit(strokes=tuple(tuple(map(tuple, s)) for s in STANDARD[label]), label=label,
                                      writer=writer, source="src", file="x.dat", line=1)
                for writers in chosen.values() for writer in writers for label in range(10) for _ in range(3)]
    asked = []

    def fake_pen_digits(root, split=None):
        asked.append(split)
        return model.training.unipen.select_split(everyone, split)

    monkeypatch.setattr(model.training.unipen, "pen_digits", fake_pen_digits)
    gate = pen_gate_digits(Path("unused"), per_class=100)
    assert asked == ["val"]
    assert len(gate) == 2 * 10 * 3  # every digit of the two validation writers, none of the others
    assert np.bincount(gate.labels.numpy()).tolist() == [6] * 10


def test_a_round_trip_keeps_every_picture_and_label(tmp_path):
    path = write_digit_file(tmp_path / "ref.npz", {"pen_gate": digits()}, "test")
    again = read_digit_file(path)["pen_gate"]
    assert torch.equal(again.images, digits().images) and torch.equal(again.labels, digits().labels)


@pytest.mark.parametrize("damage, message", [
    ("pickle", "damaged or not an .npz"),
    ("garbage", "damaged or not an .npz"),
    ("version", "preprocessing version"),
    ("shape", "not a set of 28×28"),
    ("labels", "not a set of 28×28"),
])
def test_a_bad_reference_file_is_refused_naming_the_file(tmp_path, damage, message):
    path = tmp_path / "bad.npz"
    arrays = {"preprocess_version": np.array(PREPROCESS_VERSION), "pen_gate_images": digits().images.numpy(),
              "pen_gate_labels": digits().labels.numpy().astype(np.uint8)}
    if damage == "pickle":  # an object array would need pickle: refused, never unpickled
        buffer = io.BytesIO()
        np.savez(buffer, pen_gate_images=np.array([object()], dtype=object), preprocess_version=np.array(1))
        path.write_bytes(buffer.getvalue())
    elif damage == "garbage":
        path.write_bytes(pickle.dumps({"a": 1}))
    else:
        if damage == "version":
            arrays["preprocess_version"] = np.array(PREPROCESS_VERSION + 1)
        elif damage == "shape":
            arrays["pen_gate_images"] = np.zeros((20, 20, 20), np.uint8)
        else:
            arrays["pen_gate_labels"] = np.full(20, 11, np.uint8)
        np.savez(path, **arrays)
    with pytest.raises(ReferenceFileError, match=message) as raised:
        read_digit_file(path)
    assert str(path) in str(raised.value)


def test_without_shipped_files_or_mnist_the_message_says_what_is_missing(tmp_path):
    from model.training.data import MnistUnavailableError

    with pytest.raises(MnistUnavailableError, match=MNIST_REFERENCE_NAME):
        load_reference(tmp_path, mnist_dir=None)
