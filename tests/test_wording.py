"""What the window says, without a window: when Fine-tune can run, and a fine-tune's result in plain words."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timezone
from types import SimpleNamespace

import pytest

from model.constants import MIN_SAMPLES
import numpy as np

from model.personal.finetune import Figures, NotEnoughSamplesError, finetune
from model.personal.readiness import finetune_readiness
from hwr_app.wording import (FinetuneOutcome, describe_finetune, finetune_outcome, general_accuracy, model_names,
                           plural, readable_time)


# -- when a fine-tune can run ---------------------------------------------------------------------

def finetune_accepts(counts: dict[int, int]) -> bool:
    """Ask the fine-tune itself whether it starts on samples with these counts."""
    labels = [digit for digit, n in counts.items() for _ in range(n)]
    images = np.zeros((len(labels), 28, 28), np.float32)
    try:
        next(finetune(None, images, labels, None))  # refuses before touching the model or references
    except NotEnoughSamplesError:
        return False
    except Exception:  # got past the sample check (and failed later, on the missing model)
        return True
    return True


def count_patterns():
    rng = random.Random(0)
    yield {}
    yield {d: 1 for d in range(10)}  # the case the issue met: ten samples, none of them twice
    yield {d: 1 for d in range(9)}
    yield {3: 2}
    yield {3: 9}
    yield {3: 10}
    yield {d: 1 for d in range(9)} | {9: 2}
    for _ in range(120):
        yield {d: rng.choice([0, 0, 1, 1, 2, 3, 5]) for d in range(10)}


@pytest.mark.parametrize("counts", list(count_patterns()))
def test_the_window_enables_fine_tune_exactly_when_the_fine_tune_can_split_the_samples(counts):
    readiness = finetune_readiness(counts)
    assert readiness.ready == finetune_accepts(counts)
    assert (readiness.missing == "") == readiness.ready


def test_what_is_missing_is_said_exactly():
    assert finetune_readiness({1: 1, 2: 1, 3: 1}).short == "7 more to fine-tune"
    assert "7 more samples" in finetune_readiness({1: 1, 2: 1, 3: 1}).missing
    assert finetune_readiness({1: 9}).missing == "Save 1 more sample to fine-tune (9 of 10)."
    assert finetune_readiness({d: 1 for d in range(10)}).ready  # one of every digit is enough now


# -- small words ----------------------------------------------------------------------------------

def test_plural_times_and_accuracy():
    assert [plural(n, "sample") for n in (0, 1, 2, 1200)] == ["0 samples", "1 sample", "2 samples", "1,200 samples"]
    assert readable_time("2026-11-30T14:05:09+00:00", timezone.utc) == "30 Nov 2026, 14:05"
    assert readable_time("not a time") == ""
    assert general_accuracy(0.99623) == "99.6 %" and general_accuracy(None) == "—"


def test_every_model_has_one_readable_name():
    names = model_names([("c1f41290cd", "2026-11-01T10:00:00+00:00", True),
                         ("aa11", "2026-11-30T14:05:09+00:00", False),
                         ("bb22", "2026-11-30T14:05:40+00:00", False),
                         ("cc33", "2026-11-30T16:00:00+00:00", False)], timezone.utc)
    assert names == {"c1f41290cd": "shipped", "aa11": "tuned 30 Nov 14:05:09", "bb22": "tuned 30 Nov 14:05:40",
                     "cc33": "tuned 30 Nov 16:00"}


# -- a fine-tune's result -------------------------------------------------------------------------

def outcome(**changes) -> FinetuneOutcome:
    values = dict(accepted=True, activated=True, sample_count=13, trained_count=13, test_count=2,
                  test_right_before=0, test_right_after=2, digits=(2, 7), general_before=0.9962,
                  general_after=0.9956, general_allowed_drop=0.003, check_size=5000, new_name="tuned 30 Nov 14:05",
                  folds=4)
    values.update(changes)
    return FinetuneOutcome(**values)


def test_an_accepted_fine_tune_is_one_plain_sentence_then_details():
    report = describe_finetune(outcome())
    assert report.headline == ("hwr now uses the fine-tuned model: it reads 2 of your 2 samples right, before 0. "
                               "General accuracy unchanged (99.6 %). Draw a few digits to try it.")
    assert report.summary == "Fine-tune in use: 2 of your 2 samples right, before 0."
    for jargon in ("held-out", "MNIST", "gate", "loss", "→ 100%", "test drawing"):
        assert jargon not in report.headline
    # The details say what it learned from and how it was judged on drawings it had not seen.
    assert "13 saved; the new model learned from all of them" in report.details
    assert "split into 4 groups" in report.details and "trained the same way without it" in report.details
    assert "set aside" not in report.details and "not learned from" not in report.details
    assert "rough check" in report.details  # two test drawings are few, and the user is told so
    assert "5,000" in report.details and "tuned 30 Nov 14:05, in use now" in report.details


def test_general_accuracy_appears_as_one_figure_with_one_name():
    report = describe_finetune(outcome(general_before=0.9962, general_after=0.9941))
    assert "General accuracy 99.6 % → 99.4 %" in report.headline
    assert "a little worse" in report.headline  # an accepted model's cost to other people's digits is said plainly
    assert "99.62" not in report.headline + report.details and "99.41" not in report.headline + report.details


@pytest.mark.parametrize("changes, expected", [
    (dict(activated=False), "You switched models while it was made, so yours stays in use"),
    (dict(activated=False, test_right_before=2), "A new model is ready: it reads your samples more surely (all 2"),
    (dict(accepted=False, activated=False, test_right_after=0), "was no better on your samples (0 of your 2 samples right, as before)"),
    (dict(accepted=False, activated=False, general_after=0.9912), "would read other people's digits worse (general accuracy 99.6 % → 99.1 %)"),
    (dict(test_right_before=2), "it reads your samples more surely (all 2 samples of yours right, as before)"),
    (dict(digit_changes=((1, 3, 4, 4), (7, 5, 5, 5))), "before 0; better on your 1s (3 → 4 of 4)"),
    (dict(sample_digits=(2,)), "before 0; better on your 2s"),
    (dict(accepted=False, activated=False, general_before=0.9934, general_after=0.9921, line_start=0.9962,
          line_gate="MNIST"), "worse than the model your fine-tunes started from (general accuracy 99.6 % → 99.2 %"),
    (dict(accepted=False, activated=False, general_after=0.9912, line_start=0.9962, line_gate="MNIST"),
     "press Reset to shipped in Model versions"),  # both bounds broken: the way out comes first
    (dict(accepted=False, activated=False, test_right_after=0, line_gate="pen", line_pen=(0.9833, 0.9793)),
     "pen-drawn digits worse than the model your fine-tunes started from (98.3 % → 97.9 % of them read right"),
])
def test_each_result_says_what_happened(changes, expected):
    report = describe_finetune(outcome(**changes))
    assert expected in report.headline
    assert report.title.startswith("Fine-tune")
    depth = 0
    for character in report.headline:  # no brackets within brackets: "(it reads … more surely (all 2 …))"
        depth += {"(": 1, ")": -1}.get(character, 0)
        assert depth <= 1, report.headline


def test_the_corrected_digits_are_not_claimed_better_when_the_figures_do_not_say_so():
    # 12 → 13 of 17 right, the corrected digits 1 and 7: nothing says it was a 1 or a 7 that was gained.
    report = describe_finetune(outcome(test_count=17, test_right_before=12, test_right_after=13, digits=(1, 7)))
    assert "1s" not in report.headline and "7s" not in report.headline
    assert "13 of your 17 samples right, before 12" in report.headline


def test_a_refusal_with_every_sample_right_gives_no_advice_the_figures_contradict():
    report = describe_finetune(outcome(accepted=False, activated=False, test_count=11, test_right_before=11,
                                       test_right_after=11))
    assert "already reads all 11 samples of yours right" in report.headline
    assert "gets wrong" not in report.headline and "digits it" not in report.headline


def test_the_outcome_of_a_finetune_result_counts_drawings_and_uses_the_windows_general_accuracy():
    info = SimpleNamespace(mnist_test_accuracy=0.9956, notes={"mnist_test_accuracy_is_estimate": True, "gate_size": 5000})
    result = SimpleNamespace(accepted=True, train_count=11, holdout_count=3, reason="",
                             before=Figures(user_accuracy=1 / 3, user_loss=1.0, mnist_accuracy=0.9960),
                             after=Figures(user_accuracy=1.0, user_loss=0.1, mnist_accuracy=0.9954),
                             checkpoint=SimpleNamespace(info=info))
    samples = ([SimpleNamespace(label=2, predicted=7)] * 5 + [SimpleNamespace(label=7, predicted=1)] * 3
               + [SimpleNamespace(label=4, predicted=4)] * 6)
    made = finetune_outcome(result, samples, activated=True, allowed_drop=0.003)
    assert (made.test_right_before, made.test_right_after, made.test_count) == (1, 3, 3)
    assert made.digits == (2, 7)  # the digits it got wrong, most often first; confirmed 4s are not news
    assert made.general_after == 0.9956 and made.general_before == pytest.approx(0.9962)
    assert made.sample_count == 14 and made.check_size == 5000
    assert made.line_start is None  # no line recorded: nothing to compare with
    result.line_start = {"MNIST": 0.9990, "pen": 0.9833}  # the figures the fine-tune was held to
    started = finetune_outcome(result, samples, activated=True, allowed_drop=0.003)
    assert started.line_start == pytest.approx(0.9956 + (0.9990 - 0.9954))  # the window's figure, moved alike
    assert started.line_gate == ""  # not below the line's start by more than allowed
    result.line_exceeded, result.after = ("pen",), replace(result.after, pen_accuracy=0.9793)
    held = finetune_outcome(result, samples, activated=False, allowed_drop=0.003)
    assert held.line_gate == "pen" and held.line_pen == (0.9833, 0.9793)
    refused = describe_finetune(replace(held, accepted=False))
    assert "press Reset to shipped in Model versions" in refused.headline and "samples are kept" in refused.headline


def test_a_time_at_the_edge_of_the_calendar_reads_as_nothing_instead_of_failing():
    from hwr_app.wording import readable_time

    assert readable_time("0001-01-01T00:00:00+14:00") == ""  # before year 1 in UTC
    assert readable_time("9999-12-31T23:59:59-14:00", timezone.utc) == ""  # after year 9999


def test_an_accepted_trade_names_the_users_digits_and_the_cost_to_others():
    """Issue 18: "reads your 1s: 3 of 10 → 10 of 10; other people's digits: 99.6 → 99.3 %", said plainly."""
    report = describe_finetune(outcome(test_count=20, test_right_before=8, test_right_after=18, sample_count=20,
                                       trained_count=20, general_before=0.9962, general_after=0.9931,
                                       general_allowed_drop=0.005, pen_before=0.983, pen_after=0.978, budget=True,
                                       digit_changes=((1, 3, 10, 10), (7, 5, 8, 10))))
    assert "better on your 1s (3 → 10 of 10) and 7s (5 → 8 of 10)" in report.headline
    assert "a little worse (General accuracy 99.6 % → 99.3 %; other people's pen-drawn digits 98.3 % → 97.8 %)" \
        in report.headline and "0.5 points" in report.headline
    assert "1s 3 → 10 of 10; 7s 5 → 8 of 10" in report.details and "98.3 % before, 97.8 % after" in report.details
    assert "budget your whole line of fine-tunes has" in report.details
    # No cost, no such sentence.
    assert "worse" not in describe_finetune(outcome(pen_before=0.98, pen_after=0.981)).headline
