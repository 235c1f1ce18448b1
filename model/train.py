"""``python -m model.train``: the training command, kept at this name for scripts and the README.

The training code lives in :mod:`model.training.train`; this module only runs its command line.
"""

from model.training.train import main

if __name__ == "__main__":
    raise SystemExit(main())
