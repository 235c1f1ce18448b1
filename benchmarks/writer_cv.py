"""Recipes compared by writer-level cross-validation over UNIPEN's training and validation writers.

    python -m benchmarks.writer_cv --init runs/mnist-only.pt --mnist-dir ../shared/data \\
        --unipen-dir ../shared/data/unipen [--configurations none] [--folds 5] [--no-write]

Issue 19 chose a base model on the 21 validation writers, and the test writers disagreed: the
continental styles are written by few people (the validation writers' flagged 1s are mostly one or
two writers), so 2,069 digits cannot tell a recipe that reads those styles from a lucky draw. Here
every one of the 211 training and validation writers is read once by a model that never saw them:
the writers are dealt into ``--folds`` folds by a hash of their name (:func:`fold_of`), and for each
fold and each configuration the MNIST-only model is continued on the *other* folds' pen digits (the
short schedule of benchmarks/style_ablation: MNIST plus pen digits, same seed and stroke
augmentation; listed suspects left out of training) and reads the fold's digits, every segment as
labelled. Configurations (:data:`CONFIGURATIONS`): ``none`` (the shipped recipe's pen data), and
``styles``, ``flag`` and ``no-loop``, which redraw ``--style-prob`` of some classes' pen digits in a
writer's continental style before the stroke augmentation (as ``model.train --style-prob P
--style-digits D``): all four transforms, the flag (and foot) on 1s alone, all but the small loop on
9s. ``none-patch``, ``flag-patch``, ``flag-loop-patch``, ``writers-flag-patch``, ``mixed-flag-patch`` and
``bowed-flag-patch`` ask another question: does a short continuation of a model already in charge teach the flag
(``model.train --init MODEL --style-prob P --style-digits 1 --epochs 2 --lr 3e-4``), the flag and the small loop on
9s (``--style-digits 1,9``), the flag drawn with the spread of real writers' flags, for all synthetic writers or half
of them (``--style-flags writers`` / ``mixed``), or curved as much as real writers' flags are (``--style-flags
bowed``; model.training.styles.FLAG_SPREADS)?
Each continues the fold's ``none`` model for ``--patch-epochs`` at ``--patch-lr``, with each pen digit
twice an epoch (as model.train's default) in renderings of another seed than the fold model's, so that
both see pictures they were not trained on; without a style and with one. They are compared with each other
(``--against none-patch``, the default for them), so that what the extra training alone does is not
counted as the flag's; the other configurations with ``none``. The fold models are trained afresh the
first time (the ``none`` rows keep readings, not models; one thread or two may read 1–3 digits
differently) and kept as ``none-K.pt`` in ``--rows``; run both patches in one process, or the second
trains them again. The test writers are never read.

Pooled over the folds: digits read wrong overall, on each style group found by benchmarks/styles.py's
rules (real writers' styles, not synthetic ones; a flagged and footed 1 counts in both 1 rows), on the
rest of the styled classes and on the other classes; for each configuration the digits it fixes and
breaks against the reference configuration (``--against``) with McNemar's exact p, and how many writers it reads better and worse. Each
fold's figures are kept in ``--rows``/<configuration>.json as they are made (a file per
configuration, replaced atomically; run each configuration in one process at a time), so two
processes can share the work and a stopped run loses only its current fold; a file of other settings
or one that is not this benchmark's stops it in one line naming the file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.base_candidates import mcnemar_p
from benchmarks.common import markdown_table, publish
from benchmarks.pen_ablation import add_short_schedule_options, short_schedule, train_short
from benchmarks.style_ablation import read_rows, rest_and_untouched
from benchmarks.styles import STYLES
from model.files.disk import atomic_write_bytes
from model.training.styles import FLAG_ANGLE, FLAG_BOW, FLAG_BOW_MAX, FLAG_DROP_MAX, FLAG_REACH, STYLED_DIGITS

CONFIGURATIONS = {  # name: the digits whose style transform is on (model.training.styles)
    "none": (), "styles": STYLED_DIGITS, "flag": (1,), "no-loop": (1, 4, 7),
    "none-patch": (), "flag-patch": (1,), "flag-loop-patch": (1, 9), "writers-flag-patch": (1,),
    "mixed-flag-patch": (1,), "bowed-flag-patch": (1,),
}
# Configurations whose 1s' flags are drawn otherwise than "narrow" (model.training.styles.FLAG_SPREADS).
FLAG_SPREAD = {"writers-flag-patch": "writers", "mixed-flag-patch": "mixed", "bowed-flag-patch": "bowed"}
# Configurations that continue the fold's `none` model (kept as none-K.pt in --rows) for --patch-epochs at
# --patch-lr, as a patch of the model in charge would be made; none-patch, without a style, is their control.
PATCHES = ("none-patch", "flag-patch", "flag-loop-patch", "writers-flag-patch", "mixed-flag-patch", "bowed-flag-patch")
PATCH_SETTINGS = ("patch_epochs", "patch_lr", "threads")
PATCH_SEED = 2  # the patches' renderings and order: not the fold model's (seed 1)


TRANSFORMS = {1: "flag (and foot) on 1s", 4: "open top on 4s", 7: "cross bar on 7s", 9: "small loop on 9s"}


def fold_of(writer: str, folds: int) -> int:
    """Return the fold of a writer: a hash of its name (another hash than the train/val/test split's)."""
    return int.from_bytes(hashlib.sha256(f"cv:{writer}".encode("utf-8")).digest()[:8], "big") % folds


def fold_keys(configuration: str, folds: int) -> list[str]:
    """Return the names under which a configuration's folds are kept."""
    return [f"{configuration}/{k}" for k in range(folds)]


MAX_FOLDS = 20


def settings_of(configuration: str, settings: dict) -> dict:
    """Return the settings a configuration's folds depend on: ``none`` and ``none-patch`` redraw nothing, so not
    the style share (their folds serve every --style-prob), only the patches the patch's schedule, and only those
    of FLAG_SPREAD their flags' spread and its constants."""
    unstyled = configuration in ("none", "none-patch")
    own = {key: value for key, value in settings.items()
           if not (unstyled and key == "style_prob") and (configuration in PATCHES or key not in PATCH_SETTINGS)}
    if configuration in FLAG_SPREAD:  # its flags' shape too: rows of another definition are not reused
        own.update(flags=FLAG_SPREAD[configuration], flag_reach=list(FLAG_REACH), flag_angle=list(FLAG_ANGLE),
                   flag_drop_max=FLAG_DROP_MAX)
        if FLAG_SPREAD[configuration] == "bowed":  # the only spread that curves its flags
            own.update(flag_bow=list(FLAG_BOW), flag_bow_max=FLAG_BOW_MAX)
    return own


def _count(item) -> bool:
    """Whether a kept figure is a whole number of at least 0 (JSON's true and false are not)."""
    return isinstance(item, int) and not isinstance(item, bool) and item >= 0


def load_folds(path: Path, configuration: str, settings: dict, fold_sizes: list[int]) -> dict:
    """Return the folds of one configuration kept in ``path`` (none if it does not exist yet); exits with one
    line naming the file if it holds other settings or anything but a reading of each of a fold's digits."""
    settings = settings_of(configuration, settings)
    kept = read_rows(path, {"settings": settings})
    if kept.get("settings") != settings:
        raise SystemExit(f"error: {path} holds folds of other settings ({kept.get('settings')}); remove it or "
                         "name another --rows")
    folds = {}
    for k, key in enumerate(fold_keys(configuration, len(fold_sizes))):
        if key not in kept:
            continue
        value = kept[key]
        read = value.get("read")
        if not (isinstance(read, list) and len(read) == fold_sizes[k]
                and all(_count(item) and item <= 9 for item in read)
                and _count(value.get("mnist")) and _count(value.get("seconds"))):
            raise SystemExit(f"error: {path}: fold {k} does not hold a reading of each of its digits (digits 0–9, "
                             "with its MNIST errors and seconds); remove the file to measure it afresh")
        folds[key] = value
    return folds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_short_schedule_options(parser)
    parser.add_argument("--folds", type=int, default=5, help=f"folds of writers (2 to {MAX_FOLDS})")
    parser.add_argument("--style-prob", type=float, default=0.6,
                        help="share of the configuration's digits redrawn in a style (every configuration but none)")
    parser.add_argument("--configurations", nargs="*", default=[n for n in CONFIGURATIONS if n not in PATCHES],
                        choices=list(CONFIGURATIONS),
                        help="the configurations to run now (none named: only write the section from --rows)")
    parser.add_argument("--patch-epochs", type=int, default=2, help="epochs of the patch configurations")
    parser.add_argument("--patch-lr", type=float, default=3e-4, help="peak learning rate of the patch configurations")
    parser.add_argument("--against", default="none", choices=("none", "none-patch"),
                        help="the reference: none for the configurations trained from --init, none-patch for the "
                             "patches (only the reference's kind is shown)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--rows", type=Path, default=Path("runs/writer-cv"),
                        help="folder where each configuration's folds are kept (so that processes can share the work)")
    parser.add_argument("--note", action="append", default=[], help="a line to add under the table (repeatable)")
    parser.add_argument("--section", default="writer-cv",
                        help="BENCHMARKS.md section to write (another name keeps the first one: another style share)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"writer-cv[a-z0-9-]{0,40}", args.section):
        parser.error("--section must be writer-cv or start with it (letters, digits and dashes)")
    if not 2 <= args.folds <= MAX_FOLDS:
        parser.error(f"--folds must be from 2 to {MAX_FOLDS}")
    if args.rows.exists() and not args.rows.is_dir():
        parser.error(f"--rows {args.rows} is a file; it names the folder that keeps each configuration's folds")
    torch.set_num_threads(max(1, args.threads))

    from model.storage.checkpoint import CheckpointError, ModelInfo, load_checkpoint, make_checkpoint, save_checkpoint
    from model.training.data import load_mnist, split_validation
    from model.training.evaluate import predict_labels
    from model.training.pen_data import pen_digit_set
    from model.training.train import stroke_augment_config
    from model.training.unipen import load_suspects, pen_digits

    writers = pen_digits(args.unipen_dir, "train") + pen_digits(args.unipen_dir, "val")
    fold = np.array([fold_of(d.writer, args.folds) for d in writers])
    suspects = load_suspects()
    mnist_training, mnist_validation = split_validation(load_mnist(args.mnist_dir, train=True), 5000, seed=1)
    base = short_schedule(args)
    settings = {"folds": args.folds, "epochs": args.epochs, "variants": args.variants,
                "mnist_per_epoch": args.mnist_per_epoch, "style_prob": args.style_prob, "init": str(args.init),
                "digits": len(writers), "patch_epochs": args.patch_epochs, "patch_lr": args.patch_lr,
                "threads": max(1, args.threads)}
    fold_sizes = np.bincount(fold, minlength=args.folds).tolist()
    rows = {}
    for name in CONFIGURATIONS:
        rows.update(load_folds(args.rows / f"{name}.json", name, settings, fold_sizes))
    initial = load_checkpoint(args.init) if args.configurations else None

    def fold_model(k: int, teach: list):
        """Return fold k's `none` model, the start of its patches: kept in --rows, trained once."""
        path = args.rows / f"none-{k}.pt"
        if not path.exists():
            network = train_short(base, teach, stroke_augment_config("all"), mnist_training, initial)
            save_checkpoint(make_checkpoint(network, initial.config, ModelInfo(notes={"fold": k, **settings_of(
                "none", settings)})), path)
        try:
            kept = load_checkpoint(path)
        except CheckpointError as error:
            raise SystemExit(f"error: {error} Remove it to train the fold model afresh.") from None
        if kept.info.notes != {"fold": k, **settings_of("none", settings)}:
            raise SystemExit(f"error: {path} is a fold model of other settings; remove it or name another --rows")
        return kept
    for name in args.configurations:
        for k in range(args.folds):
            key = f"{name}/{k}"
            if key in rows:
                continue  # done by an earlier run
            started = time.perf_counter()
            teach = [d for d, f in zip(writers, fold) if f != k and (d.file, d.line) not in suspects]
            check = [d for d, f in zip(writers, fold) if f == k]
            augment = stroke_augment_config("all", args.style_prob, CONFIGURATIONS[name],  # none: no digit redrawn
                                            FLAG_SPREAD.get(name, "narrow"))
            if name in PATCHES:
                start = fold_model(k, teach)
                started = time.perf_counter()  # the patch's own time, not the fold model's
                network = train_short(replace(base, epochs=args.patch_epochs, max_lr=args.patch_lr, seed=PATCH_SEED,
                                              pen_repeat=2), teach, augment, mnist_training, start)
            else:
                network = train_short(base, teach, augment, mnist_training, initial)
            read = predict_labels(network, pen_digit_set(check)).numpy()
            mnist_wrong = int((predict_labels(network, mnist_validation) != mnist_validation.labels).sum())
            rows[key] = {"read": read.tolist(), "mnist": mnist_wrong, "seconds": round(time.perf_counter() - started)}
            mine = {"settings": settings_of(name, settings),
                    **{key: rows[key] for key in fold_keys(name, args.folds) if key in rows}}
            atomic_write_bytes(args.rows / f"{name}.json", json.dumps(mine).encode("utf-8"))  # never half written
            print(key, f"{int((read != np.array([d.label for d in check])).sum())} of {len(check)} wrong,",
                  f"MNIST {mnist_wrong}, {rows[key]['seconds']} s", flush=True)

    for name in CONFIGURATIONS:  # the other processes' folds, as they are now
        rows.update(load_folds(args.rows / f"{name}.json", name, settings, fold_sizes))
    reference = args.against
    kind = [name for name in CONFIGURATIONS if (name in PATCHES) == (reference in PATCHES)]  # shown together
    done = [name for name in kind if all(key in rows for key in fold_keys(name, args.folds))]
    if reference not in done or len(done) < 2:
        missing = [key for name in kind for key in fold_keys(name, args.folds) if key not in rows]
        print(f"folds so far in {args.rows}; the section is written once {reference} and another configuration "
              f"have every fold (missing: {missing})" + ("" if reference in PATCHES else
                                                          "; the patches are shown with --against none-patch"))
        return 0
    done = [reference, *[name for name in done if name != reference]]
    labels = np.array([d.label for d in writers])
    order = np.concatenate([np.flatnonzero(fold == k) for k in range(args.folds)])  # the rows' digit order
    right = {}
    for name in done:
        read = np.empty(len(writers), dtype=np.int64)
        read[order] = np.concatenate([rows[f"{name}/{k}"]["read"] for k in range(args.folds)])
        right[name] = read == labels
    groups = {style.title: style.among(writers) for style in STYLES}
    groups["rest of 1, 4, 7, 9"], groups["0, 2, 3, 5, 6, 8"] = rest_and_untouched(labels, groups)
    groups = {"every digit": np.ones(len(writers), dtype=bool), **groups}
    names = np.array([d.writer for d in writers])
    table = []
    for title, mask in groups.items():
        who = sorted(set(names[mask]))
        none = right[reference][mask]
        cells = [title, f"{int(mask.sum()):,} ({len(who)})", f"{int((~none).sum())} ({1 - none.mean():.2%})"]
        for name in done[1:]:
            other = right[name][mask]
            fixed, broken = int((~none & other).sum()), int((none & ~other).sum())
            per_writer = [(right[name][mask & (names == w)].sum(), right[reference][mask & (names == w)].sum())
                          for w in who]
            better, worse = sum(a > b for a, b in per_writer), sum(a < b for a, b in per_writer)
            cells.append(f"{int((~other).sum())} ({1 - other.mean():.2%}); +{fixed} −{broken}, "
                         f"p = {mcnemar_p(fixed, broken):.3f}; writers {better} / {worse}")
        table.append(cells)
    mnist = {name: [rows[f"{name}/{k}"]["mnist"] for k in range(args.folds)] for name in done}
    threads = "one thread" if settings["threads"] == 1 else f"{settings['threads']} threads"
    described = "; ".join(f"`{name}`: " + (", ".join(TRANSFORMS[d] for d in CONFIGURATIONS[name]) or "no style")
                          + (f" (the flags drawn `{FLAG_SPREAD[name]}`, model.training.styles.FLAG_SPREADS)"
                             if name in FLAG_SPREAD else "") for name in done)
    body = [f"{len(set(names))} writers (UNIPEN's training and validation writers, {len(writers):,} digits) dealt "
            f"into {args.folds} folds by writer; for each fold each configuration continues `{args.init}` for "
            f"{args.epochs} epochs ({args.mnist_per_epoch:,} MNIST digits and the other folds' pen digits per "
            f"epoch, {args.variants} rendered variants each, seed 1; listed suspects left out of training) and "
            f"reads the fold's digits, every segment as labelled. Configurations ({args.style_prob:.0%} of the "
            f"digits named redrawn in a writer's continental style): {described}."
            + (f" The patches (`{'`, `'.join(n for n in done if n in PATCHES)}`) continue instead the fold's `none` "
               f"model for {args.patch_epochs} epochs at a peak rate of {args.patch_lr:g} on the same writers, each "
               f"pen digit twice an epoch in renderings of another seed, as a patch of the model in charge would be "
               f"made; `none-patch` is their control."
               if reference in PATCHES else "")
            + f" Groups: benchmarks/styles.py's rules on the real strokes. Cells: digits read wrong (error rate); "
            f"against `{reference}`: the digits fixed and broken, McNemar's exact p, and the writers read better / "
            "worse.", "",
            *markdown_table(["digits", "digits (writers)", f"{reference}: wrong",
                             *[f"{name}: wrong; against {reference}" for name in done[1:]]], table),
            "", "MNIST validation (5,000 digits), wrong per fold's model: "
                + "; ".join(f"{name} {mnist[name]} (mean {np.mean(mnist[name]):.1f})" for name in done) + ".",
            f"Time per fold and configuration ({threads}"
            + ("; a patch's own, without its fold model's" if reference in PATCHES else "") + "): "
            f"{int(np.median([rows[f'{n}/{k}']['seconds'] for n in done for k in range(args.folds)]))} s median "
            f"(the section is written from the folds kept in {args.rows}). A 1 with flag and foot counts in both "
            "1 rows.", *(["", *[f"- {note}" for note in args.note]] if args.note else [])]
    title = "Style recipe by writer-level cross-validation (issue 19)"
    if reference in PATCHES:
        title += f": a patch of the model in charge, {args.style_prob:.0%} of the digits redrawn"
        if done != ["none-patch", "flag-patch"]:  # another comparison than the first: its own heading and anchor
            title += f" ({', '.join(done[1:])})"
    elif args.section != "writer-cv":
        title += f": {args.style_prob:.0%} of the digits redrawn"
    publish(args.section, title, body, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
