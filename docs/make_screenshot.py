"""Grab the README's pictures from the real window, driven by real mouse and key events.

    python docs/make_screenshot.py                    # docs/screenshot.png: a digit drawn
    python docs/make_screenshot.py --dark             # the same with a dark palette
    python docs/make_screenshot.py --all --mnist-dir DIR
        # every picture the README shows, light and dark: the window, the three getting-started
        # steps (the last one runs a real fine-tune, so it needs MNIST), and the smallest window

Each picture starts from an empty, temporary data folder, so nothing of yours shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QPoint, QSize, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

DOCS = Path(__file__).resolve().parent
WINDOW = QSize(760, 560)  # the window's default size


def dark_palette() -> QPalette:
    """Return a dark Fusion palette, as a desktop in dark mode gives."""
    palette = QPalette()
    colours = {QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
               QPalette.ColorRole.Base: "#1e1e1e", QPalette.ColorRole.Text: "#f0f0f0",
               QPalette.ColorRole.Button: "#3a3a3a", QPalette.ColorRole.ButtonText: "#e6e6e6",
               QPalette.ColorRole.Highlight: "#3d8ee8", QPalette.ColorRole.HighlightedText: "#ffffff",
               QPalette.ColorRole.Mid: "#5a5a5a", QPalette.ColorRole.ToolTipBase: "#3a3a3a",
               QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.AlternateBase: "#333333",
               QPalette.ColorRole.Link: "#6cb4ff"}
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#7a7a7a"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#8a8a8a"))
    return palette


def spin(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        spin(50)


class Session:
    """One window on an empty temporary data folder."""

    def __init__(self, mnist_dir: Path, size: QSize, show_hint: bool) -> None:
        from hwr_app.app import app_icon
        from hwr_app.main_window import MainWindow
        from hwr_app.startup import AppPaths

        self._folder = tempfile.TemporaryDirectory()
        user_dir = Path(self._folder.name)
        if not show_hint:
            (user_dir / "settings.ini").write_text("[hint]\ndismissed=true\n")
        self.window = MainWindow(AppPaths(user_dir, mnist_dir), icon=app_icon(), download_mnist=False)
        self.window.resize(size)
        self.window.show()
        wait_until(self.window.is_ready, 60)
        spin(200)

    def draw(self, strokes) -> None:
        """Draw with real mouse drags, then wait for the answer."""
        from tests.qt_helpers import draw_strokes

        self.window.canvas.clear()
        draw_strokes(self.window.canvas, strokes)
        wait_until(lambda: self.window.prediction is not None and not self.window._live_timer.isActive(), 20)
        spin(300)

    def press(self, key: Qt.Key) -> None:
        from PySide6.QtTest import QTest

        self.window.activateWindow()
        QTest.keyClick(self.window, key)
        spin(100)

    def grab(self, path: Path, dialog_name: str = "") -> None:
        """Save the window, with a message box of the window painted over its middle if named."""
        picture = self.window.grab().toImage()
        box = self.window.findChild(QMessageBox, dialog_name) if dialog_name else None
        if box is not None:
            shot = box.grab().toImage()
            painter = QPainter(picture)
            corner = QPoint((picture.width() - shot.width()) // 2, (picture.height() - shot.height()) // 3)
            painter.fillRect(corner.x() - 1, corner.y() - 1, shot.width() + 2, shot.height() + 2,
                             self.window.palette().color(QPalette.ColorRole.Mid))
            painter.drawImage(corner, shot)
            painter.end()
        picture.convertToFormat(QImage.Format.Format_RGB32).save(str(path))
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")

    def close(self) -> None:
        self.window.close()
        self._folder.cleanup()


def window_with_digit(mnist_dir: Path, output: Path, digit: int, size: QSize = WINDOW) -> None:
    from tests.qt_helpers import standard_digit

    session = Session(mnist_dir, size, show_hint=False)
    session.draw(standard_digit(digit, seed=3))
    session.grab(output)
    session.close()


def first_run(mnist_dir: Path, output: Path, size: QSize) -> None:
    session = Session(mnist_dir, size, show_hint=True)
    session.grab(output)
    session.close()


def getting_started(mnist_dir: Path, suffix: str) -> None:
    """Step 1: a digit read; step 2: a wrong answer saved as the right digit; step 3: a fine-tune's result."""
    from tests.qt_helpers import standard_digit, style_digit

    session = Session(mnist_dir, WINDOW, show_hint=False)
    session.draw(standard_digit(3, seed=3))
    session.grab(DOCS / f"step-1-draw{suffix}.png")
    for seed in range(19):  # a "2" drawn like a Z: hwr reads it as 7 until it has learnt it
        digit, strokes = style_digit("z-two", seed)
        session.draw(strokes)
        session.press(Qt.Key.Key_2)
    digit, strokes = style_digit("z-two", 19)
    session.draw(strokes)
    session.grab(DOCS / f"step-2-wrong{suffix}.png")
    session.press(Qt.Key.Key_2)
    session.grab(DOCS / f"step-2-saved{suffix}.png")
    session.window.finetune_button.click()
    wait_until(lambda: session.window.finetune_worker is None, 600)
    spin(300)
    digit, strokes = style_digit("z-two", 1000)
    session.draw(strokes)
    session.grab(DOCS / f"step-3-finetuned{suffix}.png", dialog_name="finetuneResultDialog")
    session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dark", action="store_true", help="use a dark palette")
    parser.add_argument("--digit", type=int, default=4, help="which digit to draw")
    parser.add_argument("--scale", type=float, default=1.0, help="device pixel ratio (2 = high-DPI)")
    parser.add_argument("--output", type=Path, default=None, help="default: docs/screenshot[-dark].png")
    parser.add_argument("--all", action="store_true", help="every README picture, light and dark")
    parser.add_argument("--mnist-dir", type=Path, default=None,
                        help="folder holding MNIST/raw, for the fine-tune of --all (default: $HWR_MNIST_DIR)")
    args = parser.parse_args()
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    app = QApplication([])
    app.setStyle("Fusion")
    light = QPalette(app.palette())

    from model.constants import default_mnist_dir

    mnist_dir = (args.mnist_dir or default_mnist_dir()).expanduser()
    if not args.all:
        if args.dark:
            app.setPalette(dark_palette())
        output = args.output or DOCS / ("screenshot-dark.png" if args.dark else "screenshot.png")
        window_with_digit(mnist_dir, output, args.digit)
        return 0
    if not (mnist_dir / "MNIST" / "raw").is_dir():
        print(f"error: --all runs a fine-tune and needs MNIST in {mnist_dir / 'MNIST' / 'raw'}; "
              f"pass --mnist-dir", file=sys.stderr)
        return 2
    for palette, suffix in ((light, ""), (dark_palette(), "-dark")):
        app.setPalette(palette)
        window_with_digit(mnist_dir, DOCS / f"screenshot{suffix}.png", args.digit)
        first_run(mnist_dir, DOCS / f"small-first-run{suffix}.png", QSize(480, 400))
        getting_started(mnist_dir, suffix)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
