"""The numpy forward pass gives torch's answers: same digit everywhere, probabilities within 1e-4."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from model.recognition.inference import NumpyNetwork, fold, inference_shapes
from model.recognition.network import NetConfig, build_network
from model.recognition.preprocess import image_to_tensor, strokes_to_image
from model.storage.checkpoint import Checkpoint, ModelInfo, make_checkpoint

TOLERANCE = 1e-4


def torch_probabilities(checkpoint: Checkpoint, images: np.ndarray) -> np.ndarray:
    network = checkpoint.build().eval()
    with torch.inference_mode():
        batch = torch.stack([image_to_tensor(image) for image in images])
        return torch.softmax(network(batch), 1).numpy().astype(np.float64)


def numpy_network(checkpoint: Checkpoint) -> NumpyNetwork:
    return NumpyNetwork(checkpoint.config, fold(checkpoint.config, {k: v.numpy() for k, v in checkpoint.state_dict.items()}))


def assert_same_answers(checkpoint: Checkpoint, images: np.ndarray) -> None:
    expected = torch_probabilities(checkpoint, images)
    got = numpy_network(checkpoint).probabilities(images)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOLERANCE
    assert (got.argmax(1) == expected.argmax(1)).all()


@pytest.fixture(scope="module")
def finetuned(shipped_checkpoint: Checkpoint) -> Checkpoint:
    """The shipped model with its top layers moved, as a fine-tune moves them (batch norm statistics too)."""
    network = shipped_checkpoint.build()
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, tensor in network.state_dict().items():
            if name.startswith(("features.6", "head")) and tensor.is_floating_point():
                tensor.add_(0.05 * torch.randn(tensor.shape, generator=generator) * tensor.std().clamp(min=1e-3))
    return make_checkpoint(network, shipped_checkpoint.config, ModelInfo(parent_version=shipped_checkpoint.info.version))


@pytest.mark.parametrize("which", ["shipped", "fine-tuned"])
def test_numpy_reads_all_mnist_test_digits_as_torch_does(which, shipped_checkpoint, finetuned, mnist_test):
    checkpoint = shipped_checkpoint if which == "shipped" else finetuned
    assert_same_answers(checkpoint, mnist_test.images.numpy().astype(np.float32) / 255.0)


@pytest.mark.parametrize("which", ["shipped", "fine-tuned"])
def test_numpy_reads_unipen_test_writers_as_torch_does(which, shipped_checkpoint, finetuned, unipen_dir):
    from model.training.unipen import pen_digits

    images = np.stack([strokes_to_image(digit.strokes) for digit in pen_digits(unipen_dir, "test")])
    assert len(images) == 2968
    assert_same_answers(shipped_checkpoint if which == "shipped" else finetuned, images)


@pytest.mark.parametrize("batch", [1, 3, 64])
def test_every_batch_size_reads_as_torch_does(batch, shipped_checkpoint, mnist_test):
    # The app reads one digit at a time, the number reader up to 256: the convolutions lay out one
    # digit, a few and many differently (model.recognition.inference._conv3x3).
    images = mnist_test.images[:192].numpy().astype(np.float32) / 255.0
    network = numpy_network(shipped_checkpoint)
    got = np.concatenate([network.probabilities(images[i:i + batch]) for i in range(0, len(images), batch)])
    expected = torch_probabilities(shipped_checkpoint, images)
    assert np.abs(got - expected).max() <= TOLERANCE
    assert (got.argmax(1) == expected.argmax(1)).all()
    assert network.probabilities(images[:0]).shape == (0, 10)


def test_the_seed_network_reads_as_torch_does(mnist_test):
    torch.manual_seed(0)
    config = NetConfig(arch="seed")
    network = build_network(config).eval()
    assert_same_answers(make_checkpoint(network, config, ModelInfo()), mnist_test.images[:500].numpy() / 255.0)


def test_folded_arrays_have_the_shapes_the_config_names(shipped_checkpoint):
    arrays = fold(shipped_checkpoint.config, {k: v.numpy() for k, v in shipped_checkpoint.state_dict.items()})
    assert {k: v.shape for k, v in arrays.items()} == inference_shapes(shipped_checkpoint.config)
    wrong = dict(arrays, **{"linear.bias": np.zeros(9, np.float32)})
    with pytest.raises(ValueError, match="linear.bias"):
        NumpyNetwork(shipped_checkpoint.config, wrong)


def test_reading_with_numpy_does_not_load_torch():
    probe = ("import sys, numpy as np; from model.recognition.inference import NumpyNetwork, inference_shapes; "
             "from model.recognition.net_config import NetConfig; from model.recognition.preprocess import "
             "strokes_to_image; c = NetConfig(); "
             "a = {k: np.zeros(s, np.float32) for k, s in inference_shapes(c).items()}; "
             "p = NumpyNetwork(c, a).probabilities(strokes_to_image([[(0, 0), (0, 10)]])[None]); "
             "print('torch' in sys.modules, p.shape)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "(1,", "10)"]
