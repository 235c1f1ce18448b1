"""Files on disk: written atomically, moved aside without ever overwriting one, crash leftovers swept up."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from model.files.limits import STALE_TEMPORARY_SECONDS


def move_aside(path: Path, folder: Path, name: str) -> Path | None:
    """Move ``path`` to ``folder/name`` (or ``name-2``, ``name-3``… if taken) and return where it went.

    Never overwrites a file: the new name is claimed with a hard link, which fails if the name
    exists, even when another process claims it at the same moment. Returns None when ``path`` is
    already gone (another process moved it first). Raises OSError if it cannot be moved.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        target = folder / (name if attempt == 1 else f"{name}-{attempt}")
        try:
            os.link(path, target, follow_symlinks=False)  # a link is moved, never what it points to
        except FileExistsError:
            continue
        except FileNotFoundError:
            return None
        except OSError:  # a folder, or no hard links on this file system: claim the name exclusively
            folder_moved = path.is_dir() and not path.is_symlink()
            try:
                if folder_moved:
                    os.mkdir(target)  # renaming a folder replaces an empty one
                else:
                    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            try:
                os.replace(path, target)
            except BaseException as error:  # never leave the claimed name behind as junk
                if folder_moved:
                    os.rmdir(target)
                else:
                    target.unlink(missing_ok=True)
                if isinstance(error, FileNotFoundError):
                    return None
                raise
            return target
        try:
            path.unlink()
        except FileNotFoundError:  # moved by another process meanwhile; our link is a copy of it
            pass
        return target
    raise OSError(f"no free name for {name} in {folder}")


def timestamp() -> str:
    """Return the local time as YYYYmmdd-HHMMSS, for names of files moved aside."""
    return time.strftime("%Y%m%d-%H%M%S")


def remove_stale_temporaries(folder: Path, now: float | None = None) -> list[Path]:
    """Delete ``.*.tmp`` files older than STALE_TEMPORARY_SECONDS in ``folder``; return those deleted.

    Atomic writes go through such files; one that old was left by a crash or a kill, not by a save
    still in progress (a save takes well under a second).
    """
    now = time.time() if now is None else now
    removed = []
    try:
        candidates = list(folder.glob(".*.tmp"))
    except OSError:
        return removed
    for path in candidates:
        try:
            if path.is_file() and not path.is_symlink() and now - path.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a fsynced temporary file and os.replace; return path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a model or export is an ordinary file
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable; not every platform lets a directory be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
