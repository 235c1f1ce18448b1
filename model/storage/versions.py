"""Model versions: the shipped model, every accepted fine-tune, and which one is active.

Layout under the user's data folder::

    models/<version>.pt          accepted versions (atomic writes)
    models/<version>.npz         each one's inference file: the same network for reading without torch
    models/rejected/<version>.pt fine-tunes that failed the acceptance gate, kept aside, never active
    models/damaged/              files that could not be read, moved aside with a message
    models/active                the active version's id (atomic write); absent = the shipped model

The shipped model is always available as version ``SHIPPED`` and is what everything falls back to.

Listing, naming and reading digits with a version need no torch: each version is read from its inference
file (:mod:`model.storage.inference_file`, written beside the checkpoint when the version is saved);
its checkpoint, the weights a fine-tune starts from, is loaded with torch only when asked
(:attr:`VersionEntry.checkpoint`). A version whose inference file is missing (saved by an hwr before
this one), from an older format, damaged, a link or naming another model gets it written again from its
checkpoint, once; the checkpoint itself is checked whole (every part's checksum) without torch.

The folder is kept small: beyond limits.KEEP_VERSIONS accepted versions the oldest are deleted (never
the active one nor the versions it was made from, limits.KEEP_ACTIVE_LINE of them), and beyond
limits.KEEP_REJECTED rejected ones the oldest too; they are chosen by their files' times before any
file is read, so that a folder of thousands costs a directory listing. Only regular files of the
models folder itself (and of its real, unlinked ``rejected``/``damaged`` sub-folders) are ever read,
moved or deleted; a models folder that is itself a link is not used at all (only the shipped model).
"""

from __future__ import annotations

import os
import stat
import threading
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from model.constants import SHIPPED
from model.files import limits, validate
from model.files.disk import (STALE_TEMPORARY_SECONDS, atomic_write_bytes, move_aside, remove_stale_temporaries,
                              timestamp)
from model.storage.inference_file import (InferenceFileError, InferenceModel, inference_model, inference_path,
                                          read_inference_file, write_inference_file)
from model.storage.model_info import CheckpointError, ModelInfo, check_declared_sizes

if TYPE_CHECKING:
    from model.storage.checkpoint import Checkpoint


class VersionEntry:
    """One model version: its info and its network for reading digits (numpy), its checkpoint on demand.

    A model.recognition.predict.Predictor takes an entry as it is (:meth:`build`).
    """

    def __init__(self, version: str, path: Path, reader: InferenceModel, checkpoint: "Checkpoint | None" = None
                 ) -> None:
        self.version = version  # SHIPPED or the checkpoint's own version id
        self.path = path  # the checkpoint (.pt); its inference file is inference_path(path)
        self.reader = reader
        self._checkpoint = checkpoint
        self._loading = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        return self.reader.info

    @property
    def is_shipped(self) -> bool:
        return self.version == SHIPPED

    def build(self):
        """Return the network that reads digits: numpy, no torch."""
        return self.reader.build()

    @property
    def checkpoint(self) -> "Checkpoint":
        """Return the checkpoint (the weights a fine-tune starts from), loading it with torch on first use.

        Raises model.storage.checkpoint.CheckpointError naming the file if it cannot be used, or if it
        holds another model than the one this entry reads with.
        """
        with self._loading:
            if self._checkpoint is None:
                from model.storage.checkpoint import load_checkpoint

                checkpoint = load_checkpoint(self.path)
                if checkpoint.info.version != self.info.version:
                    raise CheckpointError(f"Model file {self.path} holds model {checkpoint.info.version}, not "
                                          f"{self.info.version} that hwr reads with ({inference_path(self.path)}).")
                self._checkpoint = checkpoint
            return self._checkpoint

    @classmethod
    def of_checkpoint(cls, version: str, path: Path, checkpoint: "Checkpoint") -> "VersionEntry":
        """Return the entry of a checkpoint already loaded (a fine-tune just made, a file named with --weights)."""
        return cls(version, path, inference_model(checkpoint), checkpoint)


def _age(entry: VersionEntry) -> tuple[str, int]:
    """Return the sort key oldest first: the saved time (whole seconds), then the file's own time,
    so two fine-tunes saved in one second keep their order."""
    try:
        written = entry.path.stat().st_mtime_ns
    except OSError:
        written = 0
    return entry.info.created, written


MAX_DAMAGED_LINES = 3  # more files moved aside in one listing than this are told in one line


def is_version_id(text: str) -> bool:
    """Return True if ``text`` is a version id (10 hex digits) that may name a file in models/."""
    return bool(validate.VERSION_ID.fullmatch(text))


def _check_whole(path: Path) -> None:
    """Raise CheckpointError if the checkpoint at ``path`` is not a whole archive, checked without torch.

    hwr's checkpoints are zip archives (torch.save's format); every part's checksum is verified, so a
    file cut short or with a flipped bit is found when the version is listed, as a full load would. A file
    in torch's older format (a plain pickle, which no hwr writes but load_checkpoint reads) is left to
    that full load.
    """
    try:
        with open(path, "rb") as file:
            start = file.read(4)
        if start[:1] == b"\x80":  # a pickle: torch's older format, for load_checkpoint to judge in full
            return
        check_declared_sizes(path)  # as load_checkpoint does, before any part is read
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except CheckpointError:
        raise
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, RuntimeError, NotImplementedError) as error:
        raise CheckpointError(f"Model file {path} is damaged or not a model file.") from error
    if broken is not None:
        raise CheckpointError(f"Model file {path} is damaged: its part {broken[:60]!r} does not match its checksum.")


class ModelRegistry:
    """The model versions kept in one folder, beside the shipped checkpoint."""

    def __init__(self, folder: str | Path, shipped_path: str | Path) -> None:
        self.folder = Path(folder)
        self.shipped_path = Path(shipped_path)
        self.messages: list[str] = []  # problems met (damaged files moved aside), for the user
        self._shipped: VersionEntry | None = None  # read once: the file ships with the app
        self._cache: dict[Path, tuple[int, VersionEntry]] = {}  # path → (mtime, entry): each file read once
        # A fine-tune saves (and prunes) on its worker thread while the window may activate a version:
        # pruning and activating take turns, so a version is never deleted between being chosen and in charge.
        self._turn = threading.RLock()
        self._told_linked = False

    def _linked(self) -> bool:
        """Whether models/ is a link (out of the data folder, maybe): then nothing in it is read, written or
        deleted, only the shipped model is used, and ``messages`` says so once."""
        try:
            linked = stat.S_ISLNK(os.lstat(self.folder).st_mode)
        except OSError:
            return False
        if linked and not self._told_linked:
            self._told_linked = True
            self.messages.append(f"The models folder {self.folder} is a link (to {os.readlink(self.folder)[:200]}); "
                                 f"hwr reads, writes and deletes nothing through a link out of its data folder, so "
                                 f"only the shipped model is used. Put a real folder there to keep fine-tuned models.")
        return linked

    # -- listing -------------------------------------------------------------------------------

    def take_messages(self) -> list[str]:
        """Return the problems met since the last call (damaged files moved aside), and forget them."""
        messages, self.messages = self.messages, []
        return messages

    def shipped(self) -> VersionEntry:
        """Return the shipped model; raises CheckpointError if even that cannot be read.

        Read from its inference file; if that is missing or damaged, from its checkpoint (with torch),
        never writing into the app's own folder.
        """
        if self._shipped is None:
            try:
                self._shipped = VersionEntry(SHIPPED, self.shipped_path,
                                             read_inference_file(inference_path(self.shipped_path)))
            except InferenceFileError:
                from model.storage.checkpoint import load_checkpoint

                self._shipped = VersionEntry.of_checkpoint(SHIPPED, self.shipped_path,
                                                           load_checkpoint(self.shipped_path))
        return self._shipped

    def versions(self) -> list[VersionEntry]:
        """Return the shipped model, then accepted versions oldest first; damaged files are moved aside
        (many of them told in one line) and versions beyond the kept number deleted first."""
        if self._linked():
            return [self.shipped()]
        self.prune()
        entries = self._load_all(self._version_files(self.folder))
        return [self.shipped()] + sorted(entries, key=_age)

    def rejected(self) -> list[VersionEntry]:
        """Return fine-tunes kept aside by the acceptance gate."""
        folder = None if self._linked() else self._subfolder("rejected")
        return sorted(self._load_all(self._version_files(folder) if folder else []), key=_age)

    def _load_all(self, paths: list[Path]) -> list[VersionEntry]:
        """Load each path; when more than MAX_DAMAGED_LINES files are moved aside, say so in one line."""
        before = len(self.messages)
        entries = [entry for entry in map(self._load, paths) if entry is not None]
        added = self.messages[before:]
        if len(added) > MAX_DAMAGED_LINES:
            self.messages[before:] = [f"{len(added):,} model files could not be used and were set aside "
                                      f"(in {self.folder / 'damaged'}). The first: {added[0]}"]
        return entries

    def _subfolder(self, name: str) -> Path | None:
        """Return models/<name> if it is a real folder of models/ (not a link elsewhere) or absent; else None."""
        folder = self.folder / name
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            return folder
        except OSError:
            return None
        return folder if stat.S_ISDIR(info.st_mode) else None

    @staticmethod
    def _version_files(folder: Path, suffix: str = ".pt") -> list[Path]:
        """Return the regular files in ``folder`` named <version id>.pt (or ``suffix``); anything else there
        (links, folders, pipes, other names) is not a version and is left alone."""
        found = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = entry.name
                    if (name.endswith(suffix) and is_version_id(name[:-len(suffix)])
                            and entry.is_file(follow_symlinks=False)):
                        found.append(folder / name)
        except OSError:
            return []
        return found

    def prune(self, also_keep: str = "") -> list[Path]:
        """Delete the oldest versions beyond limits.KEEP_VERSIONS (keeping the active one, the
        limits.KEEP_ACTIVE_LINE versions it was made from, and ``also_keep``) and the oldest rejected ones
        beyond limits.KEEP_REJECTED; return the deleted files. Ages are the files' times: nothing is read,
        so a clock that was once wrong can make a new file look old — the one just saved is kept whatever
        its time says."""
        if self._linked():
            return []
        with self._turn:
            keep = self._active_line() | {also_keep}
            removed = self._prune_folder(self.folder, limits.KEEP_VERSIONS, keep)
            rejected = self._subfolder("rejected")
            if rejected is not None:
                removed += self._prune_folder(rejected, limits.KEEP_REJECTED, {also_keep})
        if removed:
            self.messages.append(f"{len(removed):,} old model versions were deleted: hwr keeps the newest "
                                 f"{limits.KEEP_VERSIONS} versions, the active one and those it was made from, "
                                 f"and the newest {limits.KEEP_REJECTED} rejected fine-tunes.")
        return removed

    def _prune_folder(self, folder: Path, keep_count: int, keep: set[str]) -> list[Path]:
        files = self._version_files(folder)
        if len(files) <= keep_count:
            return []
        dated = []
        for path in files:
            try:
                dated.append((path.stat(follow_symlinks=False).st_mtime_ns, path.name, path))
            except OSError:
                continue
        dated.sort(reverse=True)  # newest first
        removed = []
        for _, _, path in dated[keep_count:]:
            if path.stem in keep:
                continue
            try:
                path.unlink()
            except OSError:
                continue
            try:
                inference_path(path).unlink()  # its inference file goes with it
            except OSError:
                pass
            self._cache.pop(path, None)
            removed.append(path)
        return removed

    def _active_line(self) -> set[str]:
        """Return the active version and up to KEEP_ACTIVE_LINE versions it was made from (parents)."""
        line: set[str] = set()
        version = self.active_version()
        while version and version != SHIPPED and version not in line and len(line) <= limits.KEEP_ACTIVE_LINE:
            line.add(version)
            entry = self._load(self.folder / f"{version}.pt")
            version = entry.info.parent_version if entry is not None else ""
        return line

    def entry(self, version: str) -> VersionEntry:
        """Return one version; raises KeyError if it is not (or no longer) available.

        ``version`` must be SHIPPED or a version id; anything else (a path, say) is unknown.
        """
        if version == SHIPPED:
            return self.shipped()
        if not is_version_id(version) or self._linked():
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
            info = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):  # a version is a regular file of models/ itself: not a link
            return None  # elsewhere, a folder or a pipe (left as it is: moving it would leave junk)
        stamp = info.st_mtime_ns
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            entry = self._read(path)
        except CheckpointError as error:
            self._move_aside(path, str(error))
            return None
        self._cache[path] = (stamp, entry)
        return entry

    @staticmethod
    def _read(path: Path) -> VersionEntry:
        """Return the version whose checkpoint is ``path``, read from its inference file.

        An inference file that is missing, from an older hwr, damaged or naming another model is
        written again from the checkpoint (torch, once); raises CheckpointError if the checkpoint
        cannot be used either, or names another version than its file name.
        """
        reader = None
        inference = inference_path(path)
        try:
            if stat.S_ISREG(os.lstat(inference).st_mode):  # a link, even to a good file, is written over
                reader = read_inference_file(inference)
        except (OSError, InferenceFileError):
            pass
        if reader is not None and reader.info.version == path.stem:
            _check_whole(path)  # the checkpoint too, or a fine-tune from it would fail much later
            return VersionEntry(path.stem, path, reader)
        from model.storage.checkpoint import load_checkpoint

        checkpoint = load_checkpoint(path)
        if checkpoint.info.version != path.stem:
            raise CheckpointError(f"Model file {path} holds model {checkpoint.info.version}, not the {path.stem} "
                                  f"its name says.")
        entry = VersionEntry.of_checkpoint(path.stem, path, checkpoint)
        try:
            write_inference_file(entry.reader, inference_path(path))
        except (OSError, InferenceFileError):  # a full or read-only disk: read from the checkpoint again next time
            pass
        return entry

    # -- the active version ------------------------------------------------------------------

    def active_version(self) -> str:
        """Return the id stored as active, or SHIPPED.

        ``models/active`` must hold SHIPPED or a version id and nothing else; any other content is
        moved aside with a message, and the shipped model is active.
        """
        marker = self.folder / "active"
        if self._linked():
            return SHIPPED
        try:
            return validate.active_marker_file(marker, SHIPPED)
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
        with self._turn:
            entry = self.entry(version)
            if self._linked():
                raise OSError(f"The models folder {self.folder} is a link; hwr writes nothing through it.")
            atomic_write_bytes(self.folder / "active", version.encode("utf-8"))
            return entry

    # -- adding --------------------------------------------------------------------------------

    def add(self, checkpoint: "Checkpoint", accepted: bool) -> VersionEntry:
        """Store a fine-tuned checkpoint: as a version if accepted, else under rejected/.

        Its inference file is written first, so that a version listed (its checkpoint there) can be
        read without torch; a save that fails leaves neither.
        """
        version = checkpoint.info.version
        if not is_version_id(version):
            raise ValueError(f"{version!r} is not a version id; checkpoints get theirs from make_checkpoint.")
        if self._linked():
            raise OSError(f"The models folder {self.folder} is a link; hwr writes nothing through it, so the "
                          f"fine-tuned model was not kept.")
        folder = self.folder if accepted else self._subfolder("rejected")
        if folder is None:
            raise OSError(f"{self.folder / 'rejected'} is not a folder of {self.folder} (a link elsewhere?); "
                          f"the rejected fine-tune was not kept.")
        from model.storage.checkpoint import save_checkpoint

        path = folder / f"{version}.pt"
        entry = VersionEntry.of_checkpoint(version, path, checkpoint)
        write_inference_file(entry.reader, inference_path(path))
        try:
            save_checkpoint(checkpoint, path)
        except OSError:
            inference_path(path).unlink(missing_ok=True)
            raise
        self._cache[path] = (path.stat().st_mtime_ns, entry)  # activating it needs no second read
        self.prune(also_keep=version)
        return entry

    def remove_stale_temporaries(self, now: float | None = None) -> list[Path]:
        """Delete temporary files a crash left in models/ and models/rejected/, and inference files whose
        checkpoint is gone (a save cut short, a version deleted by hand); return them."""
        removed: list[Path] = []
        if self._linked():
            return removed
        now = time.time() if now is None else now
        for folder in (self.folder, self._subfolder("rejected")):
            if folder is None:
                continue
            removed += remove_stale_temporaries(folder, now)
            for path in self._version_files(folder, ".npz"):
                try:
                    if (not os.path.lexists(path.with_suffix(".pt"))
                            and now - path.stat(follow_symlinks=False).st_mtime > STALE_TEMPORARY_SECONDS):
                        path.unlink()
                        removed.append(path)
                except OSError:
                    continue
        return removed

    def _move_aside(self, path: Path, message: str) -> None:
        """Move a bad file of models/ (only ever one of this folder's own) to models/damaged/."""
        inside = path.parent == self.folder or (path.parent == self.folder / "rejected"
                                                and self._subfolder("rejected") is not None)
        damaged = self._subfolder("damaged")
        if not inside or damaged is None or self._linked():  # never reach outside models/, nor through a link
            self.messages.append(message)
            return
        prefix = "rejected-" if path.parent != self.folder else ""
        try:
            target = move_aside(path, damaged, f"{prefix}{path.name}.{timestamp()}")
        except OSError as error:
            self.messages.append(f"{message} It could not be moved aside ({validate.describe_os_error(error)}).")
            return
        if target is None:  # another copy of hwr moved it first
            self.messages.append(message)
            return
        self.messages.append(f"{message} It was moved to {target}.")
        inference = inference_path(path)
        if path.suffix == ".pt" and os.path.isfile(inference) and not os.path.islink(inference):
            try:  # its inference file goes with it, so that the two stay together
                move_aside(inference, damaged, f"{prefix}{inference.name}.{timestamp()}")
            except OSError:
                pass  # left behind: removed as an orphan at a later start
