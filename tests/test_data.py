"""MNIST loading, splits and subsets, and the augmentation that imitates drawing on a screen."""

from __future__ import annotations

import pytest
import torch

from model.training.data import (MNIST_DIR_ENV, AugmentConfig, DigitSet, MnistUnavailableError, augment,
                        balanced_subset, default_mnist_dir, load_mnist, split_validation, to_unit_ink)


def numbered_digits(count: int) -> DigitSet:
    """Return fake digits whose first two pixels spell their index and whose label is index % 10."""
    images = torch.zeros(count, 28, 28, dtype=torch.uint8)
    index = torch.arange(count)
    images[:, 0, 0] = (index // 256).to(torch.uint8)
    images[:, 0, 1] = (index % 256).to(torch.uint8)
    return DigitSet(images, index % 10)


def ids_of(digits: DigitSet) -> list[int]:
    """Return the original indices of numbered digits."""
    return (digits.images[:, 0, 0].long() * 256 + digits.images[:, 0, 1].long()).tolist()


# --- loading -------------------------------------------------------------------------------------

def test_mnist_loads_with_the_published_sizes(mnist_train: DigitSet, mnist_test: DigitSet):
    assert len(mnist_train) == 60_000 and len(mnist_test) == 10_000
    for digits in (mnist_train, mnist_test):
        assert digits.images.shape[1:] == (28, 28) and digits.images.dtype == torch.uint8
        assert digits.labels.dtype == torch.int64
        assert sorted(digits.labels.unique().tolist()) == list(range(10))


def test_missing_mnist_says_which_setting_to_change(tmp_path):
    with pytest.raises(MnistUnavailableError) as caught:
        load_mnist(tmp_path / "no-mnist-here", train=False)
    message = str(caught.value)
    assert "--mnist-dir" in message and "download=True" not in message and MNIST_DIR_ENV in message
    assert "no-mnist-here" in message


def test_default_folder_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(MNIST_DIR_ENV, str(tmp_path / "mnist"))
    assert default_mnist_dir() == tmp_path / "mnist"
    monkeypatch.delenv(MNIST_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_mnist_dir().is_relative_to(tmp_path / "cache")


# --- splits and subsets --------------------------------------------------------------------------

def test_validation_split_has_the_asked_sizes_and_no_overlap():
    digits = numbered_digits(1000)
    training, validation = split_validation(digits, validation_size=150, seed=4)
    assert len(training) == 850 and len(validation) == 150
    training_ids, validation_ids = ids_of(training), ids_of(validation)
    assert not set(training_ids) & set(validation_ids)
    assert sorted(training_ids + validation_ids) == list(range(1000))
    assert (training.labels == torch.tensor(training_ids) % 10).all()  # images and labels stay paired


def test_validation_split_depends_on_the_seed_only():
    digits = numbered_digits(500)
    first = ids_of(split_validation(digits, 100, seed=1)[1])
    assert ids_of(split_validation(digits, 100, seed=1)[1]) == first
    assert ids_of(split_validation(digits, 100, seed=2)[1]) != first
    assert first != list(range(100)), "validation digits should be drawn at random, not the first ones"


def test_balanced_subset_has_the_same_count_of_every_digit(mnist_train: DigitSet):
    subset = balanced_subset(mnist_train, per_class=7, seed=0)
    assert torch.bincount(subset.labels, minlength=10).tolist() == [7] * 10


def test_balanced_subset_draws_distinct_digits_reproducibly():
    digits = numbered_digits(2000)
    subset = balanced_subset(digits, per_class=30, seed=5)
    ids = ids_of(subset)
    assert len(set(ids)) == 300
    assert (subset.labels == torch.tensor(ids) % 10).all()
    assert ids_of(balanced_subset(digits, per_class=30, seed=5)) == ids
    assert ids_of(balanced_subset(digits, per_class=30, seed=6)) != ids


# --- augmentation --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ink(mnist_test: DigitSet) -> torch.Tensor:
    return to_unit_ink(mnist_test.images[:256])  # (256, 1, 28, 28)


def test_augment_keeps_shape_and_range(ink):
    augmented = augment(ink, AugmentConfig(), torch.Generator().manual_seed(0))
    assert augmented.shape == ink.shape and augmented.dtype == ink.dtype
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0


def test_augment_is_deterministic_for_a_seed(ink):
    first = augment(ink, AugmentConfig(), torch.Generator().manual_seed(3))
    again = augment(ink, AugmentConfig(), torch.Generator().manual_seed(3))
    other = augment(ink, AugmentConfig(), torch.Generator().manual_seed(4))
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    assert not torch.equal(other, first)


def test_augment_changes_almost_every_digit(ink):
    augmented = augment(ink, AugmentConfig(), torch.Generator().manual_seed(0))
    change = (augmented - ink).abs().flatten(1).mean(1)
    assert (change > 0.01).float().mean() > 0.95


def test_augment_keeps_every_digit_visible(ink):
    augmented = augment(ink, AugmentConfig(), torch.Generator().manual_seed(0))
    kept = augmented.flatten(1).sum(1) / ink.flatten(1).sum(1)  # share of each digit's ink left
    assert kept.min() > 0.3, f"{int((kept <= 0.3).sum())} of {len(kept)} digits were nearly erased"


def test_augment_with_no_effects_leaves_digits_alone(ink):
    still = AugmentConfig(rotation_degrees=0.0, slant=0.0, scale_range=(1.0, 1.0), aspect_jitter=0.0,
                          shift_pixels=0.0, thickening=0.0, thinning=0.0)
    torch.testing.assert_close(augment(ink, still, torch.Generator().manual_seed(0)), ink, rtol=0, atol=1e-5)


@pytest.mark.parametrize("train", [False, True], ids=["test", "train"])
def test_the_apps_light_reader_gives_exactly_torchvisions_digits(mnist_dir, train):
    from model.training.data import read_mnist

    light, reference = read_mnist(mnist_dir, train), load_mnist(mnist_dir, train)
    assert torch.equal(light.images, reference.images) and torch.equal(light.labels, reference.labels)
    assert light.images.dtype == torch.uint8 and light.labels.dtype == torch.int64


def test_the_light_reader_refuses_a_damaged_file(tmp_path):
    from model.training.data import read_mnist

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 20)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"junk")
    with pytest.raises(MnistUnavailableError, match="damaged"):
        read_mnist(tmp_path, train=False)


def write_tiny_mnist(root, count: int = 3) -> dict[str, "Path"]:
    """Write both splits of a well-formed MNIST of ``count`` digits each under ``root``/MNIST/raw."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    files = {}
    for prefix in ("train", "t10k"):
        images = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (count, 28, 28))
        files[f"{prefix}-images-idx3-ubyte"] = images + bytes(range(count)) * 784
        labels = (2049).to_bytes(4, "big") + count.to_bytes(4, "big")
        files[f"{prefix}-labels-idx1-ubyte"] = labels + bytes(range(count))
    for name, data in files.items():
        (raw / name).write_bytes(data)
    return {name: raw / name for name in files}


MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte"]


@pytest.mark.parametrize("loader", ["load_mnist", "read_mnist"])
@pytest.mark.parametrize("name, damage", [(name, damage) for name in MNIST_FILES
                                          for damage in ("truncated", "bad magic", "over the limit")]
                         + [(name, "label not a digit") for name in MNIST_FILES if "labels" in name])
def test_a_damaged_mnist_file_is_named_with_its_cause(tmp_path, monkeypatch, loader, name, damage):
    """A truncated pictures file was reported as "not found … downloading is off", a bad magic number as a
    KeyError: every raw file is checked (size limit first, then header and length) and named with the cause."""
    from model.files import limits
    from model.training import data

    path = write_tiny_mnist(tmp_path)[name]
    content = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(content[:-1])
        expected = f"truncated: expected {len(content):,} bytes, found {len(content) - 1:,}"
    elif damage == "bad magic":
        path.write_bytes(b"\x00\x00\x0a\x03" + content[4:])
        expected = "bad magic number"
    elif damage == "over the limit":
        monkeypatch.setattr(limits, "MAX_MNIST_FILE_BYTES", 4000)  # the tiny pictures files hold 2,368 bytes
        path.write_bytes(content + bytes(4001 - len(content)))
        expected = "it is 4,001 bytes; an MNIST file is at most 4,000 bytes"
    else:
        path.write_bytes(content[:-1] + b"\xc8")
        expected = "label 200 is not a digit"
    with pytest.raises(MnistUnavailableError) as caught:
        getattr(data, loader)(tmp_path, train=name.startswith("train"))
    message = str(caught.value)
    assert message.startswith(f"MNIST file {path} is damaged (") and expected in message, message
    assert "\n" not in message and "not found" not in message


def test_evaluate_names_a_truncated_mnist_file_in_one_line(tmp_path, capsys):
    from model.training.evaluate import main

    path = write_tiny_mnist(tmp_path)["t10k-images-idx3-ubyte"]
    path.write_bytes(path.read_bytes()[:1000])
    assert main(["--mnist-dir", str(tmp_path), "--limit", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "Traceback" not in err
    assert f"MNIST file {path} is damaged (truncated: expected 2,368 bytes, found 1,000)" in err


def test_a_tiny_well_formed_mnist_reads_the_same_both_ways(tmp_path):
    from model.training.data import read_mnist

    write_tiny_mnist(tmp_path)
    light, reference = read_mnist(tmp_path, train=False), load_mnist(tmp_path, train=False)
    assert torch.equal(light.images, reference.images) and light.labels.tolist() == [0, 1, 2]
