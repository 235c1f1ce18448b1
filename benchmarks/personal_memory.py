"""A road not taken: personalising by memory (nearest corrections) instead of fine-tuning, on real writers.

    .venv/bin/python -m benchmarks.personal_memory

A few-shot alternative to fine-tuning that needs no training: keep the user's corrections as the
shipped model's pooled features (the 96 numbers its last layer reads), and when a new drawing lies
close to one of them (cosine similarity ≥ ``tau``) add ``beta`` · exp((similarity − 1) / 0.05) to the
log-probability of that correction's digit. It should catch a writer's repeated style at once, such
as ibm/r03-15's flagged 1, read as 7 until corrected.

Same writers, protocols and splits as benchmarks/personalise.py; every setting of a grid is measured
on the UNIPEN *validation* writers, the one with the fewest errors there is chosen, and only that one
is reported on the test writers. Nothing here is used by the app: it records why memory was not
adopted (see BENCHMARKS.md, "Why the error reduction is 0 %").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/personal_memory.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from benchmarks.common import default_unipen_dir, markdown_table, publish
from benchmarks.personalise import PROTOCOLS, split_by_protocol
from model.assets import default_weights_path
from model.constants import MIN_SAMPLES

TEMPERATURE = 0.05  # of the similarity kernel: a correction 0.05 less similar counts e times less
TAUS = (0.7, 0.8, 0.85, 0.9, 0.95)
BETAS = (1.0, 3.0, 10.0, 30.0)


def writer_features(weights: Path, unipen_dir: Path, split: str) -> dict[str, tuple[np.ndarray, ...]]:
    """Return writer → (pooled features, log-probabilities, labels) of the shipped model, in writing order."""
    from model.storage.checkpoint import load_checkpoint
    from model.training.data import normalise
    from model.recognition.preprocess import NothingDrawnError, strokes_to_image
    from model.training.unipen import pen_digits

    network = load_checkpoint(weights).build()
    by_writer: dict[str, tuple[list, list]] = {}
    for digit in pen_digits(unipen_dir, split):
        try:
            image = strokes_to_image(digit.strokes)
        except NothingDrawnError:
            continue
        images, labels = by_writer.setdefault(digit.writer, ([], []))
        images.append(image)
        labels.append(digit.label)
    out = {}
    with torch.inference_mode():
        for writer, (images, labels) in sorted(by_writer.items()):
            pooled = network.features(normalise(torch.as_tensor(np.stack(images), dtype=torch.float32).unsqueeze(1)))
            log_p = torch.log_softmax(network.head(pooled), 1)
            out[writer] = (pooled.numpy(), log_p.numpy(), np.asarray(labels, dtype=np.int64))
    return out


def memory_errors(writers: dict, protocol: str, tau: float, beta: float, min_new: int) -> tuple[int, int, int]:
    """Return (writers measured, errors on new drawings before, after) pooled over writers."""
    measured = before = after = 0
    for features, log_p, labels in writers.values():
        corrections, new = split_by_protocol(protocol, labels, log_p.argmax(1) == labels)
        if len(corrections) < MIN_SAMPLES or len(new) < min_new:
            continue
        unit = features / np.linalg.norm(features, axis=1, keepdims=True)
        similarity = unit[new] @ unit[corrections].T  # (new, corrections)
        weight = np.where(similarity >= tau, np.exp((similarity - 1) / TEMPERATURE), 0.0)
        votes = np.zeros((len(new), 10))
        np.add.at(votes.T, labels[corrections], weight.T)  # votes[i, label of j] += weight[i, j]
        measured += 1
        before += int((log_p[new].argmax(1) != labels[new]).sum())
        after += int(((log_p[new] + beta * votes).argmax(1) != labels[new]).sum())
    return measured, before, after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.personal_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, default=default_weights_path())
    parser.add_argument("--unipen-dir", type=Path, default=default_unipen_dir(),
                        help="UNIPEN folder ($HWR_UNIPEN_DIR, else ../shared/data/unipen)")
    parser.add_argument("--min-new", type=int, default=10, help="as benchmarks.personalise")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    from model.training.unipen import UnipenUnavailableError

    try:
        val, test = (writer_features(args.weights, args.unipen_dir, split) for split in ("val", "test"))
    except (OSError, UnipenUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    grid = []
    for tau in TAUS:
        for beta in BETAS:
            results = [memory_errors(val, p, tau, beta, args.min_new) for p in PROTOCOLS]
            grid.append((sum(r[2] for r in results), tau, beta, results))
    _, tau, beta, _ = min(grid, key=lambda row: row[0])

    def cells(results):
        return [f"{b} → {a}" for _, b, a in results]

    lines = [f"Memory of corrections on the shipped model's pooled features; kernel temperature {TEMPERATURE}. "
             f"Errors on new drawings, pooled over writers, per protocol ({', '.join(PROTOCOLS)}).", "",
             "Validation writers, every setting (chosen: the fewest errors in all):", ""]
    lines += markdown_table(["tau", "beta", *PROTOCOLS, "all"],
                            [[t, b, *cells(r), f"{sum(x[1] for x in r)} → {total}"] for total, t, b, r in grid])
    chosen = [memory_errors(test, p, tau, beta, args.min_new) for p in PROTOCOLS]
    lines += ["", f"Test writers, the chosen setting (tau {tau}, beta {beta}):", ""]
    lines += markdown_table(["protocol", "writers", "errors on new drawings before → after"],
                            [[p, r[0], f"{r[1]} → {r[2]}"] for p, r in zip(PROTOCOLS, chosen)])
    publish("personal-memory", "Personalising by memory of corrections (tried, not adopted)", lines,
            write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
