"""The inference file: the shipped model readable without torch, checked like every other file hwr reads."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import torch

from model.assets import default_weights_path
from model.recognition.inference import fold
from model.recognition.predict import Predictor
from model.storage.checkpoint import ModelInfo, save_checkpoint
from model.storage.inference_file import (InferenceFileError, inference_path, read_inference_file,
                                          write_inference_file)
from model.storage.versions import ModelRegistry
from tests.versions_helpers import fine_tuned_version
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
    ("a version that is not one", lambda a, m: m["info"].__setitem__("version", "../../etc"), "version"),
    ("no version", lambda a, m: m["info"].pop("version"), "no valid model version"),
    ("info that is text", lambda a, m: m.__setitem__("info", "hello"), "not a dict"),
    ("a huge note", lambda a, m: m["info"]["notes"].__setitem__("x", "y" * 10 ** 6), "characters"),
    ("other preprocessing", lambda a, m: m["info"].__setitem__("preprocess_version", 99), "preprocessing version 99"),
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


def fine_tuned(registry: ModelRegistry, accepted: bool = True, factor: float = 1.001):
    """Save a version whose weights differ a little from the shipped model's, as a fine-tune would."""
    return fine_tuned_version(registry, accepted, factor, ModelInfo(notes={"pen": 0.5}))


def test_every_saved_version_gets_its_inference_file_and_reads_without_torch(tmp_path):
    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    entry = fine_tuned(registry)
    registry.activate(entry.version)
    assert inference_path(entry.path).is_file()
    strokes = json.dumps(standard_digit(7, seed=3))
    probe = ("import json, sys; from model.assets import default_weights_path; "
             "from model.storage.versions import ModelRegistry; from model.recognition.predict import Predictor; "
             "registry = ModelRegistry(sys.argv[1], default_weights_path()); entry = registry.active(); "
             "answer = Predictor(entry).predict_strokes(json.loads(sys.argv[2])); "
             "print(entry.version, entry.info.parent_version, entry.info.notes['pen'], "
             "[e.version for e in registry.versions()][-1], answer.probabilities.max(), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "models"), strokes], capture_output=True,
                         text=True, cwd=REPO, check=True).stdout.split()
    expected = Predictor(entry.checkpoint).predict_strokes(json.loads(strokes)).probabilities.max()
    assert out[:4] == [entry.version, registry.shipped().info.version, "0.5", entry.version]
    assert float(out[4]) == pytest.approx(expected, abs=1e-5) and out[5] == "False"


def test_a_version_without_a_usable_inference_file_gets_it_written_again_from_its_checkpoint(tmp_path):
    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    entry = fine_tuned(registry)
    npz = inference_path(entry.path)
    for damage in (npz.unlink, lambda: npz.write_bytes(b"not a zip"),  # saved by an older hwr; damaged
                   lambda: write_inference_file(registry.shipped().checkpoint, npz)):  # another model's
        damage()
        fresh = ModelRegistry(tmp_path / "models", default_weights_path())
        again = fresh.entry(entry.version)
        assert again.info.version == entry.version and not fresh.take_messages()
        assert read_inference_file(npz).info.version == entry.version  # written back: next start needs no torch
        assert np.array_equal(again.reader.arrays["conv0.weight"], entry.reader.arrays["conv0.weight"])


def test_a_checkpoint_named_for_another_version_is_set_aside_with_its_inference_file(tmp_path):
    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    entry = fine_tuned(registry)
    renamed = entry.path.with_name("0123456789.pt")
    entry.path.rename(renamed)
    inference_path(entry.path).rename(inference_path(renamed))
    fresh = ModelRegistry(tmp_path / "models", default_weights_path())
    assert [e.version for e in fresh.versions()] == ["shipped"]
    message = " ".join(fresh.take_messages())
    assert str(renamed) in message and f"holds model {entry.version}" in message
    assert sorted(p.name.split(".")[0] + "." + p.name.split(".")[1] for p in (tmp_path / "models" / "damaged").iterdir()) \
        == ["0123456789.npz", "0123456789.pt"]


def test_pruned_versions_take_their_inference_files_and_orphans_are_cleared(tmp_path, monkeypatch):
    from model.files import limits

    monkeypatch.setattr(limits, "KEEP_VERSIONS", 1)
    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    first = fine_tuned(registry)
    second = fine_tuned(ModelRegistry(tmp_path / "models", default_weights_path()), factor=1.002)
    assert second.version != first.version
    assert not first.path.exists() and not inference_path(first.path).exists()
    assert inference_path(second.path).exists()
    orphan = tmp_path / "models" / "abcdef0123.npz"
    write_inference_file(second.reader, orphan)  # its checkpoint never written (a save cut short)
    assert registry.remove_stale_temporaries(now=orphan.stat().st_mtime + 10) == []  # a save may be under way
    assert registry.remove_stale_temporaries(now=orphan.stat().st_mtime + 10 ** 6) == [orphan]
    assert inference_path(second.path).exists()


def test_a_version_is_fine_tuned_from_its_checkpoint_which_must_be_the_model_it_reads_with(tmp_path):
    from model.storage.checkpoint import CheckpointError

    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    entry = fine_tuned(registry)
    save_checkpoint(registry.shipped().checkpoint, entry.path)  # the .pt swapped for another model's
    fresh = ModelRegistry(tmp_path / "models", default_weights_path()).entry(entry.version)
    with pytest.raises(CheckpointError, match=f"{entry.path}.*holds model {registry.shipped().info.version}"):
        fresh.checkpoint


def test_hwr_predict_reads_with_the_shipped_model_without_loading_torch(tmp_path):
    stroke_file = tmp_path / "one.json"
    stroke_file.write_text(json.dumps({"strokes": [[[10, 10], [10, 60]]]}))
    probe = ("import sys; from model.cli import main; status = main(['predict', sys.argv[1]]); "
             "print('torch' in sys.modules, status)")
    out = subprocess.run([sys.executable, "-c", probe, str(stroke_file)], capture_output=True, text=True, cwd=REPO,
                         check=True).stdout.splitlines()
    # the same answer as the torch checkpoint gives (read here, in this process)
    from model.storage.checkpoint import load_checkpoint

    expected = Predictor(load_checkpoint(default_weights_path())).predict_strokes([[(10.0, 10.0), (10.0, 60.0)]])
    assert expected.digit == 1
    assert out[0] == f"{stroke_file}: 1 ({expected.confidence:.1%})" and out[-1] == "False 0"


def with_member(source: Path, out: Path, name: str, header_shape: tuple, dtype: str = "<f4", data: bytes = b"") -> Path:
    """Copy the inference file with member ``name`` replaced by a hand-made .npy: its header says
    ``header_shape`` and ``dtype``, whatever ``data`` follows."""
    import zipfile

    header = {"descr": dtype, "fortran_order": False, "shape": header_shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w") as copy:
        for info in original.infolist():
            body = buffer.getvalue() + data if info.filename == f"{name}.npy" else original.read(info)
            copy.writestr(info.filename, body)
    return out


def test_a_tiny_file_declaring_a_huge_array_is_refused_before_anything_is_allocated(tmp_path):
    """An .npz of a few hundred kilobytes whose header declares 40 TB: refused from the header alone."""
    shipped = inference_path(default_weights_path())
    huge = with_member(shipped, tmp_path / "huge.npz", "conv0.bias", (10 ** 13,))
    with pytest.raises(InferenceFileError, match="conv0.bias is float32 \\(10000000000000,\\), not float32"):
        read_inference_file(huge)
    description = with_member(shipped, tmp_path / "description.npz", "__meta__", (10 ** 12,), "|u1")
    with pytest.raises(InferenceFileError, match="not short text"):
        read_inference_file(description)
    short = with_member(shipped, tmp_path / "short.npz", "linear.bias", (10,), data=b"\0" * 12)
    with pytest.raises(InferenceFileError, match="linear.bias holds 12 bytes, not the 40"):
        read_inference_file(short)


def test_an_inference_file_that_is_a_link_is_not_followed_but_written_over(tmp_path):
    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    entry = fine_tuned(registry)
    outside = tmp_path / "elsewhere" / "x.npz"
    outside.parent.mkdir()
    write_inference_file(registry.shipped().checkpoint, outside)  # another model, outside models/
    before = outside.read_bytes()
    link = inference_path(entry.path)
    link.unlink()
    link.symlink_to(outside)
    again = ModelRegistry(tmp_path / "models", default_weights_path()).entry(entry.version)
    assert again.info.version == entry.version  # read from its own checkpoint, not through the link
    assert not link.is_symlink() and read_inference_file(link).info.version == entry.version
    assert outside.read_bytes() == before


def test_a_version_in_torchs_older_file_format_stays_listed(tmp_path):
    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    entry = fine_tuned(registry)
    payload = torch.load(entry.path, weights_only=True)
    torch.save(payload, entry.path, _use_new_zipfile_serialization=False)  # a plain pickle, not a zip
    inference_path(entry.path).unlink()
    for start in range(2):  # the first start writes its inference file; the second reads it
        fresh = ModelRegistry(tmp_path / "models", default_weights_path())
        assert [e.version for e in fresh.versions()] == ["shipped", entry.version], start
        assert not fresh.take_messages()


def test_a_fine_tune_from_a_version_whose_checkpoint_is_damaged_says_which_file(tmp_path):
    """The version still reads digits (its inference file is whole); fine-tuning from it names the bad file."""
    from hwr_app.finetune_worker import FinetuneWorker, MnistCache

    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    entry = fine_tuned(registry)
    registry.activate(entry.version)
    fresh = ModelRegistry(tmp_path / "models", default_weights_path())
    active = fresh.active()
    assert active.checkpoint.info.version == entry.version  # loaded from its .pt on demand
    again = ModelRegistry(tmp_path / "models", default_weights_path()).active()
    payload = torch.load(entry.path, weights_only=True)
    payload["state_dict"]["head.1.bias"][0] = float("nan")  # whole as a file, unusable as a model
    torch.save(payload, entry.path)
    failures = []
    worker = FinetuneWorker(again, lambda cancelled: pytest.fail("samples read before the model"), fresh,
                            MnistCache(tmp_path, download=False))
    worker.failed.connect(failures.append)
    worker.run()  # on this thread: the signal arrives at once
    assert len(failures) == 1 and str(entry.path) in failures[0] and "NaN" in failures[0]
