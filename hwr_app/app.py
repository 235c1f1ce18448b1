"""Application start-up: command line, paths, threads, style, icon and the main window."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from hwr_app.startup import AppPaths
from model.constants import MNIST_DIR_ENV, default_mnist_dir

DATA_DIR_ENV = "HWR_DATA_DIR"  # overrides the per-user data folder (samples, models, settings)


def build_parser() -> argparse.ArgumentParser:
    """Return the app's command-line parser."""
    parser = argparse.ArgumentParser(prog="hwr-app", description="Draw digits; hwr reads them and learns your hand.")
    parser.add_argument("--weights", type=Path, default=None,
                        help="use this checkpoint instead of the active model (a bad file falls back to the active model)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"folder for your samples, models and settings (default: ${DATA_DIR_ENV} or the "
                             f"system's per-user data folder)")
    parser.add_argument("--mnist-dir", type=Path, default=None,
                        help=f"folder holding MNIST/raw, read only if the reference digits shipped with hwr are "
                             f"missing (fine-tuning needs no download otherwise; default: ${MNIST_DIR_ENV} or "
                             f"{default_mnist_dir()}, downloaded there if needed)")
    parser.add_argument("--no-download", action="store_true",
                        help="never download MNIST (it is needed only if the shipped reference digits are missing)")
    return parser


def resolve_paths(args: argparse.Namespace) -> AppPaths:
    """Return the app's folders from the options, the environment and Qt's standard locations."""
    user_dir = args.data_dir or (Path(os.environ[DATA_DIR_ENV]) if os.environ.get(DATA_DIR_ENV) else None)
    if user_dir is None:
        user_dir = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    user_dir = user_dir.expanduser()
    return AppPaths(user_dir=user_dir, mnist_dir=(args.mnist_dir or default_mnist_dir()).expanduser(),
                    weights_override=args.weights)


def app_icon() -> QIcon:
    """Return the window icon shipped in assets/."""
    from importlib import resources

    return QIcon(str(resources.files("hwr_assets") / "icon.png"))


def main(argv: list[str] | None = None) -> int:
    """Run the app and return its exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("hwr")
    app.setApplicationName("hwr")
    app.setStyle("Fusion")
    paths = resolve_paths(args)
    try:
        paths.user_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"error: cannot create the data folder {paths.user_dir}: {error}", file=sys.stderr)
        return 2

    from hwr_app.main_window import MainWindow

    icon = app_icon()
    app.setWindowIcon(icon)
    window = MainWindow(paths, icon=icon, download_mnist=not args.no_download)
    window.show()
    return app.exec()
