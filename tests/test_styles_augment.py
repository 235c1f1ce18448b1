"""The optional style augmentation of pen digits (StrokeAugment.style_probability, issue 19)."""

from __future__ import annotations

import numpy as np
import torch

from model.training.pen_data import StrokeAugment, as_arrays, augment_strokes, render, render_variants
from model.training.unipen import PenDigit

ONE = [[(50.0, 0.0), (48.0, 50.0), (46.0, 100.0)]]  # y down: a plain upright 1
FOUR = [[(30.0, 0.0), (0.0, 60.0), (60.0, 60.0)], [(45.0, 10.0), (45.0, 100.0)]]
SEVEN = [[(0.0, 0.0), (40.0, 0.0), (15.0, 60.0)]]
NINE = [[(40.0, 10.0), (20.0, 0.0), (0.0, 15.0), (20.0, 35.0), (40.0, 20.0), (40.0, 10.0), (38.0, 100.0)]]
ZERO = [[(20.0, 0.0), (0.0, 50.0), (20.0, 100.0), (40.0, 50.0), (20.0, 0.0)]]
OFF = StrokeAugment().without("affine", "jitter", "resample", "pen_lift")


def digits() -> list[PenDigit]:
    return [PenDigit(tuple(tuple(map(tuple, s)) for s in strokes), label, "src/w", "src", "f", n)
            for n, (strokes, label) in enumerate([(ONE, 1), (FOUR, 4), (SEVEN, 7), (NINE, 9), (ZERO, 0)])]


def test_off_by_default_and_the_renderings_are_todays():
    assert StrokeAugment().style_probability == 0.0
    # Today's path: augment_strokes called without a label, one random generator for all variants.
    rng = np.random.default_rng(7)
    expected = np.zeros((3, 5, 28, 28), dtype=np.uint8)
    for n, digit in enumerate(digits()):
        strokes = as_arrays(digit.strokes)
        expected[0, n] = render(strokes)
        for v in (1, 2):
            expected[v, n] = render(augment_strokes(strokes, StrokeAugment(), rng))
    assert torch.equal(render_variants(digits(), 3, StrokeAugment(), seed=7), torch.from_numpy(expected))


def test_on_a_one_gains_a_flag_stroke_from_its_top_going_down_left():
    config = StrokeAugment(**{**OFF.__dict__, "style_probability": 1.0})
    for seed in range(10):
        out = augment_strokes(as_arrays(ONE), config, np.random.default_rng(seed), label=1)
        assert len(out) in (2, 3)  # the flag, the 1 itself, and for some styles a foot
        flag, height = out[0], float(np.ptp(np.concatenate(out)[:, 1]))
        start, end = flag[0], flag[-1]
        assert np.isclose(start[1], np.concatenate(out)[:, 1].min())  # starts at the top of the 1
        assert end[0] < start[0] - 0.3 * height and end[1] > start[1] + 0.15 * height  # down and to the left


def test_on_other_digits_and_unlabelled_strokes_are_left_alone():
    config = StrokeAugment(**{**OFF.__dict__, "style_probability": 1.0})
    zero = augment_strokes(as_arrays(ZERO), config, np.random.default_rng(0), label=0)
    unlabelled = augment_strokes(as_arrays(ONE), config, np.random.default_rng(0))
    assert len(zero) == 1 and len(unlabelled) == 1


def test_on_each_styled_class_changes_and_is_deterministic_for_a_seed():
    config = StrokeAugment(style_probability=1.0)
    first = render_variants(digits(), 3, config, seed=3)
    assert torch.equal(first, render_variants(digits(), 3, config, seed=3))
    assert not torch.equal(first, render_variants(digits(), 3, config, seed=4))
    plain_style = StrokeAugment(**{**OFF.__dict__, "style_probability": 1.0})
    styled = render_variants(digits(), 2, plain_style, seed=3)
    unstyled = render_variants(digits(), 2, OFF, seed=3)
    for n in range(4):  # 1, 4, 7, 9: redrawn
        assert not torch.equal(styled[1, n], unstyled[1, n])
    assert torch.equal(styled[1, 4], unstyled[1, 4])  # the 0 is not


def test_without_keeps_the_style_probability():
    assert StrokeAugment(style_probability=0.3).without("jitter").style_probability == 0.3


def test_one_transform_at_a_time_redraws_only_its_digit():
    """--style-digits 7: only the 7s get their cross bar (each transform measured alone, README)."""
    only_sevens = StrokeAugment(**{**OFF.__dict__, "style_probability": 1.0, "style_digits": (7,)})
    styled = render_variants(digits(), 2, only_sevens, seed=3)
    unstyled = render_variants(digits(), 2, OFF, seed=3)
    changed = [n for n in range(5) if not torch.equal(styled[1, n], unstyled[1, n])]
    assert changed == [2]  # the 7 of ONE, FOUR, SEVEN, NINE, ZERO


def test_the_training_command_takes_the_digits_to_style():
    import pytest

    from model.training.train import build_parser

    assert build_parser().parse_args(["--style-digits", "7,1"]).style_digits == (1, 7)
    assert build_parser().parse_args([]).style_digits == (1, 4, 7, 9)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--style-digits", "3"])  # a usage error, not a traceback


def test_the_flags_are_drawn_as_the_configuration_says():
    """style_flags="writers" draws the 1s' flags from the real writers' spread: other flags than "narrow" for the
    same seed, the other digits unchanged; the training command takes --style-flags (default: narrow)."""
    import pytest

    from model.training.train import build_parser, stroke_augment_config

    narrow = StrokeAugment(**{**OFF.__dict__, "style_probability": 1.0})
    writers = StrokeAugment(**{**narrow.__dict__, "style_flags": "writers"})
    drawn = [render_variants(digits(), 2, config, seed=3) for config in (narrow, writers)]
    assert not torch.equal(drawn[0][1, 0], drawn[1][1, 0])  # the 1's flag
    assert torch.equal(drawn[0][1, 1:], drawn[1][1, 1:])  # the 4, 7, 9 and 0
    assert build_parser().parse_args([]).style_flags == "narrow"
    assert build_parser().parse_args(["--style-flags", "writers"]).style_flags == "writers"
    assert stroke_augment_config("all", 0.6, (1,), "writers").style_flags == "writers"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--style-flags", "sideways"])  # a usage error, not a traceback
