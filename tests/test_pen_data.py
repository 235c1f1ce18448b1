"""Stroke-level augmentation and the rendering of pen digits for training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.training.pen_data import (PenTrainingSet, StrokeAugment, augment_strokes, as_arrays, pen_digit_set, render,
                            render_variants)
from model.recognition.preprocess import strokes_to_image
from model.training.unipen import PenDigit

SEVEN = [[(0.0, 0.0), (40.0, 0.0), (15.0, 60.0)], [(5.0, 30.0), (30.0, 30.0)]]  # y down, a crossed 7
OFF = StrokeAugment().without("affine", "jitter", "resample", "pen_lift")


def digit(strokes=SEVEN, label=7) -> PenDigit:
    return PenDigit(tuple(tuple(map(tuple, s)) for s in strokes), label, "src/w", "src", "f", 1)


def test_with_every_part_off_the_strokes_are_unchanged_up_to_position():
    strokes = as_arrays(SEVEN)
    out = augment_strokes(strokes, OFF, np.random.default_rng(0))
    assert len(out) == 2
    shift = out[0][0] - strokes[0][0]
    for before, after in zip(strokes, out):
        np.testing.assert_allclose(after - shift, before)


def test_the_canvas_path_renders_a_digit_exactly_as_the_app_would():
    assert np.array_equal(render(as_arrays(SEVEN)), np.round(strokes_to_image(SEVEN) * 255).astype(np.uint8))


def test_slant_leans_the_top_to_the_right_as_a_right_handed_slant_does():
    upright = as_arrays([[(0.0, 0.0), (0.0, 100.0)]])  # a vertical bar, drawn top to bottom
    config = StrokeAugment(rotation_degrees=0, slant=0.3, aspect_jitter=0, jitter=0, resample_probability=0,
                           pen_lift_probability=0)
    leans = []
    for seed in range(20):
        top, bottom = augment_strokes(upright, config, np.random.default_rng(seed))[0]
        leans.append((top[0] - bottom[0]) / (bottom[1] - top[1]))
    assert max(np.abs(leans)) <= 0.3 + 1e-9 and min(leans) < -0.1 and max(leans) > 0.1


def test_resampling_keeps_the_ends_and_drops_inner_points():
    line = as_arrays([[(float(x), 0.0) for x in range(100)]])
    config = StrokeAugment(rotation_degrees=0, slant=0, aspect_jitter=0, jitter=0, resample_probability=1.0,
                           resample_keep=(0.2, 0.2), pen_lift_probability=0)
    out = augment_strokes(line, config, np.random.default_rng(1))[0]
    assert 8 < len(out) < 40
    np.testing.assert_allclose(out[[0, -1]] - out[0], line[0][[0, -1]] - line[0][0])


def test_an_extra_pen_lift_splits_one_stroke_in_two():
    line = as_arrays([[(float(x), float(x % 7)) for x in range(30)]])
    config = OFF.__class__(**{**OFF.__dict__, "pen_lift_probability": 1.0})
    out = augment_strokes(line, config, np.random.default_rng(2))
    assert len(out) == 2 and len(out[0]) + len(out[1]) == 30


def test_variants_are_deterministic_for_a_seed_and_variant_zero_is_the_plain_rendering():
    digits = [digit(), digit([[(0, 0), (0, 50)]], 1)]
    first = render_variants(digits, 4, StrokeAugment(), seed=5)
    assert first.shape == (4, 2, 28, 28) and first.dtype == torch.uint8
    assert torch.equal(first, render_variants(digits, 4, StrokeAugment(), seed=5))
    assert torch.equal(first[0], pen_digit_set(digits).images)
    assert not torch.equal(first[1], first[0])  # augmented variants differ from the plain one


def test_each_epoch_draws_one_variant_of_every_digit():
    variants = torch.stack([torch.full((3, 28, 28), v, dtype=torch.uint8) for v in range(4)])  # (4, 3, 28, 28)
    training = PenTrainingSet(variants, torch.tensor([1, 2, 3]))
    picked = training.epoch(torch.Generator().manual_seed(0))
    assert picked.images.shape == (3, 28, 28) and picked.labels.tolist() == [1, 2, 3]
    generator = torch.Generator().manual_seed(1)
    seen = {n: set() for n in range(3)}
    for _ in range(40):
        images = training.epoch(generator).images
        for n in range(3):
            seen[n].add(int(images[n, 0, 0]))
    assert all(variants_seen == {0, 1, 2, 3} for variants_seen in seen.values())  # every variant gets used


@pytest.mark.parametrize("part", ["affine", "jitter", "resample", "pen_lift"])
def test_each_part_can_be_switched_off_alone_for_measuring_it(part):
    config = StrokeAugment().without(part)
    assert config != StrokeAugment() and StrokeAugment().without("affine", "jitter", "resample", "pen_lift") == OFF
