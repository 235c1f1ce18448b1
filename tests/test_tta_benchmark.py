"""benchmarks/tta.py: the moved copies a way of reading averages over, and a validation run that never reads the
test sets."""

from __future__ import annotations

import sys

import pytest
import torch

from benchmarks.tta import copies, main, read, turned


def dot(x: int, y: int) -> torch.Tensor:
    picture = torch.zeros(1, 1, 28, 28)
    picture[0, 0, y, x] = 1.0
    return picture


def where(picture: torch.Tensor) -> tuple[int, int]:
    """The (x, y) of the picture's brightest pixel."""
    index = int(picture[0, 0].argmax())
    return index % 28, index // 28


def test_turning_moves_ink_counter_clockwise_about_the_centre():
    above = dot(14, 4)  # ten pixels above the centre (y down)
    assert torch.allclose(turned(above, 0.0), above, atol=1e-6)  # no turn, no change
    assert abs(where(turned(above, 90.0))[0] - 4) <= 1 and abs(where(turned(above, 90.0))[1] - 13.5) <= 1  # to the left
    assert abs(where(turned(above, -90.0))[0] - 23) <= 1  # the other way: to the right
    upright = torch.zeros(1, 1, 28, 28)
    upright[0, 0, 6:22, 13:15] = 1.0
    leaning = turned(upright, 8.0)
    assert abs(float(leaning.sum()) - float(upright.sum())) < 0.05 * float(upright.sum())  # the ink is kept
    assert not torch.allclose(leaning, upright, atol=0.1)


def test_a_shift_moves_ink_one_pixel_and_lets_none_wrap_round():
    assert [where(s) for s in copies(dot(14, 14), "shifts")] == [(14, 14), (15, 14), (13, 14), (14, 15), (14, 13)]
    edge = dot(27, 10)  # ink on the right edge, moved right: gone, not wrapped to the left edge
    moved = copies(edge, "shifts")[1]
    assert float(moved.sum()) == 0.0


def test_each_way_reads_the_picture_itself_first_and_its_own_copies():
    picture = dot(14, 14)
    assert [len(copies(picture, way)) for way in ("once", "shifts", "rotations", "both")] == [1, 5, 3, 7]
    assert all(torch.equal(copies(picture, way)[0], picture) for way in ("once", "shifts", "rotations", "both"))
    with pytest.raises(ValueError, match="sideways"):
        copies(picture, "sideways")


def test_each_way_answers_with_the_mean_of_its_own_copies_probabilities():
    from model.training.data import normalise, to_unit_ink

    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    images = torch.randint(0, 256, (64, 28, 28), dtype=torch.uint8)
    answers = read(network, images, ["once", "shifts", "rotations", "both"], batch_size=20)  # batches of 20, 20, 20, 4
    with torch.no_grad():
        for way in ("once", "shifts", "rotations", "both"):
            copied = copies(to_unit_ink(images), way)
            mean = torch.stack([torch.softmax(network(normalise(c)), dim=1) for c in copied]).mean(0)
            assert answers[way].tolist() == mean.argmax(1).tolist(), way
    assert answers["once"].tolist() != answers["both"].tolist()  # the copies change some answers here


def test_a_full_run_reads_the_test_sets(mnist_dir, unipen_dir, monkeypatch, test_sets_unread):
    """The guard the validation-only test relies on sees a full run's reading of the test sets."""
    monkeypatch.setattr(sys, "argv", ["benchmarks/tta.py"])
    with pytest.raises(AssertionError, match="test"):
        main(["--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir), "--no-write", "--variants", "once"])


def test_validation_only_never_reads_the_test_sets_and_stores_nothing(mnist_dir, unipen_dir, monkeypatch,
                                                                       test_sets_unread):
    real_digits, _ = test_sets_unread
    published = []
    monkeypatch.setattr("benchmarks.tta.publish",
                        lambda name, title, lines, write=True: published.append((write, "\n".join(lines))))
    monkeypatch.setattr(sys, "argv", ["benchmarks/tta.py"])
    assert main(["--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir), "--validation-only",
                 "--variants", "once", "rotations"]) == 0
    (write, out), = published
    assert not write and "the test sets were not read" in out
    assert "| way of reading | validation: MNIST wrong of 5,000 | validation: pen wrong of 2,069 |" in out
    once = next(line for line in out.splitlines() if line.startswith("| `once` (reference)"))
    rotations = next(line for line in out.splitlines() if line.startswith("| `rotations`"))
    from model.assets import default_weights_path
    from model.storage.checkpoint import load_checkpoint
    from model.training.evaluate import predict_labels
    from model.training.pen_data import pen_digit_set

    pen = pen_digit_set(real_digits(unipen_dir, "val"))
    wrong = int((predict_labels(load_checkpoint(default_weights_path()).build(), pen) != pen.labels).sum())
    assert once.split(" | ")[2] == str(wrong)  # reading once is the app's reading (and base_candidates')
    assert "(+" in rotations and "test:" not in out
