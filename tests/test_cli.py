"""The ``hwr`` command line: predict pictures and stroke files through the same pipeline as the app."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from model.cli import main
from model.training.synthetic import STANDARD, jitter


def test_predict_reads_a_picture_and_a_stroke_file(tmp_path, capsys, mnist_test):
    index = int((mnist_test.labels == 3).nonzero()[0])
    picture = tmp_path / "three.png"
    # Scanned-paper style: dark ink on light paper, enlarged to 200×200.
    Image.fromarray(255 - mnist_test.images[index].numpy()).resize((200, 200)).save(picture)
    strokes = tmp_path / "seven.json"
    strokes.write_text(json.dumps({"strokes": jitter(STANDARD[7], np.random.default_rng(0))}))

    assert main(["predict", str(picture), str(strokes), "--top", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"{picture}: 3 (")
    assert lines[1].startswith(f"{strokes}: 7 (")
    assert lines[0].count("%") == 2  # two candidates with probabilities


def test_predict_says_nothing_drawn_for_a_blank_picture(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    assert main(["predict", str(blank)]) == 1
    assert "nothing drawn" in capsys.readouterr().out


def test_predict_with_a_bad_weights_file_fails_with_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x04junk")
    picture = tmp_path / "x.png"
    Image.new("L", (28, 28), 0).save(picture)
    assert main(["predict", "--weights", str(bad), str(picture)]) == 2
    error = capsys.readouterr().err
    assert "bad.pt" in error and "Traceback" not in error


def test_unknown_command_prints_usage(capsys):
    assert main(["fly"]) == 2
    assert "usage: hwr" in capsys.readouterr().err
