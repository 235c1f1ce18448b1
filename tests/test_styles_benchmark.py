"""benchmarks/styles.py: the style groups of the real writers and the synthetic ones, on validation and test
writers; with --validation-only the test writers are not even read (a model is chosen on that)."""

from __future__ import annotations

import sys

from benchmarks.styles import flag_measures, main


def test_validation_only_never_reads_the_test_writers_and_writes_nothing(unipen_dir, monkeypatch, tmp_path):
    from model.training import unipen

    real_digits = unipen.pen_digits

    def pen_digits(root, split=None):
        assert split != "test", "the test writers were read"
        return real_digits(root, split)

    monkeypatch.setattr(unipen, "pen_digits", pen_digits)
    monkeypatch.setattr(sys, "argv", ["benchmarks/styles.py"])
    published = []
    monkeypatch.setattr("benchmarks.styles.publish",
                        lambda name, title, lines, write=True: published.append((write, "\n".join(lines))))
    assert main(["--unipen-dir", str(unipen_dir), "--docs-dir", str(tmp_path), "--validation-only"]) == 0
    (write, out), = published
    assert not write and not list(tmp_path.iterdir())  # no section stored, no grid drawn
    assert ("| style | validation: synthetic digits | validation: accuracy | validation: detected "
            "| validation: accuracy on the detected |") in out
    assert "| 1 with a flag | 221 (17 writers) |" in out  # every validation writer's 1s redrawn with a flag


def test_another_flag_spread_redraws_the_synthetic_ones_and_stores_nothing(unipen_dir, monkeypatch, tmp_path):
    """--flags writers: the synthetic 1s drawn with the writers' flags (other figures than the narrow flags'), said
    in the section, which is printed and not stored."""
    monkeypatch.setattr(sys, "argv", ["benchmarks/styles.py"])
    published = []
    monkeypatch.setattr("benchmarks.styles.publish",
                        lambda name, title, lines, write=True: published.append((write, "\n".join(lines))))
    for flags in ("narrow", "writers"):
        assert main(["--unipen-dir", str(unipen_dir), "--docs-dir", str(tmp_path), "--validation-only",
                     "--flags", flags]) == 0
    (_, narrow), (write, writers) = published
    assert not write and "the 1s' flags drawn `writers`" in writers and "flags drawn `narrow`" not in narrow

    def flag_row(out: str) -> str:
        return next(line for line in out.splitlines() if line.startswith("| 1 with a flag | 221"))

    assert flag_row(narrow) != flag_row(writers)  # other drawings, other readings or detections


def test_a_run_that_only_prints_leaves_the_docs_grids_alone(unipen_dir, monkeypatch):
    """--no-write (and --flags other than narrow): no section stored, and no grid of docs/ redrawn with another
    model's readings."""
    drawn = []
    monkeypatch.setattr("benchmarks.styles.write_captioned_grid", lambda *args, **kwargs: drawn.append(args))
    monkeypatch.setattr("benchmarks.styles.publish", lambda name, title, lines, write=True: drawn.append(write))
    monkeypatch.setattr(sys, "argv", ["benchmarks/styles.py"])
    assert main(["--unipen-dir", str(unipen_dir), "--no-write"]) == 0
    assert drawn == [False]


def test_the_full_run_reads_validation_and_test_writers_side_by_side(unipen_dir, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sys, "argv", ["benchmarks/styles.py"])
    assert main(["--unipen-dir", str(unipen_dir), "--docs-dir", str(tmp_path), "--no-write"]) == 0
    out = capsys.readouterr().out
    assert ("| style | validation: synthetic digits | validation: accuracy | test: synthetic digits | test: accuracy "
            "| test: detected | test: accuracy on the detected |") in out
    assert "| val: style | val: rest of class | test: style | test: rest of class |" in out
    assert len(list(tmp_path.glob("styles-*.png"))) == 5  # one grid per style, where it was told to go


def test_the_transforms_are_measured_against_what_the_writers_drew(unipen_dir):
    """No model: the training writers' real flags and small loops against the transform's on the same writers."""
    from benchmarks.styles import calibration_rows
    from model.training.styles import FLAG_SPREADS
    from model.training.unipen import pen_digits

    rows = {row[0]: row[1:] for row in calibration_rows(pen_digits(unipen_dir, "train"))}

    def median_and_count(cell: str) -> tuple[float, int]:  # "0.30 [0.14–0.35] (217; 9% below 0.2)"
        return float(cell.split()[0].rstrip("°")), int(cell.split("(")[1].split(")")[0].split(";")[0])

    real, redrawn, *same = map(median_and_count, rows["9 with a small loop: the loop's height (× H)"])
    assert real[1] == 217 and 0.28 <= real[0] <= 0.32  # the training writers' real quick-loop 9s
    assert redrawn[0] >= 0.25  # the redrawn loops are not hooks (tests/test_styles.py holds the calibration)
    assert same == [redrawn] * (len(FLAG_SPREADS) - 1)  # the flag spread does not touch the 9s
    assert FLAG_SPREADS == ("narrow", "writers", "mixed", "bowed")  # the columns read below
    reach = "1 with a flag: the flag's reach to the left (× H)"
    angle = "1 with a flag: the flag's angle below the horizontal"
    real, narrow, writers, _, bowed = map(median_and_count, rows[reach])
    assert real[1] == 297 and 0.3 <= real[0] <= 0.45  # the 297 real flagged 1s
    assert 0.45 <= narrow[0] <= 0.65 and narrow[1] > 1000  # writer_style's narrow flags, 0.45-0.65 of the height
    assert abs(writers[0] - real[0]) <= 0.05 and writers[1] < narrow[1]  # the writers' spread: some too short to count
    assert abs(bowed[0] - narrow[0]) <= 0.02  # the bowed flags keep the narrow ones' ends
    real, narrow, writers, _, bowed = map(median_and_count, rows[angle])
    assert 30 <= narrow[0] <= 45 and 35 <= real[0] <= 55  # drops of 0.3-0.5 under reaches of 0.45-0.65
    assert abs(writers[0] - real[0]) <= 5
    bow = "1 with a flag: the flag's bow off its chord (× chord; < 0 arches up)"
    real, narrow, writers, _, bowed = map(median_and_count, rows[bow])
    assert narrow[0] == writers[0] == 0.0 and 0.03 <= real[0] <= 0.08  # straight flags; real ones mostly sag a little
    assert abs(bowed[0] - real[0]) <= 0.02  # the bowed flags curve as much as the real ones


def test_a_flags_shape_is_its_reach_and_drop_over_the_height_and_its_bow_off_the_chord():
    import numpy as np

    from model.training.styles import WriterStyle
    from model.training.synthetic import STANDARD

    one = [np.asarray(stroke, dtype=float) * 100 for stroke in STANDARD[1]]
    flagged = WriterStyle(flag_length=0.5, flag_drop=0.35, variation=0.0).apply(one, 1, np.random.default_rng(0))
    reach, drop, bow = flag_measures(flagged)
    assert abs(reach - 0.5) < 0.03 and abs(drop - 0.35) < 0.03  # 35° below the horizontal
    assert abs(bow) < 0.01  # a straight flag has no bow
    assert flag_measures(one) is None  # a plain 1 has no flag
    for bow in (-0.15, 0.15):  # arched up (as a 7's bar turning down) and sagging: the same ends, the bow measured
        curved = WriterStyle(flag_length=0.5, flag_drop=0.35, flag_bow=bow, variation=0.0).apply(
            one, 1, np.random.default_rng(0))
        reach, drop, measured = flag_measures(curved)
        assert abs(reach - 0.5) < 0.03 and abs(drop - 0.35) < 0.03 and abs(measured - bow) < 0.02, (bow, measured)
