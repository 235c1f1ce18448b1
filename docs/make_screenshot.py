"""Grab the real window with a digit drawn, for the README: python docs/make_screenshot.py [--dark]."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def dark_palette() -> QPalette:
    """Return a dark Fusion palette, as a desktop in dark mode gives."""
    palette = QPalette()
    colours = {QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
               QPalette.ColorRole.Base: "#1e1e1e", QPalette.ColorRole.Text: "#f0f0f0",
               QPalette.ColorRole.Button: "#3a3a3a", QPalette.ColorRole.ButtonText: "#e6e6e6",
               QPalette.ColorRole.Highlight: "#3d8ee8", QPalette.ColorRole.HighlightedText: "#ffffff",
               QPalette.ColorRole.Mid: "#5a5a5a", QPalette.ColorRole.ToolTipBase: "#3a3a3a",
               QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.AlternateBase: "#333333"}
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#7a7a7a"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#8a8a8a"))
    return palette


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dark", action="store_true", help="use a dark palette")
    parser.add_argument("--digit", type=int, default=4, help="which digit to draw")
    parser.add_argument("--scale", type=float, default=1.0, help="device pixel ratio (2 = high-DPI)")
    parser.add_argument("--output", type=Path, default=Path("docs/screenshot.png"))
    args = parser.parse_args()
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    app = QApplication([])
    app.setStyle("Fusion")
    if args.dark:
        app.setPalette(dark_palette())

    from hwr_app.app import app_icon
    from hwr_app.main_window import MainWindow
    from hwr_app.startup import AppPaths
    from tests.qt_helpers import draw_strokes, standard_digit

    def spin(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    with tempfile.TemporaryDirectory() as user_dir:
        window = MainWindow(AppPaths(Path(user_dir), Path(user_dir) / "mnist"), icon=app_icon())
        window.show()
        deadline = time.monotonic() + 60
        while not window.is_ready() and time.monotonic() < deadline:
            spin(50)
        draw_strokes(window.canvas, standard_digit(args.digit, seed=3))
        spin(600)
        window.grab().save(str(args.output))
        window.close()
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
