"""Choose the number reader's geometry weights on UNIPEN's training writers; check them on validation.

    .venv/bin/python -m benchmarks.tune_numbers                 # about 15 min on 2 cores
    .venv/bin/python -m benchmarks.tune_numbers --weights new.pt

Headless (no window). Two things are read for every setting tried:

- the writers' *single digits* drawn with more than one stroke (a 4's bar, a 5's hat, an open 4):
  the share the reader reads as the one digit the network reads for the whole drawing — a
  single digit must read exactly as it did before numbers existed;
- 5-digit numbers composed from the same writers' digits as in benchmarks/number_reading.py, next to
  the perfect-segmentation bound.

A grid of ``model.recognition.numbers.SegmenterConfig`` weights is tried on the training writers; the
setting kept is the one that reads most numbers among those that change at most
``--single-budget`` of the single digits, and the best few are read on validation writers too.
The test writers are never used here. Run it again when the shipped weights change: how
confident the network is on pieces and merges of digits is what the weights balance. Copy the
chosen values into SegmenterConfig's defaults by hand.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from benchmarks.number_reading import compose_written, default_unipen_dir, pen_writers

GRID = {  # SegmenterConfig field → values tried
    "digit_bonus": (0.25, 0.5),
    "baseline_penalty": (8.0, 16.0, 32.0),
    "baseline_tolerance": (0.15, 0.25),
    "one_digit_confidence": (0.3, 0.6),
    "max_width": (1.6, 2.2),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tune_numbers", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir(),
                        help="folder holding UNIPEN's train_r01_v07")
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped model)")
    parser.add_argument("--numbers", type=int, default=150, help="5-digit numbers per split")
    parser.add_argument("--single-budget", type=float, default=0.002,
                        help="the largest share of multi-stroke single digits a setting may read otherwise")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    from model.assets import default_weights_path
    from model.storage.checkpoint import load_checkpoint
    from model.recognition.numbers import DEFAULT_CONFIG, NumberReader
    from model.recognition.predict import Predictor

    torch.set_num_threads(1)
    predictor = Predictor(load_checkpoint(args.weights or default_weights_path()))
    writers = {split: pen_writers("unipen", args.unipen_dir, split) for split in ("train", "val")}
    numbers = {split: [n for _, n in compose_written(chosen, 5, args.numbers, np.random.default_rng(args.seed))]
               for split, chosen in writers.items()}
    singles = {split: [(strokes, str(predictor.predict_strokes(strokes).digit))
                       for digits in chosen.values() for strokes, _ in digits if len(strokes) > 1]
               for split, chosen in writers.items()}
    reader = NumberReader(predictor.network, cache_size=10 ** 7)  # renderings do not depend on the weights

    def measure(config, split: str) -> tuple[float, float]:
        reader.config = config
        kept = float(np.mean([reader.read(strokes).text == alone for strokes, alone in singles[split]]))
        read = float(np.mean([reader.read(n.strokes).text == n.text for n in numbers[split]]))
        return kept, read

    for split, chosen in numbers.items():
        bound = np.mean([all(predictor.predict_strokes([n.strokes[i] for i in strokes]).digit == int(label)
                             for strokes, label in zip(n.digit_strokes, n.text)) for n in chosen])
        kept, read = measure(DEFAULT_CONFIG, split)
        print(f"{split}: {len(singles[split]):,} multi-stroke single digits, {len(chosen)} numbers; bound "
              f"{bound:.1%}; current defaults: single digits kept {kept:.2%}, numbers {read:.1%}", flush=True)
    results = []
    for values in itertools.product(*GRID.values()):
        config = replace(DEFAULT_CONFIG, **dict(zip(GRID, values)))
        results.append((*measure(config, "train"), values))
        print(f"  {len(results)} of {math.prod(len(v) for v in GRID.values())}: singles {results[-1][0]:.2%}, "
              f"numbers {results[-1][1]:.1%}", flush=True)
    allowed = [r for r in results if r[0] >= 1 - args.single_budget]
    if allowed:
        heading = f"single digits kept ≥ {1 - args.single_budget:.1%}"
    else:  # no setting keeps that many: say so, and rank them all by numbers, then single digits
        best_kept = max(r[0] for r in results)
        print(f"no setting keeps ≥ {1 - args.single_budget:.1%} of the single digits (best {best_kept:.2%}); "
              f"ranking every setting", flush=True)
        allowed, heading = list(results), "every setting: the single-digit budget could not be met"
    allowed.sort(key=lambda item: (item[1], item[0]), reverse=True)
    print(f"best on training writers ({heading}), then validation writers:")
    for kept, read, values in allowed[:8]:
        config = replace(DEFAULT_CONFIG, **dict(zip(GRID, values)))
        settings = ", ".join(f"{name}={value}" for name, value in zip(GRID, values))
        val_kept, val_read = measure(config, "val")
        print(f"  train: singles {kept:.2%}, numbers {read:.1%}   val: singles {val_kept:.2%}, numbers "
              f"{val_read:.1%}   {settings}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
