"""Checkpoints: what is saved comes back, a failed save loses nothing, a bad file is refused."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
import torch

from model.files import disk as disk_module
from model.storage.checkpoint import (FORMAT, FORMAT_VERSION, Checkpoint, CheckpointError, ModelInfo, load_checkpoint,
                              make_checkpoint, save_checkpoint, weights_digest)
from model.training.data import DigitSet, normalise, to_unit_ink
from model.recognition.network import NetConfig, build_network
from model.recognition.preprocess import PREPROCESS_VERSION


def trained_looking_network(config: NetConfig, seed: int) -> torch.nn.Module:
    """Return a network with seeded random weights and non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    network = build_network(config)
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.num_batches_tracked.fill_(123)
    return network.eval()


def sample_info() -> ModelInfo:
    return ModelInfo(parent_version="abc1234567", mnist_test_accuracy=0.9871, mnist_test_size=10_000,
                     training_command="python -m model.train --seed 7", seed=7, sample_count=42,
                     notes={"train_seconds": 12.5, "history": [{"epoch": 1, "loss": 0.3}]})


@pytest.fixture
def digits(mnist_test: DigitSet) -> torch.Tensor:
    return normalise(to_unit_ink(mnist_test.images[:64]))  # (64, 1, 28, 28)


@pytest.mark.parametrize("config", [NetConfig(), NetConfig(arch="seed", hidden_units=32)], ids=["compact", "seed"])
def test_saved_model_comes_back_with_the_same_predictions_and_info(tmp_path, digits, config):
    network = trained_looking_network(config, seed=3)
    path = save_checkpoint(make_checkpoint(network, config, sample_info()), tmp_path / "model.pt")

    loaded = load_checkpoint(path)
    rebuilt = loaded.build()
    assert not rebuilt.training
    with torch.inference_mode():
        torch.testing.assert_close(rebuilt(digits), network(digits), rtol=0, atol=0)
    assert loaded.config == config
    expected = sample_info()
    for name in ("parent_version", "mnist_test_accuracy", "mnist_test_size", "training_command", "seed",
                 "sample_count", "notes"):
        assert getattr(loaded.info, name) == getattr(expected, name), name
    assert loaded.info.preprocess_version == PREPROCESS_VERSION
    assert loaded.info.version == weights_digest(network.state_dict()) == weights_digest(loaded.state_dict)
    assert datetime.fromisoformat(loaded.info.created).tzinfo is not None


def test_version_tells_different_weights_apart():
    config = NetConfig()
    first = make_checkpoint(trained_looking_network(config, seed=1), config, ModelInfo())
    again = make_checkpoint(trained_looking_network(config, seed=1), config, ModelInfo())
    other = make_checkpoint(trained_looking_network(config, seed=2), config, ModelInfo())
    assert first.info.version == again.info.version
    assert first.info.version != other.info.version
    assert len(first.info.version) == 10


def test_make_checkpoint_copies_the_weights():
    config = NetConfig()
    network = trained_looking_network(config, seed=1)
    saved = make_checkpoint(network, config, ModelInfo())
    version = saved.info.version
    with torch.no_grad():
        next(network.parameters()).add_(1.0)  # training on after the snapshot
    assert weights_digest(saved.state_dict) == version


@pytest.fixture
def saved_model(tmp_path) -> Path:
    config = NetConfig()
    return save_checkpoint(make_checkpoint(trained_looking_network(config, 1), config, ModelInfo()),
                           tmp_path / "model.pt")


def test_overwriting_leaves_no_temporary_files(saved_model: Path):
    config = NetConfig()
    newer = make_checkpoint(trained_looking_network(config, 2), config, ModelInfo())
    save_checkpoint(newer, saved_model)
    assert sorted(p.name for p in saved_model.parent.iterdir()) == [saved_model.name]
    assert load_checkpoint(saved_model).info.version == newer.info.version


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_save_keeps_the_old_file(saved_model: Path, monkeypatch, failing):
    old_bytes = saved_model.read_bytes()
    config = NetConfig()
    newer = make_checkpoint(trained_looking_network(config, 2), config, ModelInfo())

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, disk_full)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(newer, saved_model)
    monkeypatch.undo()

    assert saved_model.read_bytes() == old_bytes
    assert sorted(p.name for p in saved_model.parent.iterdir()) == [saved_model.name]
    assert load_checkpoint(saved_model).info.version != newer.info.version


def test_save_creates_missing_folders(tmp_path):
    config = NetConfig()
    path = save_checkpoint(make_checkpoint(trained_looking_network(config, 1), config, ModelInfo()),
                           tmp_path / "models" / "mine" / "model.pt")
    assert load_checkpoint(path).config == config


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere.pt")


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.95])
def test_truncated_file_is_refused(saved_model: Path, keep):
    data = saved_model.read_bytes()
    saved_model.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError, match=saved_model.name):
        load_checkpoint(saved_model)


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(torch.randint(0, 256, (50_000,), dtype=torch.uint8,
                                   generator=torch.Generator().manual_seed(0)).numpy().tobytes())
    with pytest.raises(CheckpointError, match="noise.pt"):
        load_checkpoint(path)


class _CreatesMarker:
    """Unpickling this calls open(marker, "w"): code execution that leaves a trace."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_file_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pt"
    config = NetConfig()
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": config.to_dict(),
               "info": {"version": "0000000000"}, "state_dict": build_network(config).state_dict(),
               "extra": _CreatesMarker(marker)}
    torch.save(payload, path)

    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    assert not marker.exists(), "loading the model ran code from the file"

    # The file is really armed: an unsafe load would have run it.
    torch.load(path, weights_only=False)["extra"].close()
    assert marker.exists()


def test_weights_for_another_architecture_are_refused(tmp_path):
    seed_weights = build_network(NetConfig(arch="seed")).state_dict()
    mislabelled = Checkpoint(NetConfig(arch="compact"), seed_weights, ModelInfo())
    path = save_checkpoint(mislabelled, tmp_path / "mislabelled.pt")
    with pytest.raises(CheckpointError, match="architecture"):
        load_checkpoint(path)


def test_weights_with_a_missing_layer_are_refused(tmp_path):
    config = NetConfig()
    weights = dict(build_network(config).state_dict())
    weights.pop(next(iter(weights)))
    path = save_checkpoint(Checkpoint(config, weights, ModelInfo()), tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match="architecture"):
        load_checkpoint(path)


def test_plain_torch_file_is_not_taken_for_a_model(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(build_network(NetConfig()).state_dict(), path)  # a bare state dict, no format marker
    with pytest.raises(CheckpointError, match="not an hwr checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize("change, message", [
    ({"format_version": FORMAT_VERSION + 1}, "format version"),
    ({"config": {"arch": "transformer"}}, "architecture"),
    ({"info": {"preprocess_version": PREPROCESS_VERSION + 1}}, "preprocessing version"),
])
def test_incompatible_checkpoints_are_refused(tmp_path, change, message):
    config = NetConfig()
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": config.to_dict(),
               "info": {}, "state_dict": build_network(config).state_dict(), **change}
    path = tmp_path / "other.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_info_from_a_newer_program_is_read(tmp_path):
    config = NetConfig()
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": config.to_dict(),
               "info": {"mnist_test_accuracy": 0.5, "written_by": "hwr 9.0"},
               "state_dict": build_network(config).state_dict()}
    path = tmp_path / "newer.pt"
    torch.save(payload, path)
    assert load_checkpoint(path).info.mnist_test_accuracy == 0.5


def test_module_writes_through_a_temporary_file_in_the_same_folder(tmp_path, monkeypatch):
    """os.replace is atomic only within one file system, so the temporary file must sit beside the target."""
    seen = []
    real_replace = os.replace

    def spying_replace(source, destination):
        seen.append((Path(source).parent, Path(destination).parent))
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", spying_replace)
    disk_module.atomic_write_bytes(tmp_path / "out.bin", b"payload")
    assert seen == [(tmp_path, tmp_path)]
    assert (tmp_path / "out.bin").read_bytes() == b"payload"


def test_an_archive_python_cannot_read_is_refused_before_torch_reads_it(saved_model: Path, monkeypatch):
    """A member with a malformed extra field made zipfile give up, so the zip-bomb check was skipped and
    torch's own zip reader (which passes over the flaw) inflated whatever the other members declared."""
    import zipfile

    crafted = saved_model.with_name("odd-extra.pt")
    with zipfile.ZipFile(saved_model) as source, zipfile.ZipFile(crafted, "w") as archive:
        for info in source.infolist():
            archive.writestr(zipfile.ZipInfo(info.filename), source.read(info.filename))
        odd = zipfile.ZipInfo("archive/zz")
        odd.extra = b"\x99\x99\xff\x00"  # an extra field that claims 255 bytes and holds none
        archive.writestr(odd, b"")

    def torch_must_not_read(*args, **kwargs):
        raise AssertionError("torch.load was reached")

    monkeypatch.setattr(torch, "load", torch_must_not_read)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(crafted)
    message = str(caught.value)
    assert message.startswith(f"Model file {crafted} is damaged or not a model file")
    assert "extra field" in message and "\n" not in message
