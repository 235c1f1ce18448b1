"""Model versions and the fine-tune method, without Qt."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model.assets import default_weights_path
from model.storage.checkpoint import ModelInfo, load_checkpoint, save_checkpoint
from model.constants import MIN_SAMPLES
from model.training.data import DigitSet, balanced_subset
from model.personal.features import FeatureCache, split_network, stamp_gate_figures
from model.personal.finetune import (Evidence, Figures, FinetuneConfig, NotEnoughSamplesError, assign_folds, finetune, judge,
                                     line_start_figure)
from model.recognition.predict import Predictor
from model.recognition.preprocess import strokes_to_image
from model.personal.reference import MNIST_GATE_PER_CLASS, REPLAY_PER_CLASS, Reference, gate_set
from model.training.synthetic import STANDARD, STYLES, draw_many
from model.storage.versions import SHIPPED, ModelRegistry
from tests.versions_helpers import fine_tuned_version


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models", default_weights_path())


def fine_tuned_copy(registry, accepted=True, note=""):
    return fine_tuned_version(registry, accepted, info=ModelInfo(sample_count=12, notes={"n": note}))


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


@pytest.fixture(scope="module")
def reference(mnist_train, mnist_test):
    """The reference digits as the app uses them when no shipped files are present (read from MNIST)."""
    return Reference(balanced_subset(mnist_train, REPLAY_PER_CLASS, seed=0),
                     (gate_set("MNIST", balanced_subset(mnist_test, MNIST_GATE_PER_CLASS, seed=2024)),))


@pytest.fixture(scope="module")
def with_pen_gate(reference):
    """The reference plus a pen gate of canvas-rendered drawings (the shipped one comes from UNIPEN)."""
    images, labels = [], []
    for digit, template in STANDARD.items():
        for strokes in draw_many(template, 30, seed=digit):
            images.append(np.rint(strokes_to_image(strokes) * 255).astype(np.uint8))
            labels.append(digit)
    pen = DigitSet(torch.from_numpy(np.stack(images)), torch.tensor(labels))
    return Reference(reference.replay, reference.gates + (gate_set("pen", pen),))


def run_to_end(steps):
    progress = []
    while True:
        try:
            progress.append(next(steps))
        except StopIteration as done:
            return progress, done.value


def style_images(style: str, count: int, seed: int) -> np.ndarray:
    return np.stack([strokes_to_image(d) for d in draw_many(STYLES[style][1], count, seed=seed)])


def test_folds_spread_every_digit_and_do_not_depend_on_order():
    labels = [1] * 40 + [7] * 3 + [3]
    keys = [f"sample-{i}" for i in range(len(labels))]
    folds = assign_folds(labels, 4, keys)
    assert np.bincount(folds[:40], minlength=4).tolist() == [10] * 4  # the 1s evenly over 4 folds
    assert len(set(folds[40:43].tolist())) == 3  # three 7s in three different folds
    order = np.random.default_rng(0).permutation(len(labels))
    shuffled = assign_folds([labels[i] for i in order], 4, [keys[i] for i in order])
    assert (shuffled == folds[order]).all()


def test_too_few_samples_are_refused_with_the_number_needed(registry, reference):
    images = np.zeros((MIN_SAMPLES - 1, 28, 28), np.float32)
    with pytest.raises(NotEnoughSamplesError, match=str(MIN_SAMPLES)):
        next(finetune(registry.shipped().checkpoint, images, [1] * len(images), reference))


def test_finetune_learns_a_personal_style_keeps_mnist_and_reports_progress(registry, reference):
    digit, _ = STYLES["z-two"]
    base = registry.shipped().checkpoint
    config = FinetuneConfig()
    progress, result = run_to_end(finetune(base, style_images("z-two", 20, 1), [digit] * 20, reference, config))
    training = [p for p in progress if p.phase == "training"]
    total = (config.folds + 1) * config.steps  # a model per fold, then the final one
    assert [p.step for p in training] == list(range(1, total + 1)) and progress[-1].phase == "checking"
    assert np.mean([p.loss for p in training[-config.steps:][-5:]]) < np.mean([p.loss for p in training[:5]])

    assert result.accepted, result.reason
    assert result.before.user_correct <= 10 and result.after.user_correct >= 18  # out of fold, of 20: at most half, then nearly all
    assert result.after.user_count == result.holdout_count == result.train_count == 20
    assert result.before.mnist_accuracy - result.after.mnist_accuracy <= 0.003
    fresh = style_images("z-two", 40, 2)
    before = np.mean([Predictor(base).predict_image(i).digit == digit for i in fresh])
    after = np.mean([Predictor(result.checkpoint).predict_image(i).digit == digit for i in fresh])
    assert before <= 0.5 and after >= 0.9
    assert result.checkpoint.info.parent_version == base.info.version
    assert result.checkpoint.info.sample_count == 20
    # Only the top learnt: the first layers are the base model's, so cached features stay valid.
    trunk_names = [n for n in base.state_dict if n.startswith(tuple(f"features.{i}." for i in range(5)))]
    assert trunk_names and all(torch.equal(base.state_dict[n], result.checkpoint.state_dict[n]) for n in trunk_names)


def test_the_gate_rejects_a_finetune_on_contradictory_labels(registry, reference):
    # Twelve drawings of one style with random labels: nothing can be learnt, and a couple of lucky
    # readings must not make the new model look better.
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, 12).tolist()
    _, result = run_to_end(finetune(registry.shipped().checkpoint, style_images("z-two", 12, 5), labels, reference))
    assert not result.accepted
    assert "kept aside" in result.reason


def test_digits_already_read_right_can_only_make_the_model_surer_within_the_small_drop(registry, reference):
    # Digits the shipped model already reads right: the loss may fall, the accuracy cannot rise.
    images = np.stack([strokes_to_image(d) for digit in range(10) for d in draw_many(STANDARD[digit], 2, seed=digit)])
    labels = [digit for digit in range(10) for _ in range(2)]
    _, result = run_to_end(finetune(registry.shipped().checkpoint, images, labels, reference))
    assert result.before.user_correct == 20
    if result.accepted:  # surer, none broken: held to the small drop, never to the budget
        assert "Surer on your samples" in result.reason and result.evidence.broken == 0 and not result.strong
        assert result.before.mnist_accuracy - result.after.mnist_accuracy <= FinetuneConfig().max_mnist_drop
    # Without acceptance on the loss alone, an accuracy that did not move is never called better.
    off = FinetuneConfig(evidence_z_same=math.inf)
    _, result = run_to_end(finetune(registry.shipped().checkpoint, images, labels, reference, off))
    assert not result.accepted and "not better" in result.reason


def test_a_finetune_that_would_lose_pen_digits_is_rejected(registry, with_pen_gate):
    digit, _ = STYLES["z-two"]
    config = FinetuneConfig(max_pen_drop=-0.01, max_pen_budget=-0.01)  # any fine-tune "loses" more than -1 point
    _, result = run_to_end(finetune(registry.shipped().checkpoint, style_images("z-two", 12, 1), [digit] * 12,
                                    with_pen_gate, config))
    assert result.before.pen_accuracy is not None and result.after.pen_accuracy is not None
    assert not result.accepted and "pen-drawn" in result.reason
    assert result.gate_sizes == {"MNIST": 5000, "pen": 300}


def figures(correct, loss, mnist=0.995, pen=0.98, count=20):
    return Figures(correct / count, loss, mnist, pen, correct, count)


def test_judge_needs_more_samples_right_with_evidence_and_both_gates_kept():
    base = figures(4, 2.0)
    # Evidence, but not strong evidence (2.5 standard errors): the small drops apply, not the line's
    # budget (tests/test_finetune_budget.py).
    strong = Evidence(fixed=14, broken=0, loss_gain=1.5, loss_gain_se=0.6)
    assert judge(base, figures(18, 0.5, 0.993, 0.978), strong)[0]
    mnist = judge(base, figures(18, 0.5, 0.990), strong)
    assert not mnist[0] and "MNIST" in mnist[1]
    pen = judge(base, figures(18, 0.5, 0.995, 0.975), strong)
    assert not pen[0] and "pen-drawn" in pen[1]
    same = judge(base, figures(4, 1.0), Evidence(0, 1, 1.0, 0.1))  # more confident, one broken: not better
    assert not same[0] and "not better" in same[1]
    lucky = judge(base, figures(6, 1.8), Evidence(fixed=3, broken=1, loss_gain=0.2, loss_gain_se=0.4))
    assert not lucky[0] and "evidence" in lucky[1]


def test_the_loss_alone_can_accept_only_when_nothing_broke():
    base = figures(20, 0.05)
    surer = Evidence(fixed=0, broken=0, loss_gain=0.03, loss_gain_se=0.01)  # 3 standard errors
    accepted, reason = judge(base, figures(20, 0.02), surer)  # by default: surer, nothing broken, accepted
    assert accepted and "Surer on your samples" in reason and "MNIST" in reason
    assert not judge(base, figures(20, 0.02), Evidence(1, 1, 0.03, 0.01))[0]  # one fixed, one broken
    assert not judge(base, figures(20, 0.02), Evidence(0, 0, 0.01, 0.01))[0]  # 1 standard error: not more
    assert not judge(base, figures(20, 0.02, 0.990), surer)[0]  # the gates still hold it
    off = FinetuneConfig(evidence_z_same=math.inf)
    assert not judge(base, figures(20, 0.02), surer, off)[0]  # off: an accuracy that did not move is not better


def test_drops_cannot_add_up_over_a_line_of_finetunes():
    base = figures(4, 2.0, mnist=0.995, pen=0.980)  # itself a fine-tune, 0.2 points below where the line started
    started = figures(0, 0.0, mnist=0.997, pen=0.982)
    strong = Evidence(fixed=14, broken=0, loss_gain=1.5, loss_gain_se=0.6)  # not strong: the small drops apply
    assert judge(base, figures(18, 0.5, 0.993, 0.980), strong)[0]  # 0.2 points below its base: allowed alone
    accepted, reason = judge(base, figures(18, 0.5, 0.993, 0.980), strong, lineage=started)  # 0.4 below the start
    assert not accepted and "MNIST" in reason and "started from" in reason
    accepted, reason = judge(base, figures(18, 0.5, 0.995, 0.978), strong, lineage=started)
    assert not accepted and "pen-drawn" in reason and "started from" in reason
    assert judge(base, figures(18, 0.5, 0.995, 0.980), strong, lineage=started)[0]  # 0.2 below the start: allowed


def test_a_finetune_records_where_its_line_started_and_is_held_to_it(registry, reference):
    shipped = stamp_gate_figures(registry.shipped().checkpoint, reference)
    digit, _ = STYLES["z-two"]
    images, config = style_images("z-two", 10, 1), FinetuneConfig(steps=2)
    _, first = run_to_end(finetune(shipped, images, [digit] * 10, reference, config, line_start=shipped))
    # The shipped model starts the line: its own figures are recorded as the start ...
    assert first.checkpoint.info.notes["lineage_gates"] == shipped.info.notes["gates"]
    # ... and a fine-tune of that fine-tune carries them on.
    _, second = run_to_end(finetune(first.checkpoint, images, [digit] * 10, reference, config, line_start=shipped))
    assert second.checkpoint.info.notes["lineage_gates"] == shipped.info.notes["gates"]
    # A fine-tune made before lines were recorded is held to the line's start (the shipped model): here
    # one whose stored figure says 100 %, so that any new model is too far below it.
    older = first.checkpoint
    del older.info.notes["lineage_gates"]
    perfect = stamp_gate_figures(registry.shipped().checkpoint, reference)
    perfect.info.notes["gates"]["MNIST"]["accuracy"] = 1.0
    lenient = FinetuneConfig(steps=2, max_mnist_drop=0.006)  # passes against its base, not against 100 %
    _, held = run_to_end(finetune(older, images, [digit] * 10, reference, lenient, line_start=perfect))
    assert 0 < held.before.mnist_accuracy - held.after.mnist_accuracy <= 0.006
    # The start is held at most the allowed drop above the base (line_start_figure, tested below).
    start = held.checkpoint.info.notes["lineage_gates"]["MNIST"]["accuracy"]
    assert start == pytest.approx(min(1.0, held.before.mnist_accuracy + 0.006))
    # Refused; the reason names the user's evidence when that fails first (it is judged before the gates).
    assert not held.accepted and ("started from" in held.reason or "not better" in held.reason)
    assert held.line_exceeded == ("MNIST",) and held.line_start["MNIST"] == start
    # Without a start to go by, the line starts again at the base.
    _, alone = run_to_end(finetune(older, images, [digit] * 10, reference, config))
    assert alone.checkpoint.info.notes["lineage_gates"]["MNIST"]["accuracy"] == alone.before.mnist_accuracy


def test_a_recorded_line_start_is_checked_and_capped(registry, reference, tmp_path):
    shipped = stamp_gate_figures(registry.shipped().checkpoint, reference)
    cache = FeatureCache(reference)
    cache.features(split_network(shipped.build(), shipped.config.arch)[0])  # the trunk the figures were made with
    gate = reference.gates[0]
    figure = dict(shipped.info.notes["gates"][gate.name])

    def recorded(value):
        shipped.info.notes["lineage_gates"] = value
        return cache.lineage_accuracy(shipped, gate)

    assert recorded({gate.name: {**figure, "accuracy": 0.985}}) == 0.985
    for odd in ([1, 2], None, 1, True, {gate.name: "0.9"}, {gate.name: {**figure, "accuracy": "0.9"}},
                {gate.name: {**figure, "accuracy": 1.5}}, {gate.name: {**figure, "trunk": "6:0000000000"}},
                {gate.name: {**figure, "digest": "0000000000"}}):
        assert recorded(odd) is None, odd
    # The same from a crafted model file: it loads, and its odd start is not trusted.
    shipped.info.notes["lineage_gates"] = {gate.name: {**figure, "accuracy": "1.0"}, "pen": [None] * 3}
    crafted = load_checkpoint(save_checkpoint(shipped, tmp_path / "crafted.pt"))
    assert cache.lineage_accuracy(crafted, gate) is None
    # No line passing the gate at every step can end more than the allowed drop below its start.
    assert line_start_figure(0.985, own=0.99, allowed=0.003) == 0.985
    assert line_start_figure(1.0, own=0.99, allowed=0.003) == pytest.approx(0.993)
    assert line_start_figure(None, own=0.99, allowed=0.003) == 0.99


def test_stamped_gate_figures_are_used_instead_of_measuring_the_base(registry, reference, tmp_path):
    shipped = registry.shipped().checkpoint
    stamped = stamp_gate_figures(shipped, reference)
    figure = stamped.info.notes["gates"]["MNIST"]
    assert stamped.info.version == shipped.info.version  # same weights, same version
    assert figure["size"] == 5000 and 0.99 <= figure["accuracy"] <= 1.0
    save_checkpoint(stamped, tmp_path / "stamped.pt")
    reloaded = load_checkpoint(tmp_path / "stamped.pt")
    assert reloaded.info.notes["gates"] == stamped.info.notes["gates"]
    # A planted figure shows the fine-tune reads the stored one rather than measuring again.
    reloaded.info.notes["gates"]["MNIST"]["accuracy"] = 0.5
    digit, _ = STYLES["z-two"]
    config = FinetuneConfig(steps=2)
    _, result = run_to_end(finetune(reloaded, style_images("z-two", 10, 1), [digit] * 10, reference, config))
    assert result.before.mnist_accuracy == 0.5
    # A figure stored for another set of gate digits is not trusted.
    reloaded.info.notes["gates"]["MNIST"]["digest"] = "0000000000"
    _, result = run_to_end(finetune(reloaded, style_images("z-two", 10, 1), [digit] * 10, reference, config))
    assert result.before.mnist_accuracy == figure["accuracy"]


def test_the_written_out_adam_matches_torchs_and_imports_no_compiler():
    import subprocess
    import sys

    import torch

    from model.personal.finetune import _Adam

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
    probe = ("import sys, torch; from model.personal.finetune import _Adam; n = torch.nn.Linear(2, 2); o = _Adam(n.parameters());"
             "n(torch.ones(1, 2)).sum().backward(); o.step(0.1); print('torch._dynamo' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
