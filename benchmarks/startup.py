"""Start-up: time to a canvas that takes strokes, time to the first prediction, and memory.

    .venv/bin/python -m benchmarks.startup                 # about a minute and a half
    .venv/bin/python -m benchmarks.startup --repeats 1 --warmup 0 --finetune-samples 0 --no-write

Each repeat starts a fresh process (``benchmarks/startup_driver.py``) that builds and shows the main
window exactly as ``hwr_app.app.main`` does, on a new, empty data folder (a first start), with
QT_QPA_PLATFORM=offscreen. Times are counted from the moment this script starts the child process
(its time.time() just before Popen), so they include the interpreter's own start-up. The child notes:

* when the canvas is first painted (it is on screen and takes strokes; the model still loads on a
  background thread), then draws a "3" at once with real mouse events, as an eager user would;
* when the first prediction arrives (the recognizer's prediction_ready);
* its resident memory (VmRSS, and the peak VmHWM) once started, and whether torch is loaded by then
  (the app reads digits with numpy and imports torch only for the first fine-tune);
* one fine-tune on ``--finetune-samples`` samples: its time (the import of torch included: it is the
  first), the longest the window's event loop waited meanwhile, and the memory after it.

A process that does nothing but ``import torch``, started alternately with the app in the same
environment, is the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/startup.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.common import REPO_ROOT, default_data_dir, markdown_table, percentiles, publish, verdict
from model.training.synthetic import STANDARD, jitter

TARGET_CANVAS_S = 2.0
TARGET_PREDICTION_S = 0.5  # issue 22: first answer within half a second of the process's start
TARGET_STARTED_RSS_MB = 200.0  # issue 22: until the first fine-tune
# A process that only imports torch; then, for the breakdown, what torch._dynamo and torchvision add on top.
TORCH_ONLY = """
import time
started = time.time()
import torch
took = time.time() - started


def rss_kib():
    return [int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmRSS:')][0]


rss = rss_kib()
started = time.time()
import torch._dynamo  # what torch.optim's first step imports
dynamo_s, dynamo_kib = time.time() - started, rss_kib() - rss
started = time.time()
import torchvision
import json
print(json.dumps({'rss_kib': rss, 'import_s': took, 'dynamo_kib': dynamo_kib, 'dynamo_s': dynamo_s,
                  'torchvision_kib': rss_kib() - rss - dynamo_kib, 'torchvision_s': time.time() - started}))
"""


def megabytes(kib: int) -> float:
    """Return MB (10^6 bytes) for a /proc figure in KiB."""
    return kib * 1024 / 1e6


def child_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["QT_QPA_PLATFORM"] = "offscreen"
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")]))
    environment.pop("HWR_DATA_DIR", None)
    return environment


def run_app_once(data_dir: Path, finetune_samples: int, timeout_s: float) -> dict:
    """Start the app in a child process on a fresh data folder; return the figures it reports."""
    digit = [[(float(x), float(y)) for x, y, *_ in stroke]
             for stroke in jitter(STANDARD[3], np.random.default_rng(3), 0.3)]
    with tempfile.TemporaryDirectory(prefix="hwr-startup-") as folder:
        result = Path(folder) / "figures.json"
        environment = child_environment()
        environment.update(HWR_BENCH_RESULT=str(result), HWR_BENCH_DIGIT=json.dumps(digit),
                           HWR_BENCH_FINETUNE_SAMPLES=str(finetune_samples))
        # As a module from the repository's root, so that benchmarks/ is not first on the path: a
        # benchmark named like a standard module would shadow it (benchmarks/numbers.py once broke numpy).
        command = [sys.executable, "-m", "benchmarks.startup_driver", "--data-dir", str(Path(folder) / "user"),
                   "--mnist-dir", str(data_dir), "--no-download"]
        environment["HWR_BENCH_LAUNCH_TIME"] = repr(time.time())
        completed = subprocess.run(command, env=environment, cwd=REPO_ROOT, capture_output=True, text=True,
                                   timeout=timeout_s)
        if completed.returncode != 0 or not result.exists():
            raise RuntimeError(f"the app's start-up driver failed ({completed.returncode}):\n"
                               f"{completed.stderr[-3000:]}")
        return json.loads(result.read_text())


def run_torch_only() -> dict:
    """Return the RSS (KiB) and import time of a process that only imports torch."""
    completed = subprocess.run([sys.executable, "-c", TORCH_ONLY], env=child_environment(), cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=120, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def memory_breakdown(apps: list[dict], torches: list[dict]) -> list[str]:
    """Return a line that splits the RSS a fine-tune adds into the parts measured (p50s), or none."""
    trimmed = [a for a in apps if "rss_trimmed_kib" in a]
    if not trimmed:
        return []
    p50 = lambda values: percentiles(values)["p50"]  # noqa: E731
    added = p50([megabytes(a["rss_finetuned_kib"] - a["rss_started_kib"]) for a in trimmed])
    held = p50([megabytes(a["rss_finetuned_kib"] - a["rss_trimmed_kib"]) for a in trimmed])
    mnist = p50([a["mnist_cache_bytes"] / 1e6 for a in trimmed])
    parts = [f"MNIST digits the app keeps for the next fine-tune ≈ {mnist:.0f} MB"]
    rest = added - mnist - held
    for module, key, why in (("torchvision", "torchvision_kib", "model.training.data.load_mnist"),
                             ("torch._dynamo", "dynamo_kib", "torch.optim's first optimizer step")):
        if any(module in a["modules_imported"] for a in trimmed):
            size = p50([megabytes(t[key]) for t in torches])
            parts.insert(0, f"importing {module} ({why}) ≈ {size:.0f} MB")
            rest -= size
        else:
            parts.insert(0, f"{module}: not imported")
    parts.append(f"heap already freed but kept by glibc ≈ {held:.0f} MB (what a further malloc_trim(0) hands back)")
    return [f"- The first fine-tune adds {added:.0f} MB (p50): " + "; ".join(parts) + f"; the rest, ≈ {rest:.0f} MB, "
            f"is not broken down here (the new model version, libraries first used by the fine-tune, allocator "
            f"arenas of its thread)."]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder holding MNIST/raw, for the fine-tune ($HWR_MNIST_DIR if set, else ../shared/data)")
    parser.add_argument("--repeats", type=int, default=5, help="measured starts")
    parser.add_argument("--warmup", type=int, default=1,
                        help="unmeasured starts first (fills the file cache, as for any app started before)")
    parser.add_argument("--finetune-samples", type=int, default=20,
                        help="samples of the fine-tune after start-up, for the memory figure (0: none)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds one start may take in all")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import torch  # only for the report: the children measure their own imports

    for _ in range(args.warmup):
        run_torch_only()
        run_app_once(args.data_dir, 0, args.timeout)
    apps, torches = [], []
    for repeat in range(args.repeats):  # alternate, so that both see the same machine
        torches.append(run_torch_only())
        apps.append(run_app_once(args.data_dir, args.finetune_samples, args.timeout))
        figures = apps[-1]
        print(f"  start {repeat + 1}/{args.repeats}: canvas {figures['canvas_painted_s']:.2f} s, first prediction "
              f"{figures['first_prediction_s']:.2f} s, RSS {megabytes(figures['rss_started_kib']):.0f} MB; "
              f"import torch alone: {megabytes(torches[-1]['rss_kib']):.0f} MB", flush=True)

    def row(label: str, values, form) -> list[str]:
        stats = percentiles(values)
        return [label, form(stats["p50"]), form(stats["max"]), ", ".join(form(v) for v in values)]

    seconds = lambda v: f"{v:.2f}"  # noqa: E731
    mb = lambda v: f"{v:.0f}"  # noqa: E731
    rows = [
        row("interpreter start → driver's first line, s", [a["first_line_s"] for a in apps], seconds),
        row("(same, from /proc/self/stat, 10 ms resolution), s", [a["age_at_first_line_s"] for a in apps], seconds),
        row("→ MainWindow built, s", [a["window_built_s"] for a in apps], seconds),
        row("→ window.show() returned, s", [a["shown_s"] for a in apps], seconds),
        row("→ **canvas on screen (first paint), takes strokes**, s", [a["canvas_painted_s"] for a in apps], seconds),
        row("→ a \"3\" drawn with mouse events, s", [a["digit_drawn_s"] for a in apps], seconds),
        row("→ **first prediction shown**, s", [a["first_prediction_s"] for a in apps], seconds),
        row("**RSS once started (first prediction shown), MB**", [megabytes(a["rss_started_kib"]) for a in apps], mb),
        row("peak RSS (VmHWM) by then, MB", [megabytes(a["hwm_started_kib"]) for a in apps], mb),
    ]
    finetuned = [a for a in apps if "rss_finetuned_kib" in a]
    if finetuned:
        rows += [row(f"first fine-tune on {args.finetune_samples} samples (start_finetune → done; torch imported in "
                     f"it), s", [a["finetune_s"] for a in finetuned], seconds),
                 row("… the longest the window's event loop waited meanwhile, ms",
                     [a["finetune_longest_gap_ms"] for a in finetuned], lambda v: f"{v:.0f}"),
                 row("RSS after one fine-tune, MB", [megabytes(a["rss_finetuned_kib"]) for a in finetuned], mb),
                 row("peak RSS (VmHWM) after one fine-tune, MB", [megabytes(a["hwm_finetuned_kib"]) for a in finetuned],
                     mb)]
        trimmed = [a for a in finetuned if "rss_trimmed_kib" in a]
        if trimmed:
            rows.append(row("… RSS after that fine-tune once glibc's malloc_trim(0) returns free heap, MB",
                            [megabytes(a["rss_trimmed_kib"]) for a in trimmed], mb))
    rows += [row("a process that only does `import torch`: RSS, MB", [megabytes(t["rss_kib"]) for t in torches], mb),
             row("… its `import torch` time, s", [t["import_s"] for t in torches], seconds),
             row("… `import torch._dynamo` after that (torch.optim's first step does it): RSS added, MB",
                 [megabytes(t["dynamo_kib"]) for t in torches], mb),
             row("… `import torch._dynamo` time, s", [t["dynamo_s"] for t in torches], seconds),
             row("… `import torchvision` after those (model.training.data.load_mnist needs it): RSS added, MB",
                 [megabytes(t["torchvision_kib"]) for t in torches], mb),
             row("… `import torchvision` time, s", [t["torchvision_s"] for t in torches], seconds)]

    torch_rss = percentiles([megabytes(t["rss_kib"]) for t in torches])["p50"]
    lines = [f"{args.repeats} measured starts after {args.warmup} unmeasured one(s); each on a new, empty data "
             f"folder (first run: no samples, shipped model), QT_QPA_PLATFORM=offscreen. Times from the parent's "
             f"Popen.", ""]
    lines += markdown_table(["", "p50", "max", "every start"], rows)
    apps_ok = all(a["canvas_took_strokes"] for a in apps)
    torch_early = sum(a["torch_at_start"] for a in apps)
    lines += ["", f"- torch was loaded before the first fine-tune in {torch_early} of {len(apps)} starts "
              f"(the app reads digits with numpy: model.recognition.inference).",
              f"- The canvas took the strokes drawn before the model was ready: {'yes' if apps_ok else 'NO'}; "
              f"the model was ready at first paint in {sum(a['model_ready_at_canvas'] for a in apps)} of "
              f"{len(apps)} starts; first prediction read the \"3\" as "
              f"{', '.join(str(a['first_digit']) for a in apps)}.",
              f"- Fine-tune outcomes: {', '.join(a['finetune_outcome'] for a in finetuned) or 'not run'}.",
              *memory_breakdown(apps, torches),
              f"- torch {torch.__version__} is a CUDA build (CUDA {torch.version.cuda}): `import torch` maps the CUDA "
              f"libraries even on a CPU-only machine. A CPU-only torch build is not installed here, so no CPU-build "
              f"figure is given." if torch.version.cuda else f"- torch {torch.__version__} is a CPU-only build.",
              "", "### Targets", ""]
    canvas = percentiles([a["canvas_painted_s"] for a in apps])
    prediction = percentiles([a["first_prediction_s"] for a in apps])
    lines += [verdict("canvas on screen, p50", canvas["p50"], TARGET_CANVAS_S, "s"),
              verdict("canvas on screen, max", canvas["max"], TARGET_CANVAS_S, "s"),
              verdict("first prediction, p50", prediction["p50"], TARGET_PREDICTION_S, "s"),
              verdict("first prediction, max", prediction["max"], TARGET_PREDICTION_S, "s")]
    started_rss = percentiles([megabytes(a["rss_started_kib"]) for a in apps])
    lines += [verdict("RSS once started (until the first fine-tune), p50", started_rss["p50"], TARGET_STARTED_RSS_MB,
                      "MB", digits=0),
              verdict("RSS once started, max", started_rss["max"], TARGET_STARTED_RSS_MB, "MB", digits=0)]
    if finetuned:
        lines.append(f"- After the first fine-tune the process holds {percentiles([megabytes(a['rss_finetuned_kib']) for a in finetuned])['p50']:.0f} MB "
                     f"(p50), of which `import torch` alone is {torch_rss:.0f} MB.")
    publish("startup", "Start-up time and memory", lines, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
