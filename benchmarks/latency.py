"""Recognition latency at batch 1: strokes → 28×28 image → network → ten probabilities.

    .venv/bin/python -m benchmarks.latency            # about 30 s (a first torch.compile adds ~25 s)
    .venv/bin/python -m benchmarks.latency --calls 100 --no-compile --no-write   # a quick check
    .venv/bin/python -m benchmarks.latency --busy-cores 1   # with another program keeping one core busy

Two parts:

1. The app's path (``model.recognition.predict.Predictor.predict_strokes``, as the recognition thread calls it), for
   the shipped compact network and the seed architecture: preprocessing (``strokes_to_image`` and
   ``image_to_tensor``) and inference (forward + softmax + copy out) timed separately inside the same
   calls, and the whole call timed around them.
2. Ways to run the compact network's inference: eager (the app's way), channels_last, TorchScript
   (traced or scripted, then frozen), torch.compile, and 1 against 2 torch threads, each as a ratio
   to eager measured in the same run.

``--busy-cores N`` starts N processes that spin for the whole measurement, as a browser or a build
would, and writes the section "latency-under-load" instead of "latency".

Every variant runs in blocks of ``--block`` calls, the variants taking turns round by round, so a
disturbance on the machine (another process, frequency changes) falls on all of them alike. Each
block starts with a few untimed calls, which also absorb a change of torch's thread count. The
drawings come from model.training.synthetic (every standard digit and personal style, jittered as a hand
would), cycled through, so the preprocessing sees varied input as in real use.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):  # run as `python benchmarks/latency.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from benchmarks.common import markdown_table, percentiles, publish, usable_cores, verdict
from model.assets import default_weights_path
from model.storage.checkpoint import ModelInfo, load_checkpoint, make_checkpoint
from model.recognition.network import NetConfig, build_network, count_parameters
from model.recognition.predict import Predictor
from model.recognition.preprocess import image_to_tensor, strokes_to_image
from model.training.synthetic import STANDARD, STYLES, jitter

TARGET_P50_MS = 2.0  # strokes → probabilities, median
TARGET_P99_MS = 10.0  # strokes → probabilities, 99th percentile
TARGET_NUMPY_P50_MS = 0.5  # issue 22: the app's own path, read with numpy, median
WARM_CALLS_PER_BLOCK = 5  # untimed calls at the start of each block


def drawings_pool(count: int, seed: int) -> list:
    """Return ``count`` jittered drawings (canvas-pixel strokes), every digit and style in turn."""
    templates = [strokes for strokes in STANDARD.values()] + [strokes for _, strokes in STYLES.values()]
    rng = np.random.default_rng(seed)
    return [jitter(templates[i % len(templates)], rng) for i in range(count)]


def densified(drawing: list, factor: int) -> list:
    """Return the drawing with every segment split into ``factor`` (points as a fast-polling mouse gives)."""
    strokes = []
    for stroke in drawing:
        points = [tuple(a + (b - a) * step / factor for a, b in zip(start, end))
                  for start, end in zip(stroke, stroke[1:]) for step in range(factor)]
        strokes.append(points + [tuple(stroke[-1])])
    return strokes


@dataclass
class PipelineVariant:
    """The app's call, strokes → probabilities, with its two stages timed inside each call."""

    name: str
    predictor: Predictor
    threads: int
    inputs: list | None = None  # drawings of its own; None: the shared pool
    preprocess_ms: list[float] = field(default_factory=list)
    inference_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)

    def call(self, strokes, timed: bool) -> None:
        predictor = self.predictor
        started = time.perf_counter()
        image = strokes_to_image(strokes)
        # What predict_image does, split where preprocessing ends; checked against it in main().
        tensor = image_to_tensor(image).unsqueeze(0)  # (1, 1, 28, 28)
        prepared = time.perf_counter()
        with torch.inference_mode():
            probabilities = torch.softmax(predictor.network(tensor), 1)[0].numpy().astype(np.float64)
        finished = time.perf_counter()
        if timed:
            self.preprocess_ms.append((prepared - started) * 1e3)
            self.inference_ms.append((finished - prepared) * 1e3)
            self.total_ms.append((finished - started) * 1e3)
        assert probabilities.shape == (10,)


@dataclass
class AppCallVariant:
    """``Predictor.predict_strokes`` itself, untouched, timed from outside."""

    name: str
    predictor: Predictor
    threads: int
    inputs: list | None = None  # drawings of its own; None: the shared pool
    total_ms: list[float] = field(default_factory=list)

    def call(self, strokes, timed: bool) -> None:
        started = time.perf_counter()
        self.predictor.predict_strokes(strokes)
        if timed:
            self.total_ms.append((time.perf_counter() - started) * 1e3)


@dataclass
class InferenceVariant:
    """One way to run the compact network on a prepared (1, 1, 28, 28) tensor."""

    name: str
    threads: int
    forward: Callable[[torch.Tensor], torch.Tensor] | None  # None: it could not be built
    setup_seconds: float = 0.0  # tracing, scripting or compiling time
    note: str = ""
    channels_last: bool = False
    inputs: list | None = None  # always the shared pool of tensors
    total_ms: list[float] = field(default_factory=list)

    def call(self, tensor: torch.Tensor, timed: bool) -> None:
        started = time.perf_counter()
        with torch.inference_mode():
            if self.channels_last:
                tensor = tensor.contiguous(memory_format=torch.channels_last)
            probabilities = torch.softmax(self.forward(tensor), 1)[0].numpy()
        if timed:
            self.total_ms.append((time.perf_counter() - started) * 1e3)
        assert probabilities.shape == (10,)


def build_inference_variants(network: torch.nn.Module, example: torch.Tensor, app_threads: int,
                             try_compile: bool) -> list[InferenceVariant]:
    """Return eager at the app's thread count (first: the reference), then every way and thread count.

    Each way runs at the app's thread count and at the other of 1 and 2; one that cannot be built here
    is listed with its error instead of a time.
    """
    other_threads = 1 if app_threads != 1 else 2
    ways: list[InferenceVariant] = [InferenceVariant("eager", app_threads, network)]

    channels_last_network = build_network(NetConfig())
    channels_last_network.load_state_dict(network.state_dict())
    channels_last_network = channels_last_network.eval().to(memory_format=torch.channels_last)
    ways.append(InferenceVariant("channels_last", app_threads, channels_last_network, channels_last=True,
                                 note="input converted inside each call"))

    for how in ("trace", "script"):
        started = time.perf_counter()
        try:
            with torch.no_grad():
                module = torch.jit.trace(network, example) if how == "trace" else torch.jit.script(network)
                frozen = torch.jit.freeze(module.eval())
            ways.append(InferenceVariant(f"TorchScript ({how}) + freeze", app_threads, frozen,
                                         setup_seconds=time.perf_counter() - started,
                                         note="conv + batch norm folded by freeze"))
        except Exception as error:  # reported in the table, not fatal
            ways.append(InferenceVariant(f"TorchScript ({how}) + freeze", app_threads, None,
                                         note=f"failed: {first_line(error)}"))

    if try_compile:
        cache_note = "inductor cache cold" if not inductor_cache_exists() else "inductor cache warm from an earlier run"
        started = time.perf_counter()
        try:
            compiled = torch.compile(network)
            with torch.inference_mode():
                compiled(example)  # compiles here
            ways.append(InferenceVariant("torch.compile (inductor)", app_threads, compiled,
                                         setup_seconds=time.perf_counter() - started,
                                         note=f"first call compiles; {cache_note}"))
        except Exception as error:
            ways.append(InferenceVariant("torch.compile (inductor)", app_threads, None,
                                         setup_seconds=time.perf_counter() - started,
                                         note=f"failed: {first_line(error)}"))
    else:
        ways.append(InferenceVariant("torch.compile (inductor)", app_threads, None, note="skipped (--no-compile)"))

    variants = []
    for way in ways:
        variants.append(way)
        if way.forward is not None:
            variants.append(InferenceVariant(way.name, other_threads, way.forward, note=way.note,
                                             channels_last=way.channels_last))
    return variants


def inductor_cache_exists() -> bool:
    """Return True if torch.compile's on-disk cache already exists (compiling is then much faster)."""
    try:
        from torch._inductor.runtime.cache_dir_utils import cache_dir

        return Path(cache_dir()).is_dir()
    except Exception:  # a private helper: if it moved, say "cold" rather than fail
        return False


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160] if text else ''}".replace("|", "/")


def run_rounds(variants: list, inputs: list, calls: int, block: int) -> None:
    """Time ``calls`` calls of every variant, in blocks of ``block``, the variants taking turns."""
    position = 0
    for _ in range(max(1, -(-calls // block))):
        for variant in variants:
            torch.set_num_threads(variant.threads)
            pool = variant.inputs or inputs
            for i in range(WARM_CALLS_PER_BLOCK):
                variant.call(pool[(position + i) % len(pool)], timed=False)
            for i in range(block):
                variant.call(pool[(position + i) % len(pool)], timed=True)
        position += block


def ms(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--weights", type=Path, default=default_weights_path(), help="compact checkpoint to time")
    parser.add_argument("--calls", type=int, default=1000, help="timed calls per variant")
    parser.add_argument("--block", type=int, default=50, help="calls per turn before the next variant runs")
    parser.add_argument("--drawings", type=int, default=256, help="distinct jittered drawings cycled through")
    parser.add_argument("--dense-factor", type=int, default=4,
                        help="the extra compact row splits every stroke segment into this many (mouse-like density)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads of the reference runs (0 = what the app sets: model.constants.TORCH_THREADS)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the drawings and the seed net's random weights")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (its compile takes a while)")
    parser.add_argument("--busy-cores", type=int, default=0,
                        help="processes that keep a core busy meanwhile (other programs on the user's machine)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    return parser


def start_busy_processes(count: int) -> list[subprocess.Popen]:
    """Start ``count`` processes that each keep one core busy until stopped."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    busy = start_busy_processes(args.busy_cores)
    try:
        return measure_and_report(args)
    finally:
        for process in busy:
            process.kill()
            process.wait()


def measure_and_report(args: argparse.Namespace) -> int:
    from model.constants import TORCH_THREADS  # the app's own setting

    app_threads = args.threads or TORCH_THREADS
    torch.set_num_threads(app_threads)
    torch.manual_seed(args.seed)
    drawings = drawings_pool(args.drawings, args.seed)
    points = [sum(len(stroke) for stroke in drawing) for drawing in drawings]

    compact = Predictor(load_checkpoint(args.weights))
    seed_config = NetConfig(arch="seed")
    seed_network = build_network(seed_config)  # random weights: the time does not depend on them
    seed = Predictor(make_checkpoint(seed_network, seed_config, ModelInfo()))
    # The split timing (PipelineVariant) must compute what the app computes.
    probe = drawings[0]
    assert np.allclose(compact.predict_strokes(probe).probabilities,
                       torch.softmax(compact.network(image_to_tensor(strokes_to_image(probe)).unsqueeze(0)), 1)[0]
                       .detach().numpy(), atol=1e-6)

    dense = [densified(drawing, args.dense_factor) for drawing in drawings]
    dense_points = [sum(len(stroke) for stroke in drawing) for drawing in dense]
    dense_name = f"compact (shipped), denser strokes: {np.mean(dense_points):.0f} points per drawing"
    pipelines = [PipelineVariant("compact (shipped)", compact, app_threads),
                 PipelineVariant("seed (random weights)", seed, app_threads),
                 PipelineVariant(dense_name, compact, app_threads, inputs=dense)]
    app_calls = [AppCallVariant("compact (shipped)", compact, app_threads),
                 AppCallVariant("seed (random weights)", seed, app_threads),
                 AppCallVariant(dense_name, compact, app_threads, inputs=dense)]
    # The same model read with numpy, as the window and `hwr predict` read it (no torch): the app's path.
    from model.storage.inference_file import inference_path, read_inference_file

    numpy_path = inference_path(args.weights)
    numpy_calls = ([AppCallVariant("compact (shipped), read with numpy", Predictor(read_inference_file(numpy_path)),
                                   app_threads),
                    AppCallVariant(f"{dense_name}, read with numpy", Predictor(read_inference_file(numpy_path)),
                                   app_threads, inputs=dense)] if numpy_path.exists() else [])
    print(f"timing the app's path: {args.calls} calls × {len(pipelines) + len(app_calls) + len(numpy_calls)} "
          f"variants …", flush=True)
    # The numpy rows take turns among themselves, before any torch work: torch's worker threads spin for a
    # while after each of its calls, taking the core numpy's matrix products would use. In the app torch
    # is not even loaded while it reads.
    run_rounds(numpy_calls, drawings, args.calls, args.block)
    run_rounds(pipelines + app_calls, drawings, args.calls, args.block)

    tensors = [image_to_tensor(strokes_to_image(drawing)).unsqueeze(0) for drawing in drawings]
    print("building inference variants (TorchScript, torch.compile) …", flush=True)
    variants = build_inference_variants(compact.network, tensors[0], app_threads, not args.no_compile)
    runnable = [v for v in variants if v.forward is not None]
    print(f"timing inference: {args.calls} calls × {len(runnable)} variants …", flush=True)
    run_rounds(runnable, tensors, args.calls, args.block)
    torch.set_num_threads(app_threads)

    # -- the report -----------------------------------------------------------------------------
    lines = [f"Batch 1, {args.calls} timed calls per row after warm-up, in blocks of {args.block} taking turns; "
             f"{len(drawings)} synthetic drawings cycled (all digits and styles of model.training.synthetic, jittered; "
             f"{np.mean(points):.0f} points per drawing on average; a real mouse reports more, hence the row with "
             f"every segment split in {args.dense_factor}). Torch threads: {app_threads} unless stated "
             f"(the app sets model.constants.TORCH_THREADS = {TORCH_THREADS} here for fine-tuning). Times in ms. "
             "The app reads with numpy (the rows \"read with numpy\"); the torch rows are the same network as "
             "training runs it, for reference.", ""]
    lines += ["### Strokes → probabilities", ""]
    rows = []
    for pipeline, app_call in zip(pipelines, app_calls):
        network = pipeline.predictor.network
        label = pipeline.name if pipeline.inputs else f"{pipeline.name}, {count_parameters(network):,} parameters"
        for stage, values in (("preprocessing (strokes_to_image + image_to_tensor)", pipeline.preprocess_ms),
                              ("inference (forward + softmax)", pipeline.inference_ms),
                              ("strokes → probabilities, stages together", pipeline.total_ms),
                              ("Predictor.predict_strokes, timed as a whole", app_call.total_ms)):
            stats = percentiles(values)
            rows.append([label, stage, ms(stats["p50"]), ms(stats["p99"]), ms(stats["max"])])
    for numpy_call in numpy_calls:  # model.recognition.inference, from the checkpoint's inference file
        stats = percentiles(numpy_call.total_ms)
        rows.append([numpy_call.name, "Predictor.predict_strokes, timed as a whole (no torch)", ms(stats["p50"]),
                     ms(stats["p99"]), ms(stats["max"])])
    lines += markdown_table(["network", "stage", "p50", "p99", "max"], rows)

    lines += ["", "### Compact network inference: alternatives to eager", "",
              "Forward + softmax on a prepared (1, 1, 28, 28) tensor; preprocessing is the same for all of them. "
              "Ratio = the variant's time / eager's time in the same run (below 1 is faster).", ""]
    eager = percentiles(variants[0].total_ms)  # eager at the app's thread count
    rows = []
    variants[0].note = "the reference: what the app runs"
    for variant in variants:
        if variant.forward is None:
            rows.append([variant.name, variant.threads, "–", "–", "–", "–", "–",
                         f"{variant.setup_seconds:.1f} s" if variant.setup_seconds else "–", variant.note])
            continue
        stats = percentiles(variant.total_ms)
        rows.append([variant.name, variant.threads, ms(stats["p50"]), ms(stats["p99"]), ms(stats["max"]),
                     f"{stats['p50'] / eager['p50']:.2f}", f"{stats['p99'] / eager['p99']:.2f}",
                     f"{variant.setup_seconds:.1f} s" if variant.setup_seconds else "–", variant.note])
    lines += markdown_table(["variant", "threads", "p50", "p99", "max", "p50 ratio", "p99 ratio", "setup", "note"],
                            rows)
    lines += ["", "ONNX Runtime: not installed in this environment (`import onnxruntime` fails), so not measured.", ""]

    lines += ["### Targets (strokes → probabilities, Predictor.predict_strokes)", ""]
    for app_call in numpy_calls:  # what the window and `hwr predict` run
        stats = percentiles(app_call.total_ms)
        lines.append(verdict(f"{app_call.name} (the app's path) p50", stats["p50"], TARGET_NUMPY_P50_MS, "ms",
                             digits=3))
    for app_call in app_calls:
        stats = percentiles(app_call.total_ms)
        lines.append(verdict(f"{app_call.name} p50", stats["p50"], TARGET_P50_MS, "ms", digits=3))
        lines.append(verdict(f"{app_call.name} p99", stats["p99"], TARGET_P99_MS, "ms", digits=3))
    lines += ["", "These are compute times on the recognition thread; in the app a request also waits for the "
              "live-prediction debounce (40 ms while the pen moves, none at pen lift) and two queued signals."]
    if args.busy_cores:
        lines.insert(0, f"**Under load: {args.busy_cores} other process(es) kept {args.busy_cores} of the "
                        f"{usable_cores()} cores busy throughout** (the 'other load' line above shows them).\n")
        publish("latency-under-load", f"Recognition latency with {args.busy_cores} core(s) busy elsewhere", lines,
                write=not args.no_write)
    else:
        publish("latency", "Recognition latency", lines, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
