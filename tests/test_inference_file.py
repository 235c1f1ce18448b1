"""The inference file: the shipped model readable without torch, checked like every other file hwr reads."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hwr_app.startup import AppPaths, early_reader
from model.assets import default_weights_path
from model.recognition.inference import fold
from model.recognition.predict import Predictor
from model.storage.inference_file import (InferenceFileError, inference_path, read_inference_file,
                                          write_inference_file)
from tests.qt_helpers import standard_digit

REPO = Path(__file__).resolve().parent.parent


def test_the_shipped_inference_file_is_the_shipped_model(shipped_checkpoint):
    """assets/default.npz must be written again whenever assets/default.pt changes."""
    model = read_inference_file(inference_path(default_weights_path()))
    assert model.info.version == shipped_checkpoint.info.version
    assert model.info.mnist_test_accuracy == pytest.approx(shipped_checkpoint.info.mnist_test_accuracy)
    expected = fold(shipped_checkpoint.config, {k: v.numpy() for k, v in shipped_checkpoint.state_dict.items()})
    assert set(model.arrays) == set(expected)
    assert all(np.array_equal(model.arrays[name], expected[name]) for name in expected)


def test_a_written_file_reads_back_and_answers_as_the_checkpoint(tmp_path, shipped_checkpoint):
    path = write_inference_file(shipped_checkpoint, tmp_path / "model.npz")
    numpy_reader, torch_reader = Predictor(read_inference_file(path)), Predictor(shipped_checkpoint)
    for digit in range(10):
        strokes = standard_digit(digit, seed=digit)
        a, b = numpy_reader.predict_strokes(strokes), torch_reader.predict_strokes(strokes)
        assert a.digit == b.digit == digit and np.abs(a.probabilities - b.probabilities).max() < 1e-5
    reading = numpy_reader.read_number([*standard_digit(4, seed=1)] + [[(x + 3.0, y) for x, y, *_ in s]
                                                                       for s in standard_digit(2, seed=2)])
    assert reading is not None  # the number reader runs on the numpy network too


def rewrite(path: Path, out: Path, change) -> Path:
    """Copy the inference file at ``path`` to ``out`` with ``change(arrays, meta)`` applied."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(arrays.pop("__meta__").tobytes())
    change(arrays, meta)
    buffer = io.BytesIO()
    np.savez(buffer, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    out.write_bytes(buffer.getvalue())
    return out


@pytest.mark.parametrize("case, change, words", [
    ("a NaN weight", lambda a, m: a["conv0.bias"].__setitem__(0, np.nan), "not numbers"),
    ("a missing array", lambda a, m: a.pop("linear.bias"), "missing"),
    ("a wrong shape", lambda a, m: a.__setitem__("linear.bias", np.zeros(11, np.float32)), "not float32 (10,)"),
    ("float64 weights", lambda a, m: a.__setitem__("linear.bias", np.zeros(10, np.float64)), "not float32"),
    ("a huge network", lambda a, m: m["config"].__setitem__("top_channels", 100_000), "top_channels"),
    ("an unknown network", lambda a, m: m["config"].__setitem__("arch", "resnet"), "cannot build"),
    ("a version that is not one", lambda a, m: m.__setitem__("version", "../../etc"), "version"),
    ("another format version", lambda a, m: m.__setitem__("format_version", 99), "another version of hwr"),
])
def test_a_bad_inference_file_is_refused_naming_the_file(tmp_path, case, change, words):
    bad = rewrite(inference_path(default_weights_path()), tmp_path / "bad.npz", change)
    with pytest.raises(InferenceFileError, match=str(bad)) as raised:
        read_inference_file(bad)
    assert words in str(raised.value)


def test_files_that_are_not_inference_files_are_refused(tmp_path):
    (tmp_path / "text.npz").write_text("hello")
    buffer = io.BytesIO()
    np.savez(buffer, data=np.array([object()], dtype=object))  # a pickled object: never unpickled
    (tmp_path / "pickle.npz").write_bytes(buffer.getvalue())
    for name in ("text.npz", "pickle.npz", "absent.npz"):
        with pytest.raises(InferenceFileError, match=name):
            read_inference_file(tmp_path / name)


def test_the_window_reads_the_shipped_model_early_only_when_it_is_in_charge(tmp_path):
    paths = AppPaths(user_dir=tmp_path, mnist_dir=tmp_path)
    assert early_reader(paths).info.version == read_inference_file(inference_path(default_weights_path())).info.version
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "active").write_text("0123456789")  # a fine-tune in charge: loaded the full way
    assert early_reader(paths) is None
    (tmp_path / "models" / "active").write_text("shipped")
    assert early_reader(paths) is not None
    assert early_reader(AppPaths(tmp_path, tmp_path, weights_override=tmp_path / "x.pt")) is None


def test_hwr_predict_reads_with_the_shipped_model_without_loading_torch(tmp_path):
    stroke_file = tmp_path / "one.json"
    stroke_file.write_text(json.dumps({"strokes": [[[10, 10], [10, 60]]]}))
    probe = ("import sys; from model.cli import main; status = main(['predict', sys.argv[1]]); "
             "print('torch' in sys.modules, status)")
    out = subprocess.run([sys.executable, "-c", probe, str(stroke_file)], capture_output=True, text=True, cwd=REPO,
                         check=True).stdout.splitlines()
    assert out[0] == f"{stroke_file}: 1 (95.9%)" and out[-1] == "False 0"
