"""Typed reads of settings.ini: a value of the wrong type or out of range gives the default.

settings.ini is a file the user (or another program) may edit; a bad value must never stop the
app from starting, so every read goes through one of these functions.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSize


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
