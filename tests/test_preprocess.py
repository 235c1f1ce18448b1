"""Preprocessing: strokes and pictures become 28×28 images made the way MNIST's digits were."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from model.training.data import DigitSet, normalise, to_unit_ink
from model.training.evaluate import Evaluation
from model.recognition.preprocess import (BOX_SIZE, IMAGE_SIZE, MNIST_MEAN, MNIST_STD, PRESSURE_WIDTH_RANGE,
                              NothingDrawnError, StrokePoint, image_to_tensor, raster_to_image,
                              strokes_to_image, strokes_to_tensor)

INK = 1e-3  # a pixel counts as ink above this; ignores float dust from resampling


def ink_box(image: np.ndarray) -> tuple[int, int]:
    """Return (height, width) of the box around the image's ink."""
    rows = np.flatnonzero(image.max(axis=1) > INK)
    cols = np.flatnonzero(image.max(axis=0) > INK)
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Return the (row, column) centre of mass of the ink."""
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def polyline(*corners: tuple[float, float], step: float = 4.0) -> list[tuple[float, float]]:
    """Return points every ``step`` units along the corners, as a pointer would report them."""
    points = [corners[0]]
    for (x0, y0), (x1, y1) in zip(corners, corners[1:]):
        count = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
        points += [(x0 + (x1 - x0) * k / count, y0 + (y1 - y0) * k / count) for k in range(1, count + 1)]
    return points


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, count: int = 40):
    """Return points on an elliptical arc, angles in degrees (screen coordinates, y down)."""
    angles = np.radians(np.linspace(start, end, count))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


# Digits as a user would draw them on a canvas, in screen pixels.
TYPICAL_DIGITS = {
    "2": [arc(150, 130, 60, 50, 190, 380) + polyline((205, 160), (90, 300), (220, 300))],
    "4": [polyline((150, 100), (90, 240), (230, 240)), polyline((190, 150), (190, 330))],
    "7": [polyline((100, 100), (230, 100), (150, 330))],
    "8": [arc(160, 150, 45, 50, 0, 360), arc(160, 260, 55, 60, 0, 360)],
}


def transformed(strokes, scale: float = 1.0, dx: float = 0.0, dy: float = 0.0):
    """Return the strokes scaled about the origin, then moved."""
    return [[(x * scale + dx, y * scale + dy) for x, y in stroke] for stroke in strokes]


# --- nothing drawn -------------------------------------------------------------------------------

@pytest.mark.parametrize("strokes", [[], [[]], [[], [], []]], ids=["no strokes", "one empty", "three empty"])
def test_empty_strokes_say_nothing_was_drawn(strokes):
    with pytest.raises(NothingDrawnError, match="Nothing drawn"):
        strokes_to_image(strokes)
    with pytest.raises(NothingDrawnError, match="Nothing drawn"):
        strokes_to_tensor(strokes)


@pytest.mark.parametrize("value", [0, 255, 128], ids=["black", "white", "grey"])
def test_blank_picture_says_nothing_was_drawn(value):
    with pytest.raises(NothingDrawnError, match="Nothing drawn"):
        raster_to_image(np.full((60, 40), value, dtype=np.uint8))


def test_empty_strokes_beside_real_ones_are_ignored():
    seven = TYPICAL_DIGITS["7"]
    np.testing.assert_array_equal(strokes_to_image([[], *seven, []]), strokes_to_image(seven))


# --- strokes -------------------------------------------------------------------------------------

def assert_valid_image(image: np.ndarray) -> None:
    assert image.shape == (IMAGE_SIZE, IMAGE_SIZE)
    assert image.dtype == np.float32
    assert np.isfinite(image).all()
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image.max() > 0.5, "the digit's ink is missing"


@pytest.mark.parametrize("strokes", [
    [[(50.0, 80.0)]],
    [[(50.0, 80.0), (50.0, 80.0), (50.0, 80.0)]],
    [[(50.0, 80.0), (53.0, 80.0)]],
    [[(50.0, 80.0), (50.4, 80.3)]],
], ids=["dot", "repeated dot", "short dash", "sub-pixel dash"])
def test_dots_and_dashes_give_a_valid_image(strokes):
    assert_valid_image(strokes_to_image(strokes))


def test_short_dash_stays_a_dash():
    height, width = ink_box(strokes_to_image([[(50.0, 80.0), (56.0, 80.0)]]))
    assert width > 2 * height


def test_vertical_one_is_not_stretched_into_a_block():
    one = [polyline((300, 100), (300, 400), step=5)]
    image = strokes_to_image(one)
    height, width = ink_box(image)
    assert abs(height - BOX_SIZE) <= 1
    assert width <= 5


@pytest.mark.parametrize("name", sorted(TYPICAL_DIGITS))
def test_digit_fills_the_box_like_mnist(name):
    image = strokes_to_image(TYPICAL_DIGITS[name])
    assert_valid_image(image)
    assert abs(max(ink_box(image)) - BOX_SIZE) <= 1


@pytest.mark.parametrize("name", sorted(TYPICAL_DIGITS))
def test_digit_is_centred_by_mass_where_mnist_centres(name, mnist_test: DigitSet):
    row, col = centre_of_mass(strokes_to_image(TYPICAL_DIGITS[name]))
    assert abs(row - 13.5) <= 1 and abs(col - 13.5) <= 1
    # MNIST's own digits: the network learnt their position, so ours must fall in the same range.
    reference = mnist_test.images[:2000].float().numpy()
    rows, cols = np.indices((IMAGE_SIZE, IMAGE_SIZE))
    mass = reference.sum(axis=(1, 2))
    for ours, axis in ((row, rows), (col, cols)):
        theirs = (reference * axis).sum(axis=(1, 2)) / mass
        assert theirs.min() - 0.05 <= ours <= theirs.max() + 0.05


@pytest.mark.parametrize("scale, dx, dy", [(0.1, 0, 0), (10, 0, 0), (1, 5000, 3000), (0.1, -7, 2)],
                         ids=["tiny", "huge", "in a far corner", "tiny and moved"])
def test_size_and_position_on_the_canvas_do_not_matter(scale, dx, dy):
    for strokes in TYPICAL_DIGITS.values():
        reference = strokes_to_image(strokes)
        image = strokes_to_image(transformed(strokes, scale, dx, dy))
        difference = np.abs(image - reference)
        assert difference.mean() < 0.02
        assert difference.max() < 0.25


def test_stroke_point_objects_and_tuples_agree():
    strokes = TYPICAL_DIGITS["4"]
    as_objects = [[StrokePoint(x, y, 0.7, 0.01 * n) for n, (x, y) in enumerate(stroke)] for stroke in strokes]
    as_tuples = [[(x, y, 0.7, 0.01 * n) for n, (x, y) in enumerate(stroke)] for stroke in strokes]
    np.testing.assert_array_equal(strokes_to_image(as_objects), strokes_to_image(as_tuples))
    np.testing.assert_array_equal(strokes_to_image(as_tuples), strokes_to_image(strokes))


def two_bars(left_pressure: float, right_pressure: float) -> float:
    """Return the ink of a left bar over that of a right one, drawn with the given pressures."""
    bars = [[(0.0, y, left_pressure) for y in range(0, 101, 5)],
            [(60.0, y, right_pressure) for y in range(0, 101, 5)]]
    image = strokes_to_image(bars)
    assert_valid_image(image)
    middle = IMAGE_SIZE // 2
    return float(image[:, :middle].sum() / image[:, middle:].sum())


def test_lighter_pressure_draws_thinner_strokes():
    assert two_bars(1.0, 1.0) == pytest.approx(1.0, abs=0.05)
    assert two_bars(0.5, 1.0) < 0.8


@pytest.mark.parametrize("left, right", [(1e-6, 1.0), (0.0, 1.0), (1.0, 1e6)])
def test_pressure_changes_the_width_only_within_bounds(left, right):
    low, high = PRESSURE_WIDTH_RANGE
    assert two_bars(left, right) >= low / high - 0.05


def test_uniform_pressure_gives_the_same_digit_as_a_mouse():
    strokes = TYPICAL_DIGITS["2"]
    light = [[(x, y, 0.2) for x, y in stroke] for stroke in strokes]
    assert np.abs(strokes_to_image(light) - strokes_to_image(strokes)).max() < 1e-6


# --- pictures ------------------------------------------------------------------------------------

def drawn_seven(size=(400, 300), paper: int = 255, ink: int = 0, width: int = 18) -> np.ndarray:
    """Return a uint8 picture of a 7 as a paint program would make it."""
    picture = Image.new("L", size, paper)
    draw = ImageDraw.Draw(picture)
    w, h = size
    draw.line([(0.35 * w, 0.2 * h), (0.65 * w, 0.2 * h), (0.45 * w, 0.85 * h)], fill=ink, width=width,
              joint="curve")
    return np.asarray(picture)


def test_big_picture_becomes_an_mnist_like_digit():
    image = raster_to_image(drawn_seven())
    assert_valid_image(image)
    assert abs(max(ink_box(image)) - BOX_SIZE) <= 1
    row, col = centre_of_mass(image)
    assert abs(row - 13.5) <= 1 and abs(col - 13.5) <= 1


def test_dark_on_light_and_light_on_dark_give_the_same_image():
    dark_on_light = drawn_seven()
    light_on_dark = 255 - dark_on_light
    np.testing.assert_allclose(raster_to_image(dark_on_light), raster_to_image(light_on_dark), atol=1e-5)


def test_polarity_can_be_stated_instead_of_guessed():
    picture = drawn_seven()
    np.testing.assert_allclose(raster_to_image(picture, ink_is_dark=True), raster_to_image(picture), atol=1e-6)


def test_grey_paper_reads_like_white_paper():
    on_white = raster_to_image(drawn_seven(paper=255, ink=0))
    on_grey = raster_to_image(drawn_seven(paper=200, ink=40))
    np.testing.assert_allclose(on_grey, on_white, atol=1e-5)


def test_uint8_and_float_pictures_agree():
    picture = drawn_seven()
    np.testing.assert_allclose(raster_to_image(picture.astype(np.float32) / 255.0), raster_to_image(picture),
                               atol=1e-5)
    np.testing.assert_allclose(raster_to_image(picture.astype(np.float64)), raster_to_image(picture), atol=1e-5)


def test_rgb_and_pil_pictures_agree_with_grey():
    grey = drawn_seven()
    expected = raster_to_image(grey)
    rgb = np.asarray(Image.fromarray(grey).convert("RGB"))
    rgba = np.asarray(Image.fromarray(grey).convert("RGBA"))
    np.testing.assert_allclose(raster_to_image(rgb), expected, atol=1e-5)
    np.testing.assert_allclose(raster_to_image(rgba), expected, atol=1e-5)
    np.testing.assert_allclose(raster_to_image(Image.fromarray(grey)), expected, atol=1e-5)


def test_coloured_ink_on_white_is_read_as_ink():
    picture = np.full((120, 90, 3), 255, dtype=np.uint8)
    picture[20:100, 40:52] = (20, 40, 160)  # a blue-pen "1"
    image = raster_to_image(picture)
    height, width = ink_box(image)
    assert abs(height - BOX_SIZE) <= 1 and width <= 5


def test_faint_scanner_noise_does_not_change_the_digit():
    clean = drawn_seven()
    noise = np.random.default_rng(0).normal(0.0, 2.0, clean.shape)  # ±2 grey levels: invisible
    noisy = np.clip(clean + noise, 0, 255).astype(np.uint8)
    assert np.abs(raster_to_image(noisy) - raster_to_image(clean)).mean() < 0.02


@pytest.mark.parametrize("as_array", [False, True], ids=["PIL image", "array"])
def test_ink_on_a_transparent_background_is_read(as_array):
    picture = Image.new("RGBA", (300, 400), (0, 0, 0, 0))
    ImageDraw.Draw(picture).line([(90, 80), (200, 80), (130, 340)], fill=(0, 0, 0, 255), width=18)
    on_white = Image.alpha_composite(Image.new("RGBA", picture.size, "white"), picture)
    expected = raster_to_image(np.asarray(on_white.convert("L")))
    result = raster_to_image(np.asarray(picture) if as_array else picture)
    np.testing.assert_allclose(result, expected, atol=1e-5)


def test_nonsense_shapes_are_refused_clearly():
    with pytest.raises(ValueError, match="2-D"):
        raster_to_image(np.zeros((2, 3, 4, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="28"):
        image_to_tensor(np.zeros((20, 20), dtype=np.float32))


def test_image_to_tensor_normalises_like_mnist():
    image = strokes_to_image(TYPICAL_DIGITS["7"])
    tensor = image_to_tensor(image)
    assert tensor.shape == (1, IMAGE_SIZE, IMAGE_SIZE) and tensor.dtype == torch.float32
    torch.testing.assert_close(tensor * MNIST_STD + MNIST_MEAN, torch.from_numpy(image).unsqueeze(0))
    torch.testing.assert_close(strokes_to_tensor(TYPICAL_DIGITS["7"]), tensor)


# --- against MNIST itself ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_test_through_raster(mnist_test: DigitSet) -> np.ndarray:
    """Return every MNIST test digit passed through raster_to_image, (N, 28, 28) floats."""
    return np.stack([raster_to_image(image) for image in mnist_test.images.numpy()])


def test_mnist_digits_come_back_almost_unchanged(mnist_test: DigitSet, mnist_test_through_raster):
    original = mnist_test.images.numpy().astype(np.float32) / 255.0
    largest_change = np.abs(mnist_test_through_raster - original).reshape(len(original), -1).max(axis=1)
    assert (largest_change == 0).mean() >= 0.8
    assert (largest_change < 0.02).mean() >= 0.99


def test_golden_preprocessed_mnist_is_recognised_as_well_as_raw(
        mnist_test: DigitSet, mnist_test_through_raster, shipped_network, shipped_evaluation: Evaluation):
    tensors = torch.stack([image_to_tensor(image) for image in mnist_test_through_raster])  # (N, 1, 28, 28)
    with torch.inference_mode():
        predicted = torch.cat([shipped_network(batch).argmax(1) for batch in tensors.split(1000)])
    preprocessed_accuracy = float((predicted == mnist_test.labels).float().mean())
    raw_accuracy = shipped_evaluation.accuracy  # the same digits fed as normalise(to_unit_ink(...))
    assert preprocessed_accuracy >= raw_accuracy - 0.001, (
        f"preprocessing costs {100 * (raw_accuracy - preprocessed_accuracy):.2f} points of accuracy")


def test_image_to_tensor_matches_the_training_normalisation(mnist_test: DigitSet):
    images = mnist_test.images[:50]
    direct = normalise(to_unit_ink(images))  # (50, 1, 28, 28), what training feeds the network
    ours = torch.stack([image_to_tensor(image.numpy().astype(np.float32) / 255.0) for image in images])
    torch.testing.assert_close(ours, direct)
