"""benchmarks/base_candidates.py marks the validation cells a candidate cannot be judged on: MNIST digits another
split seed trained on (†), pen writers that taught it (‡), soups included."""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmarks.base_candidates import load, mcnemar_p
from model.storage.checkpoint import Checkpoint, save_checkpoint


def saved(checkpoint: Checkpoint, path, **changes) -> str:
    save_checkpoint(Checkpoint(checkpoint.config, checkpoint.state_dict, replace(checkpoint.info, **changes)), path)
    return str(path)


def test_a_run_of_another_seed_on_the_same_split_is_judged_on_it(shipped_checkpoint, tmp_path):
    own = saved(shipped_checkpoint, tmp_path / "own.pt", seed=3, notes={"validation_split_seed": 1})
    other = saved(shipped_checkpoint, tmp_path / "other.pt", seed=3, notes={})
    assert load(own)[1] == {1} and load(other)[1] == {3}


def test_validation_writers_that_taught_a_model_are_named_in_a_soup_too(shipped_checkpoint, tmp_path):
    plain = saved(shipped_checkpoint, tmp_path / "plain.pt", training_command="python -m model.train --seed 1")
    taught = saved(shipped_checkpoint, tmp_path / "taught.pt",
                   training_command="python -m model.train --pen-writers train+val --seed 1")
    spelled = saved(shipped_checkpoint, tmp_path / "spelled.pt",
                    training_command="python -m model.train --pen-w=train+val")
    noted = saved(shipped_checkpoint, tmp_path / "noted.pt", notes={"pen_writers": "train+val"})
    assert load(plain)[2] is False
    assert load(taught)[2] is True and load(spelled)[2] is True and load(noted)[2] is True
    assert load(f"{plain}:0.5+{taught}:0.5")[2] is True


@pytest.mark.parametrize("fixed, broken, p", [(0, 0, 1.0), (0, 6, 0.03125), (6, 0, 0.03125), (3, 3, 1.0)])
def test_mcnemar_p_of_fixed_and_broken_digits(fixed, broken, p):
    assert mcnemar_p(fixed, broken) == pytest.approx(p)


def test_candidates_still_being_chosen_are_shown_without_reading_the_test_sets(mnist_dir, unipen_dir, capsys,
                                                                               monkeypatch, shipped_checkpoint,
                                                                               tmp_path, request):
    import sys

    import torch

    from benchmarks.base_candidates import main
    from model.training import data, unipen
    from model.training.evaluate import predict_labels
    from model.training.pen_data import pen_digit_set

    # a candidate that reads some validation digits differently, taught by the validation writers (‡)
    generator = torch.Generator().manual_seed(0)
    weights = {name: (tensor + 0.03 * torch.randn(tensor.shape, generator=generator) * tensor.std()
                      if tensor.is_floating_point() and tensor.numel() > 1 else tensor)
               for name, tensor in shipped_checkpoint.state_dict.items()}
    candidate = saved(Checkpoint(shipped_checkpoint.config, weights, shipped_checkpoint.info), tmp_path / "c.pt",
                      notes={"pen_writers": "train+val"})
    validation = pen_digit_set(unipen.pen_digits(unipen_dir, "val"))
    before = (predict_labels(shipped_checkpoint.build(), validation) == validation.labels).numpy()
    after = (predict_labels(load(candidate)[0], validation) == validation.labels).numpy()
    fixed, broken = int((~before & after).sum()), int((before & ~after).sum())
    assert fixed != broken  # so a column that swapped the two would show it

    from benchmarks.base_candidates import VALIDATION_SEED

    _, mnist_val = data.split_validation(data.load_mnist(mnist_dir, train=True), 5000, VALIDATION_SEED)
    mnist_wrong = int((predict_labels(shipped_checkpoint.build(), mnist_val) != mnist_val.labels).sum())

    request.getfixturevalue("test_sets_unread")  # from here on, reading a test set fails the test
    monkeypatch.setattr(sys, "argv", ["benchmarks/base_candidates.py"])
    assert main([candidate, "--validation-only", "--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir),
                 "--no-write"]) == 0
    printed = capsys.readouterr().out
    assert "| pen val against the baseline (+fixed −broken, p) |" in printed and "MNIST test" not in printed
    assert f"Baseline: `assets/default.pt` (version {shipped_checkpoint.info.version})" in printed
    baseline = next(line for line in printed.splitlines() if line.startswith("| `assets/default.pt` (baseline) |"))
    assert baseline.split(" | ")[1:3] == [str(mnist_wrong), str(int((~before).sum()))] and baseline.endswith("| — |")
    row = next(line for line in printed.splitlines() if line.startswith(f"| `{candidate}`"))
    assert row.endswith(f"| +{fixed} −{broken}, p = {mcnemar_p(fixed, broken):.2f} ‡ |")
    assert "not yet put to the test writers" in printed
