"""What the window's parts share: the paths and settings, and what start-up and recognition load into them.

Owns :class:`Session`, the one place the sample store, the model registry, the model version in charge and
the latest prediction are kept, so the controllers (corrections, fine-tuning) read them without holding
the window; and :class:`Forward`, which keeps the window's long-standing attributes (``window.store``,
``window.finetune_worker``) reading through to the part that now owns them. Plain Python, no widgets.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from hwr_app.startup import AppPaths


class Session:
    """The state the window's parts share; the window fills it in as start-up and recognition go."""

    def __init__(self, paths: AppPaths, settings: QSettings) -> None:
        self.paths = paths
        self.settings = settings
        self.registry = None  # model.storage.versions.ModelRegistry, once loaded
        self.store = None  # model.storage.samples.SampleStore, once loaded
        self.store_problem = ""  # why the store could not be opened, if it could not
        # The model version the recognizer uses: a model.storage.versions.VersionEntry (its info, its numpy
        # network; its torch checkpoint loaded only when a fine-tune starts from it). Named as it always was.
        self.checkpoint = None
        self.prediction = None  # the latest prediction shown


class Forward:
    """A class attribute that reads and writes ``name`` on the part held in the instance's ``part`` attribute.

    ``store = Forward("session")`` in a class makes ``window.store`` mean ``window.session.store``;
    ``finetune_worker = Forward("finetune_flow", "worker")`` renames on the way.
    """

    def __init__(self, part: str, name: str = "") -> None:
        self.part = part
        self.name = name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, instance, owner=None):
        return self if instance is None else getattr(getattr(instance, self.part), self.name)

    def __set__(self, instance, value) -> None:
        setattr(getattr(instance, self.part), self.name, value)
