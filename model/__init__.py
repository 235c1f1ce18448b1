"""hwr's model core: plain Python and torch, no Qt. One sub-package per capability.

Layers, bottom to top (a package imports only from packages below it, never above; a test walks
every import to keep it so — tests/test_architecture.py):

    constants, assets   settings and where the shipped files are (import nothing of hwr)
    files/              untrusted input made safe: size limits, validation, atomic writes
    recognition/        strokes → picture → network → answer: one digit or a whole number
    storage/            what is kept on disk: checkpoints, the user's samples, model versions
    training/           data sets (MNIST, UNIPEN), training from scratch, evaluation
    personal/           fine-tuning on the user's samples, its gate and reference digits
    cli, train, evaluate, soup   the command lines: ``hwr``, ``python -m model.train`` (``.evaluate``, ``.soup``)

The app (``hwr_app``) stands on all of this; nothing here imports it.
"""
