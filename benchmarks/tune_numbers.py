"""Choose the number reader's geometry weights on UNIPEN's training writers; check them on validation.

    .venv/bin/python -m benchmarks.tune_numbers                 # about 5 min on 2 cores
    .venv/bin/python -m benchmarks.tune_numbers --weights new.pt

Headless (no window): 5-digit numbers are composed from the training writers' digits as in
benchmarks/numbers.py, and a grid of ``model.numbers.SegmenterConfig`` weights is tried; the
best few are read on validation writers' numbers too, next to the perfect-segmentation bound.
The test writers are never used here. Run it again when the shipped weights change: how
confident the network is on pieces and merges of digits is what the weights balance. Copy the
chosen values into SegmenterConfig's defaults by hand.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from benchmarks.numbers import compose_written, default_unipen_dir, pen_writers

GRID = {  # SegmenterConfig field → values tried
    "digit_bonus": (0.0, 0.5, 1.0),
    "overlap_penalty": (1.5, 3.0),
    "overlap_floor": (0.15, 0.5),
    "wide_penalty": (3.0, 6.0),
    "gap_penalty": (4.0, 8.0),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tune_numbers", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir(),
                        help="folder holding UNIPEN's train_r01_v07")
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped model)")
    parser.add_argument("--numbers", type=int, default=150, help="5-digit numbers per split")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    from model.assets import default_weights_path
    from model.checkpoint import load_checkpoint
    from model.numbers import DEFAULT_CONFIG, NumberReader
    from model.predict import Predictor

    torch.set_num_threads(1)
    predictor = Predictor(load_checkpoint(args.weights or default_weights_path()))
    numbers = {split: [n for _, n in compose_written(pen_writers("unipen", args.unipen_dir, split), 5, args.numbers,
                                                     np.random.default_rng(args.seed))]
               for split in ("train", "val")}
    reader = NumberReader(predictor.network, cache_size=10 ** 6)  # renderings do not depend on the weights

    def accuracy(config, split: str) -> float:
        reader.config = config
        return float(np.mean([reader.read(n.strokes).text == n.text for n in numbers[split]]))

    for split, chosen in numbers.items():
        bound = np.mean([all(predictor.predict_strokes([n.strokes[i] for i in strokes]).digit == int(label)
                             for strokes, label in zip(n.digit_strokes, n.text)) for n in chosen])
        print(f"{split}: bound {bound:.1%}, current defaults {accuracy(DEFAULT_CONFIG, split):.1%}", flush=True)
    results = []
    for values in itertools.product(*GRID.values()):
        config = replace(DEFAULT_CONFIG, **dict(zip(GRID, values)))
        results.append((accuracy(config, "train"), values))
    results.sort(key=lambda item: item[0], reverse=True)
    print("best on training writers, then validation writers:")
    for train_accuracy, values in results[:8]:
        config = replace(DEFAULT_CONFIG, **dict(zip(GRID, values)))
        settings = ", ".join(f"{name}={value}" for name, value in zip(GRID, values))
        print(f"  train {train_accuracy:.1%}  val {accuracy(config, 'val'):.1%}  {settings}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
