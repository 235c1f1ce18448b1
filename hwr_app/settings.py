"""Typed reads of settings.ini: a value of the wrong type or out of range gives the default.

settings.ini is a file the user (or another program) may edit; a bad value must never stop the
app from starting, so every read goes through one of these functions.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QSize

from model.files.disk import move_aside, timestamp
from model.files.validate import describe_os_error


def read_int(settings: QSettings, key: str, default: int, minimum: int, maximum: int) -> int:
    """Return the whole number stored under ``key`` if it lies in [minimum, maximum], else ``default``."""
    value = settings.value(key, default)
    if isinstance(value, bool):
        return default
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return default
    if not isinstance(value, int) or not minimum <= value <= maximum:
        return default
    return value


def read_choice(settings: QSettings, key: str, default: int, choices: tuple[int, ...]) -> int:
    """Return the number stored under ``key`` if it is one of ``choices``, else ``default``."""
    value = read_int(settings, key, default, min(choices), max(choices))
    return value if value in choices else default


def read_size(settings: QSettings, key: str, default: QSize, minimum: QSize, maximum: QSize) -> QSize:
    """Return the size stored under ``key``, clamped to [minimum, maximum]; ``default`` if it is not a size."""
    value = settings.value(key, default)
    if not isinstance(value, QSize) or not value.isValid():
        return QSize(default)
    return value.expandedTo(minimum).boundedTo(maximum)


MAX_COUNT = 1_000_000_000  # a counter kept in the settings (corrections since the last fine-tune)


def read_count(settings: QSettings, key: str) -> int:
    """Return a counter stored under ``key``: a whole number from 0 to MAX_COUNT, else 0.

    A hand-edited ``99999999999999999999999999999`` must not reach ``setValue`` again (Qt cannot hold
    it and raises OverflowError on every save).
    """
    return read_int(settings, key, 0, 0, MAX_COUNT)


MAX_SETTINGS_BYTES = 1024 * 1024  # hwr writes a few hundred bytes; Qt reads the whole file into memory at once


def _settings_problem(path: Path, info: os.stat_result) -> str:
    """Return why the settings file (its lstat ``info``) cannot be used, or "" if it can."""
    if stat.S_ISLNK(info.st_mode):
        return f"it is a link to {os.readlink(path)[:200]}, and hwr writes nothing through a link"
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file"
    if info.st_size > MAX_SETTINGS_BYTES:
        return f"it is {info.st_size:,} bytes; the limit is {MAX_SETTINGS_BYTES:,}"
    return ""


def open_settings(path: str | os.PathLike) -> tuple[QSettings, str]:
    """Return (QSettings on ``path`` in INI format, a message or "").

    ``path`` must be a regular file of at most MAX_SETTINGS_BYTES, or absent: QSettings would wait
    forever on a named pipe, fail on a folder or a device, and abort the app on a file of gigabytes
    (a sparse one costs no disk); and it rewrites the file it reads, so a link would have it rewrite
    a file outside the data folder. Anything else there is moved aside (a link itself, never what it
    names: ``settings.ini.not-a-file-…``) and new settings are started; if it cannot be moved, the
    settings of this run are kept in a temporary file and the message says so.
    """
    path = Path(path)
    try:
        problem = _settings_problem(path, os.lstat(path))
    except FileNotFoundError:
        return QSettings(str(path), QSettings.Format.IniFormat), ""
    except OSError as error:
        problem = describe_os_error(error)
    if not problem:
        return QSettings(str(path), QSettings.Format.IniFormat), ""
    try:
        target = move_aside(path, path.parent, f"{path.name}.not-a-file-{timestamp()}")
    except OSError as error:
        temporary = Path(tempfile.mkdtemp(prefix="hwr-settings-")) / path.name
        return (QSettings(str(temporary), QSettings.Format.IniFormat),
                f"The settings file {path} cannot be used ({problem}) nor moved aside "
                f"({describe_os_error(error)}); settings changed now are kept until hwr closes.")
    return (QSettings(str(path), QSettings.Format.IniFormat),
            f"The settings file {path} could not be used ({problem}); it was moved to {target} and the "
            f"default settings are used.")
