"""benchmarks/writer_cv.py: every writer in exactly one fold, the pooled table counts what each fold read, and a
rows file that is not its own stops the benchmark in one line naming the file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.writer_cv import CONFIGURATIONS, PATCHES, fold_of, main, settings_of
from model.training.unipen import pen_digits

FOLDS = 2


@pytest.fixture(scope="module")
def writers(unipen_dir):
    return pen_digits(unipen_dir, "train") + pen_digits(unipen_dir, "val")


def test_every_writer_is_in_one_fold_and_every_fold_is_used(writers):
    names = sorted({d.writer for d in writers})
    folds = [fold_of(name, 5) for name in names]
    # fixed by the writer's name alone, so every run and machine deals the same folds (the section's figures)
    assert [fold_of(name, 5) for name in ("apa/BeckyHammaker", "ibm/r03-15", "val/val02")] == [3, 0, 0]
    counts = np.bincount(folds, minlength=5)
    assert counts.min() >= len(names) / 5 / 2  # no fold nearly empty (211 writers: 42 expected)


def settings(unipen_dir, rows, writers) -> dict:
    return {"folds": FOLDS, "epochs": 2, "variants": 4, "mnist_per_epoch": 10_000, "style_prob": 0.6,
            "init": str(rows / "start.pt"), "digits": len(writers), "patch_epochs": 2, "patch_lr": 3e-4, "threads": 1}


def write_rows(rows, name, content: dict) -> None:
    """Write a configuration's file as the benchmark does: none's settings leave out the style share."""
    if "settings" in content:
        content = {**content, "settings": settings_of(name, content["settings"])}
    rows.mkdir(exist_ok=True)
    (rows / f"{name}.json").write_text(json.dumps(content))


def run(mnist_dir, unipen_dir, rows) -> None:
    main(["--init", str(rows / "start.pt"), "--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir),
          "--folds", str(FOLDS), "--rows", str(rows), "--configurations", "--no-write"])


def test_the_table_pools_each_folds_readings(mnist_dir, unipen_dir, writers, tmp_path, capsys):
    rows = tmp_path / "cv"
    labels = np.array([d.label for d in writers])
    fold = np.array([fold_of(d.writer, FOLDS) for d in writers])
    read = {}
    for name in CONFIGURATIONS:
        read[name] = [labels[fold == k].copy() for k in range(FOLDS)]
    read["none"][0][:3] = (read["none"][0][:3] + 1) % 10  # none: 3 wrong in fold 0
    read["styles"][0][0] = (read["styles"][0][0] + 1) % 10  # styles: the first of them wrong too ...
    read["styles"][1][5] = (read["styles"][1][5] + 1) % 10  # ... and one of fold 1 that none reads right
    for name in CONFIGURATIONS:
        write_rows(rows, name, {"settings": settings(unipen_dir, rows, writers),
                                **{f"{name}/{k}": {"read": read[name][k].tolist(), "mnist": 10 + k, "seconds": 60}
                                   for k in range(FOLDS)}})
    run(mnist_dir, unipen_dir, rows)
    printed = capsys.readouterr().out
    every = next(line for line in printed.splitlines() if line.startswith("| every digit"))
    assert f"| {len(writers):,} (211) | 3 (" in every and "| 2 (" in every
    assert "+2 −1" in every  # fixed two of none's three, broke one
    assert "none [10, 11] (mean 10.5); styles [10, 11] (mean 10.5)" in printed


def test_the_folds_of_none_serve_every_style_share(mnist_dir, unipen_dir, writers, tmp_path, capsys):
    rows = tmp_path / "cv"
    folds_of_none()(rows, settings(unipen_dir, rows, writers), writers)
    main(["--init", str(rows / "start.pt"), "--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir),
          "--folds", str(FOLDS), "--rows", str(rows), "--configurations", "--no-write", "--style-prob", "0.3"])
    missing = capsys.readouterr().out.split("missing")[1]
    assert "none/0" not in missing and "flag/0" in missing


def test_until_every_fold_is_there_no_table_is_written(mnist_dir, unipen_dir, writers, tmp_path, capsys):
    rows = tmp_path / "cv"
    write_rows(rows, "none", {"settings": settings(unipen_dir, rows, writers)})
    run(mnist_dir, unipen_dir, rows)
    printed = capsys.readouterr().out
    assert "missing" in printed and "| every digit" not in printed


def folds_of_none(change=lambda entry: None):
    """Damage: a none.json holding each fold with one reading per digit, fold 1 then changed by ``change``."""
    def damage(rows, s, writers):
        sizes = np.bincount([fold_of(d.writer, FOLDS) for d in writers], minlength=FOLDS)
        entries = {f"none/{k}": {"read": [1] * int(size), "mnist": 3, "seconds": 60} for k, size in enumerate(sizes)}
        change(entries["none/1"])
        write_rows(rows, "none", {"settings": s, **entries})
    return damage


def other_settings(rows, s, writers):
    write_rows(rows, "none", {"settings": {**s, "folds": 3}})


def not_json(rows, s, writers):
    rows.mkdir()
    (rows / "none.json").write_text("[1, 2")


READING = "does not hold a reading of each of its digits"


@pytest.mark.parametrize("damage, words", [
    (other_settings, "other settings"),
    (not_json, "not JSON"),
    (folds_of_none(lambda e: e.update(read=e["read"][:2])), READING),  # too short
    (folds_of_none(lambda e: e["read"].__setitem__(0, "7")), READING),  # not a number
    (folds_of_none(lambda e: e["read"].__setitem__(0, 10)), READING),  # not a digit
    (folds_of_none(lambda e: e["read"].__setitem__(0, True)), READING),  # a boolean is not a digit
    (folds_of_none(lambda e: e.pop("mnist")), READING),
    (folds_of_none(lambda e: e.update(seconds=-1)), READING),
])
def test_a_rows_file_that_is_not_its_own_stops_it_naming_the_file(mnist_dir, unipen_dir, writers, tmp_path, damage,
                                                                  words):
    rows = tmp_path / "cv"
    damage(rows, settings(unipen_dir, rows, writers), writers)
    with pytest.raises(SystemExit) as stopped:
        run(mnist_dir, unipen_dir, rows)
    assert words in str(stopped.value) and str(rows / "none.json") in str(stopped.value)


def test_well_formed_folds_are_kept_as_done(mnist_dir, unipen_dir, writers, tmp_path, capsys):
    rows = tmp_path / "cv"
    folds_of_none()(rows, settings(unipen_dir, rows, writers), writers)
    run(mnist_dir, unipen_dir, rows)
    printed = capsys.readouterr().out
    assert "missing" in printed and "none/0" not in printed.split("missing")[1]  # none's folds are there


def test_rows_that_name_a_file_are_a_usage_error(mnist_dir, unipen_dir, tmp_path, capsys):
    rows = tmp_path / "cv"
    rows.write_text("")
    with pytest.raises(SystemExit) as stopped:
        run(mnist_dir, unipen_dir, rows)
    assert stopped.value.code == 2 and "is a file" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["other", "writer-cv -->", "writer-cv\nx"])
def test_a_section_name_that_could_break_benchmarks_md_is_a_usage_error(name, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--init", str(tmp_path / "start.pt"), "--rows", str(tmp_path / "cv"), "--section", name])
    assert stopped.value.code == 2 and "--section" in capsys.readouterr().err


def test_each_configuration_depends_on_its_own_settings_only():
    everything = {"epochs": 3, "style_prob": 0.3, "patch_epochs": 2, "patch_lr": 3e-4, "threads": 2}
    assert settings_of("none", everything) == {"epochs": 3}  # folds kept before the patches existed still count
    assert settings_of("flag", everything) == {"epochs": 3, "style_prob": 0.3}
    assert settings_of("none-patch", everything) == {"epochs": 3, "patch_epochs": 2, "patch_lr": 3e-4, "threads": 2}
    assert settings_of("flag-patch", everything) == everything
    assert settings_of("flag-loop-patch", everything) == everything
    from model.training.styles import FLAG_DROP_MAX

    spreads = (("writers-flag-patch", "writers"), ("mixed-flag-patch", "mixed"), ("bowed-flag-patch", "bowed"))
    for name, flags in spreads:
        own = settings_of(name, everything)  # and the flags' definition: rows of another one are not reused
        assert own["flags"] == flags and own["flag_drop_max"] == FLAG_DROP_MAX
        assert {key: own[key] for key in everything} == everything
        assert ("flag_bow" in own) == (flags == "bowed")  # a bow of another size would be another recipe
    from model.training.styles import FLAG_BOW, FLAG_BOW_MAX

    own = settings_of("bowed-flag-patch", everything)
    assert own["flag_bow"] == list(FLAG_BOW) and own["flag_bow_max"] == FLAG_BOW_MAX


def test_patches_are_compared_with_their_control(mnist_dir, unipen_dir, writers, tmp_path, capsys):
    rows = tmp_path / "cv"
    labels = np.array([d.label for d in writers])
    fold = np.array([fold_of(d.writer, FOLDS) for d in writers])
    read = {name: [labels[fold == k].copy() for k in range(FOLDS)] for name in PATCHES}
    read["none-patch"][0][:4] = (read["none-patch"][0][:4] + 1) % 10  # the control: 4 wrong
    read["flag-patch"][0][:2] = (read["flag-patch"][0][:2] + 1) % 10  # the flag patch: 2 of them
    for name in PATCHES:
        write_rows(rows, name, {"settings": settings(unipen_dir, rows, writers),
                                **{f"{name}/{k}": {"read": read[name][k].tolist(), "mnist": 12, "seconds": 60}
                                   for k in range(FOLDS)}})
    main(["--init", str(rows / "start.pt"), "--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir),
          "--folds", str(FOLDS), "--rows", str(rows), "--configurations", "--no-write", "--against", "none-patch"])
    printed = capsys.readouterr().out
    assert "| none-patch: wrong | flag-patch: wrong; against none-patch |" in printed
    every = next(line for line in printed.splitlines() if line.startswith("| every digit"))
    assert "| 4 (" in every and "| 2 (" in every and "+2 −0" in every
    assert "a patch of the model in charge" in printed and "continue instead the fold's `none` model" in printed
    assert ("digits redrawn (flag-patch, flag-loop-patch, writers-flag-patch, mixed-flag-patch, bowed-flag-patch)"
            in printed)  # not the first heading
    assert "`writers-flag-patch`: flag (and foot) on 1s (the flags drawn `writers`" in printed
    assert "`bowed-flag-patch`: flag (and foot) on 1s (the flags drawn `bowed`" in printed


def fold_model_notes(unipen_dir, rows, writers, fold: int) -> dict:
    """The notes a fold model of ``settings`` carries (the patches' defaults: epochs 2, variants 4, 10,000)."""
    return {"fold": fold, **settings_of("none", settings(unipen_dir, rows, writers))}


@pytest.mark.parametrize("notes, words", [
    (lambda right: {**right, "epochs": 99}, "fold model of other settings"),
    (lambda right: {**right, "fold": 1}, "fold model of other settings"),  # another fold's model
    (None, "damaged or not a model file"),
])
def test_a_fold_model_that_is_not_this_folds_stops_the_patches_naming_it(mnist_dir, unipen_dir, shipped_checkpoint,
                                                                          writers, tmp_path, notes, words):
    from dataclasses import replace

    from model.storage.checkpoint import Checkpoint, save_checkpoint

    rows = tmp_path / "cv"
    rows.mkdir()
    save_checkpoint(shipped_checkpoint, rows / "start.pt")
    if notes is None:
        (rows / "none-0.pt").write_bytes(b"PK\x03\x04 not a whole archive")
    else:
        kept = replace(shipped_checkpoint.info, notes=notes(fold_model_notes(unipen_dir, rows, writers, 0)))
        save_checkpoint(Checkpoint(shipped_checkpoint.config, shipped_checkpoint.state_dict, kept), rows / "none-0.pt")
    with pytest.raises(SystemExit) as stopped:
        main(["--init", str(rows / "start.pt"), "--mnist-dir", str(mnist_dir), "--unipen-dir", str(unipen_dir),
              "--folds", str(FOLDS), "--rows", str(rows), "--configurations", "flag-patch", "--no-write",
              "--epochs", "2", "--mnist-per-epoch", "10000"])
    assert words in str(stopped.value) and str(rows / "none-0.pt") in str(stopped.value)
    assert "\n" not in str(stopped.value)


def test_patches_are_not_shown_against_none(mnist_dir, unipen_dir, writers, tmp_path, capsys):
    rows = tmp_path / "cv"
    labels = np.array([d.label for d in writers])
    fold = np.array([fold_of(d.writer, FOLDS) for d in writers])
    for name in ("none", "flag", *PATCHES):
        write_rows(rows, name, {"settings": settings(unipen_dir, rows, writers),
                                **{f"{name}/{k}": {"read": labels[fold == k].tolist(), "mnist": 12, "seconds": 60}
                                   for k in range(FOLDS)}})
    run(mnist_dir, unipen_dir, rows)
    printed = capsys.readouterr().out
    assert "| none: wrong | flag: wrong; against none |" in printed
    assert "none-patch" not in printed and "flag-patch" not in printed and "a patch of the model" not in printed
