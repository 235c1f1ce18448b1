"""Training: a short run learns, the same seed gives the same model, the CLI reports problems plainly."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from model.checkpoint import weights_digest
from model.data import MNIST_DIR_ENV, DigitSet, split_validation
from model.evaluate import accuracy_of
from model.train import TrainConfig, main, train_model

CPU = torch.device("cpu")


def small_run(config: TrainConfig, digits: DigitSet):
    """Return train_model's result on ``config.limit`` training digits, as the CLI would split them."""
    training, validation = split_validation(digits, config.validation_size, config.seed)
    return train_model(config, training.subset(slice(0, config.limit)), validation, CPU, log=lambda line: None)


def test_short_run_clearly_learns(mnist_train: DigitSet, mnist_test: DigitSet):
    config = TrainConfig(epochs=2, batch_size=32, limit=2000, validation_size=500)
    network, net_config, history = small_run(config, mnist_train)
    assert net_config.arch == config.arch
    assert [entry["epoch"] for entry in history] == [1, 2]
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["validation_accuracy"] > 0.8  # chance is 0.1
    assert not network.training
    assert accuracy_of(network, mnist_test.subset(slice(0, 1000))) > 0.8  # digits it never saw


def test_same_seed_gives_identical_weights(mnist_train: DigitSet):
    config = TrainConfig(epochs=1, batch_size=64, limit=256, validation_size=64, seed=5)
    first = weights_digest(small_run(config, mnist_train)[0].state_dict())
    again = weights_digest(small_run(config, mnist_train)[0].state_dict())
    other = weights_digest(small_run(replace(config, seed=6), mnist_train)[0].state_dict())
    assert first == again
    assert other != first


def test_progress_is_reported_every_step(mnist_train: DigitSet):
    config = TrainConfig(epochs=1, batch_size=64, limit=192, validation_size=0)
    reports = []
    training, validation = split_validation(mnist_train, 0, config.seed)
    train_model(config, training.subset(slice(0, config.limit)), validation, CPU, log=lambda line: None,
                progress_for_epoch=lambda epoch: lambda *report: reports.append((epoch, *report)))
    assert [report[:3] for report in reports] == [(1, 1, 3), (1, 2, 3), (1, 3, 3)]
    assert all(0.0 <= accuracy <= 1.0 and loss > 0 for *_, loss, accuracy in reports)


def test_cli_dry_run_trains_and_saves_nothing(mnist_dir, tmp_path, capsys):
    output = tmp_path / "model.pt"
    status = main(["--dry-run", "--data-dir", str(mnist_dir), "--device", "cpu", "--output", str(output)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "MNIST test accuracy" in printed and "nothing saved" in printed
    assert not output.exists()


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_cli_without_mnist_says_which_setting_to_change(tmp_path, capsys, monkeypatch, how):
    missing = tmp_path / "no-mnist-here"
    arguments = ["--dry-run", "--device", "cpu", "--output", str(tmp_path / "model.pt")]
    if how == "flag":
        arguments += ["--data-dir", str(missing)]
    else:
        monkeypatch.setenv(MNIST_DIR_ENV, str(missing))
    assert main(arguments) == 2
    printed = capsys.readouterr()
    assert "--mnist-dir" in printed.err and MNIST_DIR_ENV in printed.err
    assert str(missing) in printed.err
    assert "Traceback" not in printed.err + printed.out
    assert not (tmp_path / "model.pt").exists()
