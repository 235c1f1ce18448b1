"""The reference digits' command line: build the shipped files, stamp a model's gate figures.

    python -m model.personal build --mnist-dir ../shared/data --unipen-dir ../shared/data/unipen
    python -m model.personal stamp assets/default.pt

``build`` writes ``assets/mnist_reference.npz`` (replay digits and the MNIST gate) and
``assets/pen_gate.npz`` (the pen gate) — see :mod:`model.personal.reference`; ``stamp`` stores a
checkpoint's gate figures in it, so that its first fine-tune need not measure them. Run ``stamp`` on
the shipped model whenever its weights or the reference files change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.assets import assets_dir
from model.constants import default_mnist_dir, default_unipen_dir
from model.personal.features import stamp_gate_figures
from model.personal.reference import ReferenceFileError, build_assets, load_reference, read_digit_file
from model.storage.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from model.training.data import MnistUnavailableError


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m model.personal", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write assets/mnist_reference.npz and assets/pen_gate.npz")
    build.add_argument("--assets", type=Path, default=assets_dir(),
                       help="the folder to write into")
    build.add_argument("--mnist-dir", type=Path, default=None, help="folder holding MNIST/raw ($HWR_MNIST_DIR)")
    build.add_argument("--unipen-dir", type=Path, default=None, help="UNIPEN folder ($HWR_UNIPEN_DIR)")
    build.add_argument("--skip-mnist", action="store_true", help="write only the pen gate")
    stamp = commands.add_parser("stamp", help="store a checkpoint's gate figures in it (rewrites the file)")
    stamp.add_argument("weights", type=Path, help="the checkpoint to stamp, e.g. assets/default.pt")
    stamp.add_argument("--assets", type=Path, default=assets_dir(),
                       help="the folder holding the reference files the app uses")
    stamp.add_argument("--mnist-dir", type=Path, default=None,
                       help="MNIST folder, only needed when the assets hold no mnist_reference.npz")
    args = parser.parse_args(argv)

    try:
        if args.command == "build":
            mnist_dir = None if args.skip_mnist else (args.mnist_dir or default_mnist_dir())
            unipen_dir = args.unipen_dir or default_unipen_dir()
            for path in build_assets(args.assets, mnist_dir, unipen_dir):
                sets = read_digit_file(path)
                print(f"{path}: {path.stat().st_size:,} bytes; "
                      + ", ".join(f"{name} {len(d):,} digits" for name, d in sets.items()))
            return 0
        reference = load_reference(args.assets, args.mnist_dir or default_mnist_dir())
        try:
            checkpoint = load_checkpoint(args.weights)
        except CheckpointError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        stamped = stamp_gate_figures(checkpoint, reference)
        save_checkpoint(stamped, args.weights)
        for name, figure in stamped.info.notes["gates"].items():
            print(f"{args.weights}: {name} gate {figure['accuracy']:.2%} on {figure['size']:,} digits "
                  f"(set {figure['digest']})")
        return 0
    except (ReferenceFileError, MnistUnavailableError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
