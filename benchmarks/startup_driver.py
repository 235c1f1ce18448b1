"""Run in a child process by benchmarks/startup.py: start the app as hwr_app.app.main does, and report when.

Not meant to be run by hand. The parent sets:

* HWR_BENCH_LAUNCH_TIME: its time.time() just before it started this process;
* HWR_BENCH_RESULT: the JSON file to write the figures to;
* HWR_BENCH_DIGIT: a JSON list of strokes to draw as soon as the canvas is on screen;
* HWR_BENCH_FINETUNE_SAMPLES: samples to fine-tune on after start-up (0: no fine-tune);
* QT_QPA_PLATFORM=offscreen.

The command line is the app's own (--data-dir, --mnist-dir, --no-download, ...).
"""

import time

FIRST_LINE_WALL = time.time()  # before any import of ours: the interpreter's own start-up ends here

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def process_age_seconds() -> float:
    """Return how long this process has existed, from /proc (10 ms resolution)."""
    after_name = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    start_ticks = int(after_name[19])  # field 22 of stat(5), counted after the ")" that ends field 2
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


AGE_AT_FIRST_LINE = process_age_seconds()


def memory_kib(field: str) -> int:
    """Return a field of /proc/self/status (VmRSS, VmHWM) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def release_free_heap() -> bool:
    """Ask glibc to hand freed heap back to the system (the app never does); return whether it could."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        return False
    return True


def main() -> int:
    launch = float(os.environ["HWR_BENCH_LAUNCH_TIME"])
    figures = {"first_line_s": FIRST_LINE_WALL - launch, "age_at_first_line_s": AGE_AT_FIRST_LINE}

    def mark(name: str) -> None:
        figures[name] = time.time() - launch

    # What hwr_app.app.main does, step by step, so that the moments in between can be noted.
    from PySide6.QtCore import QEvent, QObject, Qt
    from PySide6.QtWidgets import QApplication

    from hwr_app.app import app_icon, build_parser, resolve_paths

    args = build_parser().parse_args(sys.argv[1:])
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("hwr")
    app.setApplicationName("hwr")
    app.setStyle("Fusion")
    paths = resolve_paths(args)
    paths.user_dir.mkdir(parents=True, exist_ok=True)

    from hwr_app.main_window import MainWindow

    icon = app_icon()
    app.setWindowIcon(icon)
    window = MainWindow(paths, icon=icon, download_mnist=not args.no_download)
    mark("window_built_s")

    class FirstPaint(QObject):
        """Notes the first time the canvas is painted: it is then on screen and takes strokes."""

        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint and "canvas_painted_s" not in figures:
                mark("canvas_painted_s")
            return False

    first_paint = FirstPaint()
    window.canvas.installEventFilter(first_paint)
    window.recognizer.prediction_ready.connect(lambda _: "first_prediction_s" in figures
                                               or mark("first_prediction_s"))
    window.show()
    mark("shown_s")

    from benchmarks.qt_driving import draw_on_canvas, wait_until

    wait_until(lambda: "canvas_painted_s" in figures and window.canvas.isVisible(), 60, "the canvas")
    figures["model_ready_at_canvas"] = window.is_ready()
    draw_on_canvas(window.canvas, json.loads(os.environ["HWR_BENCH_DIGIT"]))  # the user draws at once
    mark("digit_drawn_s")
    figures["canvas_took_strokes"] = not window.canvas.is_empty()
    wait_until(lambda: "first_prediction_s" in figures, 120, "the first prediction")
    figures["first_digit"] = window.prediction.digit
    wait_until(lambda: window.is_ready() and window.store is not None, 60, "the sample store")
    figures["rss_started_kib"] = memory_kib("VmRSS")
    figures["hwm_started_kib"] = memory_kib("VmHWM")
    figures["torch_at_start"] = "torch" in sys.modules

    samples = int(os.environ.get("HWR_BENCH_FINETUNE_SAMPLES", "0"))
    if samples:
        from model.storage.samples import make_sample
        from model.training.synthetic import STYLES, draw_many

        digit, template = STYLES["z-two"]
        for strokes in draw_many(template, samples, seed=0):
            window.store.add(make_sample(digit, strokes))
        from PySide6.QtCore import QTimer

        ticks = []  # the GUI thread's event loop, ticking every 5 ms: the longest gap is the longest freeze
        ticker = QTimer(interval=5, timerType=Qt.TimerType.PreciseTimer)
        ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
        figures["torch_before_finetune"] = "torch" in sys.modules
        started = time.perf_counter()
        ticker.start()
        window.start_finetune()
        wait_until(lambda: window.finetune_worker is None, 300, "the fine-tune")
        figures["finetune_s"] = time.perf_counter() - started
        ticker.stop()
        gaps = [b - a for a, b in zip([started] + ticks, ticks)]
        figures["finetune_longest_gap_ms"] = 1000 * max(gaps, default=0.0)
        figures["finetune_outcome"] = "none" if window.last_finetune is None else (
            "accepted" if window.last_finetune[0].accepted else "kept aside")
        figures["rss_finetuned_kib"] = memory_kib("VmRSS")
        figures["hwm_finetuned_kib"] = memory_kib("VmHWM")
        figures["modules_imported"] = [name for name in ("torchvision", "torch._dynamo") if name in sys.modules]
        reference = window.mnist.get().reference  # cached by the fine-tune: no second load
        sets = [reference.replay, *(gate.digits for gate in reference.gates)]
        figures["mnist_cache_bytes"] = sum(t.numel() * t.element_size() for digits in sets
                                           for t in (digits.images, digits.labels))
        trimmed = release_free_heap()
        if trimmed:
            figures["rss_trimmed_kib"] = memory_kib("VmRSS")
    window.close()
    Path(os.environ["HWR_BENCH_RESULT"]).write_text(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
