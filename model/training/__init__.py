"""Training from scratch and measuring: the data sets, the training loop, evaluation, weight soups.

Owns MNIST loading and augmentation (:mod:`~model.training.data`), the UNIPEN reader and its fixed
writer split (:mod:`~model.training.unipen`, with the suspect-label list), pen digits rendered for
training (:mod:`~model.training.pen_data`) and the continental writing styles that can redraw them
(:mod:`~model.training.styles`: flagged 1s, crossed 7s, open 4s, quick-loop 9s), the training command (:mod:`~model.training.train`,
``python -m model.train``), evaluation side by side on MNIST and UNIPEN (:mod:`~model.training.evaluate`,
``python -m model.evaluate``), weight soups (:mod:`~model.training.soup`) and the synthetic test
handwriting used by tests and benchmarks (:mod:`~model.training.synthetic`, :mod:`~model.training.compose`).

May import: :mod:`model.storage`, :mod:`model.recognition`, :mod:`model.files`, :mod:`model.constants`,
torch, torchvision. Not :mod:`model.personal`.
"""
