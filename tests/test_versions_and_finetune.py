"""Model versions and the fine-tune method, without Qt."""

from __future__ import annotations

import numpy as np
import pytest

from model.assets import default_weights_path
from model.checkpoint import make_checkpoint
from model.data import balanced_subset
from model.finetune import (MIN_SAMPLES, Figures, FinetuneConfig, NotEnoughSamplesError, finetune, gate_subset,
                            judge, split_holdout)
from model.predict import Predictor
from model.preprocess import strokes_to_image
from model.synthetic import STYLES, draw_many
from model.versions import SHIPPED, ModelRegistry


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models", default_weights_path())


def fine_tuned_copy(registry, accepted=True, note=""):
    shipped = registry.shipped().checkpoint
    network = shipped.build()
    for parameter in network.parameters():  # a different model, so a different version id
        parameter.data.mul_(1.0001)
        break
    info = shipped.info.__class__(parent_version=shipped.info.version, sample_count=12, notes={"n": note})
    return registry.add(make_checkpoint(network, shipped.config, info), accepted=accepted)


def test_the_shipped_model_is_active_until_another_is_chosen(registry):
    assert registry.active_version() == SHIPPED
    assert registry.active().checkpoint.info.version == registry.shipped().checkpoint.info.version
    assert [e.version for e in registry.versions()] == [SHIPPED]


def test_activate_persist_roll_back_and_reset(registry, tmp_path):
    entry = fine_tuned_copy(registry)
    registry.activate(entry.version)
    reopened = ModelRegistry(tmp_path / "models", default_weights_path())
    assert reopened.active_version() == entry.version
    assert reopened.active().checkpoint.info.parent_version == registry.shipped().checkpoint.info.version
    reopened.activate(SHIPPED)
    assert ModelRegistry(tmp_path / "models", default_weights_path()).active_version() == SHIPPED


def test_rejected_versions_are_listed_apart_and_cannot_be_activated(registry):
    entry = fine_tuned_copy(registry, accepted=False)
    assert [e.version for e in registry.rejected()] == [entry.version]
    assert [e.version for e in registry.versions()] == [SHIPPED]
    with pytest.raises(KeyError):
        registry.activate(entry.version)


def test_a_damaged_version_file_is_moved_aside_with_a_message(registry):
    entry = fine_tuned_copy(registry)
    registry.activate(entry.version)
    entry.path.write_bytes(entry.path.read_bytes()[:500])  # truncated
    assert registry.active().version == SHIPPED
    assert registry.active_version() == SHIPPED
    assert any("moved" in message for message in registry.messages)
    assert list((registry.folder / "damaged").iterdir())


def test_split_holdout_keeps_part_of_every_digit_and_never_overlaps():
    labels = [1] * 40 + [7] * 2 + [3]
    keys = [f"sample-{i}" for i in range(len(labels))]
    training, held_out = split_holdout(labels, 0.25, keys)
    assert set(training).isdisjoint(held_out)
    assert sorted(np.concatenate([training, held_out]).tolist()) == list(range(len(labels)))
    held_labels = [labels[i] for i in held_out]
    assert 4 <= held_labels.count(1) <= 18  # about a quarter of 40
    assert held_labels.count(7) == 1 and 3 not in held_labels  # one of two held out; a lone 3 trains


def test_held_out_samples_stay_held_out_as_samples_are_added():
    labels = [2] * 40
    keys = [f"sample-{i}" for i in range(40)]
    _, first = split_holdout(labels, 0.25, keys)
    _, later = split_holdout(labels + [2] * 20, 0.25, keys + [f"new-{i}" for i in range(20)])
    assert set(first) <= set(later)


def test_one_sample_of_each_digit_is_refused_clearly():
    with pytest.raises(NotEnoughSamplesError, match="two samples of some digit"):
        split_holdout(list(range(10)), 0.25, [str(i) for i in range(10)])


def test_judge_accepts_only_better_models_within_the_mnist_allowance():
    base = Figures(user_accuracy=0.2, user_loss=2.0, mnist_accuracy=0.995)
    assert judge(base, Figures(1.0, 0.1, 0.993), 0.003)[0]
    worse_mnist = judge(base, Figures(1.0, 0.1, 0.990), 0.003)
    assert not worse_mnist[0] and "MNIST" in worse_mnist[1]
    not_better = judge(base, Figures(0.2, 2.5, 0.995), 0.003)
    assert not not_better[0] and "not better" in not_better[1]
    # Same accuracy, lower loss: not called better, since the accuracy it reports has not moved.
    same_accuracy = judge(base, Figures(0.2, 1.0, 0.995), 0.003)
    assert not same_accuracy[0] and "not better" in same_accuracy[1]


def test_an_accepted_finetune_reports_an_accuracy_that_visibly_moved():
    # 1 more right out of 250 held out: 80.0 % → 80.4 %, which whole percents would show as 80 % → 80 %.
    accepted, reason = judge(Figures(0.8, 1.0, 0.99), Figures(0.804, 1.0, 0.99), 0.003)
    assert accepted and "80.0% → 80.4%" in reason


def test_too_few_samples_are_refused_with_the_number_needed(registry, mnist_train, mnist_test):
    images = np.zeros((MIN_SAMPLES - 1, 28, 28), np.float32)
    with pytest.raises(NotEnoughSamplesError, match=str(MIN_SAMPLES)):
        next(finetune(registry.shipped().checkpoint, images, [1] * len(images), mnist_train, mnist_test))


def test_finetune_learns_a_personal_style_keeps_mnist_and_reports_progress(registry, mnist_train, mnist_test):
    digit, template = STYLES["z-two"]
    taught = [strokes_to_image(d) for d in draw_many(template, 20, seed=1)]
    fresh = [strokes_to_image(d) for d in draw_many(template, 40, seed=2)]
    base = registry.shipped().checkpoint
    gate = gate_subset(mnist_test)
    steps = finetune(base, np.stack(taught), [digit] * len(taught), mnist_train, gate, FinetuneConfig())
    progress = []
    try:
        while True:
            progress.append(next(steps))
    except StopIteration as done:
        result = done.value
    training_steps = [p for p in progress if p.phase == "training"]
    assert [p.step for p in training_steps] == list(range(1, FinetuneConfig().steps + 1))
    assert training_steps[-1].loss < training_steps[0].loss

    assert result.accepted, result.reason
    assert result.before.mnist_accuracy - result.after.mnist_accuracy <= 0.003
    before = np.mean([Predictor(base).predict_image(i).digit == digit for i in fresh])
    after = np.mean([Predictor(result.checkpoint).predict_image(i).digit == digit for i in fresh])
    assert before <= 0.5 and after >= 0.9
    assert result.checkpoint.info.parent_version == base.info.version
    assert result.checkpoint.info.sample_count == 20


def test_gate_subset_is_fixed_balanced_and_large_enough(mnist_test):
    gate = gate_subset(mnist_test)
    assert len(gate) == 5000
    assert np.bincount(gate.labels.numpy()).tolist() == [500] * 10
    again = gate_subset(mnist_test)
    assert (gate.labels == again.labels).all() and (gate.images == again.images).all()
    assert balanced_subset(mnist_test, 3, seed=1).labels.tolist() == sorted([d for d in range(10)] * 3)


def test_the_written_out_adam_matches_torchs_and_imports_no_compiler():
    import subprocess
    import sys

    import torch

    from model.finetune import _Adam

    torch.manual_seed(0)
    reference, ours = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    ours.load_state_dict(reference.state_dict())
    reference_adam, our_adam = torch.optim.Adam(reference.parameters(), lr=1e-2), _Adam(ours.parameters())
    for _ in range(20):
        batch = torch.randn(8, 5)
        reference_adam.zero_grad()
        reference(batch).pow(2).sum().backward()
        reference_adam.step()
        ours(batch).pow(2).sum().backward()
        our_adam.step(1e-2)
    for expected, actual in zip(reference.parameters(), ours.parameters()):
        torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6)
    # In a fresh interpreter, a few steps must not pull in torch._dynamo (a 100+ ms pause of the app).
    probe = ("import sys, torch; from model.finetune import _Adam; n = torch.nn.Linear(2, 2); o = _Adam(n.parameters());"
             "n(torch.ones(1, 2)).sum().backward(); o.step(0.1); print('torch._dynamo' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
