"""How pictures whose ink touches the edges are read: MNIST test digits cropped to their ink.

For 500 MNIST test digits (a fixed random choice) the shipped model reads each digit four ways —
cropped to its ink (light ink on black, as MNIST), the same in the other polarity, cropped and
scanned-looking (dark ink on grey, noisy paper), and cropped with a 1-pixel margin — and the script
prints how many were refused as "nothing drawn" and how many were read right.

    python -m benchmarks.cropped_digits --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import default_data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(), help="folder holding MNIST/raw")
    parser.add_argument("--count", type=int, default=500, help="MNIST test digits to read")
    parser.add_argument("--seed", type=int, default=0, help="which digits, and the scan noise")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    from model.assets import default_weights_path
    from model.storage.checkpoint import load_checkpoint
    from model.training.data import load_mnist
    from model.recognition.predict import Predictor
    from model.recognition.preprocess import NothingDrawnError, raster_to_image

    digits = load_mnist(args.data_dir, train=False)
    predictor = Predictor(load_checkpoint(default_weights_path()))
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(digits.labels), args.count, replace=False)
    ways = {
        "cropped to the ink": lambda crop: crop,
        "cropped, dark ink on white paper": lambda crop: 255 - crop,
        "cropped, dark ink on grey noisy paper": lambda crop: np.clip(
            225 - crop * 0.8 + rng.normal(0, 4, crop.shape), 0, 255).astype(np.uint8),
        "with a 1-pixel margin": lambda crop: np.pad(crop, 1),
    }
    print(f"{args.count} MNIST test digits (seed {args.seed}), shipped model:")
    for name, make in ways.items():
        refused = right = 0
        for index in chosen:
            image = digits.images[int(index)].numpy()
            rows, cols = np.flatnonzero(image.max(axis=1)), np.flatnonzero(image.max(axis=0))
            crop = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
            try:
                right += predictor.predict_image(raster_to_image(make(crop))).digit == int(digits.labels[int(index)])
            except NothingDrawnError:
                refused += 1
        print(f"  {name:45s} refused {refused:4d}, read right {right:4d} of {args.count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
