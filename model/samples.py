"""The personal sample store: the user's corrected digits, kept in SQLite (WAL mode).

Each sample keeps its strokes (points with pressure and time) as well as the 28×28 picture, so it
can be re-rendered if preprocessing ever improves. Every change is one SQLite transaction, which
WAL mode makes atomic and durable: a crash or kill at any moment loses no sample that was saved.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from model.checkpoint import atomic_write_bytes
from model.preprocess import PREPROCESS_VERSION, IMAGE_SIZE, strokes_to_image

EXPORT_FORMAT = "hwr-samples"
EXPORT_VERSION = 1

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
    """Return a Sample for strokes, its picture rendered by the shared preprocessing."""
    _check_label(label)
    if number is not None and not (str(number).isdigit() and len(str(number)) <= 64):
        raise ValueError(f"A number is up to 64 digits 0–9, got {number!r}.")
    clean = [[_point_tuple(point) for point in stroke] for stroke in strokes if len(stroke)]
    return Sample(label=int(label), strokes=clean, image=strokes_to_image(clean), predicted=predicted,
                  probabilities=None if probabilities is None else [float(p) for p in probabilities],
                  model_version=model_version, number=None if number is None else str(number))


def _check_label(label: int) -> None:
    if not 0 <= int(label) <= 9:
        raise ValueError(f"A digit label is 0–9, got {label}.")


def _point_tuple(point: Sequence[float]) -> tuple[float, float, float, float]:
    values = [float(v) for v in point] + [1.0, 0.0][len(point) - 2:]
    return tuple(values[:4])  # type: ignore[return-value]


class SampleStore:
    """The samples of one user, in one SQLite file. Use from one thread."""

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the store; a damaged file is moved aside and a new one started.

        After opening, ``recovery_message`` is "" or says what was moved aside and where.
        """
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.recovery_message = ""
        try:
            self._connection = self._open()
        except sqlite3.OperationalError as error:  # locked, unreadable, disk full: not damage
            raise SampleStoreError(f"Cannot open the sample database {self.path}: {error}") from error
        except sqlite3.DatabaseError as error:  # not a database, or it failed its integrity check
            aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                part = Path(str(self.path) + suffix)
                if part.exists():
                    part.replace(Path(str(aside) + suffix))
            self.recovery_message = (f"The sample database was damaged ({error}); it was moved to "
                                     f"{aside} and a new, empty one was started.")
            self._connection = self._open()

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")  # a committed sample survives power loss
            if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
            connection.executescript(_SCHEMA)
            columns = {row[1] for row in connection.execute("PRAGMA table_info(samples)")}
            if _NUMBER_COLUMN not in columns:
                connection.execute(f"ALTER TABLE samples ADD COLUMN {_NUMBER_COLUMN} TEXT")
        except sqlite3.DatabaseError:
            connection.close()
            raise
        return connection

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
        """Return the sample with this id, or None."""
        row = self._connection.execute(f"SELECT {_COLUMNS} FROM samples WHERE id = ?", (sample_id,)).fetchone()
        return None if row is None else _sample_from_row(row)

    def samples(self, label: int | None = None) -> list[Sample]:
        """Return all samples (or those of one digit), oldest first."""
        if label is None:
            rows = self._connection.execute(f"SELECT {_COLUMNS} FROM samples ORDER BY id").fetchall()
        else:
            rows = self._connection.execute(f"SELECT {_COLUMNS} FROM samples WHERE label = ? ORDER BY id",
                                            (int(label),)).fetchall()
        return [_sample_from_row(row) for row in rows]

    def count(self) -> int:
        """Return how many samples are stored."""
        return int(self._connection.execute("SELECT COUNT(*) FROM samples").fetchone()[0])

    def counts_by_label(self) -> dict[int, int]:
        """Return {digit: number of samples} for all ten digits."""
        counts = dict.fromkeys(range(10), 0)
        for label, number in self._connection.execute("SELECT label, COUNT(*) FROM samples GROUP BY label"):
            counts[int(label)] = int(number)
        return counts

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

        The file is checked whole before anything is stored, so a bad file changes nothing.
        """
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            if document.get("format") != EXPORT_FORMAT:
                raise ValueError("not an hwr samples file")
            incoming = []
            for entry in document["samples"]:
                sample = make_sample(entry["label"], entry["strokes"], entry.get("predicted"),
                                     entry.get("probabilities"), entry.get("model_version", ""),
                                     entry.get("number"))
                sample.uid, sample.created = str(entry["uid"]), str(entry["created"])
                incoming.append(sample)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise SampleStoreError(f"Cannot import {path}: {error}") from error
        before = self.count()
        with self._transaction():
            for sample in incoming:
                self._insert(sample)
        return self.count() - before


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
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


_COLUMNS = "id, uid, created, label, predicted, probabilities, model_version, strokes, image, number"


def _image_bytes(image: np.ndarray) -> bytes:
    return np.clip(np.round(np.asarray(image) * 255), 0, 255).astype(np.uint8).tobytes()


def _sample_from_row(row: tuple) -> Sample:
    sample_id, uid, created, label, predicted, probabilities, model_version, strokes, image, number = row
    pixels = np.frombuffer(image, dtype=np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE).astype(np.float32) / 255
    return Sample(label=int(label), strokes=[[tuple(p) for p in s] for s in json.loads(strokes)],
                  image=pixels, predicted=predicted,
                  probabilities=None if probabilities is None else json.loads(probabilities),
                  model_version=model_version, created=created, uid=uid, id=int(sample_id), number=number)


def rendered_images(samples: Iterable[Sample]) -> np.ndarray:
    """Return (N, 28, 28) float32 pictures re-rendered from the samples' strokes."""
    images = [strokes_to_image(sample.strokes) for sample in samples]
    return np.stack(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32)
