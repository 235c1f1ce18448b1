"""The personal sample store: the user's corrected digits, kept in SQLite (WAL mode).

Each sample keeps its strokes (points with pressure and time) as well as the 28×28 picture, so it
can be re-rendered if preprocessing ever improves. Every change is one SQLite transaction, which
WAL mode makes atomic and durable: a crash or kill at any moment loses no sample that was saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import stat
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from model.files import limits, validate
from model.files.disk import atomic_write_bytes, move_aside, timestamp
from model.files.validate import EXPORT_FORMAT, EXPORT_VERSION
from model.recognition.preprocess import IMAGE_SIZE, PREPROCESS_VERSION, strokes_to_image

SCHEMA_VERSION = 1  # PRAGMA user_version of the database; a newer hwr that changes the table raises it
_REQUIRED_COLUMNS = ("id", "uid", "created", "label", "predicted", "probabilities", "model_version", "strokes",
                     "image", "preprocess_version")
SQLITE_HEADER = b"SQLite format 3\x00"
_CHECK_LINES = 100  # problems quick_check reports at most
# quick_check's lines about single rows that break a CHECK or NOT NULL rule: a bad row, not a bad file.
_ROW_RULE_BROKEN = re.compile(r"(CHECK constraint failed in |NULL value in )\w")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so undoing a delete gets its id back
    uid TEXT UNIQUE NOT NULL,
    created TEXT NOT NULL,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted INTEGER,
    probabilities TEXT,
    model_version TEXT NOT NULL DEFAULT '',
    strokes TEXT NOT NULL,
    image BLOB NOT NULL,
    preprocess_version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_label ON samples (label);
-- One row, rewritten unchanged at every opening so that the session's log starts (and its salts are
-- recorded) before any sample is written to it; a row of its own page leaves the file's bytes alone.
CREATE TABLE IF NOT EXISTS store_log (id INTEGER PRIMARY KEY CHECK (id = 1), opened INTEGER NOT NULL DEFAULT 0);
INSERT OR IGNORE INTO store_log (id) VALUES (1);
"""
# Added after the first release; stores made before it get the column when opened (NULL for old rows).
_NUMBER_COLUMN = "number"  # the number a digit was written in (e.g. "2026"), NULL for a lone digit


class SampleStoreError(Exception):
    """The sample store or an import file could not be used; the message says why."""


@dataclass
class Sample:
    """One corrected digit as the user drew it."""

    label: int  # the true digit, as the user said
    strokes: list[list[tuple[float, float, float, float]]]  # strokes of (x, y, pressure, t)
    image: np.ndarray  # (28, 28) float32, ink 1.0, as the model saw it
    predicted: int | None = None  # what the model said
    probabilities: list[float] | None = None  # the model's ten probabilities
    model_version: str = ""
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    id: int | None = None  # row id once stored
    number: str | None = None  # the number this digit was written in, e.g. "2026"; None for a lone digit


def make_sample(label: int, strokes: Sequence[Sequence[Sequence[float]]], predicted: int | None = None,
                probabilities: Sequence[float] | None = None, model_version: str = "",
                number: str | None = None) -> Sample:
    """Return a Sample for strokes, its picture rendered by the shared preprocessing.

    Raises NothingDrawnError for no points, and InvalidInputError (a ValueError) for a drawing
    beyond the limits of model.files.limits (too many points, coordinates that are not finite numbers…).
    ``number`` is the number the digit was written in, if it was one digit of several.
    """
    _check_label(label)
    if number is not None and not validate.is_number_text(str(number)):
        raise ValueError(f"A number is 1–{limits.MAX_NUMBER_DIGITS} digits 0–9, got {str(number)[:80]!r}.")
    if model_version and not validate.VERSION_ID.fullmatch(str(model_version)):
        raise ValueError(f"A model version is 10 hex digits, got {str(model_version)[:80]!r}.")
    if not any(len(stroke) for stroke in strokes):
        strokes_to_image([])  # raises NothingDrawnError
    clean = validate.drawing([[tuple(point) for point in stroke] for stroke in strokes])
    return Sample(label=int(label), strokes=clean, image=strokes_to_image(clean), predicted=predicted,
                  probabilities=None if probabilities is None else [float(p) for p in probabilities],
                  model_version=model_version, number=None if number is None else str(number))


def _check_label(label: int) -> None:
    if not 0 <= int(label) <= 9:
        raise ValueError(f"A digit label is 0–9, got {label}.")


@dataclass(frozen=True)
class Answer:
    """A sample's label and the digit the model had read (None if it read nothing)."""

    label: int
    predicted: int | None


class SampleStore:
    """The samples of one user, in one SQLite file. Use from one thread."""

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the store; a damaged file is moved aside and a new one started.

        After opening, ``recovery_message`` is "" or says what was moved aside and where. Raises
        SampleStoreError, leaving the file as it is, when it cannot be opened (permissions, a full
        disk, a lock) or is a database this program cannot use (a newer SQLite's or hwr's format).
        Opening is serialised between processes, so two copies of hwr that find the same damaged
        file move it aside once and both go on with the new one.
        """
        self.path = Path(path)
        self.recovery_message = ""
        self._messages: list[str] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SampleStoreError(f"Cannot open the sample database {self.path}: the folder cannot be "
                                   f"created ({validate.describe_os_error(error)}).") from error
        self._wal_salts: bytes | None = None  # the log's salts as last recorded (see _note_wal)
        self._in_use: int | None = None  # a descriptor holding a shared lock while this store is open
        with _opening_lock(self.path):
            self._set_foreign_log_aside()
            try:
                self._connection = self._open()
            except _Damaged as damage:
                self._move_damaged_aside(str(damage))
                try:
                    self._connection = self._open()
                except (_Damaged, sqlite3.Error) as error:
                    raise SampleStoreError(f"Cannot open the sample database {self.path}: "
                                           f"{describe_database_error(error, self.path)}") from error
            except sqlite3.Error as error:  # locked, unreadable, disk full: not damage
                raise SampleStoreError(f"Cannot open the sample database {self.path}: "
                                       f"{describe_database_error(error, self.path)}") from error
            self._in_use = _hold_in_use(self.path)
            try:
                # Start this session's log now and record it, before any sample goes into it.
                self._connection.execute("UPDATE store_log SET opened = opened WHERE id = 1")
                self._note_wal()
            except (sqlite3.Error, OSError):  # read-only or full: the store still reads
                pass

    # -- the write-ahead log -------------------------------------------------------------------

    @property
    def _wal_record(self) -> Path:
        return self.path.with_name(f".{self.path.name}.wal-id")

    def _note_wal(self) -> None:
        """Record the log's salts when they changed (a new log, or one restarted after a checkpoint)."""
        salts = _wal_salts(Path(f"{self.path}-wal"))
        if salts is None or salts == self._wal_salts:
            return
        atomic_write_bytes(self._wal_record, salts.hex().encode("ascii"))
        self._wal_salts = salts

    def _set_foreign_log_aside(self) -> None:
        """Move a -wal file that is not this database's log aside (with its -shm), with a message.

        SQLite would replay any valid log over the database: another store's log put beside it
        replaces its samples for good. The store records its log's salts (random per log; a log
        restarted after a checkpoint has the first one plus 1) whenever they change, so a log whose
        salts are neither is another's. A store without a record (made before it was kept) trusts its log.
        """
        log = Path(f"{self.path}-wal")
        salts = _wal_salts(log)
        try:  # a few bytes of a regular file: never a pipe to wait on, nor a device to read for ever
            recorded = bytes.fromhex(validate.read_limited(self._wal_record, 64, "The log record").decode("ascii")
                                     .strip()[:16])
        except (validate.InvalidInputError, ValueError, UnicodeDecodeError):
            recorded = b""
        if salts is None or len(recorded) != 8:
            return
        first, recorded_first = int.from_bytes(salts[:4], "big"), int.from_bytes(recorded[:4], "big")
        if salts == recorded or first == (recorded_first + 1) & 0xFFFFFFFF:
            return
        if _held_elsewhere(self.path):  # a running store writes this log: whatever the record says, it is theirs
            return
        name = f"{log.name}.foreign-{timestamp()}"
        try:
            target = move_aside(log, self.path.parent, name)
            if target is not None:
                move_aside(Path(f"{self.path}-shm"), self.path.parent, f"{target.name}-shm")
        except OSError as error:
            raise SampleStoreError(
                f"Cannot open the sample database {self.path}: the log beside it ({log.name}) belongs to another "
                f"database and could not be moved aside ({validate.describe_os_error(error)}). Move it away "
                f"and try again.") from error
        if target is not None:
            self._messages.append(f"Sample database {self.path}: the log file beside it ({log.name}) came from "
                                  f"another database; it was moved to {target} and not applied.")

    def _open(self) -> sqlite3.Connection:
        """Return a connection to a usable store; raises _Damaged, SampleStoreError or sqlite3.Error."""
        header = _read_header(self.path)
        if header and header != SQLITE_HEADER:  # an empty file is a new database; anything else needs the header
            raise _Damaged("it is not an SQLite database")
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        connection.text_factory = _text_factory
        try:
            problems = [str(row[0]) for row in connection.execute(f"PRAGMA quick_check({_CHECK_LINES})")]
            if problems != ["ok"]:
                if not all(_ROW_RULE_BROKEN.match(problem) for problem in problems):
                    raise _Damaged(f"it failed SQLite's integrity check ({problems[0][:80]})")
                # Rows that break the table's rules (another program wrote a label 12): the file is
                # sound; those rows are left out when read, each named with its cause.
            # Before anything is written: a refused database is not switched to this program's journal
            # mode (one already in WAL mode has its log folded into it by SQLite on closing: same content).
            self._check_schema(connection)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")  # a committed sample survives power loss
            connection.executescript(_SCHEMA)
            if connection.execute("PRAGMA user_version").fetchone()[0] == 0:
                connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            columns = {row[1] for row in connection.execute("PRAGMA table_info(samples)")}
            if _NUMBER_COLUMN not in columns:  # a store made before numbers were read
                connection.execute(f"ALTER TABLE samples ADD COLUMN {_NUMBER_COLUMN} TEXT")
        except sqlite3.DatabaseError as error:
            connection.close()
            if header == SQLITE_HEADER and _is_format_error(error):
                raise SampleStoreError(
                    f"The sample database {self.path} cannot be read by this version of SQLite "
                    f"({sqlite3.sqlite_version}); it may have been written by a newer program. It was left "
                    f"as it is: open it with a newer hwr, or move it away to start a new one.") from error
            if isinstance(error, sqlite3.OperationalError) or _errorname(error) in _NOT_DAMAGE:
                raise
            raise _Damaged(str(error)) from error
        except BaseException:
            connection.close()
            raise
        return connection

    def _check_schema(self, connection: sqlite3.Connection) -> None:
        """Refuse a valid database whose samples table another version of hwr made differently."""
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SampleStoreError(
                f"The sample database {self.path} was made by a newer version of hwr (database version "
                f"{version}; this one reads {SCHEMA_VERSION}). It was left as it is; use that version of hwr.")
        columns = {row[1]: row for row in connection.execute("PRAGMA table_info(samples)")}
        if not columns:
            return  # a new database: the table is created next
        missing = [name for name in _REQUIRED_COLUMNS if name not in columns]
        # A column this program does not fill must have a default, or every insert would fail.
        stuck = [name for name, row in columns.items()
                 if name not in _REQUIRED_COLUMNS and row[3] and row[4] is None]
        # Samples are named, undone and deleted by their id: it must be the table's integer key, the row id
        # itself (an "INTEGER PRIMARY KEY DESC" or a table WITHOUT ROWID has a key index of its own, and would
        # store new samples with no id, or none at all).
        keyed = "id" not in columns or (str(columns["id"][2]).upper() == "INTEGER" and columns["id"][5] == 1
                                        and sum(1 for row in columns.values() if row[5]) == 1
                                        and not any(row[3] == "pk" for row in
                                                    connection.execute("PRAGMA index_list(samples)")))
        # hwr makes neither: a trigger runs its own statements at every write (one of them for ever, if crafted).
        extra = connection.execute("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view') "
                                   "ORDER BY type, name LIMIT 1").fetchone()
        if missing or stuck or not keyed or extra:
            detail = (f"its samples table has no column {missing[0]!r}" if missing
                      else f"its samples table needs a value for {stuck[0]!r}" if stuck
                      else "its samples table is not keyed by a whole-number id" if not keyed
                      else f"it holds a {extra[0]} ({str(extra[1])[:80]!r}), which hwr never makes")
            raise SampleStoreError(
                f"The sample database {self.path} was made by another version of hwr ({detail}). It was "
                f"left as it is; corrections cannot be saved until it is opened with that version or "
                f"moved away.")

    def _move_damaged_aside(self, cause: str) -> None:
        """Move the database and its WAL and shared-memory files aside, under one free name."""
        name = f"{self.path.name}.damaged-{timestamp()}"
        moved = None
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(self.path) + suffix)
            target_name = name + suffix if moved is None else moved.name + suffix
            try:
                target = move_aside(part, self.path.parent, target_name)
            except OSError as error:
                raise SampleStoreError(
                    f"The sample database {self.path} is damaged ({cause}) and could not be moved aside "
                    f"({validate.describe_os_error(error)}).") from error
            if suffix == "" and target is not None:
                moved = target
        if moved is None:
            return  # gone already (moved by hand meanwhile): nothing to report, a new one is started
        self.recovery_message = (f"The sample database was damaged ({cause}); it was moved to "
                                 f"{moved} and a new, empty one was started.")

    def close(self) -> None:
        """Close the database; the store cannot be used afterwards."""
        self._connection.close()
        if self._in_use is not None:
            os.close(self._in_use)  # releases the store's shared lock
            self._in_use = None

    # -- writing -------------------------------------------------------------------------------

    def add(self, sample: Sample) -> Sample:
        """Store the sample (ignored if its uid is already stored) and return it with its id."""
        with self._transaction():
            cursor = self._insert(sample)
        if cursor.rowcount:
            sample.id = cursor.lastrowid
        else:
            sample.id = self._connection.execute("SELECT id FROM samples WHERE uid = ?", (sample.uid,)).fetchone()[0]
        return sample

    def add_many(self, samples: Sequence[Sample]) -> list[Sample]:
        """Store several samples in one transaction (all or none: the digits of one number)."""
        with self._transaction():
            cursors = [self._insert(sample) for sample in samples]
        for sample, cursor in zip(samples, cursors):
            sample.id = cursor.lastrowid if cursor.rowcount else self._connection.execute(
                "SELECT id FROM samples WHERE uid = ?", (sample.uid,)).fetchone()[0]
        return list(samples)

    def _insert(self, sample: Sample) -> sqlite3.Cursor:
        """Insert inside the caller's transaction; a uid already stored is left as it is.

        A sample that has an id (one being restored after a delete) gets that id back.
        """
        return self._connection.execute(
            "INSERT OR IGNORE INTO samples (id, uid, created, label, predicted, probabilities, model_version,"
            " strokes, image, preprocess_version, number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sample.id, sample.uid, sample.created, sample.label, sample.predicted,
             None if sample.probabilities is None else json.dumps(sample.probabilities),
             sample.model_version, json.dumps(sample.strokes), _image_bytes(sample.image),
             PREPROCESS_VERSION, sample.number))

    def relabel(self, sample_id: int, label: int) -> None:
        """Change a sample's true digit."""
        _check_label(label)
        with self._transaction():
            self._connection.execute("UPDATE samples SET label = ? WHERE id = ?", (int(label), sample_id))

    def delete(self, sample_id: int) -> Sample | None:
        """Remove a sample and return it, so that the caller can offer undo via ``add``."""
        sample = self.get(sample_id)
        if sample is not None:
            with self._transaction():
                self._connection.execute("DELETE FROM samples WHERE id = ?", (sample_id,))
        return sample

    def _transaction(self):
        return _Transaction(self._connection, self._note_wal)

    # -- reading -------------------------------------------------------------------------------

    def get(self, sample_id: int) -> Sample | None:
        """Return the sample with this id, or None (also when its row is not a valid sample)."""
        row = self._connection.execute(f"SELECT {_COLUMNS} FROM samples WHERE id = ?", (sample_id,)).fetchone()
        checked = [] if row is None else self._checked([row])
        return checked[0] if checked else None

    def samples(self, label: int | None = None) -> list[Sample]:
        """Return all samples (or those of one digit), oldest first.

        Rows that do not hold a valid sample are left out (and left in the file); ``take_messages``
        says which and why.
        """
        if label is None:
            rows = self._connection.execute(f"SELECT {_COLUMNS} FROM samples ORDER BY id").fetchall()
        else:
            rows = self._connection.execute(f"SELECT {_COLUMNS} FROM samples WHERE label = ? ORDER BY id",
                                            (int(label),)).fetchall()
        return self._checked(rows)

    def page(self, label: int | None = None, offset: int = 0, limit: int = 500) -> list[Sample]:
        """Return at most ``limit`` samples (of one digit, or all) by digit then age, from ``offset``.

        Reads only those rows (the Samples dialog shows 100,000 samples a page at a time: reading
        them all took 24 s and 3.3 GB). Rows of the page that do not hold a valid sample are left
        out, and so are rows whose label is no digit (never on any page); ``take_messages`` names them.
        """
        where = "typeof(label) = 'integer' AND label BETWEEN 0 AND 9"
        arguments: tuple = ()
        if label is not None:
            where, arguments = "typeof(label) = 'integer' AND label = ?", (int(label),)
        rows = self._connection.execute(f"SELECT {_COLUMNS} FROM samples WHERE {where} ORDER BY label, id "
                                        f"LIMIT ? OFFSET ?", (*arguments, max(0, int(limit)), max(0, int(offset))))
        samples = self._checked(rows.fetchall())
        for (sample_id,) in self._connection.execute(f"SELECT id FROM samples WHERE NOT ({_VALID_LABEL}) "
                                                     f"ORDER BY id LIMIT {_CHECK_LINES}"):
            message = bad_row_message(self.path, sample_id, BadRowError("its label is not a digit 0–9"))
            if message not in self._messages:
                self._messages.append(message)
        return samples

    def _checked(self, rows) -> list[Sample]:
        samples = []
        for row in rows:
            try:
                samples.append(_sample_from_row(row))
            except BadRowError as error:
                message = bad_row_message(self.path, row[0], error)
                if message not in self._messages:
                    self._messages.append(message)
        return samples

    def training_set(self, stop: Callable[[], bool] = lambda: False, problems: list[str] | None = None,
                     per_digit: int | None = limits.FINETUNE_SAMPLES_PER_DIGIT
                     ) -> tuple[np.ndarray, list[int], list[str]]:
        """Return (pictures, labels, uids) of the newest ``per_digit`` samples of each digit, oldest
        first: what a fine-tune learns from (see :func:`read_training_set`). Opens its own
        connection, so the fine-tune's worker thread may call it."""
        return read_training_set(self.path, stop, problems=problems, per_digit=per_digit)

    def take_messages(self) -> list[str]:
        """Return (and forget) the messages about rows that could not be used, one per row."""
        messages, self._messages = self._messages, []
        return messages

    def count(self) -> int:
        """Return how many samples are stored."""
        return int(self._connection.execute(f"SELECT COUNT(*) FROM samples WHERE {_VALID_LABEL}").fetchone()[0])

    def counts_by_label(self) -> dict[int, int]:
        """Return {digit: number of samples} for all ten digits."""
        counts = dict.fromkeys(range(10), 0)
        for label, number in self._connection.execute(f"SELECT label, COUNT(*) FROM samples WHERE {_VALID_LABEL} "
                                                      f"GROUP BY label"):
            counts[int(label)] = int(number)
        return counts

    def answers(self) -> list["Answer"]:
        """Return each sample's label and what the model had said, without reading any strokes."""
        return [Answer(int(label), predicted if type(predicted) is int and 0 <= predicted <= 9 else None)
                for label, predicted in self._connection.execute(
                    f"SELECT label, CASE WHEN typeof(predicted) = 'integer' THEN predicted END FROM samples "
                    f"WHERE {_VALID_LABEL} ORDER BY id")]  # a crafted huge value never reaches Python

    # -- exchange ------------------------------------------------------------------------------

    def export_to(self, path: str | Path) -> int:
        """Write every sample to portable JSON files (see :meth:`export_files`) and return how many."""
        return sum(count for _, count in self.export_files(path))

    def export_files(self, path: str | Path) -> list[tuple[Path, int]]:
        """Write every valid sample to export files (see :func:`write_export`); return [(file, samples)].
        Rows left out are named by ``take_messages``."""
        problems: list[str] = []
        try:
            return write_export(self.path, path, problems)
        finally:
            self._messages.extend(m for m in problems if m not in self._messages)

    def import_from(self, path: str | Path) -> int:
        """Add the samples of an export file, skipping ones already here; return how many were new.

        The file is checked whole against the export schema (model.files.validate.samples_export) before
        anything is stored, so a bad file changes nothing; the error names the file and its first
        bad entry. (The window reads the file on a worker thread with :func:`read_export`, then
        calls :meth:`add_imported`.)
        """
        return self.add_imported(read_export(path), path)

    def add_imported(self, incoming: Sequence[Sample], path: str | Path) -> int:
        """Store samples read by :func:`read_export` in one transaction, skipping those already here;
        return how many were new."""
        try:
            before = self.count()
            with self._transaction():
                for sample in incoming:
                    self._insert(sample)
            return self.count() - before
        except sqlite3.Error as error:
            raise SampleStoreError(f"Cannot import {path}: the sample database {self.path} could not be "
                                   f"written ({describe_database_error(error, self.path)}). Nothing was "
                                   f"imported.") from error


def write_export(database: str | Path, path: str | Path, problems: list[str] | None = None
                 ) -> list[tuple[Path, int]]:
    """Write every valid sample of the store at ``database`` to ``path`` and, when one file would be
    beyond what an import accepts (limits.MAX_EXPORT_FILE_BYTES, MAX_SAMPLES_PER_EXPORT), to
    ``<stem>-2<suffix>``, ``-3``…; return [(file, samples in it)]. Each file is written atomically
    and imports alone.

    Rows are read and written a batch at a time (memory stays flat however many there are), and
    points are written compactly without losing anything: ``[x, y]`` when the pressure is 1 and
    the time 0, whole numbers without ``.0``. Opens its own connection, so a worker thread may call
    it while the window keeps the store open; rows left out are named in ``problems``.
    """
    path = Path(path)
    head = f'{{"format": "{EXPORT_FORMAT}", "version": {EXPORT_VERSION}, "samples": ['.encode("utf-8")
    tail = b"]}"
    budget = limits.MAX_EXPORT_FILE_BYTES - len(head) - len(tail) - 16
    list_budget = limits.MAX_EXPORT_LISTS - head.count(b"[")  # what read_export counts before parsing
    written: list[tuple[Path, int]] = []
    parts: list[tuple[Path, Path]] = []  # (temporary, final)
    stream = None
    connection = None
    size = count = lists = 0
    try:
        connection = sqlite3.connect(Path(database), isolation_level=None, timeout=10.0)
        connection.text_factory = _text_factory
        # One read transaction: the files hold the store as it was when the export began.
        connection.execute("BEGIN")
        cursor = connection.execute(f"SELECT {_COLUMNS} FROM samples ORDER BY id")
        while rows := cursor.fetchmany(256):
            for row in rows:
                try:
                    _, entry = _row_entry(row)
                except BadRowError as error:
                    if problems is not None:
                        problems.append(bad_row_message(database, row[0], error))
                    continue
                text = json.dumps(_export_entry(entry), separators=(",", ":")).encode("utf-8")
                opened = text.count(b"[")
                if stream is not None and (size + len(text) + 1 > budget or count >= limits.MAX_SAMPLES_PER_EXPORT
                                           or lists + opened > list_budget):
                    stream.write(tail)
                    _finish(stream)
                    written.append((parts[-1][1], count))
                    stream = None
                if stream is None:
                    final = path if not parts else path.with_name(f"{path.stem}-{len(parts) + 1}{path.suffix}")
                    stream, temporary = _temporary(final)
                    parts.append((temporary, final))
                    stream.write(head)
                    size = count = lists = 0
                stream.write(text if count == 0 else b"," + text)
                size += len(text) + 1
                lists += opened
                count += 1
        if stream is None:  # no samples: still one valid, empty export
            stream, temporary = _temporary(path)
            parts.append((temporary, path))
            stream.write(head)
        stream.write(tail)
        _finish(stream)
        stream = None
        written.append((parts[-1][1], count))
        for temporary, final in parts:
            os.replace(temporary, final)
        return written
    except BaseException:
        if stream is not None:
            with contextlib.suppress(OSError):  # closing flushes: on a full disk it fails again
                stream.close()
        for temporary, _ in parts:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
        raise
    finally:
        if connection is not None:
            connection.close()


def _export_entry(entry: dict) -> dict:
    """Return a checked row's fields as an export file holds them, points written compactly."""
    def number(value: float):
        return int(value) if float(value).is_integer() and abs(value) < 2 ** 53 else value

    def point(p) -> list:
        x, y, pressure, t = p
        if t != 0:
            return [number(x), number(y), number(pressure), number(t)]
        return [number(x), number(y)] if pressure == 1.0 else [number(x), number(y), number(pressure)]

    document = {"uid": entry["uid"], "created": entry["created"], "label": entry["label"],
                "predicted": entry["predicted"], "probabilities": entry["probabilities"],
                "model_version": entry["model_version"],
                "strokes": [[point(p) for p in stroke] for stroke in entry["strokes"]]}
    if entry.get("number") is not None:
        document["number"] = entry["number"]
    return document


def _temporary(final: Path):
    """Return (an open binary stream, its path): a temporary file beside ``final``, removed by the
    next start's sweep if hwr is killed before it is renamed."""
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.chmod(name, 0o644)
    return os.fdopen(handle, "wb"), Path(name)


def _finish(stream) -> None:
    stream.flush()
    os.fsync(stream.fileno())
    stream.close()


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""

    def __init__(self, connection: sqlite3.Connection, committed: Callable[[], None] = lambda: None) -> None:
        self._connection = connection
        self._committed = committed

    def __enter__(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            return
        try:
            self._connection.execute("COMMIT")
        except sqlite3.Error:
            # A failed COMMIT (disk full, I/O error) may leave the transaction open; close it so
            # the next change can be tried once the problem is fixed.
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            raise
        try:
            self._committed()
        except OSError:  # the record of the log could not be written: the sample is saved all the same
            pass


# A strokes value over the size limit is never handed to Python (SQLite still reads it to measure
# it): the row gets NULL and the size instead.
_STROKES_SIZE = "length(CAST(strokes AS BLOB))"


def _bounded(column: str, limit: int) -> str:
    """Return SQL for ``column`` if its value takes at most ``limit`` bytes, else NULL: a crafted row
    of 900 MB is measured by SQLite and never handed to Python (8 such rows took 8 GB when read)."""
    return f"CASE WHEN length(CAST({column} AS BLOB)) <= {limit} THEN {column} END"


# Sizes the app never comes near: a uid is at most 64 characters, a date 64, a version 10, ten
# probabilities about 250 bytes, a picture 784 (any other size is drawn again from the strokes).
_COLUMNS = (f"id, {_bounded('uid', 256)}, {_bounded('created', 256)}, {_bounded('label', 64)}, "
            f"{_bounded('predicted', 64)}, {_bounded('probabilities', 10_000)}, {_bounded('model_version', 256)}, "
            f"CASE WHEN {_STROKES_SIZE} <= {limits.MAX_STROKE_FILE_BYTES} THEN strokes END, "
            f"{_bounded('image', IMAGE_SIZE * IMAGE_SIZE)}, {_bounded('number', 256)}, {_STROKES_SIZE}")
# The rows that count; the rest are left out when read. "+label": not through the label index, which
# would make answers() sort every row.
_VALID_LABEL = "typeof(label) = 'integer' AND +label BETWEEN 0 AND 9"


def _image_bytes(image: np.ndarray) -> bytes:
    return np.clip(np.round(np.asarray(image) * 255), 0, 255).astype(np.uint8).tobytes()


class BadRowError(ValueError):
    """A row of the sample database that hwr did not write as it is (edited, crafted or damaged)."""


def _text_factory(data: bytes) -> str:
    """Decode TEXT from the database; bytes that are not UTF-8 survive as surrogates (and fail the
    checks of the field that holds them) instead of making SQLite refuse the whole query."""
    return data.decode("utf-8", "surrogateescape")


def _row_drawing(strokes, size: int | None):
    """Return a row's strokes column as a checked drawing (model.files.validate.drawing's rules)."""
    if strokes is None:
        raise BadRowError(f"its strokes take {size or 0:,} bytes; the limit is {limits.MAX_STROKE_FILE_BYTES:,}"
                          if size else "it has no strokes")
    raw = strokes if isinstance(strokes, bytes) else str(strokes).encode("utf-8", "surrogateescape")
    try:
        return validate.drawing_json(raw, "in the row", "Strokes", "its drawing")
    except validate.InvalidInputError as error:
        raise BadRowError(str(error).replace("Strokes in the row", "its strokes")) from error


def _row_probabilities(value) -> list | None:
    """Return a row's probabilities if they are ten numbers 0–1 (as the app writes them), else None."""
    if not isinstance(value, str) or len(value) > 10_000:
        return None
    try:
        ten = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if (isinstance(ten, list) and len(ten) == 10
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in ten)):
        return ten
    return None


def _row_entry(row: tuple) -> tuple[int, dict]:
    """Return (row id, the sample's fields checked as an export file's are); raises BadRowError."""
    sample_id, uid, created, label, predicted, probabilities, model_version, strokes, image, number, size = row
    if type(sample_id) is not int:
        raise BadRowError("its id is not a whole number")
    # Metadata that is not as an export file would hold it is dropped, not the sample: the date and
    # the model version only label it.
    entry = {"uid": uid, "created": created if isinstance(created, str) and validate.is_iso_time(created) else "",
             "label": label, "predicted": predicted, "probabilities": _row_probabilities(probabilities),
             "model_version": model_version if isinstance(model_version, str)
             and validate.VERSION_ID.fullmatch(model_version) else "",
             "strokes": None, "number": number}
    drawing = _row_drawing(strokes, size)
    try:
        return sample_id, validate.sample_entry(entry, "its fields", strokes=drawing)
    except validate.InvalidInputError as error:
        raise BadRowError(str(error)) from error


def _sample_from_row(row: tuple) -> Sample:
    """Return the sample a row holds, every field checked as an export file's are (the file may have
    been edited by another program); raises BadRowError saying what is wrong.

    The picture is taken from the row when it is a 28×28 byte picture, else drawn again from the
    strokes (which are what a sample is); probabilities that are not ten numbers 0–1 are dropped.
    """
    sample_id, clean = _row_entry(row)
    image = row[8]
    if isinstance(image, bytes) and len(image) == IMAGE_SIZE * IMAGE_SIZE:
        pixels = np.frombuffer(image, dtype=np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE).astype(np.float32) / 255
    else:
        pixels = strokes_to_image(clean["strokes"])
    return Sample(label=clean["label"], strokes=clean["strokes"], image=pixels, predicted=clean["predicted"],
                  probabilities=clean["probabilities"], model_version=clean["model_version"],
                  created=clean["created"], uid=clean["uid"], id=sample_id, number=clean["number"])


def read_export(path: str | Path) -> list[Sample]:
    """Return the samples of an export file, each checked and rendered; raises SampleStoreError naming
    the file and its first bad entry. Touches no database, so any thread may call it."""
    try:
        data = validate.read_limited(path, limits.MAX_EXPORT_FILE_BYTES, "Samples file")
        lists = data.count(b"[")  # before parsing: every point is a list, and lists are what memory goes to
        if lists > limits.MAX_EXPORT_LISTS:
            raise validate.InvalidInputError(
                f"Samples file {path} holds {lists:,} points and strokes; at most {limits.MAX_EXPORT_LISTS:,} are "
                f"read from one file (hwr's own exports are split to stay within it).")
        entries = validate.samples_export(validate.parse_json(data, path, "Samples file"), path)
        incoming = []
        for number, entry in enumerate(entries, 1):
            try:
                sample = make_sample(entry["label"], entry["strokes"], entry["predicted"],
                                     entry["probabilities"], entry["model_version"], entry["number"])
            except ValueError as error:  # a drawing with no ink
                raise validate.InvalidInputError(f"Samples file {path}: sample {number}: {error}") from error
            sample.uid = entry["uid"]
            sample.created = entry["created"] or sample.created
            incoming.append(sample)
    except validate.InvalidInputError as error:
        raise SampleStoreError(str(error)) from error
    return incoming


def bad_row_message(path: str | Path, sample_id, error: Exception) -> str:
    """Return the one message for a row that cannot be used: which file, which row, why."""
    shown = sample_id if type(sample_id) is int else repr(sample_id)[:40]
    return (f"Sample database {path}: sample {shown} was left out ({error}); it stays in the file as it is.")


def read_training_set(path: str | Path, stop: Callable[[], bool] = lambda: False,
                      batch: int = 256, problems: list[str] | None = None,
                      per_digit: int | None = limits.FINETUNE_SAMPLES_PER_DIGIT
                      ) -> tuple[np.ndarray, list[int], list[str]]:
    """Return (pictures re-rendered from the strokes, labels, uids) of the newest ``per_digit``
    samples of each digit at ``path`` (None: every sample), oldest first.

    A fine-tune thus reads a bounded, representative set whatever the store holds (100,000 samples
    read whole took 124 s and 8 GB; the newest of each digit are the user's hand as it is now), in
    memory bounded by 10 × ``per_digit`` pictures of 3 KB.

    ``stop`` is asked between batches; once it says True, what was read so far is returned. A row
    that does not hold a valid sample (edited or crafted file) is left out, and a message naming the
    file, the row and the cause is appended to ``problems``.

    For the fine-tune's worker thread (it opens its own connection), and built to leave the GUI
    thread alone while it runs: rows come in small batches, and each drawing is rendered and
    dropped at once, so tens of thousands of parsed strokes never pile up for the garbage collector
    to walk (a pause of every thread). Raises SampleStoreError with the cause in words.
    """
    images: list[np.ndarray] = []
    labels: list[int] = []
    uids: list[str] = []
    if per_digit is None:
        query = f"SELECT {_COLUMNS} FROM samples ORDER BY id"
    else:
        newest = " UNION ALL ".join(
            f"SELECT id FROM (SELECT id FROM samples WHERE typeof(label) = 'integer' AND label = {digit} "
            f"ORDER BY id DESC LIMIT {max(0, int(per_digit))})" for digit in range(10))
        query = f"SELECT {_COLUMNS} FROM samples WHERE id IN ({newest}) ORDER BY id"
    try:
        connection = sqlite3.connect(Path(path), isolation_level=None, timeout=10.0)
        try:
            connection.text_factory = _text_factory
            cursor = connection.execute(query)
            while not stop() and (rows := cursor.fetchmany(batch)):
                for row in rows:
                    try:  # the same checks as an export file's: the file may have been edited
                        _, clean = _row_entry(row)
                    except BadRowError as error:
                        if problems is not None:
                            problems.append(bad_row_message(path, row[0], error))
                        continue
                    images.append(strokes_to_image(clean["strokes"]))
                    labels.append(clean["label"])
                    uids.append(clean["uid"])
            if per_digit is not None and problems is not None:
                for (sample_id,) in connection.execute(f"SELECT id FROM samples WHERE NOT ({_VALID_LABEL}) "
                                                       f"ORDER BY id LIMIT {_CHECK_LINES}"):
                    problems.append(bad_row_message(path, sample_id, BadRowError("its label is not a digit 0–9")))
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise SampleStoreError(f"Cannot read the sample database {path}: "
                               f"{describe_database_error(error, Path(path))}") from error
    stacked = np.stack(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    return stacked, labels, uids


class _Damaged(Exception):
    """The database file is damaged (not SQLite, or failing its integrity check): move it aside."""


# SQLite errors that say the file is fine but cannot be used now (or by this version).
_NOT_DAMAGE = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_FULL", "SQLITE_IOERR",
               "SQLITE_PERM", "SQLITE_AUTH", "SQLITE_NOMEM"}


def _errorname(error: sqlite3.Error) -> str:
    return str(getattr(error, "sqlite_errorname", ""))


def _is_format_error(error: sqlite3.Error) -> bool:
    """Return True for errors of a valid SQLite file written in a format this SQLite does not know."""
    text = str(error)
    return "unsupported file format" in text or "malformed database schema" in text


def _read_header(path: Path) -> bytes:
    """Return the first 16 bytes of the file, b"" if it does not exist or is empty.

    Raises SampleStoreError if it, or its -wal or -shm file, is a link (SQLite would write, and switch to
    its journal, whatever file it names, outside the data folder too) or not a regular file (a named pipe
    would make SQLite, and so the window, wait forever): it is left as it is.
    """
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = os.lstat(part)
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode):
            raise SampleStoreError(
                f"Cannot open the sample database {path}: {part.name} is a link (to {os.readlink(part)[:200]}); hwr "
                f"writes nothing through a link out of its data folder. It was left as it is: put the file itself "
                f"there, or move the link away to start a new store.")
        if part != path and not stat.S_ISREG(info.st_mode):
            raise _not_a_file(part)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return b""
    except OSError:
        return SQLITE_HEADER  # unreadable: let SQLite report why, never call it damage
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise _not_a_file(path)
        try:
            return os.read(descriptor, len(SQLITE_HEADER))
        except OSError:
            return SQLITE_HEADER
    finally:
        os.close(descriptor)


_WAL_MAGIC = (0x377F0682, 0x377F0683)


def _wal_salts(log: Path) -> bytes | None:
    """Return the 8 salt bytes of a valid SQLite log's header, or None (no log, empty, not a log)."""
    try:
        descriptor = os.open(log, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        header = os.read(descriptor, 32)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    if len(header) < 32 or int.from_bytes(header[:4], "big") not in _WAL_MAGIC:
        return None
    return header[16:24]


def _not_a_file(path: Path) -> SampleStoreError:
    return SampleStoreError(f"Cannot open the sample database: {path} is not a regular file (a pipe, a folder "
                            f"or a device?). It was left as it is; move it away to start a new one.")


def _in_use_file(path: Path) -> Path:
    return path.with_name(f".{path.name}.in-use")


def _hold_in_use(path: Path) -> int | None:
    """Return a descriptor holding a shared lock on the store's in-use file while it is open (None where
    file locks are not available). flock locks belong to the open file, so closing any other descriptor
    of the file, here or in SQLite, never drops it."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        descriptor = os.open(_in_use_file(path), os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:  # held exclusively only for an instant by _held_elsewhere: the store still opens
        pass
    return descriptor


def _held_elsewhere(path: Path) -> bool:
    """Return True if another open store (another copy of hwr, or another store object) holds the in-use lock."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        descriptor = os.open(_in_use_file(path), os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:  # no such file: no store was opened since this check was added
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)
    return False


@contextlib.contextmanager
def _opening_lock(path: Path):
    """Hold an exclusive lock beside the database while it is opened (checked, maybe moved aside).

    Without it, two processes that find the same damaged file race: one moves it while the other
    is reading it. Where file locks are not available the open is simply not serialised.
    """
    try:
        import fcntl
    except ImportError:  # Windows: an open file cannot be moved there anyway
        yield
        return
    lock = path.with_name(f".{path.name}.lock")
    try:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:  # a read-only folder: SQLite will say so, with the reason
        yield
        return
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise SampleStoreError(f"Cannot open the sample database {path}: its lock file {lock} is not a "
                                   f"regular file. Move it away and try again.")
        deadline = time.monotonic() + limits.LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SampleStoreError(
                        f"Cannot open the sample database {path}: another program has held its lock ({lock}) "
                        f"for {limits.LOCK_WAIT_SECONDS:g} seconds (another copy of hwr that is stuck?). Close "
                        f"it and try again.") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def describe_database_error(error: BaseException, path: Path) -> str:
    """Return what an SQLite error (or any other) means for the user, and what to do about it."""
    text = str(error).rstrip(".")
    name = _errorname(error) if isinstance(error, sqlite3.Error) else ""
    if isinstance(error, _Damaged):
        return f"it is damaged ({text})."
    if "unable to open database file" in text or name == "SQLITE_CANTOPEN":
        folder = path.parent
        if not os.access(folder, os.W_OK):
            return f"the folder {folder} cannot be written to. Check its permissions, or choose another data folder."
        return "the file cannot be opened. Check its permissions."
    if "readonly" in text or name == "SQLITE_READONLY":
        return "the file or its folder is read-only. Check their permissions."
    if "disk is full" in text or name == "SQLITE_FULL":
        return "the disk is full. Free some space and try again."
    if "disk I/O error" in text or name == "SQLITE_IOERR":
        return ("the disk reported an error while writing (it may be full, failing or removed). "
                "Free some space or check the disk, then try again.")
    if "locked" in text or name in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return "another program is using it (another copy of hwr?). Close it and try again."
    return f"{text}."


def rendered_images(samples: Iterable[Sample]) -> np.ndarray:
    """Return (N, 28, 28) float32 pictures re-rendered from the samples' strokes."""
    images = [strokes_to_image(sample.strokes) for sample in samples]
    return np.stack(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32)
