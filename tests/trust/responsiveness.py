"""Does the dashboard keep answering while background jobs write to the same DuckDB file?

Starts ``shoplens`` jobs (ingest, score, train ...) as separate processes and, until they end,
runs the overview page's queries in this process every ``interval_s``: each round opens the store
read-only as the page does, so it waits while a job holds the write lock (up to the store's lock
timeout) and then answers. Shared by ``tests/trust/test_faults.py`` and
``bench/bench_fault_concurrency.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from common.errors import ShopLensError
from db import dashboard_queries as dq
from db.store import Store
from tests.trust.fault_harness import _env, shoplens_cmd


def overview_round(store: Store, shop_id: str) -> None:
    """The queries the overview page runs for one render."""
    first, last = dq.data_span(store, shop_id)
    start = last - timedelta(days=6)
    dq.period_kpis(store, shop_id, start, last, None, None)
    dq.daily_traffic(store, shop_id, start, last, None, None)
    dq.top_items_period(store, shop_id, start, last, None, None)


def measure_while_jobs_run(
    home: Path,
    jobs: list[list[str]],
    shop_id: str,
    interval_s: float = 0.2,
    max_s: float = 1800,
) -> dict:
    """Run ``jobs`` (``shoplens`` argument lists) in parallel processes and time page rounds
    until all have exited. Returns latencies, errors and each job's exit status."""
    store = Store(home / "shoplens.duckdb", lock_timeout_s=60)
    procs = [
        subprocess.Popen(
            shoplens_cmd(args),
            env=_env(home, {}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in jobs
    ]
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    while any(p.poll() is None for p in procs) and time.perf_counter() - started < max_s:
        t0 = time.perf_counter()
        try:
            overview_round(store, shop_id)
            latencies.append(time.perf_counter() - t0)
        except ShopLensError as exc:  # e.g. StoreBusyError after the lock timeout
            errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        time.sleep(interval_s)
    statuses = []
    for p in procs:
        try:
            p.wait(timeout=max(1.0, max_s - (time.perf_counter() - started)))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        statuses.append({"returncode": p.returncode, "stderr_tail": (p.stderr.read() or "")[-300:]})
    return {
        "jobs": [" ".join(a) for a in jobs],
        "job_results": statuses,
        "rounds": len(latencies),
        "errors": errors,
        "latency_median_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_max_s": round(max(latencies), 3) if latencies else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
