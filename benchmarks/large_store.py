"""How long the window stalls on a large sample store: a fine-tune starting (issue 12, item 13), and
the Samples dialog opening (every row read and checked on the GUI thread).

Fills a fresh data folder with N samples (one drawing's row copied N times with new ids and labels
0–9, straight into SQLite so that filling takes seconds), opens the real window (offscreen), starts
a short fine-tune and records, with a 10 ms heartbeat timer on the GUI thread, how long
``start_finetune()`` itself takes and the longest gap between heartbeats until the fine-tune ends;
then opens the Samples dialog three times and reports how long each opening took.

    QT_QPA_PLATFORM=offscreen python -m benchmarks.large_store --samples 20000

Prints the figures; it does not write BENCHMARKS.md. Timings on a loaded machine are not final.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.common import default_data_dir


def fill_store(path: Path, count: int, first=None) -> None:
    """Write ``count`` samples into the store at ``path``: ``first`` (a model.storage.samples.Sample; default
    a plain 1), then copies of it with new ids, labels cycling 0–9 — fast, through SQLite directly."""
    from model.storage.samples import SampleStore, make_sample
    from model.training.synthetic import STANDARD

    store = SampleStore(path)
    store.add(first or make_sample(1, STANDARD[1]))
    store.close()
    connection = sqlite3.connect(path)
    columns = "created, predicted, probabilities, model_version, strokes, image, preprocess_version"
    row = connection.execute(f"SELECT {columns} FROM samples").fetchone()
    connection.executemany(f"INSERT INTO samples (uid, label, {columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(uuid.uuid4().hex, n % 10, *row) for n in range(count - 1)])
    connection.commit()
    connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--samples", type=int, default=20_000, help="samples in the store")
    parser.add_argument("--steps", type=int, default=5, help="fine-tune steps")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(), help="folder holding MNIST/raw")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from benchmarks.qt_driving import wait_until
    from hwr_app.main_window import MainWindow
    from hwr_app.startup import AppPaths
    from model.personal.finetune import FinetuneConfig

    with tempfile.TemporaryDirectory() as folder:
        user = Path(folder) / "user"
        user.mkdir()
        started = time.perf_counter()
        fill_store(user / "samples.db", args.samples)
        print(f"filled {args.samples:,} samples in {time.perf_counter() - started:.1f} s")
        window = MainWindow(AppPaths(user_dir=user, mnist_dir=args.data_dir), download_mnist=False)
        window.show()
        wait_until(window.is_ready, 120, "the model to load")
        window.finetune_config = FinetuneConfig(steps=args.steps)

        gaps = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        heartbeat = QTimer(interval=10)
        heartbeat.timeout.connect(tick)
        heartbeat.start()
        wait_until(lambda: len(gaps) > 20, 10, "the heartbeat")
        gaps.clear()
        before = time.perf_counter()
        window.start_finetune()
        call = time.perf_counter() - before
        wait_until(lambda: window.finetune_worker is None, 600, "the fine-tune")
        heartbeat.stop()
        outcome = "finished" if window.last_finetune is not None else "failed (see the window's message)"
        print(f"{args.samples:,} samples: start_finetune() took {call * 1e3:.0f} ms on the GUI thread; "
              f"longest event-loop gap until the fine-tune {outcome}: {max(gaps) * 1e3:.0f} ms "
              f"({len(gaps)} heartbeats)")
        openings = []
        for _ in range(3):
            before = time.perf_counter()
            window.show_samples()
            app.processEvents()
            openings.append(time.perf_counter() - before)
            window.samples_dialog.close()
            app.processEvents()
        print(f"{args.samples:,} samples: opening the Samples dialog took "
              + ", ".join(f"{t:.2f} s" for t in openings) + " (rows read, checked and shown on the GUI thread)")
        window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
