"""What hwr keeps on disk: model files, the user's samples and the model versions.

Owns the checkpoint format (:mod:`~model.storage.checkpoint`, its fields checked by
:mod:`~model.storage.checkpoint_fields`; loading never runs code from the file), a model's inference file
(:mod:`~model.storage.inference_file`: the network as numpy arrays, read without torch), what a model file
says about its model (:mod:`~model.storage.model_info`, torch-free), the SQLite sample store with export
and import (:mod:`~model.storage.samples`) and the registry of model versions with the active one and roll
back (:mod:`~model.storage.versions`: listed and read without torch; a version's checkpoint is loaded with
torch only to fine-tune from it).

May import: :mod:`model.files`, :mod:`model.recognition` (a checkpoint builds its network; a sample's
picture is rendered from its strokes), :mod:`model.constants`.
"""
