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

from model.preprocess import NothingDrawnError
from model.samples import SampleStore, SampleStoreError, make_sample
from model.synthetic import STANDARD, jitter

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
    sample = store.add(make_sample(7, strokes, predicted=1, probabilities=[0.1] * 10, model_version="abc"))
    loaded = store.get(sample.id)
    assert loaded.label == 7 and loaded.predicted == 1 and loaded.model_version == "abc"
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
        from model.samples import SampleStore, make_sample
        from model.synthetic import STANDARD, jitter
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
