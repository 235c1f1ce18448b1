"""What every benchmark shares: the machine description, percentiles, tables, target verdicts and the
BENCHMARKS.md section writer.

Each script rewrites only its own section, between ``<!-- BEGIN name -->`` and ``<!-- END name -->``,
so sections written by different scripts (and on different days) live side by side in one file.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
DEFAULT_MNIST_DIR = REPO_ROOT.parent / "shared" / "data"  # used when neither --data-dir nor $HWR_MNIST_DIR is set


def default_data_dir() -> Path:
    """Return $HWR_MNIST_DIR if set, else ../shared/data beside the repository."""
    configured = os.environ.get("HWR_MNIST_DIR")
    return Path(configured).expanduser() if configured else DEFAULT_MNIST_DIR


# -- the machine --------------------------------------------------------------------------------


def default_unipen_dir() -> Path:
    """Return $HWR_UNIPEN_DIR if set, else ../shared/data/unipen beside the repository."""
    configured = os.environ.get("HWR_UNIPEN_DIR")
    return Path(configured).expanduser() if configured else REPO_ROOT.parent / "shared" / "data" / "unipen"


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo (or what platform knows elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Return the cores this process may run on (the affinity mask, not the host's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_snapshot() -> tuple[float, float, float] | None:
    """Return (seconds all cores were busy, this process's CPU seconds with its children, wall time)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    busy = sum(fields) - fields[3] - fields[4]  # everything but idle and iowait
    own = os.times()
    return (busy / os.sysconf("SC_CLK_TCK"), own.user + own.system + own.children_user + own.children_system,
            time.monotonic())


_STARTED = _cpu_snapshot()  # when a benchmark imports this module, i.e. as it starts


def other_load() -> float:
    """Return the share of the machine's CPU that other processes used since this benchmark started.

    Near 0 means the figures are clean; a training run or a test suite in the background shows here.
    """
    now = _cpu_snapshot()
    if _STARTED is None or now is None:
        return float("nan")
    busy, own, wall = (b - a for a, b in zip(_STARTED, now))
    return max(0.0, busy - own) / max(1e-9, wall * usable_cores())


def machine_description() -> dict[str, str]:
    """Return the facts a figure depends on, as name → text, in display order."""
    import torch

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu_model()}, {usable_cores()} cores usable (os.cpu_count() = {os.cpu_count()})",
        "torch": (f"{torch.__version__}, "
                  + (f"CUDA build (CUDA {torch.version.cuda}; run on the CPU)" if torch.version.cuda
                     else "CPU-only build")
                  + f", {torch.get_num_threads()} intra-op threads by default"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "PySide6": package_version("PySide6") if package_version("PySide6") != "not installed"
        else package_version("PySide6-Essentials"),
        "platform": platform.platform(),
        "other load": f"{other_load():.1%} of the CPU used by other processes while this ran "
                      f"(near 0 % means the figures are clean)",
    }


def machine_lines(description: dict[str, str] | None = None) -> list[str]:
    """Return the machine description as Markdown list lines."""
    description = description or machine_description()
    return [f"- {name}: {value}" for name, value in description.items()]


# -- statistics ---------------------------------------------------------------------------------


def percentiles(values: Iterable[float]) -> dict[str, float]:
    """Return {'p50', 'p99', 'max', 'count'} of the values (linear interpolation between ranks)."""
    array = np.asarray(list(values), dtype=np.float64)
    if array.size == 0:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "count": 0}
    return {"p50": float(np.percentile(array, 50)), "p99": float(np.percentile(array, 99)),
            "max": float(array.max()), "count": int(array.size)}


def verdict(name: str, value: float, target: float, unit: str, higher_is_better: bool = False,
            digits: int = 2) -> str:
    """Return one line saying whether ``value`` meets ``target`` and, if not, by how much it misses."""
    if value != value:  # NaN: not measured
        return f"- {name}: not measured (target {'≥' if higher_is_better else '≤'} {target:.{digits}f} {unit})"
    met = value >= target if higher_is_better else value <= target
    sign = "≥" if higher_is_better else "≤"
    line = f"- {name}: {value:.{digits}f} {unit} (target {sign} {target:.{digits}f} {unit}): "
    if met:
        return line + "**met**"
    gap = abs(value - target)
    share = gap / abs(target) if target else 0.0
    relative = f", {share:.1%} of the target" if 0 < share < 0.1 else f", {share:.0%} of the target" if target else ""
    return line + f"**missed by {gap:.{digits}f} {unit}**{relative}"


# -- output -------------------------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Return a Markdown table as lines; cells are str()-ed, numbers should be formatted already."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def repo_relative(path: Path) -> str:
    """Return ``path`` relative to the repository where it lies inside it (as sections name files), else as given."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


def command_line() -> str:
    """Return how this script was run, for the section's record (each ``--note``'s text, printed under the
    section anyway, shortened to "…")."""
    script = Path(sys.argv[0])
    arguments = [("…" if before == "--note" else "--note=…" if argument.startswith("--note=") else argument)
                 for before, argument in zip(["", *sys.argv[1:]], sys.argv[1:])]
    try:
        script = script.resolve().relative_to(REPO_ROOT)
    except ValueError:
        pass
    if script.parent == Path("benchmarks"):  # recorded as run as a module, the way the README runs every benchmark
        return " ".join([".venv/bin/python", "-m", f"benchmarks.{script.stem}", *arguments])
    return " ".join([".venv/bin/python", str(script), *arguments])


def write_section(name: str, body_lines: Sequence[str], path: Path = BENCHMARKS_MD) -> Path:
    """Replace (or append) the section ``name`` of BENCHMARKS.md with ``body_lines``, atomically.

    Everything outside this section's markers is kept byte for byte.
    """
    from model.files.disk import atomic_write_bytes  # the project's one atomic writer

    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = "\n".join([begin, *body_lines, end])
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


def publish(name: str, title: str, body_lines: Sequence[str], description: dict[str, str] | None = None,
            write: bool = True) -> None:
    """Print a section (title, machine, body, command) and, if ``write``, store it in BENCHMARKS.md."""
    lines = [f"## {title}", "", f"Measured with `{command_line()}` on:", "", *machine_lines(description), "",
             *body_lines]
    print("\n".join(lines), flush=True)
    if write:
        path = write_section(name, lines)
        print(f"\n(wrote section '{name}' of {path})", flush=True)
