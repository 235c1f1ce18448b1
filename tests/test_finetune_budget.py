"""The fine-tune's acceptance rule: the user's own out-of-fold evidence first, then a bounded general budget."""

from __future__ import annotations

import numpy as np
import pytest

from model.assets import default_weights_path
from model.storage.checkpoint import load_checkpoint
from model.training.data import balanced_subset
from model.personal.finetune import Evidence, Figures, FinetuneConfig, finetune, judge, strong_evidence
from model.recognition.preprocess import strokes_to_image
from model.personal.reference import MNIST_GATE_PER_CLASS, REPLAY_PER_CLASS, Reference, gate_set
from model.training.synthetic import STYLES, draw_many

STRONG = Evidence(fixed=12, broken=0, loss_gain=1.5, loss_gain_se=0.2)  # 7.5 standard errors, 12 fixed
ORDINARY = Evidence(fixed=2, broken=0, loss_gain=0.3, loss_gain_se=0.2)  # 1.5 standard errors, 2 fixed


def figures(correct, loss, mnist=0.995, pen=0.98, count=20):
    return Figures(correct / count, loss, mnist, pen, correct, count)


def test_strong_evidence_needs_both_net_fixed_samples_and_a_clear_loss_gain():
    assert strong_evidence(STRONG) and not strong_evidence(ORDINARY)
    assert not strong_evidence(Evidence(fixed=12, broken=0, loss_gain=0.5, loss_gain_se=0.2))  # 2.5 se
    assert not strong_evidence(Evidence(fixed=3, broken=1, loss_gain=1.5, loss_gain_se=0.2))  # 2 net fixed


def test_a_strong_personal_gain_within_the_budget_is_accepted():
    base = figures(6, 2.0, mnist=0.995, pen=0.980)
    cost = figures(18, 0.4, mnist=0.9915, pen=0.968)  # −0.35 points of MNIST, −1.2 of pen digits
    accepted, reason = judge(base, cost, STRONG)
    assert accepted and "budget" in reason
    # The same cost with ordinary evidence is held to the small drop (0.3 points).
    accepted, reason = judge(base, figures(8, 1.6, mnist=0.9915, pen=0.968), ORDINARY)
    assert not accepted and "MNIST" in reason


def test_a_gain_that_costs_more_than_the_budget_is_refused():
    base = figures(6, 2.0, mnist=0.995, pen=0.980)
    accepted, reason = judge(base, figures(18, 0.4, mnist=0.989, pen=0.980), STRONG)  # −0.6 points of MNIST
    assert not accepted and "MNIST" in reason and "budget" in reason
    accepted, reason = judge(base, figures(18, 0.4, mnist=0.995, pen=0.962), STRONG)  # −1.8 points of pen
    assert not accepted and "pen-drawn" in reason
    # The budget is for the whole line: a base that already spent 0.3 points may spend only 0.2 more.
    started = figures(0, 0.0, mnist=0.998, pen=0.980)
    assert judge(base, figures(18, 0.4, mnist=0.9935), STRONG, lineage=started)[0]
    accepted, reason = judge(base, figures(18, 0.4, mnist=0.992), STRONG, lineage=started)
    assert not accepted and "started from" in reason


def test_the_users_evidence_is_judged_before_the_general_gates():
    base = figures(6, 2.0)
    # No more of the user's samples right (one fixed, one broken): refused as not better, whatever the gates say.
    accepted, reason = judge(base, figures(6, 1.9, mnist=0.999, pen=0.99), Evidence(1, 1, 0.1, 0.05))
    assert not accepted and "not better" in reason
    lucky = judge(base, figures(8, 1.9), Evidence(fixed=3, broken=1, loss_gain=0.1, loss_gain_se=0.3))
    assert not lucky[0] and "evidence" in lucky[1]


@pytest.fixture(scope="module")
def reference(mnist_train, mnist_test):
    return Reference(balanced_subset(mnist_train, REPLAY_PER_CLASS, seed=0),
                     (gate_set("MNIST", balanced_subset(mnist_test, MNIST_GATE_PER_CLASS, seed=2024)),))


def run_to_end(steps):
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def style_images(style: str, count: int, seed: int) -> np.ndarray:
    return np.stack([strokes_to_image(d) for d in draw_many(STYLES[style][1], count, seed=seed)])


def test_a_contradictory_label_sample_set_is_refused_even_with_a_large_budget(reference):
    base = load_checkpoint(default_weights_path())
    labels = np.random.default_rng(3).integers(0, 10, 20).tolist()
    lenient = FinetuneConfig(max_mnist_budget=0.05, max_pen_budget=0.05)
    result = run_to_end(finetune(base, style_images("z-two", 20, 5), labels, reference, lenient))
    assert not result.accepted and "kept aside" in result.reason and not result.strong


def test_a_consistent_personal_style_is_learnt_with_strong_evidence_and_reported(reference):
    base = load_checkpoint(default_weights_path())
    # a 2 drawn like a Z, which the shipped model reads as a 7 (a flagged 1 was the style here until the base
    # model learnt flagged 1s itself: it now reads nearly all of them right, too few left to fix for strong evidence)
    digit, _ = STYLES["z-two"]
    result = run_to_end(finetune(base, style_images("z-two", 20, 1), [digit] * 20, reference))
    assert result.accepted, result.reason
    assert result.strong and result.allowed["MNIST"] == FinetuneConfig().max_mnist_budget
    assert result.before.mnist_accuracy - result.after.mnist_accuracy <= FinetuneConfig().max_mnist_budget
    (label, right_before, count), = result.before.per_digit
    (_, right_after, _), = result.after.per_digit
    assert (label, count) == (digit, 20) and right_after > right_before
