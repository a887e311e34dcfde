"""Ingestion speed: a synthetic event log as Parquet and as CSV into a fresh store.

Generates the same seeded log in both formats in a temporary folder (timing the generator too),
ingests each into its own empty store through ``db.ingest.ingest_file`` and reports events/s.
Goals (issue 2): >= 1M events/s from Parquet, >= 300k events/s from CSV, on 2 cores.
Full run: 5M events; ``--quick``: 200k.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import timer, usable_cores
from db.ingest import ingest_file
from db.store import Store
from synthetic.generator import sample_items, write_events

FULL_EVENTS = 5_000_000
QUICK_EVENTS = 200_000
GOALS = {"parquet": 1_000_000, "csv": 300_000}


def _ingest_once(folder: Path, path: Path) -> dict:
    store = Store(folder / f"{path.suffix.lstrip('.')}.duckdb", threads=usable_cores())
    store.init_schema()
    with timer() as t:
        report = ingest_file(store, path, "events", shop_id="bench")
    counts = store.table_counts("bench")
    rate = report.rows_added / t.seconds
    return {
        "events": report.rows_added,
        "rows_read": report.rows_read,
        "events_in_store": counts["events"],
        "seconds": round(t.seconds, 3),
        "events_per_s": round(rate),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "store_mb": round(store.db_path.stat().st_size / 1e6, 1),
    }


def main(quick: bool = False) -> dict:
    """Generate, ingest, print and return the figures."""
    n_events = QUICK_EVENTS if quick else FULL_EVENTS
    items = sample_items()
    result: dict = {"n_events": n_events, "goals_events_per_s": GOALS}
    with tempfile.TemporaryDirectory(prefix="shoplens-bench-") as tmp:
        folder = Path(tmp)
        for fmt in ("parquet", "csv"):
            path = folder / f"events.{fmt}"
            with timer() as t:
                write_events(path, n_events, items=items, seed=1)
            result[f"generate_{fmt}_seconds"] = round(t.seconds, 2)
            result[f"generate_{fmt}_events_per_s"] = round(n_events / t.seconds)
            figures = _ingest_once(folder, path)
            figures["meets_goal"] = figures["events_per_s"] >= GOALS[fmt]
            result[fmt] = figures
            print(
                f"  {fmt:8s} {figures['events']:>11,} events in {figures['seconds']:7.2f}s "
                f"= {figures['events_per_s']:>11,}/s (goal {GOALS[fmt]:,}/s, "
                f"{'met' if figures['meets_goal'] else 'NOT met'}); "
                f"generated in {result[f'generate_{fmt}_seconds']}s",
                flush=True,
            )
    result["parquet_events_per_s"] = result["parquet"]["events_per_s"]
    result["csv_events_per_s"] = result["csv"]["events_per_s"]
    return result
