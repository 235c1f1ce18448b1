"""benchmarks/pen_floor.py: the test writers' digits no candidate reads, and the two readers' audit of them."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from benchmarks import common
from benchmarks.pen_floor import AUDIT, AuditFormatError, check_audit_fits, floor_mask, main, read_audit


@pytest.fixture(autouse=True)
def recorded_as_the_benchmark(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/pen_floor.py"])


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
    assert judgements[("ibm/r03-15.dat", 120)].audit_line == 2
    assert judgements[("val/x.dat", 5)].agreed is None and judgements[("val/x.dat", 5)].reads_as == ()


@pytest.mark.parametrize("line", ["ibm/a.dat 1 A A", "ibm/a.dat:x 1 A A", "ibm/a.dat:3 12 A A",
                                  "ibm/a.dat:3 1 D A", "ibm/a.dat:3 1 A", "ibm/a.dat:3 1 B B 7,x",
                                  "ibm/a.dat:-3 1 A A", "ibm/a.dat:3 1 A A - extra"])
def test_a_malformed_audit_line_is_named_by_file_and_line(tmp_path, line):
    audit = tmp_path / "audit.txt"
    audit.write_text(f"# first\n{line}\n", encoding="utf-8")
    with pytest.raises(AuditFormatError, match=r"audit\.txt:2:"):
        read_audit(audit)


def test_a_digit_judged_twice_is_refused(tmp_path):
    audit = tmp_path / "audit.txt"
    audit.write_text("a.dat:3 1 A A\na.dat:3 1 B B 7\n", encoding="utf-8")
    with pytest.raises(AuditFormatError, match="judged twice"):
        read_audit(audit)


def test_an_audit_that_is_not_text_or_too_large_is_refused_naming_it(tmp_path, monkeypatch):
    audit = tmp_path / "audit.txt"
    audit.write_bytes(b"a.dat:3 1 A A\n\xff\xfe\n")
    with pytest.raises(AuditFormatError, match=r"audit\.txt: not UTF-8"):
        read_audit(audit)
    monkeypatch.setattr("benchmarks.pen_floor.MAX_AUDIT_BYTES", 8)
    audit.write_text("a.dat:3 1 A A\n", encoding="utf-8")
    with pytest.raises(AuditFormatError, match=r"Audit file .*audit\.txt is .*; the limit is"):
        read_audit(audit)


def test_an_audit_must_name_test_writers_digits_with_unipens_labels(tmp_path):
    class Digit:
        def __init__(self, file, line, label):
            self.file, self.line, self.label = file, line, label

    digits = [Digit("a.dat", 3, 1), Digit("a.dat", 9, 4)]
    audit = tmp_path / "audit.txt"
    audit.write_text("a.dat:9 4 C C 1\na.dat:3 7 A A\n", encoding="utf-8")
    with pytest.raises(AuditFormatError, match=r"audit\.txt:2: a\.dat:3 is labelled 1 in UNIPEN, not 7"):
        check_audit_fits(read_audit(audit), digits, audit)
    audit.write_text("a.dat:9 4 C C 1\nb.dat:3 1 A A\n", encoding="utf-8")
    with pytest.raises(AuditFormatError, match=r"audit\.txt:2: b\.dat:3 is not a test writer's digit"):
        check_audit_fits(read_audit(audit), digits, audit)


def test_the_committed_audit_names_test_writers_digits_with_their_labels(unipen_dir):
    from model.training.unipen import pen_digits

    judgements = read_audit(AUDIT)
    assert len(judgements) >= 57
    check_audit_fits(judgements, pen_digits(unipen_dir, "test"), AUDIT)


def test_every_digit_the_shipped_model_reads_wrong_is_audited(unipen_dir, tmp_path, capsys):
    grid = tmp_path / "floor.png"
    assert main(["assets/default.pt", "--spare", "0", "--unipen-dir", str(unipen_dir), "--grid", str(grid),
                 "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "| … of them not audited | 0 |" in out and "Not in the audit" not in out
    # README: of the digits both readers call legible, the shipped model reads at most one wrong (a 6 of
    # app/DavidMarasco; the soup before it read them all right)
    legible = re.search(r"\| … of them both readers: A \(a legible digit of its label\) \| (\d+) \|", out)
    assert legible and int(legible.group(1)) <= 1
    assert grid.stat().st_size > 0


def test_a_digit_missing_from_the_audit_is_named(unipen_dir, tmp_path, capsys):
    audit = tmp_path / "audit.txt"
    audit.write_text("\n".join(line for line in AUDIT.read_text(encoding="utf-8").splitlines()
                               if not line.startswith("ibm/ibm0/r0315.dat:41 ")) + "\n", encoding="utf-8")
    assert main(["assets/default.pt", "--spare", "0", "--audit", str(audit), "--unipen-dir", str(unipen_dir),
                 "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "| … of them not audited | 1 |" in out and "- Not in the audit: ibm/ibm0/r0315.dat:41." in out


def test_no_write_leaves_the_committed_grid_alone(unipen_dir, capsys, monkeypatch, tmp_path):
    grid = tmp_path / "grid.png"
    monkeypatch.setattr("benchmarks.pen_floor.GRID", grid)
    assert main(["assets/default.pt", "--spare", "0", "--unipen-dir", str(unipen_dir), "--no-write"]) == 0
    assert not grid.exists() and "drawn in" not in capsys.readouterr().out


def test_a_crafted_audit_stops_the_benchmark_with_one_line(unipen_dir, tmp_path, capsys):
    audit = tmp_path / "audit.txt"
    audit.write_text("nonsense\n", encoding="utf-8")
    assert main(["assets/default.pt", "--audit", str(audit), "--unipen-dir", str(unipen_dir), "--spare", "0",
                 "--no-write"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {audit}:1:") and captured.err.count("\n") == 1 and not captured.out


def test_spare_must_leave_a_candidate(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["assets/default.pt", "--spare", "1"])
    assert stopped.value.code == 2 and "--spare must be from 0 to 0" in capsys.readouterr().err


@pytest.mark.parametrize("note", [["--note", "a long note"], ["--note=a long note"]])
def test_the_recorded_command_shortens_notes(monkeypatch, note):
    monkeypatch.setattr(sys, "argv", ["benchmarks/pen_floor.py", "a.pt", *note, "--spare", "1"])
    shortened = "--note …" if len(note) == 2 else "--note=…"
    assert common.command_line() == f".venv/bin/python -m benchmarks.pen_floor a.pt {shortened} --spare 1"


def test_an_audit_that_is_a_named_pipe_is_refused_at_once(tmp_path):
    import os

    audit = tmp_path / "audit.txt"
    os.mkfifo(audit)
    with pytest.raises(AuditFormatError, match="not a regular file"):
        read_audit(audit)
