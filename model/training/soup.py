"""Average the weights of models trained on from one start: a "model soup".

    python -m model.soup runs/pen-a.pt:0.3 runs/pen-b.pt:0.7 --mnist-dir ../shared/data \\
        --unipen-dir ../shared/data/unipen --output assets/default.pt

Networks continued from the same checkpoint with different schedules stay in one basin of the loss,
so a weighted average of their weights is itself a good network, often better than each of them
(Wortsman et al., "Model soups", ICML 2022). Batch-norm running statistics are averaged the same
way; integer buffers (batch counters) come from the last ingredient. The result is measured on
MNIST's test set and, with a UNIPEN folder, on the test writers, and saved like a trained model,
its recipe (every ingredient's command) in ``info.training_command``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from model.storage.checkpoint import Checkpoint, CheckpointError, ModelInfo, load_checkpoint, make_checkpoint, save_checkpoint
from model.constants import UNIPEN_DIR_ENV, default_unipen_dir
from model.training.data import MnistUnavailableError, default_mnist_dir, load_mnist
from model.training.evaluate import accuracy_of, add_mnist_dir_option


def soup(ingredients: list[tuple[Checkpoint, float]]) -> dict:
    """Return the weighted average of the ingredients' state dicts (weights must sum to 1)."""
    total = sum(weight for _, weight in ingredients)
    if not ingredients or abs(total - 1.0) > 1e-6 or any(weight < 0 for _, weight in ingredients):
        raise ValueError(f"soup weights must be non-negative and sum to 1, not {total:g}")
    first = ingredients[0][0]
    for checkpoint, _ in ingredients[1:]:
        if checkpoint.config != first.config or checkpoint.state_dict.keys() != first.state_dict.keys():
            raise ValueError("every ingredient must have the same architecture")
    averaged = {}
    for name, tensor in first.state_dict.items():
        if tensor.is_floating_point():
            averaged[name] = sum(weight * checkpoint.state_dict[name].double()
                                 for checkpoint, weight in ingredients).to(tensor.dtype)
        else:
            averaged[name] = ingredients[-1][0].state_dict[name].clone()
    return averaged


def inherited_notes(ingredients: list[Checkpoint]) -> dict:
    """Return the notes of model.train that hold for the soup too: the seed of MNIST's validation split where
    every ingredient kept one (a soup of runs on several splits has trained on each one's held-out digits, so
    it records none), and ``pen_writers`` "train+val" if any ingredient was taught by the validation writers."""
    notes: dict = {}
    seeds = {checkpoint.info.notes.get("validation_split_seed") for checkpoint in ingredients}
    if len(seeds) == 1 and None not in seeds:
        notes["validation_split_seed"] = seeds.pop()
    writers = {checkpoint.info.notes.get("pen_writers") for checkpoint in ingredients} - {None}
    if writers:
        notes["pen_writers"] = "train+val" if "train+val" in writers else writers.pop()
    return notes


def ingredient(text: str) -> tuple[Path, float]:
    """Parse one soup ingredient, PATH:WEIGHT (an argparse type: a bad one is a usage error)."""
    path, _, weight = text.rpartition(":")
    if not path:
        raise argparse.ArgumentTypeError(f"expected PATH:WEIGHT, got {text!r}")
    try:
        return Path(path), float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"weight of {path} is not a number: {weight!r}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m model.soup", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("ingredients", nargs="+", type=ingredient, help="checkpoints as PATH:WEIGHT")
    add_mnist_dir_option(parser)
    parser.add_argument("--unipen-dir", type=Path, default=None,
                        help=f"UNIPEN's folder, to measure the test writers too (default: ${UNIPEN_DIR_ENV} if set)")
    parser.add_argument("--no-test", action="store_true",
                        help="read neither MNIST's test set nor UNIPEN's test writers: a soup still being chosen")
    parser.add_argument("--output", type=Path, required=True, help="checkpoint to write")
    args = parser.parse_args(argv)
    try:
        ingredients = [(load_checkpoint(path), weight) for path, weight in args.ingredients]
        state_dict = soup(ingredients)
        test_digits = None if args.no_test else load_mnist(args.data_dir or default_mnist_dir(), train=False)
    except (CheckpointError, ValueError, MnistUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    config = ingredients[0][0].config
    network = ingredients[0][0].build()
    network.load_state_dict(state_dict)
    mnist_accuracy = None if test_digits is None else accuracy_of(network, test_digits)
    print("MNIST test set: not read (--no-test)" if mnist_accuracy is None else
          f"MNIST test accuracy: {mnist_accuracy:.2%} on {len(test_digits):,} digits")
    notes: dict = {"soup": " ".join(f"{path}:{weight:g}" for path, weight in args.ingredients),
                   **inherited_notes([checkpoint for checkpoint, _ in ingredients])}
    unipen_dir = args.unipen_dir or (default_unipen_dir() if os.environ.get(UNIPEN_DIR_ENV) else None)
    if args.no_test:
        notes.update(mnist_test="not read", pen_test="not read")
    elif unipen_dir is not None:
        from model.training.pen_data import pen_digit_set
        from model.training.unipen import UnipenFormatError, UnipenUnavailableError, pen_digits
        try:
            pen_test = pen_digit_set(pen_digits(unipen_dir, "test"))
        except (UnipenUnavailableError, UnipenFormatError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        notes["pen_test_accuracy"] = accuracy_of(network, pen_test)
        notes["pen_test_size"] = len(pen_test)
        print(f"UNIPEN test writers: {notes['pen_test_accuracy']:.2%} on {len(pen_test):,} digits")
    steps = [step for c, _ in ingredients for step in c.info.training_command.split(" && ") if step]
    recipe = " && ".join(dict.fromkeys(steps))  # each ingredient's commands, shared first steps once
    info = ModelInfo(mnist_test_accuracy=mnist_accuracy, mnist_test_size=0 if test_digits is None else len(test_digits),
                     training_command=f"{recipe} && python -m model.soup " + " ".join(argv), notes=notes)
    path = save_checkpoint(make_checkpoint(network, config, info), args.output)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
