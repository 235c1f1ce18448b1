"""The personal sample store: nothing saved is ever lost, bad input changes nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from model.recognition.preprocess import NothingDrawnError
from model.storage.samples import SampleStore, SampleStoreError, make_sample
from model.training.synthetic import STANDARD, jitter

REPO = Path(__file__).resolve().parents[1]


def drawing(digit: int, seed: int = 0):
    return jitter(STANDARD[digit], np.random.default_rng(seed))


@pytest.fixture
def store(tmp_path):
    opened = SampleStore(tmp_path / "samples.db")
    yield opened
    opened.close()


def test_a_sample_keeps_strokes_picture_label_prediction_and_model(store):
    strokes = drawing(7)
    sample = store.add(make_sample(7, strokes, predicted=1, probabilities=[0.1] * 10, model_version="0123456789"))
    loaded = store.get(sample.id)
    assert loaded.label == 7 and loaded.predicted == 1 and loaded.model_version == "0123456789"
    assert loaded.probabilities == [0.1] * 10
    assert len(loaded.strokes) == len(strokes)
    assert loaded.strokes[0][0] == pytest.approx(strokes[0][0])
    assert len(loaded.strokes[0][0]) == 4  # x, y, pressure, time
    assert np.abs(loaded.image - sample.image).max() <= 1 / 255
    assert loaded.created and loaded.uid


def test_empty_strokes_and_bad_labels_are_refused(store):
    with pytest.raises(NothingDrawnError):
        make_sample(3, [])
    with pytest.raises(ValueError):
        make_sample(10, drawing(1))
    assert store.count() == 0


def test_counts_relabel_delete_and_undo(store):
    ids = [store.add(make_sample(d, drawing(d, s))).id for d in (1, 1, 7) for s in range(2)]
    assert store.counts_by_label()[1] == 4 and store.counts_by_label()[7] == 2
    store.relabel(ids[0], 9)
    assert store.get(ids[0]).label == 9
    removed = store.delete(ids[1])
    assert store.get(ids[1]) is None and store.count() == 5
    store.add(removed)  # undo
    assert store.get(ids[1]).label == 1 and store.count() == 6
    assert [s.label for s in store.samples(7)] == [7, 7]


def test_the_store_persists_across_reopening(tmp_path):
    first = SampleStore(tmp_path / "samples.db")
    first.add(make_sample(4, drawing(4)))
    first.close()
    second = SampleStore(tmp_path / "samples.db")
    assert second.count() == 1 and second.samples()[0].label == 4
    assert second.recovery_message == ""
    second.close()


def test_export_and_import_round_trip_without_duplicates(store, tmp_path):
    for digit in range(5):
        store.add(make_sample(digit, drawing(digit)))
    exported = tmp_path / "mine.json"
    assert store.export_to(exported) == 5
    other = SampleStore(tmp_path / "other.db")
    assert other.import_from(exported) == 5
    assert other.import_from(exported) == 0  # already there
    assert sorted(s.label for s in other.samples()) == list(range(5))
    assert {s.uid for s in other.samples()} == {s.uid for s in store.samples()}
    other.close()


@pytest.mark.parametrize("content", ["not json", json.dumps({"format": "other"}),
                                     json.dumps({"format": "hwr-samples", "version": 1,
                                                 "samples": [{"label": 3, "strokes": [[[0, 0], [5, 5]]],
                                                              "uid": "a", "created": "x"},
                                                             {"label": 99, "strokes": [], "uid": "b"}]})])
def test_a_bad_import_file_changes_nothing(store, tmp_path, content):
    store.add(make_sample(2, drawing(2)))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(SampleStoreError):
        store.import_from(bad)
    assert store.count() == 1


def test_a_damaged_database_is_moved_aside_and_a_new_one_started(tmp_path):
    path = tmp_path / "samples.db"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    store = SampleStore(path)
    assert "moved" in store.recovery_message
    assert list(tmp_path.glob("samples.db.damaged-*"))
    store.add(make_sample(1, drawing(1)))
    assert store.count() == 1
    store.close()


def test_the_store_survives_a_kill_in_the_middle_of_writing(tmp_path):
    """A writer killed with SIGKILL mid-stream loses nothing it committed and corrupts nothing."""
    path = tmp_path / "samples.db"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy as np
        from model.storage.samples import SampleStore, make_sample
        from model.training.synthetic import STANDARD, jitter
        store = SampleStore({str(path)!r})
        rng = np.random.default_rng(0)
        strokes = jitter(STANDARD[8], rng)
        n = 0
        while True:
            store.add(make_sample(n % 10, strokes))
            n += 1
            print(n, flush=True)
    """)
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    committed = 0
    for line in writer.stdout:
        committed = int(line)
        if committed >= 40:
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    store = SampleStore(path)
    assert store.recovery_message == ""
    assert store.count() >= committed  # every sample reported as saved is there
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    labels = [s.label for s in store.samples()]
    assert labels == [n % 10 for n in range(len(labels))]
    store.close()


def test_undoing_a_delete_gets_the_old_id_back_even_after_new_samples(store):
    ids = [store.add(make_sample(d, drawing(d))).id for d in (1, 2, 3)]
    removed = store.delete(ids[-1])
    newer = store.add(make_sample(4, drawing(4)))
    assert newer.id not in ids  # ids are never reused
    assert store.add(removed).id == ids[-1]
    assert sorted(s.label for s in store.samples()) == [1, 2, 3, 4]


def test_a_database_that_cannot_be_opened_is_not_mistaken_for_damage(tmp_path):
    blocked = tmp_path / "samples.db"
    blocked.mkdir()  # a folder where the file should be: SQLite cannot open it
    with pytest.raises(SampleStoreError, match="Cannot open"):
        SampleStore(blocked)
    assert blocked.is_dir() and not list(tmp_path.glob("*.damaged-*"))


def _crafted_rows(path: Path, good_sample) -> dict[str, int]:
    """Append rows another program could have written to the store at ``path``; return their ids."""
    good = json.dumps([[list(p[:2]) for p in stroke] for stroke in good_sample.strokes])
    image = bytes(28 * 28)
    rows = {  # name: (label, predicted, probabilities, strokes, image, number)
        "label 5.5": (5.5, None, None, good, image, None),
        "strokes not JSON": (3, None, None, "[[1, 2", image, None),
        "strokes NaN": (3, None, None, "[[[NaN, 1], [2, 3]]]", image, None),
        "strokes far away": (3, None, None, "[[[1e300, 1], [2, 3]]]", image, None),
        "strokes too large": (3, None, None, "[[" + ",".join(["[1, 2]"] * 600_000) + "]]", image, None),
        "number not digits": (3, None, None, good, image, "12a"),
        "predicted 77": (4, 77, None, good, image, None),
        "number in other digits": (3, None, None, good, image, "١٢٣"),
        # usable: a picture of the wrong size is drawn again, nonsense probabilities dropped
        "bad picture, bad probabilities": (6, 6, "[1, 2, 3]", good, b"\x00\x01", None),
        "probabilities of booleans": (3, None, "[true" + ", 0" * 9 + "]", good, image, None),
    }
    connection = sqlite3.connect(path)  # (a row breaking the table's CHECKs makes the whole file "damaged":
    # moved aside and a new store started, tested elsewhere; these rows pass them)
    ids = {}
    for n, (name, (label, predicted, probabilities, strokes, image, number)) in enumerate(rows.items()):
        cursor = connection.execute(
            "INSERT INTO samples (uid, created, label, predicted, probabilities, model_version, strokes, image, "
            "preprocess_version, number) VALUES (?, '2026-01-01T00:00:00+00:00', ?, ?, ?, '', ?, ?, 1, ?)",
            (f"crafted-{n}", label, predicted, probabilities, strokes, image, number))
        ids[name] = cursor.lastrowid
    # text that is not UTF-8 (made by SQL, as another program could): it must not stop the others
    cursor = connection.execute(
        "INSERT INTO samples (uid, created, label, strokes, image, preprocess_version) "
        "VALUES ('crafted-utf8', '2026-01-01', 3, CAST(x'5b5bff5d5d' AS TEXT), x'00', 1)")
    ids["strokes not UTF-8"] = cursor.lastrowid
    cursor = connection.execute(
        "INSERT INTO samples (uid, created, label, strokes, image, preprocess_version) "
        "VALUES (CAST(x'ff' AS TEXT), '2026-01-01', 3, ?, x'00', 1)", (good,))
    ids["uid not UTF-8"] = cursor.lastrowid
    cursor = connection.execute(
        "INSERT INTO samples (uid, created, label, strokes, image, preprocess_version) "
        "VALUES ('a uid with spaces', '2026-01-01', 3, ?, x'00', 1)", (good,))
    ids["uid with spaces"] = cursor.lastrowid
    connection.commit()
    connection.close()
    return ids


def test_rows_edited_or_crafted_in_the_file_are_left_out_with_a_message_and_left_as_they_are(tmp_path):
    from model.storage.samples import read_training_set

    path = tmp_path / "samples.db"
    store = SampleStore(path)
    good = store.add(make_sample(2, drawing(2)))
    store.close()
    ids = _crafted_rows(path, good)
    before = path.read_bytes()

    store = SampleStore(path)
    samples = store.samples()
    read = {sample.id for sample in samples}
    usable = {ids["bad picture, bad probabilities"], ids["probabilities of booleans"]}
    assert read == {good.id} | usable  # every crafted row but the usable ones is left out
    assert all(s.probabilities is None for s in samples if s.id in usable)
    redrawn = next(s for s in samples if s.id == ids["bad picture, bad probabilities"])
    assert redrawn.image.shape == (28, 28) and redrawn.image.max() == 1.0  # drawn again from its strokes
    messages = store.take_messages()
    assert len(messages) == len(ids) - len(usable) and store.take_messages() == []
    for name, sample_id in ids.items():
        if sample_id not in usable:
            mine = [m for m in messages if f"sample {sample_id} was left out" in m]
            assert len(mine) == 1 and str(path) in mine[0], name
    assert '"label" is 5.5' in next(m for m in messages if f"sample {ids['label 5.5']} " in m)
    assert "the limit is" in next(m for m in messages if f"sample {ids['strokes too large']} " in m)
    counts = store.counts_by_label()
    # counted: the rows whose label is a digit (label 5.5 is not), whatever else is wrong with them
    assert sorted(counts) == list(range(10)) and sum(counts.values()) == store.count() == 1 + len(ids) - 1
    assert store.get(ids["label 5.5"]) is None and store.get(good.id) is not None
    store.close()

    problems: list[str] = []
    images, labels, uids = read_training_set(path, problems=problems)
    assert len(images) == len(labels) == len(uids)
    assert set(labels) <= set(range(10)) and "crafted-0" not in uids and good.uid in uids
    assert any(f"sample {ids['strokes NaN']} was left out" in p for p in problems)
    assert path.read_bytes() == before  # nothing was changed or deleted in the file


def test_a_row_with_odd_metadata_keeps_its_drawing_and_exports_to_a_file_that_imports(tmp_path):
    path = tmp_path / "samples.db"
    store = SampleStore(path)
    good = store.add(make_sample(2, drawing(2)))
    store.close()
    strokes = json.dumps([[list(p[:2]) for p in stroke] for stroke in good.strokes])
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO samples (uid, created, label, strokes, image, model_version, preprocess_version) "
                       "VALUES ('odd', '0001-01-01T00:00:00+14:00', 5, ?, x'00', 'hello', 1)", (strokes,))
    connection.execute("INSERT INTO samples (uid, created, label, strokes, image, model_version, preprocess_version) "
                       "VALUES ('when', 'today', 5, ?, x'00', '', 1)", (strokes,))
    connection.commit()
    connection.close()
    store = SampleStore(path)
    odd = {s.uid: s for s in store.samples()}
    assert set(odd) == {good.uid, "odd", "when"} and store.take_messages() == []
    assert odd["odd"].model_version == "" and odd["when"].created == ""  # metadata dropped, not the sample
    export = tmp_path / "export.json"
    assert store.export_to(export) == 3
    other = SampleStore(tmp_path / "other.db")
    assert other.import_from(export) == 3  # what the store reads, an export file holds
