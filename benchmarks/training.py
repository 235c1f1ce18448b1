"""Training speed: images per second of each architecture, and wall time to 99.5 % and to the end.

    .venv/bin/python -m benchmarks.training                      # about 40 s
    .venv/bin/python -m benchmarks.training --steps 5 --repeats 1 --no-write   # a quick check

Two kinds of figure, side by side for the compact and the seed architecture:

* throughput, measured here: ``model.training.train.train_epoch`` (the real training step: batch of 128,
  augmentation, AdamW, one-cycle schedule) over ``--steps`` batches of MNIST training digits, after a
  few untimed warm-up steps; the architectures take turns, ``--repeats`` times each;
* time to accuracy, read from a full run's checkpoint: ``info.notes["history"]`` holds, per epoch,
  the validation accuracy (on 5,000 held-out training digits) and the seconds since training began,
  and ``info.notes["train_seconds"]`` the wall time of the whole model.training.train.train_model call.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/training.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from benchmarks.common import REPO_ROOT, default_data_dir, markdown_table, publish
from model.storage.checkpoint import CheckpointError, load_checkpoint
from model.training.data import DigitSet, MnistUnavailableError, load_mnist
from model.training.evaluate import accuracy_of
from model.recognition.network import NetConfig, build_network, count_parameters
from model.training.train import TrainConfig, train_epoch

TARGET_ACCURACY = 0.995  # validation accuracy whose wall time is reported
WARM_STEPS = 3  # untimed steps before each timed run (allocator, thread pool, caches)


def measure_throughput(arch: str, digits: DigitSet, steps: int, batch_size: int, augment: bool,
                       seed: int) -> float:
    """Return training images per second of ``arch`` over ``steps`` timed steps of train_epoch."""
    config = TrainConfig(arch=arch, batch_size=batch_size, augment=augment, seed=seed)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    network = build_network(NetConfig(arch=arch))
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.max_lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.max_lr, epochs=1,
                                                    steps_per_epoch=WARM_STEPS + steps)
    device = torch.device("cpu")
    warm = digits.subset(slice(0, WARM_STEPS * batch_size))
    timed = digits.subset(slice(WARM_STEPS * batch_size, (WARM_STEPS + steps) * batch_size))
    train_epoch(network, device, warm, optimizer, scheduler, config, generator)
    started = time.perf_counter()
    train_epoch(network, device, timed, optimizer, scheduler, config, generator)
    return len(timed) / (time.perf_counter() - started)


def measure_validation_seconds(arch: str, digits: DigitSet) -> float:
    """Return the seconds one validation pass (model.training.evaluate.accuracy_of) takes on ``digits``."""
    network = build_network(NetConfig(arch=arch)).eval()
    accuracy_of(network, digits.subset(slice(0, 1000)))  # warm-up
    started = time.perf_counter()
    accuracy_of(network, digits)
    return time.perf_counter() - started


def history_figures(path: Path) -> dict:
    """Return what a checkpoint's training history says, or {'missing': reason}."""
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as error:
        return {"missing": str(error)}
    notes = checkpoint.info.notes
    history = notes.get("history") or []
    if not history:
        return {"missing": f"{path} holds no training history (info.notes['history'])."}
    reached = next((entry for entry in history if entry["validation_accuracy"] >= TARGET_ACCURACY), None)
    seconds = [entry["seconds"] for entry in history]
    return {
        "arch": checkpoint.config.arch,
        "path": path,
        "epochs": len(history),
        "reached_epoch": None if reached is None else reached["epoch"],
        "reached_seconds": None if reached is None else reached["seconds"],
        "final_validation": history[-1]["validation_accuracy"],
        "best_validation": max(entry["validation_accuracy"] for entry in history),
        "final_seconds": history[-1]["seconds"],
        "train_seconds": notes.get("train_seconds"),
        "epoch_seconds": float(np.median(np.diff([0.0, *seconds]))),
        "test_accuracy": checkpoint.info.mnist_test_accuracy,
        "threads": notes.get("threads"),
        "device": notes.get("device"),
        "command": checkpoint.info.training_command,
    }


def time_to_target(figures: dict) -> str:
    """Return the table cell for the wall time to TARGET_ACCURACY."""
    if "missing" in figures:
        return "–"
    if figures["reached_epoch"] is None:
        return f"never reached (best {figures['best_validation']:.2%})"
    seconds = figures["reached_seconds"]
    return f"{seconds:.0f} s ({seconds / 60:.1f} min), epoch {figures['reached_epoch']}"


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder holding MNIST/raw ($HWR_MNIST_DIR if set, else ../shared/data)")
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per architecture and setting")
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size, help="digits per step")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--compact-checkpoint", type=Path, default=REPO_ROOT / "runs" / "mnist-only.pt",
                        help="a full compact run whose history gives the time to accuracy (step 1 of the README's "
                             "training command; the shipped model is a short patch of a soup, not a full run)")
    parser.add_argument("--seed-checkpoint", type=Path, default=REPO_ROOT / "runs" / "seed.pt",
                        help="a full seed-architecture run whose history gives the time to accuracy")
    parser.add_argument("--seed", type=int, default=1, help="seed of weights, order and augmentation")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        digits = load_mnist(args.data_dir, train=True)
    except MnistUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    needed = (WARM_STEPS + args.steps) * args.batch_size
    if needed > len(digits):
        print(f"error: {args.steps} steps of {args.batch_size} need {needed:,} digits; MNIST has {len(digits):,}",
              file=sys.stderr)
        return 2
    archs = ("compact", "seed")
    settings = ((True, "augmented (as model.training.train trains)"), (False, "no augmentation"))
    rates: dict[tuple[str, bool], list[float]] = {(arch, aug): [] for arch in archs for aug, _ in settings}
    for repeat in range(args.repeats):
        for augment, _ in settings:
            for arch in archs:  # the architectures take turns, so a disturbance hits both
                rate = measure_throughput(arch, digits, args.steps, args.batch_size, augment, args.seed + repeat)
                rates[(arch, augment)].append(rate)
                print(f"  run {repeat + 1}/{args.repeats} {arch:8s} augment={augment}: {rate:,.0f} images/s",
                      flush=True)
    validation = digits.subset(slice(0, TrainConfig().validation_size))
    validation_seconds = {arch: measure_validation_seconds(arch, validation) for arch in archs}
    histories = {"compact": history_figures(args.compact_checkpoint), "seed": history_figures(args.seed_checkpoint)}
    for arch, figures in histories.items():
        if "missing" not in figures and figures["arch"] != arch:
            figures.clear()
            figures["missing"] = f"the checkpoint given for {arch} holds a {figures.get('arch')} network."

    # -- the report -----------------------------------------------------------------------------
    training_size = 60_000 - TrainConfig().validation_size
    lines = [f"Throughput: `model.training.train.train_epoch` on the CPU, batch {args.batch_size}, AdamW + one-cycle, "
             f"{args.steps} timed steps ({args.steps * args.batch_size:,} images) after {WARM_STEPS} warm-up steps, "
             f"{args.repeats} runs per row, the architectures taking turns; torch threads: {torch.get_num_threads()}. "
             f"Time to accuracy: read from each checkpoint's stored history (validation on "
             f"{TrainConfig().validation_size:,} held-out training digits after every epoch; the seconds include "
             f"those validation passes).", ""]
    header = ["", "compact", "seed"]
    rows = [["parameters"] + [f"{count_parameters(build_network(NetConfig(arch=a))):,}" for a in archs]]
    for augment, label in settings:
        cells = []
        for arch in archs:
            values = rates[(arch, augment)]
            cells.append(f"{np.median(values):,.0f} (min {min(values):,.0f}, max {max(values):,.0f})")
        rows.append([f"training images/s, {label}: median of runs"] + cells)
    epoch_estimate = {a: training_size / np.median(rates[(a, True)]) + validation_seconds[a] for a in archs}
    rows.append([f"one epoch of {training_size:,} digits at that rate (augmented) + validation"]
                + [f"{epoch_estimate[a]:.0f} s" for a in archs])
    rows.append([f"validation pass, {len(validation):,} digits"] + [f"{validation_seconds[a]:.2f} s" for a in archs])

    def cell(arch: str, key: str, form) -> str:
        figures = histories[arch]
        if "missing" in figures:
            return "–"
        value = figures.get(key)
        return "–" if value is None else form(value)

    rows += [
        ["checkpoint read"] + [display_path(histories[a]["path"]) if "missing" not in histories[a]
                               else "**missing**" for a in archs],
        ["epochs run"] + [cell(a, "epochs", str) for a in archs],
        ["median epoch wall time (history)"]
        + [cell(a, "epoch_seconds", lambda v, a=a: f"{v:.0f} s ({v / epoch_estimate[a]:.2f}× today's estimate)")
           for a in archs],
        [f"wall time to {TARGET_ACCURACY:.1%} validation accuracy"] + [time_to_target(histories[a]) for a in archs],
        ["wall time to the final accuracy (end of the last epoch)"] + [cell(a, "final_seconds", lambda v: f"{v:.0f} s ({v / 60:.1f} min)")
                                            for a in archs],
        ["final validation accuracy"] + [cell(a, "final_validation", lambda v: f"{v:.2%}") for a in archs],
        ["MNIST test accuracy (10,000 digits)"] + [cell(a, "test_accuracy", lambda v: f"{v:.2%}") for a in archs],
        ["whole train_model call (train_seconds)"]
        + [cell(a, "train_seconds", lambda v: f"{v:.0f} s") for a in archs],
        ["trained on"] + [cell(a, "device", str) + ("" if "missing" in histories[a] else
                                                      cell(a, "threads", lambda v: f", {v} threads")) for a in archs],
    ]
    lines += markdown_table(header, rows)
    lines.append("")
    for arch in archs:
        figures = histories[arch]
        if "missing" in figures:
            lines.append(f"- {arch}: no history: {figures['missing']} Produce it with `.venv/bin/python -m "
                         f"model.training.train --arch {arch} --data-dir ../shared/data --output "
                         f"{display_path(args.seed_checkpoint if arch == 'seed' else args.compact_checkpoint)}`.")
        else:
            lines.append(f"- {arch}: `{figures['command']}`")
    lines += ["", "A history's seconds are the wall time of that run on whatever else the machine was doing then; "
              "the throughput rows above are today's, measured by this script."]
    publish("training", "Training throughput and time to accuracy", lines, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
