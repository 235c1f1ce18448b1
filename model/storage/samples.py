"""The personal sample store: the user's corrected digits, kept in SQLite (WAL mode).

Each sample keeps its strokes (points with pressure and time) as well as the 28×28 picture, so it
can be re-rendered if preprocessing ever improves. Every change is one SQLite transaction, which
WAL mode makes atomic and durable: a crash or kill at any moment loses no sample that was saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
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
        with _opening_lock(self.path):
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

    def _open(self) -> sqlite3.Connection:
        """Return a connection to a usable store; raises _Damaged, SampleStoreError or sqlite3.Error."""
        header = _read_header(self.path)
        if header and header != SQLITE_HEADER:  # an empty file is a new database; anything else needs the header
            raise _Damaged("it is not an SQLite database")
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        connection.text_factory = _text_factory
        try:
            result = connection.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                raise _Damaged(f"it failed SQLite's integrity check ({str(result)[:80]})")
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
        # Samples are named, undone and deleted by their id: it must be the table's integer key.
        keyed = "id" not in columns or (str(columns["id"][2]).upper() == "INTEGER" and columns["id"][5] == 1
                                        and sum(1 for row in columns.values() if row[5]) == 1)
        if missing or stuck or not keyed:
            detail = (f"its samples table has no column {missing[0]!r}" if missing
                      else f"its samples table needs a value for {stuck[0]!r}" if stuck
                      else "its samples table is not keyed by a whole-number id")
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
        return _Transaction(self._connection)

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
                for label, predicted in self._connection.execute(f"SELECT label, predicted FROM samples WHERE "
                                                                 f"{_VALID_LABEL} ORDER BY id")]

    # -- exchange ------------------------------------------------------------------------------

    def export_to(self, path: str | Path) -> int:
        """Write every sample to one portable JSON file (atomically) and return how many."""
        samples = self.samples()
        document = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "samples": [
            {"uid": s.uid, "created": s.created, "label": s.label, "predicted": s.predicted,
             "probabilities": s.probabilities, "model_version": s.model_version, "strokes": s.strokes,
             **({} if s.number is None else {"number": s.number})}
            for s in samples]}
        atomic_write_bytes(Path(path), json.dumps(document).encode("utf-8"))
        return len(samples)

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


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

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


# A strokes value over the size limit is never handed to Python (SQLite still reads it to measure
# it): the row gets NULL and the size instead.
_STROKES_SIZE = "length(CAST(strokes AS BLOB))"
_COLUMNS = (f"id, uid, created, label, predicted, probabilities, model_version, "
            f"CASE WHEN {_STROKES_SIZE} <= {limits.MAX_STROKE_FILE_BYTES} THEN strokes END, image, number, "
            f"{_STROKES_SIZE}")
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
                      batch: int = 256, problems: list[str] | None = None) -> tuple[np.ndarray, list[int], list[str]]:
    """Return (pictures re-rendered from the strokes, labels, uids) of every sample at ``path``.

    ``stop`` is asked between batches; once it says True, what was read so far is returned. A row
    that does not hold a valid sample (edited or crafted file) is left out, and a message naming the
    file, the row and the cause is appended to ``problems``.

    For the fine-tune's worker thread, and built to leave the GUI thread alone while it runs: rows
    come in small batches (one long fetch would hold Python's lock for a second with 20,000
    samples), and each drawing is rendered and dropped at once, so tens of thousands of parsed
    strokes never pile up for the garbage collector to walk (a pause of every thread). Raises
    SampleStoreError with the cause in words.
    """
    images: list[np.ndarray] = []
    labels: list[int] = []
    uids: list[str] = []
    try:
        connection = sqlite3.connect(Path(path), isolation_level=None, timeout=10.0)
        try:
            connection.text_factory = _text_factory
            cursor = connection.execute(f"SELECT {_COLUMNS} FROM samples ORDER BY id")
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
    """Return the first 16 bytes of the file, b"" if it does not exist or is empty."""
    try:
        with open(path, "rb") as stream:
            return stream.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return b""
    except OSError:
        return SQLITE_HEADER  # unreadable: let SQLite report why, never call it damage


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
    try:
        descriptor = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only folder: SQLite will say so, with the reason
        yield
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
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
