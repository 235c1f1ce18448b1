"""benchmarks/styles.py: the style groups of the real writers and the synthetic ones, on validation and test
writers; with --validation-only the test writers are not even read (a model is chosen on that)."""

from __future__ import annotations

import sys

from benchmarks.styles import main


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
    assert "| style | validation: synthetic digits | validation: accuracy | validation: detected |" in out
    assert "| 1 with a flag | 221 (17 writers) |" in out  # every validation writer's 1s redrawn with a flag


def test_the_full_run_reads_validation_and_test_writers_side_by_side(unipen_dir, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sys, "argv", ["benchmarks/styles.py"])
    assert main(["--unipen-dir", str(unipen_dir), "--docs-dir", str(tmp_path), "--no-write"]) == 0
    out = capsys.readouterr().out
    assert ("| style | validation: synthetic digits | validation: accuracy | test: synthetic digits | test: accuracy "
            "| test: detected |") in out
    assert "| val: style | val: rest of class | test: style | test: rest of class |" in out
    assert len(list(tmp_path.glob("styles-*.png"))) == 5  # one grid per style, where it was told to go
