"""Model soups: weighted averages of networks trained on from one start."""

from __future__ import annotations

import pytest
import torch

from model.storage.checkpoint import ModelInfo, load_checkpoint, make_checkpoint, save_checkpoint
from model.recognition.network import NetConfig, build_network
from model.training.soup import inherited_notes, main, soup


def checkpoint(seed: int, arch: str = "compact", **notes):
    torch.manual_seed(seed)
    return make_checkpoint(build_network(NetConfig(arch=arch)).eval(), NetConfig(arch=arch),
                           ModelInfo(training_command=f"python -m model.train --seed {seed} && step {seed}",
                                     notes=notes))


def test_a_soup_is_the_weighted_average_of_its_ingredients():
    first, second = checkpoint(1), checkpoint(2)
    averaged = soup([(first, 0.25), (second, 0.75)])
    for name, tensor in averaged.items():
        if tensor.is_floating_point():
            expected = 0.25 * first.state_dict[name] + 0.75 * second.state_dict[name]
            torch.testing.assert_close(tensor, expected)
        else:  # batch counters come from the last ingredient
            assert torch.equal(tensor, second.state_dict[name])
    assert soup([(first, 1.0)]).keys() == first.state_dict.keys()


@pytest.mark.parametrize("weights", [(0.5, 0.6), (1.5, -0.5), ()])
def test_weights_that_do_not_sum_to_one_are_refused(weights):
    parts = [(checkpoint(n), w) for n, w in enumerate(weights)]
    with pytest.raises(ValueError, match="sum to 1"):
        soup(parts)


def test_ingredients_of_different_architectures_are_refused():
    with pytest.raises(ValueError, match="same architecture"):
        soup([(checkpoint(1), 0.5), (checkpoint(2, "seed"), 0.5)])


def test_the_cli_measures_and_saves_the_soup_with_its_whole_recipe(tmp_path, mnist_dir, capsys):
    paths = []
    for seed in (1, 2):
        paths.append(save_checkpoint(checkpoint(seed), tmp_path / f"m{seed}.pt"))
    output = tmp_path / "soup.pt"
    assert main([f"{paths[0]}:0.5", f"{paths[1]}:0.5", "--mnist-dir", str(mnist_dir), "--output", str(output)]) == 0
    assert "MNIST test accuracy" in capsys.readouterr().out
    made = load_checkpoint(output)
    assert made.info.mnist_test_size == 10_000 and made.info.mnist_test_accuracy is not None
    assert made.info.training_command.count("python -m model.train") == 2  # both ingredients' commands
    assert made.info.training_command.endswith(f"--output {output}") and "model.soup" in made.info.training_command


def test_the_cli_names_a_missing_ingredient(tmp_path, capsys):
    assert main([f"{tmp_path / 'gone.pt'}:1", "--output", str(tmp_path / "soup.pt")]) == 2
    assert "gone.pt" in capsys.readouterr().err and not (tmp_path / "soup.pt").exists()


def test_a_soup_keeps_the_validation_split_and_the_teaching_writers_of_its_runs():
    one_split = [checkpoint(1, validation_split_seed=1, pen_writers="train"),
                 checkpoint(2, validation_split_seed=1, pen_writers="train")]
    assert inherited_notes(one_split) == {"validation_split_seed": 1, "pen_writers": "train"}
    # runs on two splits trained on each other's held-out digits: the soup has no validation split of its own
    two_splits = [checkpoint(1, validation_split_seed=1), checkpoint(2, validation_split_seed=2, pen_writers="train+val")]
    assert inherited_notes(two_splits) == {"pen_writers": "train+val"}
    assert inherited_notes([checkpoint(1), checkpoint(2)]) == {}  # older runs noted neither


def test_a_saved_soup_is_marked_by_the_candidates_table_as_its_runs_are(tmp_path, mnist_dir, capsys):
    from benchmarks.base_candidates import load

    paths = [save_checkpoint(checkpoint(seed, validation_split_seed=2, pen_writers="train+val"), tmp_path / f"m{seed}.pt")
             for seed in (1, 2)]
    output = tmp_path / "soup.pt"
    assert main([f"{paths[0]}:0.5", f"{paths[1]}:0.5", "--mnist-dir", str(mnist_dir), "--output", str(output)]) == 0
    _, seeds, taught, _ = load(str(output))
    assert seeds == {2} and taught is True


def test_a_soup_still_being_chosen_reads_no_test_set(tmp_path, mnist_dir, unipen_dir, capsys, monkeypatch):
    from model.training import soup as soup_module

    monkeypatch.setattr(soup_module, "load_mnist", lambda *a, **k: pytest.fail("MNIST's test set was read"))
    paths = [save_checkpoint(checkpoint(seed), tmp_path / f"m{seed}.pt") for seed in (1, 2)]
    output = tmp_path / "soup.pt"
    assert main([f"{paths[0]}:0.5", f"{paths[1]}:0.5", "--unipen-dir", str(unipen_dir), "--no-test",
                 "--output", str(output)]) == 0
    assert "not read" in capsys.readouterr().out
    info = load_checkpoint(output).info
    assert info.mnist_test_accuracy is None and info.notes["pen_test"] == "not read"
    assert "pen_test_accuracy" not in info.notes
