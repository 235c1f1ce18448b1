"""Personalisation: fine-tuning a copy of the model on the user's samples, and judging the result.

Owns when a fine-tune may run (:mod:`~model.personal.readiness`, torch-free: the window asks it while
torch loads), the reference digits it replays and is checked against (:mod:`~model.personal.reference`,
``python -m model.personal build|stamp``), the frozen trunk and the gate figures measured through it
(:mod:`~model.personal.features`) and the fine-tune with its acceptance gate (:mod:`~model.personal.finetune`).

May import: :mod:`model.training` (data and augmentation), :mod:`model.storage`, :mod:`model.recognition`,
:mod:`model.files`, :mod:`model.constants`.
"""
