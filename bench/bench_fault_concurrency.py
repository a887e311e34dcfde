"""The dashboard keeps answering while background jobs write to the same DuckDB file.

Runs the overview page's queries every 0.2 s in this process while other processes write:
``ingest`` of 100,000 events (always), plus ``score`` and ``train`` when given a runtime folder
with a trained model (``--trained-home``). Reports latency (median, max) and errors.

    python -m bench fault_concurrency --quick
    python -m bench.bench_fault_concurrency --trained-home DIR --shop mini
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from bench.common import machine_info, write_result
from tests.trust.fault_harness import run_cli
from tests.trust.fault_scenarios import write_events_file
from tests.trust.responsiveness import measure_while_jobs_run


def run(trained_home: Path | None = None, shop: str = "sample", rows: int = 100_000) -> dict:
    """One measurement; with ``trained_home``, scoring and training run beside the ingest."""
    with tempfile.TemporaryDirectory(prefix="shoplens-concurrency-") as tmp:
        workdir = Path(tmp)
        home = workdir / "home"
        if trained_home is not None:
            shutil.copytree(trained_home, home)
        else:
            home.mkdir()
        base = write_events_file(workdir / "base.parquet", 5_000, seed=3)
        loaded = run_cli(home, ["ingest", str(base), "--kind", "events", "--shop", "demo"])
        if loaded.returncode != 0:
            raise RuntimeError(loaded.stderr[-500:])
        big = write_events_file(workdir / "big.parquet", rows, seed=4)
        jobs = [["ingest", str(big), "--kind", "events", "--shop", "busy"]]
        if trained_home is not None:
            jobs += [
                ["score", "sentiment", "--shop", shop],
                [
                    "train",
                    "sentiment",
                    "--shop",
                    shop,
                    "--epochs",
                    "1",
                    "--max-train-examples",
                    "32",
                    "--force-promote",
                ],
            ]
        return measure_while_jobs_run(home, jobs, "demo", max_s=1800)


def main(quick: bool = False) -> dict:
    """Ingest-only measurement (the one that needs no trained model)."""
    result = run(rows=20_000 if quick else 100_000)
    result["machine"] = machine_info()
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trained-home", type=Path)
    parser.add_argument("--shop", default="sample")
    options = parser.parse_args()
    outcome = run(options.trained_home, options.shop)
    outcome["machine"] = machine_info()
    print(write_result("fault_concurrency_jobs", outcome))
    print(json.dumps({k: v for k, v in outcome.items() if k != "machine"}, indent=1))
