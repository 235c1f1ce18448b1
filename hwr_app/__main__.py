"""Start the hwr app: ``hwr-app`` or ``python -m hwr_app``."""

from __future__ import annotations

import sys

from hwr_app.app import main

if __name__ == "__main__":
    sys.exit(main())
