"""The networks' forward pass in numpy alone, for reading digits without loading torch.

Torch costs about 1.6 s and 650 MB to import; the shipped network is 160,874 parameters whose
forward pass is a few million multiply-adds. So the app, the number reader and ``hwr predict`` read
with this module, and torch is loaded only to train or fine-tune.

:func:`fold` turns a network's state dict (as numpy arrays) into *inference arrays*: batch norm is
folded into the convolution before it (the network runs in eval mode, so batch norm is a fixed
per-channel scale and shift), and each 3×3 kernel is laid out for one matrix product over the nine
shifted copies of its input. :class:`NumpyNetwork` runs those arrays. The answers equal torch's to
float32 rounding (tests/test_inference.py compares both on all 10,000 MNIST test digits and on
UNIPEN's test writers: probabilities within 1e-4, the same digit everywhere).

Plain numpy: this module must not import torch.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from model.recognition.net_config import NUM_CLASSES, NetConfig
from model.recognition.preprocess import MNIST_MEAN, MNIST_STD

BN_EPS = 1e-5  # torch.nn.BatchNorm2d's default epsilon, which every hwr network uses

# compact: the state-dict prefixes of its five convolution + batch-norm blocks, in order; a 2×2
# max-pool follows blocks 0 and 2.
_COMPACT_BLOCKS = ("features.0", "features.2", "features.3", "features.5", "features.6")
_POOL_AFTER = (0, 2)


def inference_shapes(config: NetConfig) -> dict[str, tuple[int, ...]]:
    """Return the name and shape of every inference array a network of ``config`` has."""
    if config.arch == "compact":
        s, m, t = config.stem_channels, config.mid_channels, config.top_channels
        shapes = {}
        for i, (cin, cout) in enumerate(((1, s), (s, m), (m, m), (m, t), (t, t))):
            shapes[f"conv{i}.weight"] = (9 * cin, cout)
            shapes[f"conv{i}.bias"] = (cout,)
        shapes["linear.weight"] = (t, NUM_CLASSES)
        shapes["linear.bias"] = (NUM_CLASSES,)
        return shapes
    if config.arch == "seed":
        return {"conv0.weight": (9, 32), "conv0.bias": (32,),
                "hidden.weight": (32 * 13 * 13, config.hidden_units), "hidden.bias": (config.hidden_units,),
                "linear.weight": (config.hidden_units, NUM_CLASSES), "linear.bias": (NUM_CLASSES,)}
    raise ValueError(f"Unknown architecture {config.arch!r}")


def _kernel_matrix(weight: np.ndarray) -> np.ndarray:
    """Return a (O, C, 3, 3) kernel as the (9·C, O) matrix that multiplies the nine shifted inputs."""
    out_channels = weight.shape[0]
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0).reshape(-1, out_channels))  # rows: (dy, dx, c)


def fold(config: NetConfig, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the inference arrays (float32) of a network's state dict given as numpy arrays."""
    arrays: dict[str, np.ndarray] = {}
    if config.arch == "compact":
        for i, prefix in enumerate(_COMPACT_BLOCKS):
            weight = np.asarray(state[f"{prefix}.0.weight"], dtype=np.float64)
            gamma, beta = (np.asarray(state[f"{prefix}.1.{n}"], dtype=np.float64) for n in ("weight", "bias"))
            mean, var = (np.asarray(state[f"{prefix}.1.running_{n}"], dtype=np.float64) for n in ("mean", "var"))
            scale = gamma / np.sqrt(var + BN_EPS)
            arrays[f"conv{i}.weight"] = _kernel_matrix(weight * scale[:, None, None, None])
            arrays[f"conv{i}.bias"] = beta - mean * scale
        arrays["linear.weight"] = np.asarray(state["head.1.weight"]).T
        arrays["linear.bias"] = np.asarray(state["head.1.bias"])
    elif config.arch == "seed":
        arrays["conv0.weight"] = _kernel_matrix(np.asarray(state["features.0.weight"]))
        arrays["conv0.bias"] = np.asarray(state["features.0.bias"])
        arrays["hidden.weight"] = np.asarray(state["head.0.weight"]).T
        arrays["hidden.bias"] = np.asarray(state["head.0.bias"])
        arrays["linear.weight"] = np.asarray(state["head.3.weight"]).T
        arrays["linear.bias"] = np.asarray(state["head.3.bias"])
    else:
        raise ValueError(f"Unknown architecture {config.arch!r}")
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in arrays.items()}


def _conv3x3(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, pad: int) -> np.ndarray:
    """Return the 3×3 convolution of NHWC ``x`` (padding 1 or 0) as one matrix product."""
    if pad:
        x = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    n, h, w, c = x.shape
    oh, ow = h - 2, w - 2
    columns = np.empty((n, oh, ow, 9 * c), dtype=np.float32)
    for dy in range(3):
        for dx in range(3):
            k = (dy * 3 + dx) * c
            columns[..., k:k + c] = x[:, dy:dy + oh, dx:dx + ow, :]
    return columns.reshape(-1, 9 * c) @ weight + bias  # (N·oh·ow, O)


def _max_pool(x: np.ndarray) -> np.ndarray:
    """Return the 2×2 max-pool (stride 2, odd edges dropped, as torch does) of NHWC ``x``."""
    n, h, w, c = x.shape
    x = x[:, :h // 2 * 2, :w // 2 * 2, :]
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


class NumpyNetwork:
    """A network ready to read digits with numpy; safe to share between threads (it holds no state)."""

    def __init__(self, config: NetConfig, arrays: Mapping[str, np.ndarray]) -> None:
        expected = inference_shapes(config)
        for name, shape in expected.items():
            if name not in arrays or tuple(arrays[name].shape) != shape:
                raise ValueError(f"inference array {name} should have shape {shape}")
        self.config = config
        self.arrays = {name: np.ascontiguousarray(arrays[name], dtype=np.float32) for name in expected}

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Return (N, 10) float32 logits for (N, 28, 28) images with ink 1.0 (not yet normalised)."""
        a = self.arrays
        x = ((np.asarray(images, dtype=np.float32) - MNIST_MEAN) / MNIST_STD)[..., None]  # (N, 28, 28, 1)
        n = len(x)
        if self.config.arch == "compact":
            for i in range(len(_COMPACT_BLOCKS)):
                h, w = x.shape[1:3]
                x = np.maximum(_conv3x3(x, a[f"conv{i}.weight"], a[f"conv{i}.bias"], pad=1), 0).reshape(n, h, w, -1)
                if i in _POOL_AFTER:
                    x = _max_pool(x)
            features = x.mean(axis=(1, 2))  # (N, t): global average pooling
        else:
            x = np.maximum(_conv3x3(x, a["conv0.weight"], a["conv0.bias"], pad=0), 0).reshape(n, 26, 26, -1)
            x = _max_pool(x)  # (N, 13, 13, 32)
            flat = x.transpose(0, 3, 1, 2).reshape(n, -1)  # torch flattens channels first
            features = np.maximum(flat @ a["hidden.weight"] + a["hidden.bias"], 0)
        return features @ a["linear.weight"] + a["linear.bias"]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Return (N, 10) float64 probabilities (softmax of the logits) for (N, 28, 28) images."""
        logits = self.logits(images).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)
