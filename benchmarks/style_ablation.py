"""What each style transform buys (issue 19), measured on UNIPEN's validation writers.

    python -m benchmarks.style_ablation --init runs/mnist-only.pt --mnist-dir ../shared/data \\
        --unipen-dir ../shared/data/unipen [--configurations none flag ...] [--no-write]

Each configuration — no style, each transform alone (``--style-digits`` of model.train: the flag and
foot on 1s, the open top of 4s, the cross bar of 7s, the small loop of 9s), and all of them — continues
the same MNIST-only model for the same short schedule on MNIST plus the training writers' pen digits,
with the same seed and the same stroke augmentation; only the style transforms differ. Each is read on
the *validation* writers (the test writers are never used to choose a setting): on every style group
found by benchmarks/styles.py's rules, on the other digits of the styled classes, on the classes no
transform touches, and on MNIST's validation digits. A transform earns its place if it helps its group
and costs nothing elsewhere. Configurations can be split over processes (``--configurations``) and
their rows joined in ``--rows``; the section is written once all are there (``--configurations`` with
no name writes it from the rows alone).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import markdown_table, publish
from benchmarks.pen_ablation import add_short_schedule_options, short_schedule, train_short
from benchmarks.styles import STYLES
from model.files.disk import atomic_write_bytes
from model.files.validate import InvalidInputError, read_limited
from model.storage.checkpoint import load_checkpoint
from model.training.data import load_mnist, split_validation
from model.training.evaluate import predict_labels
from model.training.pen_data import pen_digit_set
from model.training.styles import STYLED_DIGITS
from model.training.train import stroke_augment_config
from model.training.unipen import load_suspects, pen_digits

CONFIGURATIONS = {  # name: the digits whose transform is on (none: no style at all)
    "none": (), "flag (1)": (1,), "open (4)": (4,), "cross bar (7)": (7,), "small loop (9)": (9,),
    "all": STYLED_DIGITS,
}
UNTOUCHED = (0, 2, 3, 5, 6, 8)


MAX_ROWS_BYTES = 1024 * 1024  # this benchmark's rows take about 2 KB; writer_cv's about 40 KB a configuration


def read_rows(path: Path, default: dict) -> dict:
    """Return the rows kept in ``path`` (``default`` if there are none yet); exits with one line naming the
    file if it is not rows this benchmark wrote."""
    if not path.exists():
        return default
    try:
        rows = json.loads(read_limited(path, MAX_ROWS_BYTES, "Benchmark rows"))
    except InvalidInputError as error:
        raise SystemExit(f"error: {error}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SystemExit(f"error: {path} is not the rows this benchmark writes (not JSON); remove it to start "
                         f"afresh.") from None
    if not (isinstance(rows, dict) and all(isinstance(v, dict) for v in rows.values())):
        raise SystemExit(f"error: {path} is not the rows this benchmark writes; remove it to start afresh.")
    return rows


def rest_and_untouched(labels: np.ndarray, styled_masks: dict) -> tuple[np.ndarray, np.ndarray]:
    """Return which digits are of a styled class (1, 4, 7, 9) but of no detected style, and which of the
    classes no transform touches."""
    return np.isin(labels, STYLED_DIGITS) & ~np.logical_or.reduce(list(styled_masks.values())), np.isin(labels, UNTOUCHED)


def measure(network, check, styled_masks, mnist_validation) -> dict:
    """Return the wrong counts of one network on every group (validation writers) and MNIST."""
    read = predict_labels(network, check).numpy()
    labels = check.labels.numpy()
    wrong = read != labels
    rest, untouched = rest_and_untouched(labels, styled_masks)
    figures = {"pen": int(wrong.sum()), "untouched": int(wrong[untouched].sum())}
    for style in STYLES:
        figures[style.name] = int(wrong[styled_masks[style.name]].sum())
    figures["rest"] = int(wrong[rest].sum())
    figures["mnist"] = int((predict_labels(network, mnist_validation) != mnist_validation.labels).sum())
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_short_schedule_options(parser)
    parser.add_argument("--style-prob", type=float, default=0.5, help="share of the chosen digits redrawn in a style")
    parser.add_argument("--configurations", nargs="*", default=list(CONFIGURATIONS), choices=list(CONFIGURATIONS),
                        help="the configurations to run now (none named: only write the section from --rows)")
    parser.add_argument("--rows", type=Path, default=Path("runs/style-ablation.json"),
                        help="where each configuration's figures are kept (so that processes can share the work)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    initial = load_checkpoint(args.init)
    suspects = load_suspects()
    teach = [d for d in pen_digits(args.unipen_dir, "train") if (d.file, d.line) not in suspects]
    validation_writers = pen_digits(args.unipen_dir, "val")
    check = pen_digit_set(validation_writers)
    styled_masks = {style.name: style.among(validation_writers) for style in STYLES}
    mnist_training, mnist_validation = split_validation(load_mnist(args.mnist_dir, train=True), 5000, seed=1)
    base = short_schedule(args)
    rows = read_rows(args.rows, {})
    rows["MNIST-only model (start)"] = measure(initial.build(), check, styled_masks, mnist_validation)
    for name in args.configurations:
        started = time.perf_counter()
        augment = stroke_augment_config("all", args.style_prob, CONFIGURATIONS[name])  # none: no digit redrawn
        network = train_short(base, teach, augment, mnist_training, initial)
        figures = measure(network, check, styled_masks, mnist_validation)
        figures["seconds"] = round(time.perf_counter() - started)
        rows = read_rows(args.rows, rows)  # another process may have added its rows
        rows[name] = figures
        atomic_write_bytes(args.rows, json.dumps(rows, indent=1).encode("utf-8"))  # never seen half written
        print(name, figures, flush=True)

    order = ["MNIST-only model (start)", *CONFIGURATIONS]
    if not all(name in rows for name in order):
        print(f"rows so far in {args.rows}; the section is written once every configuration is there")
        return 0
    counts = {style.name: int(mask.sum()) for style, mask in zip(STYLES, styled_masks.values())}
    labels = check.labels.numpy()
    rest, untouched = rest_and_untouched(labels, styled_masks)
    header = ["style transforms", f"pen, all ({len(labels):,})",
              *[f"{style.title} ({counts[style.name]})" for style in STYLES],
              f"rest of 1, 4, 7, 9 ({int(rest.sum())})", f"0, 2, 3, 5, 6, 8 ({int(untouched.sum())})",
              "MNIST validation (5,000)", "time"]
    table = [[name, str(rows[name]["pen"]), *[str(rows[name][style.name]) for style in STYLES],
              str(rows[name]["rest"]), str(rows[name]["untouched"]), str(rows[name]["mnist"]),
              f"{rows[name]['seconds']} s" if "seconds" in rows[name] else "—"] for name in order]
    body = [f"Each run continues `{args.init}` for {args.epochs} epochs ({args.mnist_per_epoch:,} MNIST digits and "
            f"the {len(teach):,} pen digits of the training writers per epoch, {args.variants} rendered variants "
            f"each with the full stroke augmentation, seed 1); the style transforms named redraw "
            f"{args.style_prob:.0%} of their digits' renderings. Read on the {len(labels):,} digits of the "
            f"{len({d.writer for d in validation_writers})} validation writers and MNIST's 5,000 validation digits. "
            "Cells: digits read wrong (fewer is better).", "",
            *markdown_table(header, table), "",
            "A 1 with a flag and foot is counted in both 1 columns; \"rest\": the styled classes' digits of no "
            "detected style."]
    publish("style-ablation", "Style transforms: what each one buys (issue 19)", body, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
