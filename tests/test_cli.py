"""The ``hwr`` command line: predict pictures and stroke files through the same pipeline as the app."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
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


def test_a_digit_count_a_file_cannot_meet_is_one_line_and_later_files_are_still_read(tmp_path, capsys):
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"strokes": jitter(STANDARD[1], np.random.default_rng(0))}))
    seven = tmp_path / "seven.json"
    seven.write_text(json.dumps({"strokes": jitter(STANDARD[7], np.random.default_rng(0))}))
    assert main(["predict", "--digits", "2", str(one), str(seven)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0] == f"{one}: The drawing has one piece of ink; it cannot be read as 2 digits."
    assert len(lines) == 2 and lines[1].startswith(f"{seven}: ")  # the next file is read
    assert "unexpectedly" not in captured.err and "Traceback" not in captured.err

    assert main(["predict", "--json", "--digits", "2", str(one), str(seven)]) == 1
    documents = json.loads(capsys.readouterr().out)
    assert documents[0] == {"file": str(one), "error": "The drawing has one piece of ink; it cannot be read as 2 digits."}
    assert documents[1]["file"] == str(seven)  # read too, whatever it holds


def test_more_digits_than_strokes_is_said_in_plain_words(tmp_path, capsys):
    rng = np.random.default_rng(1)
    dashes = [[[x * 30.0, 0.0], [x * 30.0 + 10, 1.0]] for x in range(10)]  # ten separate strokes
    path = tmp_path / "ten.json"
    path.write_text(json.dumps({"strokes": dashes}))
    assert main(["predict", "--digits", "11", str(path)]) == 1
    assert "10 separate pieces of ink; it cannot be read as 11 digits" in capsys.readouterr().out
    del rng


def test_hwr_and_hwr_help_list_every_command_with_a_sentence(capsys):
    assert main([]) == 2
    listed = capsys.readouterr().err
    assert main(["--help"]) == 0
    helped = capsys.readouterr().out
    for text in (listed, helped):
        for command in ("predict", "train", "evaluate"):
            assert any(line.strip().startswith(command + " ") for line in text.splitlines()), command


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_sub_command_help_names_hwr_and_shows_each_default_once(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert text.startswith(f"usage: hwr {command}") and "python -m" not in text
    assert "(default: None)" not in text and "(default: False)" not in text
    assert " ".join(text.split()).count("(default:") == text.count("(default:")  # sanity
    assert not re.search(r"\(default:[^)]*\)\s*\(default:", text)  # never "(default: …) (default: …)"
