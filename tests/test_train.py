"""Training: a short run learns, the same seed gives the same model, the CLI reports problems plainly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from model.recognition.preprocess import image_to_tensor
from model.storage.checkpoint import weights_digest
from model.training.data import MNIST_DIR_ENV, DigitSet, split_validation
from model.training.evaluate import accuracy_of
from model.training.train import TrainConfig, main, train_model

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


UNIPEN_FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures" / "unipen"


def test_cli_trains_on_mnist_and_pen_digits(mnist_dir, tmp_path, capsys):
    status = main(["--dry-run", "--mnist-dir", str(mnist_dir), "--unipen-dir", str(UNIPEN_FIXTURES),
                   "--device", "cpu", "--output", str(tmp_path / "model.pt")])
    assert status == 0
    printed = capsys.readouterr().out
    assert "pen training digits: 5 of 5" in printed  # the fixture's writers all fall in the training part
    assert "+ 10 pen training digits per epoch" in printed  # each pen digit twice (--pen-repeat 2)


def test_cli_without_unipen_names_the_folder_and_the_setting(mnist_dir, tmp_path, capsys):
    missing = tmp_path / "no-unipen"
    assert main(["--dry-run", "--mnist-dir", str(mnist_dir), "--unipen-dir", str(missing),
                 "--output", str(tmp_path / "model.pt")]) == 2
    printed = capsys.readouterr()
    assert str(missing) in printed.err and "HWR_UNIPEN_DIR" in printed.err and "Traceback" not in printed.err


def test_listed_suspects_are_left_out_of_pen_training(tmp_path, monkeypatch):
    from model.training import unipen
    from model.training.train import load_pen_training

    listed = tmp_path / "suspects.txt"
    listed.write_text("# a comment\nxyz/anna.dat:5  # 4 -> 1\n")
    monkeypatch.setattr(unipen, "SUSPECTS_PATH", listed)
    config = TrainConfig(pen_variants=2)
    kept, _ = load_pen_training(UNIPEN_FIXTURES, config, keep_suspects=False, dry_run=True, log=lambda line: None)
    assert kept.labels.tolist() == [1, 7, 5, 1]  # the 4 on line 5 is gone
    everything, _ = load_pen_training(UNIPEN_FIXTURES, config, keep_suspects=True, dry_run=True, log=lambda line: None)
    assert everything.labels.tolist() == [1, 4, 7, 5, 1]


def test_continued_training_starts_from_the_given_weights(shipped_checkpoint, mnist_train, mnist_test):
    config = TrainConfig(epochs=1, batch_size=64, limit=256, validation_size=0, max_lr=1e-5)
    training, validation = split_validation(mnist_train, 0, config.seed)
    network, net_config, _ = train_model(config, training.subset(slice(0, 256)), validation, CPU,
                                         log=lambda line: None, initial=shipped_checkpoint)
    assert net_config == shipped_checkpoint.config
    assert accuracy_of(network, mnist_test.subset(slice(0, 1000))) > 0.98  # from scratch it would be near 0.1


def test_the_committed_suspects_are_real_training_or_validation_segments(unipen_dir):
    from model.training.unipen import load_suspects, pen_digits, writer_split

    suspects = load_suspects()
    assert 0 < len(suspects) < 200
    by_place = {(d.file, d.line): d for d in pen_digits(unipen_dir)}
    assert suspects <= set(by_place)
    assert all(writer_split(by_place[place].writer) != "test" for place in suspects)


def test_a_model_trained_without_validation_digits_can_be_loaded(mnist_dir, tmp_path, monkeypatch):
    from model.storage.checkpoint import load_checkpoint
    from model.constants import UNIPEN_DIR_ENV

    monkeypatch.delenv(UNIPEN_DIR_ENV, raising=False)  # MNIST only: no pen digits, no pen validation

    output = tmp_path / "model.pt"
    assert main(["--mnist-dir", str(mnist_dir), "--epochs", "1", "--limit", "256", "--validation-size", "0",
                 "--device", "cpu", "--output", str(output)]) == 0
    history = load_checkpoint(output).info.notes["history"]  # no NaN for what was not measured
    assert history[0]["validation_accuracy"] is None and history[0]["pen_validation_accuracy"] is None


def test_channels_set_the_width_of_a_model_trained_from_scratch(mnist_dir, tmp_path, monkeypatch):
    from model.constants import UNIPEN_DIR_ENV
    from model.recognition.network import count_parameters
    from model.storage.checkpoint import load_checkpoint
    from model.storage.inference_file import inference_model

    monkeypatch.delenv(UNIPEN_DIR_ENV, raising=False)
    output = tmp_path / "wide.pt"
    assert main(["--mnist-dir", str(mnist_dir), "--epochs", "1", "--limit", "128", "--validation-size", "64",
                 "--channels", "16,24,40", "--device", "cpu", "--output", str(output)]) == 0
    checkpoint = load_checkpoint(output)
    config = checkpoint.config
    assert (config.stem_channels, config.mid_channels, config.top_channels) == (16, 24, 40)
    assert count_parameters(checkpoint.build()) < 50_000  # narrower than the default 160,874
    images = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    with torch.inference_mode():
        expected = torch.softmax(checkpoint.build().eval()(torch.stack([image_to_tensor(i) for i in images])), 1)
    torch_free = inference_model(checkpoint).build().probabilities(images)  # as the app reads it
    assert np.abs(torch_free - expected.numpy()).max() < 1e-4


def test_channels_are_refused_where_they_cannot_apply(tmp_path, capsys):
    for extra in (["--init", str(tmp_path / "any.pt")], ["--arch", "seed"]):
        with pytest.raises(SystemExit) as stopped:
            main(["--channels", "16,24,40", *extra, "--output", str(tmp_path / "never.pt")])
        assert stopped.value.code == 2 and "trained from scratch" in capsys.readouterr().err
    assert not (tmp_path / "never.pt").exists()


@pytest.mark.parametrize("text", ["32,64", "32,64,x", "0,64,128", "32,64,9999"])
def test_bad_channels_are_a_usage_error(text, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--channels", text, "--output", "never.pt"])
    assert stopped.value.code == 2
    assert "channel counts" in capsys.readouterr().err


def test_split_seed_keeps_the_validation_digits_of_the_continued_run(mnist_dir, tmp_path, monkeypatch):
    from model.constants import UNIPEN_DIR_ENV
    from model.storage.checkpoint import load_checkpoint

    monkeypatch.delenv(UNIPEN_DIR_ENV, raising=False)
    seen = []
    real_split = split_validation

    def recording_split(digits, size, seed):
        seen.append(seed)
        return real_split(digits, size, seed)

    monkeypatch.setattr("model.training.train.split_validation", recording_split)
    for extra in ([], ["--split-seed", "1"]):
        output = tmp_path / f"seed3{len(extra)}.pt"
        assert main(["--mnist-dir", str(mnist_dir), "--epochs", "1", "--limit", "64", "--validation-size", "32",
                     "--seed", "3", *extra, "--device", "cpu", "--output", str(output)]) == 0
        assert load_checkpoint(output).info.notes["validation_split_seed"] == (1 if extra else 3)
    assert seen == [3, 1]


def test_a_final_model_can_learn_from_the_validation_writers_too(mnist_dir, unipen_dir, tmp_path, capsys):
    from model.training.unipen import load_suspects, pen_digits

    suspects = load_suspects()
    teaching = [d for split in ("train", "val") for d in pen_digits(unipen_dir, split)]
    kept = sum((d.file, d.line) not in suspects for d in teaching)
    assert main(["--dry-run", "--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir), "--pen-writers",
                 "train+val", "--device", "cpu", "--output", str(tmp_path / "model.pt")]) == 0
    printed = capsys.readouterr().out
    assert f"pen training digits: {kept:,} of {len(teaching):,}" in printed
    assert "+ 0 validation digits" in printed  # no pen writer is left to validate on


def test_a_teacher_pulls_the_network_towards_its_answers(shipped_checkpoint, mnist_train, mnist_test):
    """--distill-from: with the whole loss on the teacher, the network learns the teacher's answers, not the
    labels (here shifted by one, so the two disagree on every digit); with none, the labels."""
    from model.training.evaluate import predict_labels

    training, validation = split_validation(mnist_train, 0, 1)
    shifted = DigitSet(training.images[:2000], (training.labels[:2000] + 1) % 10)
    unseen = mnist_test.subset(slice(0, 500))
    teacher_says = predict_labels(shipped_checkpoint.build(), unseen)
    agreement = {}
    for weight in (0.0, 1.0):
        config = TrainConfig(epochs=2, batch_size=32, validation_size=0, distill_weight=weight)
        network, _, _ = train_model(config, shifted, validation, CPU, log=lambda line: None, teacher=shipped_checkpoint)
        agreement[weight] = float((predict_labels(network, unseen) == teacher_says).float().mean())
    assert agreement[1.0] > 0.8 and agreement[0.0] < 0.2, agreement


def test_the_teacher_answers_as_it_would_in_the_app(shipped_checkpoint, mnist_train):
    """The teacher reads in eval mode — batch norm from its stored statistics, not from each training batch —
    so its answer to a digit does not depend on the batch it came in, and its statistics are left as they were."""
    built = []

    class Watched:
        def build(self):
            network = shipped_checkpoint.build()
            modes = []
            network.register_forward_pre_hook(lambda module, inputs: modes.append(module.training))
            built.append((network, modes))
            return network

    training, validation = split_validation(mnist_train, 0, 1)
    config = TrainConfig(epochs=1, batch_size=32, validation_size=0, distill_weight=0.5)
    train_model(config, training.subset(slice(0, 256)), validation, CPU, log=lambda line: None, teacher=Watched())
    (network, modes), = built
    assert len(modes) == 8 and not any(modes), modes  # 256 digits in batches of 32, every one read in eval mode
    stored = shipped_checkpoint.build().state_dict()
    assert all(torch.equal(value, stored[name]) for name, value in network.state_dict().items()), (
        "the teacher's weights or batch-norm statistics changed while it taught")


def test_a_distilled_run_notes_its_teacher(mnist_dir, tmp_path, shipped_checkpoint, monkeypatch):
    from model.storage.checkpoint import load_checkpoint

    monkeypatch.delenv("HWR_UNIPEN_DIR", raising=False)
    output = tmp_path / "model.pt"
    assert main(["--mnist-dir", str(mnist_dir), "--init", "assets/default.pt", "--distill-from", "assets/default.pt",
                 "--distill-weight", "0.7", "--epochs", "1", "--limit", "256", "--validation-size", "64",
                 "--device", "cpu", "--output", str(output)]) == 0
    notes = load_checkpoint(output).info.notes
    assert notes["distilled_from"] == shipped_checkpoint.info.version and notes["distill_weight"] == 0.7


@pytest.mark.parametrize("weight", ["1.5", "-0.1", "nan", "half"])
def test_a_distill_weight_outside_0_to_1_is_a_usage_error(weight, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--distill-from", "assets/default.pt", "--distill-weight", weight])
    assert stopped.value.code == 2 and "expected a number from 0 to 1" in capsys.readouterr().err


def test_a_missing_teacher_is_named_in_one_line(mnist_dir, tmp_path, capsys):
    assert main(["--mnist-dir", str(mnist_dir), "--distill-from", str(tmp_path / "gone.pt"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "gone.pt" in err and err.count("\n") == 1


def test_a_candidate_still_being_chosen_need_not_read_the_test_writers(mnist_dir, unipen_dir, tmp_path, capsys,
                                                                       monkeypatch):
    from model.storage.checkpoint import load_checkpoint
    from model.training import train, unipen

    read = []
    real = unipen.pen_digits
    monkeypatch.setattr(train, "pen_digits", lambda root, split=None: read.append(split) or real(root, split))
    output = tmp_path / "model.pt"
    mnist_read = []
    real_mnist = train.load_mnist
    monkeypatch.setattr(train, "load_mnist", lambda root, train, download=False: mnist_read.append(train)
                        or real_mnist(root, train, download))
    assert main(["--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir), "--init", "assets/default.pt",
                 "--epochs", "1", "--limit", "256", "--pen-variants", "1", "--validation-size", "64", "--no-test",
                 "--device", "cpu", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "test" not in read and "UNIPEN test writers: not read" in printed and "MNIST test set: not read" in printed
    info = load_checkpoint(output).info
    assert info.notes["pen_test"] == "not read" and "pen_test_accuracy" not in info.notes
    assert info.notes["mnist_test"] == "not read" and info.mnist_test_accuracy is None
    assert mnist_read == [True]  # MNIST's test set is not even loaded


def test_no_pen_test_still_reads_mnists_test_set(mnist_dir, unipen_dir, tmp_path, capsys):
    from model.storage.checkpoint import load_checkpoint

    output = tmp_path / "model.pt"
    assert main(["--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir), "--init", "assets/default.pt",
                 "--epochs", "1", "--limit", "256", "--pen-variants", "1", "--validation-size", "64", "--no-pen-test",
                 "--device", "cpu", "--output", str(output)]) == 0
    assert "UNIPEN test writers: not read (--no-pen-test)" in capsys.readouterr().out
    info = load_checkpoint(output).info
    assert info.mnist_test_accuracy is not None and info.notes["pen_test"] == "not read"


@pytest.mark.parametrize("argv, words", [(["--distill-weight", "0.3"], "needs --distill-from"),
                                         (["--distill-weight=0.3"], "needs --distill-from"),
                                         (["--distill-from", "assets/default.pt", "--distill-weight", "0"],
                                          "no part of the loss")])
def test_a_distill_weight_that_would_do_nothing_is_a_usage_error(argv, words, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2 and words in capsys.readouterr().err
