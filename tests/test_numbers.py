"""Reading numbers without the window: strokes, pictures, corrections with a digit count, samples, CLI."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from PIL import Image

from model.cli import main
from model.training.compose import Layout, compose_number, compose_picture
from model.recognition.numbers import NumberReader, SegmentationError, read_number
from model.recognition.picture_numbers import read_picture_number
from model.recognition.predict import Predictor
from model.recognition.preprocess import NothingDrawnError
from model.storage.samples import SampleStore, make_sample
from model.training.synthetic import STANDARD, jitter

# Clean spacing: these tests are about the reader's mechanics; benchmarks/number_reading.py measures how
# it copes with real writers' spacing and overlaps.
CLEAR = Layout(gap_mean=0.35, gap_sd=0.05, size_sd=0.05, baseline_sd=0.03, slope_sd=0.0)


@pytest.fixture(scope="module")
def predictor(shipped_checkpoint) -> Predictor:
    return Predictor(shipped_checkpoint)


def written(number: str, seed: int, layout: Layout = CLEAR, amount: float = 0.3):
    rng = np.random.default_rng(seed)
    labels = [int(c) for c in number]
    return compose_number([jitter(STANDARD[d], rng, amount) for d in labels], labels, rng, layout=layout)


@pytest.mark.parametrize("digit", range(10))
def test_one_digit_reads_exactly_as_the_single_digit_predictor(predictor, digit):
    strokes = jitter(STANDARD[digit], np.random.default_rng(digit), 0.5)
    reading = read_number(strokes, predictor.network)
    single = predictor.predict_strokes(strokes)
    assert reading.text == str(single.digit)
    assert np.array_equal(reading.digits[0].probabilities, single.probabilities)
    assert np.array_equal(reading.digits[0].image, single.image)


@pytest.mark.parametrize("number", ["2026", "314", "90817", "5555", "7410"])
def test_a_written_number_is_read_digit_by_digit_with_each_digits_own_strokes(predictor, number):
    composed = written(number, seed=len(number))
    reading = read_number(composed.strokes, predictor.network)
    assert reading.text == number
    assert [list(d.strokes) for d in reading.digits] == composed.digit_strokes
    for digit in reading.digits:
        assert 0 <= digit.confidence <= 1 and abs(digit.probabilities.sum() - 1) < 1e-6
        assert digit.image.shape == (28, 28)
    boxes = [d.box for d in reading.digits]
    assert all(a[0] < b[0] for a, b in zip(boxes, boxes[1:]))  # left to right


def test_a_stroke_added_later_joins_its_digit_not_the_one_written_last(predictor):
    # The 4's bar comes after the 7 was written, as people do when they finish a 4 late.
    composed = written("47", seed=4)
    four_first, four_bar = composed.digit_strokes[0]
    seven = composed.digit_strokes[1]
    late = [composed.strokes[four_first]] + [composed.strokes[i] for i in seven] + [composed.strokes[four_bar]]
    reading = read_number(late, predictor.network)
    assert reading.text == "47"
    assert reading.digits[0].strokes == (0, len(late) - 1)


def test_a_correction_with_another_digit_count_segments_again(predictor):
    composed = written("123", seed=7)
    reading = read_number(composed.strokes, predictor.network)
    assert len(reading) == 3
    fewer = read_number(composed.strokes, predictor.network, expected_count=2)
    assert len(fewer) == 2 and fewer.expected_count == 2
    assert sorted(i for d in fewer.digits for i in d.strokes) == list(range(len(composed.strokes)))
    with pytest.raises(SegmentationError):
        read_number(composed.strokes, predictor.network, expected_count=len(composed.strokes) + 1)


def test_a_number_whose_digits_touch_can_be_forced_into_one_digit(predictor):
    # Two digits written on top of each other are geometrically one digit at most, never three.
    composed = written("10", seed=3)
    assert len(read_number(composed.strokes, predictor.network, expected_count=1)) == 1


def test_the_reader_reuses_what_it_read_while_the_number_was_written(predictor):
    composed = written("80417", seed=11)
    reader = NumberReader(predictor.network)
    first = reader.read(composed.strokes[:-1])
    assert first.rendered == first.candidates  # nothing seen before
    again = reader.read(composed.strokes)
    assert 0 < again.rendered < again.candidates  # only candidates with the new stroke are drawn anew
    assert reader.read(composed.strokes).rendered == 0
    assert again.text == NumberReader(predictor.network).read(composed.strokes).text


def test_nothing_drawn_and_bad_counts_are_refused(predictor):
    with pytest.raises(NothingDrawnError):
        read_number([[], []], predictor.network)
    with pytest.raises(ValueError):
        read_number(written("12", 0).strokes, predictor.network, expected_count=0)


# -- pictures ------------------------------------------------------------------------------------


def mnist_number(mnist_test, number: str, rng, touching: int = 0, pick: int = 0):
    labels = mnist_test.labels.numpy()
    images = [mnist_test.images[int(np.flatnonzero(labels == int(c))[pick + k])].numpy() for k, c in enumerate(number)]
    return compose_picture(images, [int(c) for c in number], rng, touching=touching,
                           layout=Layout(gap_mean=0.3, gap_sd=0.05, baseline_sd=0.02))


def test_a_picture_of_a_number_reads_in_either_polarity(predictor, mnist_test):
    picture, number = mnist_number(mnist_test, "90210", np.random.default_rng(0))
    light = Image.fromarray((255 - picture * 255).astype(np.uint8)).resize((picture.shape[1] * 4, picture.shape[0] * 4))
    assert read_picture_number(light, predictor.network).text == number
    assert read_picture_number(picture, predictor.network).text == number


def test_touching_digits_and_a_broken_digit_are_read(predictor, mnist_test):
    right = 0
    for pick in range(10):
        picture, number = mnist_number(mnist_test, "3817", np.random.default_rng(pick), touching=1, pick=pick)
        right += read_picture_number(picture, predictor.network).text == number
    # Touching pairs are the hard case (benchmarks/number_reading.py measures it). The MNIST-only weights read
    # 5 of these 10; the weights that also learnt pen digits read 3 (issue 9 stays open on this): the
    # test keeps that floor so that it cannot get worse unnoticed.
    assert right >= 3

    # A faint scan: the 5 falls apart in two (its top from its body); the reader puts it together.
    picture, number = mnist_number(mnist_test, "52", np.random.default_rng(1))
    broken = picture.copy()
    cols = np.flatnonzero(broken.max(axis=0) > 0)
    five = broken[:, :(cols[0] + cols[-1]) // 2]
    rows = np.flatnonzero(five.max(axis=1) > 0)
    five[rows[0] + (rows[-1] - rows[0]) * 2 // 5:rows[0] + (rows[-1] - rows[0]) // 2, :] = 0
    reading = read_picture_number(broken, predictor.network)
    assert reading.text == number
    assert len(reading.digits[0].strokes) >= 2  # two ink components, one digit


def test_a_picture_of_one_digit_reads_exactly_as_before(predictor, mnist_test, tmp_path):
    path = tmp_path / "seven.png"
    Image.fromarray(255 - mnist_test.images[0].numpy()).resize((140, 140)).save(path)
    reading = predictor.read_number_file(path)
    single = predictor.predict_file(path)
    assert reading.text == str(single.digit)
    assert np.array_equal(reading.digits[0].probabilities, single.probabilities)


# -- samples and the command line ----------------------------------------------------------------


def test_samples_keep_the_number_they_came_from_and_old_stores_still_open(tmp_path):
    old = tmp_path / "old.db"
    connection = sqlite3.connect(old)  # a store made before numbers existed: no number column
    connection.executescript("""CREATE TABLE samples (id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT UNIQUE NOT NULL,
        created TEXT NOT NULL, label INTEGER NOT NULL, predicted INTEGER, probabilities TEXT,
        model_version TEXT NOT NULL DEFAULT '', strokes TEXT NOT NULL, image BLOB NOT NULL,
        preprocess_version INTEGER NOT NULL);""")
    connection.execute("INSERT INTO samples (uid, created, label, strokes, image, preprocess_version) VALUES "
                       "('a', '2026-01-01', 3, '[[[0,0,1,0],[5,9,1,0]]]', ?, 1)", (bytes(784),))
    connection.commit()
    connection.close()
    store = SampleStore(old)
    assert [s.number for s in store.samples()] == [None]
    stroke = [(0.0, 0.0), (3.0, 9.0)]
    store.add_many([make_sample(2, [stroke], number="20"), make_sample(0, [stroke], number="20")])
    assert [(s.label, s.number) for s in store.samples()] == [(3, None), (2, "20"), (0, "20")]
    exported = tmp_path / "export.json"
    store.export_to(exported)
    fresh = SampleStore(tmp_path / "fresh.db")
    assert fresh.import_from(exported) == 3
    assert [s.number for s in fresh.samples()] == [None, "20", "20"]
    with pytest.raises(ValueError):
        make_sample(2, [stroke], number="2o")


def test_predict_prints_a_number_with_each_digits_confidence_and_json(tmp_path, capsys, mnist_test):
    picture, number = mnist_number(mnist_test, "4096", np.random.default_rng(2))
    picture_path = tmp_path / "number.png"
    Image.fromarray((255 - picture * 255).astype(np.uint8)).save(picture_path)
    strokes_path = tmp_path / "number.json"
    strokes_path.write_text(json.dumps({"strokes": written("735", seed=1).strokes}))

    assert main(["predict", str(picture_path), str(strokes_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"{picture_path}: {number} (") and lines[0].count("%") == 4
    assert lines[1].startswith(f"{strokes_path}: 735 (") and lines[1].count("%") == 3

    assert main(["predict", "--json", str(picture_path), str(tmp_path / "missing.png")]) == 1
    documents = json.loads(capsys.readouterr().out)
    assert documents[0]["number"] == number
    assert [d["digit"] for d in documents[0]["digits"]] == [int(c) for c in number]
    assert all(len(d["box"]) == 4 and 0 < d["confidence"] <= 1 for d in documents[0]["digits"])
    assert "missing.png" in documents[1]["file"] and "cannot be read" in documents[1]["error"]

    assert main(["predict", "--digits", "2", str(strokes_path)]) == 0
    assert capsys.readouterr().out.split(": ")[1].split(" ")[0].isdigit()


def test_stroke_splitting_returns_point_ranges_that_cover_the_stroke(predictor):
    from dataclasses import replace

    from model.training.compose import join_neighbours
    from model.recognition.numbers import DEFAULT_CONFIG

    composed = written("2345", seed=5)
    joined = join_neighbours(composed, np.random.default_rng(0), share=1.0)  # the pen never lifts
    assert len(joined) < len(composed.strokes)
    reading = read_number(joined, predictor.network, config=replace(DEFAULT_CONFIG, split_strokes=True))
    assert len(reading) >= 2  # without splitting, a single stroke can only ever be one digit
    covered = {index: [] for index in range(len(joined))}
    for digit in reading.digits:
        for stroke, first, end in digit.parts:
            covered[stroke].append((first, end))
    for stroke, ranges in covered.items():
        ranges.sort()
        assert ranges[0][0] == 0 and ranges[-1][1] == len(joined[stroke])
        assert all(later[0] <= earlier[1] for earlier, later in zip(ranges, ranges[1:]))  # no points lost


def test_numbers_of_unipen_test_writers_read_close_to_the_perfect_segmentation_bound(predictor, unipen_dir):
    from benchmarks.number_reading import compose_written, pen_writers

    writers = pen_writers("unipen", unipen_dir, "test")
    numbers = [number for _, number in compose_written(writers, 5, 40, np.random.default_rng(9))]
    reader = NumberReader(predictor.network)
    read_right = sum(reader.read(n.strokes).text == n.text for n in numbers)
    # The bound: every digit read right when read alone from its own strokes.
    bound = sum(all(predictor.predict_strokes([n.strokes[i] for i in strokes]).digit == int(label)
                    for strokes, label in zip(n.digit_strokes, n.text)) for n in numbers)
    assert read_right >= bound - 6, f"{read_right} of {len(numbers)} read, bound {bound}"
    assert sum(n.overlaps for n in numbers) > 0  # the layout does overlap neighbours sometimes


def test_a_drawing_with_too_many_strokes_is_refused_with_a_reason(predictor):
    from model.recognition.numbers import MAX_PIECES

    dots = [[(float(i), 0.0), (float(i), 1.0)] for i in range(MAX_PIECES + 1)]
    with pytest.raises(ValueError, match=f"at most {MAX_PIECES}"):
        read_number(dots, predictor.network)


# UNIPEN test-writer segments labelled as one digit that hold several (looked at: rows of zeros, two
# sixes); read as what they show, they are not the reader's mistakes.
SEVERAL_DIGITS = {f"val/gresai30.dat:{line}" for line in (6, 33, 35, 37, 39, 42, 44, 48, 55, 56)} | {
    "val/gresai36.dat:61"}


def test_single_digits_of_unipen_test_writers_drawn_with_several_strokes_read_as_one_digit(predictor, unipen_dir):
    # Open 4s ("L" then a stem beside it), 5s whose hat runs far to the right, 7s with a bar: the
    # reader once read 50 such digits of these writers as several digits ("41", "51"), which a user
    # of a digit recogniser sees as a plain misreading.
    from model.training.unipen import pen_digits

    drawings = [(f"{d.file}:{d.line}", [list(map(tuple, stroke)) for stroke in d.strokes])
                for d in pen_digits(unipen_dir, "test") if len(d.strokes) > 1]
    reader = NumberReader(predictor.network)
    several = [(where, r.text) for where, strokes in drawings if len(r := reader.read(strokes)) > 1]
    assert len(drawings) > 800 and {where for where, _ in several} >= SEVERAL_DIGITS
    mistakes = [item for item in several if item[0] not in SEVERAL_DIGITS]
    assert len(mistakes) <= 6, f"{len(mistakes)} of {len(drawings)} single digits read as several: {mistakes}"


def _box_strokes(strokes, x0, y0, w, h):
    """Scale strokes drawn in the unit square into the box (x0, y0, w, h)."""
    return [[(x0 + x * w, y0 + y * h) for x, y in stroke] for stroke in strokes]


def test_an_open_four_reads_as_one_digit_and_a_one_beside_it_on_the_baseline_as_two(predictor):
    # An open 4: an "L" whose bar ends beside the stem, halfway down it. Its two strokes would read
    # as "41" or "21" alone; written on one baseline, the same two shapes are two digits.
    corner = [[(0.0, 0.0), (0.0, 0.5), (0.05, 0.55), (0.7, 0.55)]]
    stem = [[(0.0, 0.0), (0.0, 1.0)]]
    open_four = _box_strokes(corner, 0, 0, 100, 100) + _box_strokes(stem, 80, -5, 1, 105)
    assert read_number(open_four, predictor.network).text == "4"
    side_by_side = _box_strokes(corner, 0, 0, 60, 180) + _box_strokes(stem, 110, 0, 1, 100)
    assert len(read_number(side_by_side, predictor.network)) == 2
