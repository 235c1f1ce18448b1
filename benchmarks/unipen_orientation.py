"""Which UNIPEN sources record y upwards? Read every source's digits both ways with a model.

    python -m benchmarks.unipen_orientation --unipen-dir ../shared/data/unipen [--weights PATH]

Prints each source's accuracy as read (the reader's orientation) and flipped vertically. A source
whose flipped accuracy is far higher is y-up and belongs in ``model.training.unipen.Y_UP_SOURCES``. The
shipped model's figures decided that table (see its comment); any model trained on MNIST alone
gives the same verdict, since a 6 and a 9 (and 2/5, 7/L) swap when drawn upside down.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
import torch

from model.assets import default_weights_path
from model.storage.checkpoint import load_checkpoint
from model.constants import default_unipen_dir
from model.recognition.preprocess import image_to_tensor, strokes_to_image
from model.training.unipen import pen_digits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unipen-dir", default=str(default_unipen_dir()),
                        help="folder holding train_r01_v07 (default: $HWR_UNIPEN_DIR)")
    parser.add_argument("--weights", default=str(default_weights_path()), help="checkpoint (default: shipped)")
    parser.add_argument("--per-source", type=int, default=200, help="digits read per source (default 200)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    network = load_checkpoint(args.weights).build().eval()
    by_source = defaultdict(list)
    for digit in pen_digits(args.unipen_dir):
        if len(by_source[digit.source]) < args.per_source:
            by_source[digit.source].append(digit)
    print(f"{'source':8} {'digits':>6} {'as read':>8} {'flipped':>8}")
    for source, digits in sorted(by_source.items()):
        labels = np.array([d.label for d in digits])
        scores = []
        for flip in (1, -1):
            images = [strokes_to_image([[(x, flip * y) for x, y in s] for s in d.strokes]) for d in digits]
            batch = torch.stack([image_to_tensor(image) for image in images])
            with torch.inference_mode():
                predicted = network(batch).argmax(1).numpy()
            scores.append((predicted == labels).mean())
        print(f"{source:8} {len(digits):>6} {scores[0]:>8.1%} {scores[1]:>8.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
