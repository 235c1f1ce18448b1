"""The user's data folder against crafted neighbours (stop 23's attack review): links that lead out of it,
files beside the store that never end, a database that runs its own statements or stores samples without an
id, a settings file of gigabytes, an export whose points would take gigabytes once parsed, and an export
cut short by a full disk. Each is refused or set aside with one message naming the file, and nothing outside
the folder is read for ever, written or deleted."""

from __future__ import annotations

import os
import re
import sqlite3
import threading

import numpy as np
import pytest

from model.assets import default_weights_path
from model.constants import SHIPPED
from model.files import limits
from model.storage import samples as samples_module
from model.storage.samples import SampleStore, SampleStoreError, make_sample, read_export
from model.storage.versions import ModelRegistry
from model.training.synthetic import STANDARD, jitter
from tests.versions_helpers import fine_tuned_version


def opens_within(seconds: float, path) -> None:
    """Open and close the store on a thread; fail (rather than hang the suite) if that takes longer than
    ``seconds``; an error opening it is raised here."""
    result: list = []

    def opening() -> None:
        try:
            SampleStore(path).close()
            result.append(None)
        except BaseException as error:  # raised again on the test's thread
            result.append(error)

    thread = threading.Thread(target=opening, daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"opening {path} did not finish within {seconds} s"
    if result[0] is not None:
        raise result[0]


@pytest.mark.parametrize("kind", ["pipe", "endless device"])
def test_a_log_record_that_never_ends_does_not_stop_the_store_opening(tmp_path, kind):
    """A named pipe made the window wait for ever; a link to /dev/zero read until memory ran out."""
    path = tmp_path / "samples.db"
    SampleStore(path).close()
    record = tmp_path / ".samples.db.wal-id"
    record.unlink(missing_ok=True)
    if kind == "pipe":
        os.mkfifo(record)
    else:
        record.symlink_to("/dev/zero")
    opens_within(10, path)
    store = SampleStore(path)
    store.add(make_sample(3, jitter(STANDARD[3], np.random.default_rng(0))))
    assert store.count() == 1
    store.close()


def sqlite_file(path, *statements: str) -> bytes:
    """Run ``statements`` on the SQLite file at ``path`` (made if absent) as another program would; return its
    bytes."""
    connection = sqlite3.connect(path)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return path.read_bytes()


def crafted(path, statements: list[str]) -> bytes:
    """Make a store as hwr does, run ``statements`` on it, and return its bytes."""
    store = SampleStore(path)
    store.add(make_sample(5, jitter(STANDARD[5], np.random.default_rng(1))))
    store.close()
    return sqlite_file(path, *statements)


@pytest.mark.parametrize("statement, named", [
    ("CREATE TRIGGER forever AFTER UPDATE ON store_log BEGIN "
     "SELECT count(*) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n); END",
     "trigger ('forever')"),
    ("CREATE VIEW everything AS SELECT * FROM samples", "view ('everything')"),
])
def test_a_database_with_statements_of_its_own_is_refused_and_left_as_it_is(tmp_path, statement, named):
    """A 24 KB store with a trigger on the row hwr rewrites at every opening hung the start for ever."""
    path = tmp_path / "samples.db"
    before = crafted(path, [statement])
    refused = f"samples.db was made by another version of hwr.*{re.escape(named)}, which hwr never makes"
    with pytest.raises(SampleStoreError, match=refused):
        opens_within(10, path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("table", [
    "CREATE TABLE samples (id INTEGER PRIMARY KEY DESC, {rest})",  # an integer key that is not the row id
    "CREATE TABLE samples (id INTEGER PRIMARY KEY, {rest}) WITHOUT ROWID",
])
def test_a_samples_table_whose_id_is_not_the_row_id_is_refused(tmp_path, table):
    """Such a table stored new samples with no id (never shown, never learnt from), and undoing a save then
    deleted another sample; WITHOUT ROWID made every save fail with a Python error."""
    path = tmp_path / "samples.db"
    rest = ("uid TEXT UNIQUE NOT NULL, created TEXT NOT NULL, label INTEGER NOT NULL, predicted INTEGER, "
            "probabilities TEXT, model_version TEXT NOT NULL DEFAULT '', strokes TEXT NOT NULL, image BLOB NOT NULL, "
            "preprocess_version INTEGER NOT NULL, number TEXT")
    before = sqlite_file(path, table.format(rest=rest))
    with pytest.raises(SampleStoreError, match="not keyed by a whole-number id"):
        SampleStore(path)
    assert path.read_bytes() == before


def test_the_same_key_written_as_a_table_rule_is_the_row_id_and_is_accepted(tmp_path):
    """SQLite's own exception: PRIMARY KEY (id DESC) as a table rule is the row id; such a store works."""
    path = tmp_path / "samples.db"
    sqlite_file(path, "CREATE TABLE samples (id INTEGER, uid TEXT UNIQUE NOT NULL, created TEXT NOT NULL, "
                      "label INTEGER NOT NULL, predicted INTEGER, probabilities TEXT, model_version TEXT NOT NULL "
                      "DEFAULT '', strokes TEXT NOT NULL, image BLOB NOT NULL, preprocess_version INTEGER NOT NULL, "
                      "PRIMARY KEY (id DESC))")
    store = SampleStore(path)
    saved = store.add(make_sample(8, jitter(STANDARD[8], np.random.default_rng(2))))
    assert saved.id is not None and store.get(saved.id).label == 8
    store.close()


@pytest.mark.parametrize("part", ["samples.db", "samples.db-wal"])
def test_a_store_file_that_is_a_link_is_refused_and_what_it_names_is_left_alone(tmp_path, part):
    """samples.db linked to another program's database: it was switched to WAL and given hwr's tables."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    theirs = outside / "theirs.db"
    before = sqlite_file(theirs, "CREATE TABLE notes (text TEXT)")
    data = tmp_path / "data"
    data.mkdir()
    (data / part).symlink_to(theirs)
    with pytest.raises(SampleStoreError, match=f"{part} is a link.*writes nothing through a link"):
        SampleStore(data / "samples.db")
    assert theirs.read_bytes() == before and (data / part).is_symlink()


def test_a_models_folder_that_is_a_link_is_not_used_and_nothing_in_it_is_touched(tmp_path):
    """models/ linked elsewhere: the start deleted files there and moved others into a damaged/ folder."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for index in range(limits.KEEP_VERSIONS + 5):
        (outside / f"{index:010x}.pt").write_bytes(b"someone's file")
    (outside / "active").write_text("not a version")
    (outside / ".draft.tmp").write_bytes(b"a draft")
    os.utime(outside / ".draft.tmp", (1_000_000_000, 1_000_000_000))
    before = {path.name: path.read_bytes() for path in outside.iterdir()}
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(outside, target_is_directory=True)
    registry = ModelRegistry(data / "models", default_weights_path())
    assert registry.remove_stale_temporaries() == [] and registry.prune() == []
    assert [entry.version for entry in registry.versions()] == [SHIPPED] and registry.rejected() == []
    assert registry.active().is_shipped
    messages = registry.take_messages()
    assert len(messages) == 1 and "models is a link" in messages[0] and "only the shipped model" in messages[0]
    with pytest.raises(OSError, match="is a link"):
        fine_tuned_version(registry, True)
    assert {path.name: path.read_bytes() for path in outside.iterdir()} == before


@pytest.mark.parametrize("kind", ["link", "huge"])
def test_a_settings_file_that_is_a_link_or_huge_is_moved_aside(tmp_path, kind):
    """A link to a file outside was rewritten as settings; a sparse 3 GB file aborted the app (bad_alloc)."""
    from hwr_app.settings import MAX_SETTINGS_BYTES, open_settings

    outside = tmp_path / "bashrc"
    outside.write_text("# the user's own file\nexport A=1\n")
    path = tmp_path / "settings.ini"
    if kind == "link":
        path.symlink_to(outside)
    else:
        with open(path, "wb") as stream:
            stream.truncate(MAX_SETTINGS_BYTES + 1)  # sparse: no disk
    settings, message = open_settings(path)
    assert str(path) in message and "moved to" in message
    assert ("is a link" in message) if kind == "link" else (f"the limit is {MAX_SETTINGS_BYTES:,}" in message)
    settings.setValue("canvas/penWidth", 9)
    settings.sync()
    assert outside.read_text() == "# the user's own file\nexport A=1\n"
    assert path.is_file() and not path.is_symlink() and path.stat().st_size < 1000
    assert len(list(tmp_path.glob("settings.ini.not-a-file-*"))) == 1


def test_an_export_of_too_many_points_is_refused_before_it_is_parsed_and_ours_are_split_below_it(tmp_path,
                                                                                                 monkeypatch):
    """64 MB of one-digit points, within every other limit, took 2.9 GB and two minutes to read."""
    store = SampleStore(tmp_path / "samples.db")
    rng = np.random.default_rng(3)
    store.add_many([make_sample(i % 10, [[(float(x), float(y)) for x, y in rng.integers(0, 300, (40, 2))]])
                    for i in range(30)])
    monkeypatch.setattr(limits, "MAX_EXPORT_LISTS", 300)  # 42 lists a sample: 7 samples a file
    files = store.export_files(tmp_path / "export.json")
    assert len(files) == 5 and sum(count for _, count in files) == 30
    other = SampleStore(tmp_path / "other.db")
    for path, _ in files:
        assert path.read_bytes().count(b"[") <= 300
        other.add_imported(read_export(path), path)
    assert other.count() == 30
    monkeypatch.setattr(limits, "MAX_EXPORT_LISTS", 100)

    def parsed(*_):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(samples_module.validate, "parse_json", parsed)
    with pytest.raises(SampleStoreError, match=f"{files[0][0]} holds 2[0-9][0-9] points and strokes; at most 100"):
        read_export(files[0][0])
    store.close()
    other.close()


def test_an_export_cut_short_by_a_full_disk_leaves_no_half_written_file(tmp_path, monkeypatch):
    """Closing the half-written file failed again on the full disk, and its clean-up was skipped."""
    store = SampleStore(tmp_path / "samples.db")
    store.add(make_sample(2, jitter(STANDARD[2], np.random.default_rng(4))))
    real = samples_module._temporary

    class Full:
        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            raise OSError(28, "No space left on device")

        def close(self):
            self.stream.close()
            raise OSError(28, "No space left on device")

    def temporary(final):
        stream, name = real(final)
        return Full(stream), name

    monkeypatch.setattr(samples_module, "_temporary", temporary)
    exports = tmp_path / "exports"
    exports.mkdir()
    with pytest.raises(OSError, match="No space"):
        store.export_files(exports / "mine.json")
    assert list(exports.iterdir()) == []
    store.close()
