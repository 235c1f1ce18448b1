"""The networks' forward pass in numpy alone, for reading digits without loading torch.

Torch costs about 1.6 s and 650 MB to import; the shipped network is 160,874 parameters whose
forward pass is a few million multiply-adds. So the app, the number reader and ``hwr predict`` read
with this module, and torch is loaded only to train or fine-tune.

:func:`fold` turns a network's state dict (as numpy arrays) into *inference arrays*: batch norm is
folded into the convolution before it (the network runs in eval mode, so batch norm is a fixed
per-channel scale and shift), and each 3×3 kernel is laid out as a matrix with rows (dy, dx,
input channel), for matrix products over shifted copies of its input. :class:`NumpyNetwork` runs
those arrays. The answers equal torch's to float32 rounding (tests/test_inference.py compares both
on all 10,000 MNIST test digits and on UNIPEN's test writers: probabilities within 1e-4, the same
digit everywhere).

Plain numpy: this module must not import torch.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from model.recognition.net_config import NUM_CLASSES, NetConfig
from model.recognition.preprocess import MNIST_MEAN, MNIST_STD

BN_EPS = 1e-5  # torch.nn.BatchNorm2d's default epsilon, which every hwr network uses

# compact: the state-dict prefixes of its five convolution + batch-norm blocks, in order; a 2×2
# max-pool follows blocks 0 and 2 (block 0's, on one input channel, is done with its convolution).
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


# Multiply-adds up to which OpenBLAS (numpy's BLAS) multiplies matrices with its small-matrix kernels,
# which skip copying ("packing") both operands first and run on the calling thread; _conv3x3 cuts its
# products to this size. On one thread, a reading is not held up by BLAS threads waiting for a core
# that another program holds (with two busy cores, that made the p99 of a reading tens of ms).
_SMALL_PRODUCT = 100 ** 3


def _pooled_conv3x3_one_channel(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Return the 3×3 convolution (no padding, no bias) of one-channel NHWC ``x``, 2×2 max-pooled.

    One matrix product over each output pixel's nine neighbours. With one channel, a row of the
    usual layout (pixels × (dy, dx)) would be nine floats gathered from three places, so the
    neighbours are copied transposed, (dy, dx) × pixels, in runs along image rows, and BLAS reads
    that operand transposed without copying it again: half the time. The pixels are ordered by
    their place in their 2×2 pooling window (odd edges dropped, as torch does), so the pooling is
    a maximum over four contiguous blocks of the product.
    """
    x = np.ascontiguousarray(x)
    n, h, w, _ = x.shape
    sn, sh, sw, _ = x.strides
    oh, ow = (h - 2) // 2, (w - 2) // 2
    # Axes (dy, dx, qy, qx, n, y, x) over x[n, 2y + qy + dy, 2x + qx + dx]: a view, copied by reshape.
    view = np.ndarray((3, 3, 2, 2, n, oh, ow), x.dtype, x, 0, (sh, sw, sh, sw, sn, 2 * sh, 2 * sw))
    product = view.reshape(9, -1).T @ weight
    return product.reshape(4, n, oh, ow, weight.shape[1]).max(axis=0)


def _conv3x3(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Return the 3×3 convolution (no bias) of zero-padded NHWC ``x`` as (N, H - 2, W - 2, O).

    The usual layout ("im2col": each output pixel's whole 3×3×C neighbourhood as one row of a
    single matrix product) copies the input nine times, and with the weights that is more memory
    per digit than the caches hold beside the preprocessing, which then runs from slower memory.
    So the copy here holds, for each input row and output column, only the three neighbours along
    the row: 3·C consecutive floats of ``x``, a third of the size. Kernel row dy is then a product
    over a contiguous block of that copy, starting dy rows down, and the three products are summed
    (the same terms as in one product, in another order: the same result to float rounding). A
    batch is one tall image, each digit keeping its own zero rows; the two output rows straddling
    two digits are computed for nothing. The products are cut into pieces of at most
    _SMALL_PRODUCT multiply-adds. Measured against one im2col product: strokes → probabilities at
    batch 1 about 4 % faster, batches of 16 to 256 digits about 8 %.

    Where the straddling rows would be more than a sixth of the work (a batch of 7-row images),
    one im2col product is faster, and is used.
    """
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    sn, sh, sw, sc = x.strides
    oh, ow, out_channels = h - 2, w - 2, weight.shape[1]
    straddling = 2 * (n - 1)  # output rows of the tall image that straddle two digits
    if 6 * straddling > n * oh:
        # (n, y, x, dy, (dx, c)): each pixel's neighbourhood, three runs of 3·C floats; copied by reshape
        view = np.ndarray((n, oh, ow, 3, 3 * c), x.dtype, x, 0, (sn, sh, sw, sh, sc))
        return (view.reshape(-1, 9 * c) @ weight).reshape(n, oh, ow, out_channels)
    k = 3 * c  # the neighbours along a row: (dx, c)
    rows = np.ndarray((n * h, ow, k), x.dtype, x, 0, (sh, sw, sc)).reshape(-1, k)  # a view, copied by reshape
    count = (n * h - 2) * ow  # output pixels of the tall image
    pieces = -(-count * k * out_channels // _SMALL_PRODUCT)  # ceiling division
    step = -(-count // pieces)
    product = np.empty((n * h * ow, out_channels), dtype=np.float32)
    for start in range(0, count, step):
        stop = min(start + step, count)
        part = product[start:stop]
        np.matmul(rows[start:stop], weight[:k], out=part)
        part += rows[ow + start:ow + stop] @ weight[k:2 * k]
        part += rows[2 * ow + start:2 * ow + stop] @ weight[2 * k:]
    return product.reshape(n, h, ow, out_channels)[:, :oh]


def _max_pool(x: np.ndarray) -> np.ndarray:
    """Return the 2×2 max-pool (stride 2, odd edges dropped, as torch does) of NHWC ``x``.

    The maximum of four strided views: a third of the time of a reshape and a two-axis reduction.
    """
    h, w = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
    top = np.maximum(x[:, 0:h:2, 0:w:2], x[:, 0:h:2, 1:w:2])
    return np.maximum(top, np.maximum(x[:, 1:h:2, 0:w:2], x[:, 1:h:2, 1:w:2]), out=top)


def _relu_padded(x: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Return relu(x + bias) for NHWC ``x`` (overwritten) inside a zero border, as _conv3x3 takes it."""
    x += bias
    n, h, w, c = x.shape
    padded = np.zeros((n, h + 2, w + 2, c), dtype=np.float32)
    np.maximum(x, 0, out=padded[:, 1:-1, 1:-1])
    return padded


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
        """Return (N, 10) float32 logits for (N, 28, 28) images with ink 1.0 (not yet normalised).

        The 2×2 max-pools come before the bias and the ReLU: both are monotonic, and so is float
        rounding, so max(relu(z + b)) = relu(max(z) + b) exactly, on a quarter of the values.
        """
        a = self.arrays
        images = np.asarray(images, dtype=np.float32)
        n = len(images)
        if n == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        if self.config.arch == "compact":
            x = np.zeros((n, 30, 30, 1), dtype=np.float32)  # the normalised images inside a zero border
            inside = x[:, 1:-1, 1:-1, 0]
            np.divide(np.subtract(images, MNIST_MEAN, out=inside), MNIST_STD, out=inside)
            x = _pooled_conv3x3_one_channel(x, a["conv0.weight"])  # block 0 (one input channel), pooled
            for i in range(1, len(_COMPACT_BLOCKS)):
                x = _conv3x3(_relu_padded(x, a[f"conv{i - 1}.bias"]), a[f"conv{i}.weight"])
                if i in _POOL_AFTER:
                    x = _max_pool(x)
            x += a[f"conv{len(_COMPACT_BLOCKS) - 1}.bias"]
            features = np.maximum(x, 0, out=x).mean(axis=(1, 2))  # (N, t): global average pooling
        else:
            x = ((images - MNIST_MEAN) / MNIST_STD)[..., None]  # (N, 28, 28, 1)
            x = _pooled_conv3x3_one_channel(x, a["conv0.weight"])  # (N, 13, 13, 32)
            x += a["conv0.bias"]
            flat = np.maximum(x, 0, out=x).transpose(0, 3, 1, 2).reshape(n, -1)  # torch flattens channels first
            features = np.maximum(flat @ a["hidden.weight"] + a["hidden.bias"], 0)
        return features @ a["linear.weight"] + a["linear.bias"]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Return (N, 10) float64 probabilities (softmax of the logits) for (N, 28, 28) images."""
        exp = self.logits(images).astype(np.float64)
        exp -= exp.max(axis=1, keepdims=True)
        np.exp(exp, out=exp)
        exp /= exp.sum(axis=1, keepdims=True)
        return exp
