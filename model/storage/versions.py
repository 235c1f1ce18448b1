"""Model versions: the shipped model, every accepted fine-tune, and which one is active.

Layout under the user's data folder::

    models/<version>.pt          accepted versions (atomic writes)
    models/rejected/<version>.pt fine-tunes that failed the acceptance gate, kept aside, never active
    models/damaged/              files that could not be read, moved aside with a message
    models/active                the active version's id (atomic write); absent = the shipped model

The shipped model is always available as version ``SHIPPED`` and is what everything falls back to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.constants import SHIPPED
from model.files import limits, validate
from model.files.disk import atomic_write_bytes, move_aside, remove_stale_temporaries, timestamp
from model.storage.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint


@dataclass(frozen=True)
class VersionEntry:
    """One model version as the Models view lists it."""

    version: str  # SHIPPED or the checkpoint's own version id
    path: Path
    checkpoint: Checkpoint

    @property
    def is_shipped(self) -> bool:
        return self.version == SHIPPED


def _age(entry: VersionEntry) -> tuple[str, int]:
    """Return the sort key oldest first: the saved time (whole seconds), then the file's own time,
    so two fine-tunes saved in one second keep their order."""
    try:
        written = entry.path.stat().st_mtime_ns
    except OSError:
        written = 0
    return entry.checkpoint.info.created, written


def is_version_id(text: str) -> bool:
    """Return True if ``text`` is a version id (10 hex digits) that may name a file in models/."""
    return bool(validate.VERSION_ID.fullmatch(text))


class ModelRegistry:
    """The model versions kept in one folder, beside the shipped checkpoint."""

    def __init__(self, folder: str | Path, shipped_path: str | Path) -> None:
        self.folder = Path(folder)
        self.shipped_path = Path(shipped_path)
        self.messages: list[str] = []  # problems met (damaged files moved aside), for the user
        self._shipped: VersionEntry | None = None  # read once: the file ships with the app
        self._cache: dict[Path, tuple[int, VersionEntry]] = {}  # path → (mtime, entry): each file read once

    # -- listing -------------------------------------------------------------------------------

    def take_messages(self) -> list[str]:
        """Return the problems met since the last call (damaged files moved aside), and forget them."""
        messages, self.messages = self.messages, []
        return messages

    def shipped(self) -> VersionEntry:
        """Return the shipped model; raises CheckpointError if even that cannot be read."""
        if self._shipped is None:
            self._shipped = VersionEntry(SHIPPED, self.shipped_path, load_checkpoint(self.shipped_path))
        return self._shipped

    def versions(self) -> list[VersionEntry]:
        """Return the shipped model, then accepted versions oldest first; damaged files are moved aside."""
        entries = [entry for entry in map(self._load, self._version_files(self.folder)) if entry is not None]
        return [self.shipped()] + sorted(entries, key=_age)

    def rejected(self) -> list[VersionEntry]:
        """Return fine-tunes kept aside by the acceptance gate."""
        entries = [entry for entry in map(self._load, self._version_files(self.folder / "rejected")) if entry]
        return sorted(entries, key=_age)

    @staticmethod
    def _version_files(folder: Path) -> list[Path]:
        """Return the files in ``folder`` named <version id>.pt; anything else there is not a version."""
        try:
            return [path for path in folder.glob("*.pt") if is_version_id(path.stem) and not path.is_symlink()]
        except OSError:
            return []

    def entry(self, version: str) -> VersionEntry:
        """Return one version; raises KeyError if it is not (or no longer) available.

        ``version`` must be SHIPPED or a version id; anything else (a path, say) is unknown.
        """
        if version == SHIPPED:
            return self.shipped()
        if not is_version_id(version):
            raise KeyError(version)
        entry = self._load(self.folder / f"{version}.pt")
        if entry is None:
            raise KeyError(version)
        return entry

    def _load(self, path: Path) -> VersionEntry | None:
        """Return the version stored at ``path`` (read once per change of the file), or None.

        A file that cannot be read is moved aside, with a message in ``messages``.
        """
        try:
            if path.is_symlink():  # a version is a file of models/ itself, not a pointer elsewhere
                return None
            stamp = path.stat().st_mtime_ns
        except OSError:
            return None
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError as error:
            self._move_aside(path, str(error))
            return None
        entry = VersionEntry(path.stem, path, checkpoint)
        self._cache[path] = (stamp, entry)
        return entry

    # -- the active version ------------------------------------------------------------------

    def active_version(self) -> str:
        """Return the id stored as active, or SHIPPED.

        ``models/active`` must hold SHIPPED or a version id and nothing else; any other content is
        moved aside with a message, and the shipped model is active.
        """
        marker = self.folder / "active"
        if not marker.exists() and not marker.is_symlink():
            return SHIPPED
        try:
            if marker.is_symlink() or not marker.is_file():
                raise validate.InvalidInputError(f"The active-model file {marker} is not a regular file.")
            data = validate.read_limited(marker, limits.MAX_ACTIVE_MARKER_BYTES, "The active-model file")
            return validate.active_marker(data, marker, SHIPPED)
        except validate.InvalidInputError as error:
            self._move_aside(marker, f"{error} The shipped model is used instead.")
            return SHIPPED

    def active(self) -> VersionEntry:
        """Return the active version, falling back to the shipped model if it cannot be read."""
        version = self.active_version()
        try:
            return self.entry(version)
        except KeyError:
            if version != SHIPPED:
                self.messages.append(f"Model version {version} is no longer available; "
                                     f"using the shipped model.")
                try:
                    self.activate(SHIPPED)
                except OSError:  # read-only or full disk: the fallback still works for this run
                    pass
            return self.shipped()

    def activate(self, version: str) -> VersionEntry:
        """Make ``version`` active (persisted atomically) and return it."""
        entry = self.entry(version)
        atomic_write_bytes(self.folder / "active", version.encode("utf-8"))
        return entry

    # -- adding --------------------------------------------------------------------------------

    def add(self, checkpoint: Checkpoint, accepted: bool) -> VersionEntry:
        """Store a fine-tuned checkpoint: as a version if accepted, else under rejected/."""
        version = checkpoint.info.version
        if not is_version_id(version):
            raise ValueError(f"{version!r} is not a version id; checkpoints get theirs from make_checkpoint.")
        folder = self.folder if accepted else self.folder / "rejected"
        path = save_checkpoint(checkpoint, folder / f"{version}.pt")
        entry = VersionEntry(version, path, checkpoint)
        self._cache[path] = (path.stat().st_mtime_ns, entry)  # activating it needs no second read
        return entry

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete temporary files a crash left in models/ and models/rejected/; return them."""
        return [path for folder in (self.folder, self.folder / "rejected")
                for path in remove_stale_temporaries(folder)]

    def _move_aside(self, path: Path, message: str) -> None:
        """Move a bad file of models/ (only ever one of this folder's own) to models/damaged/."""
        if path.parent not in (self.folder, self.folder / "rejected"):  # never reach outside models/
            self.messages.append(message)
            return
        prefix = "rejected-" if path.parent != self.folder else ""
        try:
            target = move_aside(path, self.folder / "damaged", f"{prefix}{path.name}.{timestamp()}")
        except OSError as error:
            self.messages.append(f"{message} It could not be moved aside ({validate.describe_os_error(error)}).")
            return
        if target is None:  # another copy of hwr moved it first
            self.messages.append(message)
            return
        self.messages.append(f"{message} It was moved to {target}.")
