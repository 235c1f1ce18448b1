"""``python -m model.soup``: the weight-soup command, kept at this name because the shipped weights record it.

The shipped checkpoint's training command (its recipe) ends in ``python -m model.soup …``; this
module keeps that recipe runnable. The soup itself lives in :mod:`model.training.soup`.
"""

from model.training.soup import main

if __name__ == "__main__":
    raise SystemExit(main())
