"""benchmarks/tta.py: the moved copies a way of reading averages over, and a validation run that never reads the
test sets."""

from __future__ import annotations

import sys

import pytest
import torch

from benchmarks.tta import copies, main, turned


def bar(vertical: bool) -> torch.Tensor:
    picture = torch.zeros(1, 1, 28, 28)
    if vertical:
        picture[0, 0, 6:22, 13:15] = 1.0
    else:
        picture[0, 0, 13:15, 6:22] = 1.0
    return picture


def test_turning_moves_ink_as_a_turn_does():
    upright = bar(vertical=True)
    assert torch.allclose(turned(upright, 0.0), upright, atol=1e-6)  # no turn, no change
    quarter = turned(upright, 90.0)
    assert torch.allclose(quarter, bar(vertical=False), atol=0.05)  # a vertical bar turned a quarter lies flat
    leaning = turned(upright, 8.0)
    assert abs(float(leaning.sum()) - float(upright.sum())) < 0.05 * float(upright.sum())  # the ink is kept
    assert not torch.allclose(leaning, upright, atol=0.1)


def test_each_way_reads_the_picture_itself_first_and_its_own_copies():
    picture = bar(vertical=True)
    assert [len(copies(picture, way)) for way in ("once", "shifts", "rotations", "both")] == [1, 5, 3, 7]
    assert all(torch.equal(copies(picture, way)[0], picture) for way in ("once", "shifts", "rotations", "both"))
    shifted = copies(picture, "shifts")[1:]
    assert all(float(s.sum()) == float(picture.sum()) and not torch.equal(s, picture) for s in shifted)
    with pytest.raises(ValueError, match="sideways"):
        copies(picture, "sideways")


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
