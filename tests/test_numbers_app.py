"""Numbers in the real window: written with mouse drags, read whole, outlined, corrected by keys."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from model.training.compose import Layout, compose_number
from model.training.synthetic import STANDARD, jitter
from tests.qt_helpers import drag, open_window, wait_for_prediction

CLEAR = Layout(gap_mean=0.35, gap_sd=0.05, size_sd=0.05, baseline_sd=0.03, slope_sd=0.0)


@pytest.fixture
def window(qtbot, tmp_path, mnist_dir):
    window = open_window(qtbot, tmp_path / "user", mnist_dir)
    window.resize(1000, 700)  # the canvas keeps a shape for one digit: a taller window widens it
    qtbot.waitUntil(lambda: window.canvas.width() > 500, timeout=5000)
    qtbot.waitUntil(lambda: window.store is not None, timeout=10_000)
    return window


def write_number(window, number: str, seed: int = 0):
    """Draw the number across the canvas with real mouse drags; return the strokes drawn (canvas pixels)."""
    rng = np.random.default_rng(seed)
    labels = [int(c) for c in number]
    composed = compose_number([jitter(STANDARD[d], rng, 0.3) for d in labels], labels, rng, layout=CLEAR)
    xy = np.array([p[:2] for stroke in composed.strokes for p in stroke])
    lo, span = xy.min(axis=0), xy.max(axis=0) - xy.min(axis=0)
    canvas = window.canvas
    scale = min((canvas.width() - 80) / span[0], (canvas.height() - 120) / span[1])
    drawn = []
    for stroke in composed.strokes:
        points = [(40 + (x - lo[0]) * scale, 70 + (y - lo[1]) * scale) for x, y, *_ in stroke]
        drag(canvas, points)
        drawn.append(points)
    return composed, drawn


def shown_number(window) -> str:
    return window.prediction_view.digit_label.text()


def test_a_written_number_is_shown_whole_with_one_outline_per_digit(qtbot, window):
    composed, _ = write_number(window, "2026")
    wait_for_prediction(qtbot, window, "2026")
    outlines = window.numbers.outlines
    assert len(outlines.boxes) == 4 and outlines.isVisible()
    assert all("%" in text for text in outlines.texts)
    # The bars and the model's eye show the digit written last.
    assert window.prediction_view.probability_view.probabilities().argmax() == 6
    # Hovering over the first digit shows that one instead.
    first = outlines.boxes[0].center().toPoint()
    QTest.mouseMove(window.canvas, first)
    qtbot.waitUntil(lambda: window.prediction_view.probability_view.probabilities().argmax() == 2, timeout=3000)
    assert outlines.focused == 0


def test_an_unsure_digit_is_marked(qtbot, window):
    write_number(window, "31", seed=2)
    wait_for_prediction(qtbot, window, "31")
    reading = window.numbers.reading
    # Make the second digit doubtful, as a scrawl would be; the outline says so.
    shaky = reading.digits[1].__class__(reading.digits[1].strokes, reading.digits[1].parts,
                                        np.array([0, 0.45, 0, 0, 0, 0, 0, 0.4, 0.15, 0]), reading.digits[1].image,
                                        reading.digits[1].box)
    window.numbers.show_reading(reading.__class__((reading.digits[0], shaky), reading.score))
    assert window.numbers.outlines.unsure == [False, True]
    assert "?" in window.numbers.outlines.texts[1]
    assert "unsure" in window.prediction_view.caption.text()


def test_typing_the_number_saves_each_digit_with_its_own_strokes(qtbot, window):
    composed, drawn = write_number(window, "2026", seed=1)
    wait_for_prediction(qtbot, window, "2026")
    for key in "2027":  # the last digit was meant as a 7
        QTest.keyClick(window, getattr(Qt.Key, f"Key_{key}"))
    assert not window.canvas.is_empty()  # nothing saved before Enter
    assert shown_number(window) == "2027"
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(window.canvas.is_empty, timeout=10_000)
    samples = window.store.samples()
    assert [s.label for s in samples] == [2, 0, 2, 7]
    assert {s.number for s in samples} == {"2027"}
    assert [s.predicted for s in samples] == [2, 0, 2, 6]
    for sample, indices in zip(samples, composed.digit_strokes):
        expected = [drawn[i] for i in indices]
        assert len(sample.strokes) == len(expected)
        for stored, points in zip(sample.strokes, expected):
            assert np.allclose([p[:2] for p in stored], np.round(points), atol=1.0)


def test_clicking_a_digit_then_its_key_corrects_only_that_digit(qtbot, window):
    write_number(window, "459", seed=3)
    wait_for_prediction(qtbot, window, "459")
    tag = window.numbers.outlines.tags[1].center().toPoint()
    strokes_before = len(window.canvas.strokes())
    QTest.mouseClick(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, tag)
    assert len(window.canvas.strokes()) == strokes_before  # the click picked a digit, it drew nothing
    assert window.numbers.selected == 1
    QTest.keyClick(window, Qt.Key.Key_6)
    assert shown_number(window) == "469"
    QTest.keyClick(window, Qt.Key.Key_Enter)
    qtbot.waitUntil(window.canvas.is_empty, timeout=10_000)
    assert [s.label for s in window.store.samples()] == [4, 6, 9]


def test_typing_a_number_with_fewer_digits_shows_the_new_split_and_saves_on_a_second_enter(qtbot, window):
    write_number(window, "123", seed=4)
    wait_for_prediction(qtbot, window, "123")
    strokes = window.canvas.strokes()
    for key in "17":  # the writer meant "17": the 2 and the 3 are one digit for them
        QTest.keyClick(window, getattr(Qt.Key, f"Key_{key}"))
    QTest.keyClick(window, Qt.Key.Key_Return)
    # Nothing is stored yet: the drawing split into two digits is outlined, labelled as typed, and asked about.
    outlines = window.numbers.outlines
    qtbot.waitUntil(lambda: len(outlines.boxes) == 2, timeout=10_000)
    assert window.store.count() == 0 and not window.canvas.is_empty()
    assert outlines.texts == ["1 · yours", "7 · yours"]
    assert "Split into 2 as outlined" in window.prediction_view.caption.text()
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(window.canvas.is_empty, timeout=10_000)
    samples = window.store.samples()
    assert [s.label for s in samples] == [1, 7]
    assert sum(len(s.strokes) for s in samples) == len(strokes)  # every stroke went to one digit


def test_a_typed_number_that_cannot_be_split_so_is_refused_with_a_line(qtbot, window):
    write_number(window, "70", seed=6)
    wait_for_prediction(qtbot, window, "70")
    for key in "70111":  # more digits than there are strokes
        QTest.keyClick(window, getattr(Qt.Key, f"Key_{key}"))
    QTest.keyClick(window, Qt.Key.Key_Return)
    caption = window.prediction_view.caption
    qtbot.waitUntil(lambda: "Not saved" in caption.text(), timeout=10_000)
    assert "5 digits" in caption.text()
    assert window.store.count() == 0 and not window.canvas.is_empty()


def _doubtful(digit, probabilities):
    return digit.__class__(digit.strokes, digit.parts, np.array(probabilities), digit.image, digit.box)


def show_with_one_unsure_digit(qtbot, window, number: str, seed: int, which: int, probabilities) -> None:
    """Write ``number``, then show its reading with digit ``which`` made unsure (these ``probabilities``)."""
    write_number(window, number, seed=seed)
    wait_for_prediction(qtbot, window, number)
    qtbot.waitUntil(window.recognizer.is_idle, timeout=10_000)
    reading = window.numbers.reading
    digits = list(reading.digits)
    digits[which] = _doubtful(digits[which], probabilities)
    window.numbers.show_reading(reading.__class__(tuple(digits), reading.score))


def test_enter_alone_never_saves_an_unsure_digit_the_user_did_not_choose(qtbot, window):
    # The second digit is a scrawl: 1 at 45 %, 7 at 40 %.
    show_with_one_unsure_digit(qtbot, window, "31", 2, 1, [0, 0.45, 0, 0, 0, 0, 0, 0.4, 0.15, 0])
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.wait(300)
    assert window.store.count() == 0 and not window.canvas.is_empty()
    caption = window.prediction_view.caption.text()
    assert "Not saved" in caption and "2nd digit is unsure (1 or 7?)" in caption
    for key in "37":  # the user says which: now Enter saves it
        QTest.keyClick(window, getattr(Qt.Key, f"Key_{key}"))
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(window.canvas.is_empty, timeout=10_000)
    assert [s.label for s in window.store.samples()] == [3, 7]


def test_enter_alone_does_not_save_an_unsure_single_digit(qtbot, window):
    show_with_one_unsure_digit(qtbot, window, "8", 5, 0, [0, 0, 0, 0, 0.43, 0, 0, 0.41, 0.16, 0])
    assert shown_number(window) == "4 or 7?"  # the big answer asks rather than stays empty
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.wait(300)
    assert window.store.count() == 0 and not window.canvas.is_empty()
    assert "Not saved" in window.prediction_view.caption.text()


def test_undo_of_a_corrected_number_keeps_the_typed_label_for_enter(qtbot, window):
    write_number(window, "2026", seed=1)
    wait_for_prediction(qtbot, window, "2026")
    for key in "2027":
        QTest.keyClick(window, getattr(Qt.Key, f"Key_{key}"))
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(window.canvas.is_empty, timeout=10_000)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.store.count() == 0 and not window.canvas.is_empty()
    qtbot.waitUntil(window.recognizer.is_idle, timeout=10_000)
    qtbot.waitUntil(lambda: len(window.numbers.outlines.boxes) == 4, timeout=10_000)
    assert shown_number(window) == "2027"  # the label the user gave, not the reading
    assert window.numbers.outlines.texts[3] == "7 · yours"
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(window.canvas.is_empty, timeout=10_000)
    assert [s.label for s in window.store.samples()] == [2, 0, 2, 7]


def test_undo_of_a_single_digit_keeps_its_label_and_a_key_still_saves_at_once(qtbot, window):
    write_number(window, "8", seed=5)
    wait_for_prediction(qtbot, window, "8")
    QTest.keyClick(window, Qt.Key.Key_3)  # saved as 3 on purpose (the user's own 8 looks like that)
    assert [s.label for s in window.store.samples()] == [3]
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.recognizer.is_idle, timeout=10_000)
    wait_for_prediction(qtbot, window, "8")  # the big answer is what hwr reads; the caption has the label
    assert "You had saved it as 3" in window.prediction_view.caption.text()
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(window.canvas.is_empty, timeout=10_000)
    assert [s.label for s in window.store.samples()] == [3]
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.recognizer.is_idle, timeout=10_000)
    QTest.keyClick(window, Qt.Key.Key_8)  # a key starts over: saved at once, as always
    assert window.canvas.is_empty()
    assert [s.label for s in window.store.samples()] == [8]


def test_a_single_digit_key_still_saves_at_once_and_backspace_takes_typing_back(qtbot, window):
    composed, _ = write_number(window, "8", seed=5)
    wait_for_prediction(qtbot, window, "8")
    QTest.keyClick(window, Qt.Key.Key_8)
    assert window.canvas.is_empty()
    assert [(s.label, s.number) for s in window.store.samples()] == [(8, None)]

    write_number(window, "70", seed=6)
    wait_for_prediction(qtbot, window, "70")
    QTest.keyClick(window, Qt.Key.Key_7)
    QTest.keyClick(window, Qt.Key.Key_1)
    QTest.keyClick(window, Qt.Key.Key_Backspace)
    QTest.keyClick(window, Qt.Key.Key_0)
    assert shown_number(window) == "70"
    QTest.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(window.canvas.is_empty, timeout=10_000)
    assert [(s.label, s.number) for s in window.store.samples()] == [(8, None), (7, "70"), (0, "70")]


def test_numbers_of_unipen_writers_replayed_in_the_window_are_read(qtbot, window, unipen_dir):
    from benchmarks.number_reading import compose_written, pen_writers
    from model.recognition.predict import Predictor

    writers = pen_writers("unipen", unipen_dir, "test")
    alone = Predictor(window.checkpoint)
    read_right = bound = 0
    for _, number in compose_written(writers, 3, 8, np.random.default_rng(3)):
        window.canvas.clear()
        xy = np.array([p[:2] for stroke in number.strokes for p in stroke])
        lo, span = xy.min(axis=0), xy.max(axis=0) - xy.min(axis=0)
        scale = min((window.canvas.width() - 80) / span[0], (window.canvas.height() - 140) / span[1])
        for stroke in number.strokes:
            drag(window.canvas, [(40 + (x - lo[0]) * scale, 80 + (y - lo[1]) * scale) for x, y, *_ in stroke])
        qtbot.waitUntil(window.recognizer.is_idle, timeout=10_000)  # the reading after the last pen-up
        recorded = window.canvas.strokes()
        read_right += window.numbers.reading.text == number.text
        bound += all(alone.predict_strokes([recorded[i] for i in strokes]).digit == int(label)
                     for strokes, label in zip(number.digit_strokes, number.text))
    assert read_right >= bound - 2, f"{read_right} of 8 read in the window, bound {bound}"


def test_undo_takes_back_a_saved_number_whole_and_redo_saves_it_again(qtbot, window):
    _, drawn = write_number(window, "58", seed=8)
    wait_for_prediction(qtbot, window, "58")
    QTest.keyClick(window, Qt.Key.Key_Return)  # Enter alone confirms the number as read
    qtbot.waitUntil(window.canvas.is_empty, timeout=10_000)
    assert [(s.label, s.number) for s in window.store.samples()] == [(5, "58"), (8, "58")]
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.store.count() == 0
    assert len(window.canvas.strokes()) == len(drawn)  # the drawing is back
    QTest.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert [(s.label, s.number) for s in window.store.samples()] == [(5, "58"), (8, "58")]
    assert window.canvas.is_empty()
