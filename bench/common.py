"""Helpers shared by the benchmarks: timing, machine description and result files.

>>> with timer() as t:
...     _ = sum(range(1000))
>>> t.seconds >= 0
True
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Timer:
    """Wall-clock seconds of one ``with timer()`` block (set when the block ends)."""

    seconds: float = 0.0


@contextmanager
def timer() -> Iterator[Timer]:
    """Measure the wall-clock time of a ``with`` block with ``time.perf_counter``."""
    result = Timer()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - start


def best_of(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    """Run ``fn()`` ``repeat`` times; return the fastest wall-clock seconds and the last result.

    The minimum is the least noisy figure on a machine shared with other jobs.
    """
    best = float("inf")
    value = None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def usable_cores() -> int:
    """CPU cores this process may run on (respects ``taskset``; DuckDB is given as many threads)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine_info() -> dict[str, Any]:
    """Describe the machine a result was measured on: cores, CPU model, library versions, date."""
    return {
        "cores": usable_cores(),
        "machine_cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": _version("duckdb"),
        "torch": _version("torch"),
        "pandas": _version("pandas"),
        "pyarrow": _version("pyarrow"),
        "numpy": _version("numpy"),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_result(name: str, payload: dict[str, Any], results_dir: Path | None = None) -> Path:
    """Write ``payload`` plus machine info as pretty JSON to ``bench/results/<name>.json``."""
    out_dir = results_dir or RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    document = {"benchmark": name, "machine": machine_info(), **payload}
    path.write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    return path
