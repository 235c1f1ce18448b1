"""benchmarks/pen_floor.py: the test writers' digits no candidate reads, and the two readers' audit of them."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from benchmarks import common
from benchmarks.pen_floor import AUDIT, AuditFormatError, floor_mask, main, read_audit


def test_the_floor_is_what_all_but_the_spare_candidates_read_wrong():
    wrong = np.array([[1, 1, 0, 1],
                      [1, 0, 0, 1],
                      [1, 1, 1, 0]], dtype=bool)
    assert floor_mask(wrong, 0).tolist() == [True, False, False, False]
    assert floor_mask(wrong, 1).tolist() == [True, True, False, True]
    with pytest.raises(ValueError):
        floor_mask(wrong, 3)  # sparing every candidate would make every digit part of the floor


def test_an_audit_line_reads_as_two_classes_and_the_digits_named(tmp_path):
    audit = tmp_path / "audit.txt"
    audit.write_text("# comment\nibm/r03-15.dat:120 1 B B 7  # flag\nval/x.dat:5 0 C A -\n", encoding="utf-8")
    judgements = read_audit(audit)
    assert judgements[("ibm/r03-15.dat", 120)].agreed == "B"
    assert judgements[("ibm/r03-15.dat", 120)].reads_as == (7,)
    assert judgements[("val/x.dat", 5)].agreed is None and judgements[("val/x.dat", 5)].reads_as == ()


@pytest.mark.parametrize("line", ["ibm/a.dat 1 A A", "ibm/a.dat:x 1 A A", "ibm/a.dat:3 12 A A",
                                  "ibm/a.dat:3 1 D A", "ibm/a.dat:3 1 A", "ibm/a.dat:3 1 B B 7,x"])
def test_a_malformed_audit_line_is_named_by_file_and_line(tmp_path, line):
    audit = tmp_path / "audit.txt"
    audit.write_text(f"# first\n{line}\n", encoding="utf-8")
    with pytest.raises(AuditFormatError, match=rf"audit\.txt:2:"):
        read_audit(audit)


def test_a_digit_judged_twice_is_refused(tmp_path):
    audit = tmp_path / "audit.txt"
    audit.write_text("a.dat:3 1 A A\na.dat:3 1 B B 7\n", encoding="utf-8")
    with pytest.raises(AuditFormatError, match="judged twice"):
        read_audit(audit)


def test_the_committed_audit_names_test_writers_digits_with_their_labels(unipen_dir):
    from model.training.unipen import pen_digits

    labels = {(digit.file, digit.line): digit.label for digit in pen_digits(unipen_dir, "test")}
    judgements = read_audit(AUDIT)
    assert len(judgements) >= 57
    assert {key: judgement.label for key, judgement in judgements.items()} == {key: labels[key] for key in judgements}


def test_every_digit_the_shipped_model_reads_wrong_is_audited(unipen_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/pen_floor.py"])
    grid = tmp_path / "floor.png"
    assert main(["assets/default.pt", "--spare", "0", "--unipen-dir", str(unipen_dir), "--grid", str(grid),
                 "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "| digits read wrong by every candidate but at most 0 | 32 |" in out  # the shipped model's 32
    assert "not audited" not in out.split("Every digit")[1] and "Not in the audit" not in out
    assert grid.stat().st_size > 0


def test_a_crafted_audit_stops_the_benchmark_with_one_line(unipen_dir, tmp_path, capsys):
    audit = tmp_path / "audit.txt"
    audit.write_text("nonsense\n", encoding="utf-8")
    assert main(["assets/default.pt", "--audit", str(audit), "--unipen-dir", str(unipen_dir), "--spare", "0",
                 "--no-write"]) == 2
    assert f"{audit}:1:" in capsys.readouterr().err


def test_the_recorded_command_shortens_notes(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/pen_floor.py", "a.pt", "--note", "a long note", "--spare", "1"])
    assert common.command_line() == ".venv/bin/python -m benchmarks.pen_floor a.pt --note … --spare 1"
