"""``python -m model.evaluate``: the evaluation command, kept at this name for scripts and the README.

The evaluation code lives in :mod:`model.training.evaluate`; this module only runs its command line.
"""

from model.training.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
