"""Soak test of ingestion: 10,000 generated files, each loaded exactly or rejected cleanly.

Uses the generator and checker of ``tests/trust/ingest_fuzz.py`` (CI runs a few hundred of the
same cases through hypothesis). Every case is reproducible from its seed:
``make_case(random.Random(seed))``. The store is replaced every 500 cases to keep it small.

    python -m bench soak            # 10,000 files (about an hour on a shared 2-core VM)
    python -m bench soak --quick    # 200 files
"""

from __future__ import annotations

import collections
import random
import tempfile
import time
from pathlib import Path

from bench.common import machine_info
from db.store import Store
from tests.trust.ingest_fuzz import check_case, known_bug, make_case

FULL_CASES = 10_000
QUICK_CASES = 200
STORE_EVERY = 500


def run_soak(n_cases: int, seed0: int = 0, big: bool = True) -> dict:
    """Run ``n_cases`` generated files; return outcome counts per defect and every failure."""
    outcomes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    by_format: collections.Counter = collections.Counter()
    failures: list[dict] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shoplens-soak-") as tmp:
        workdir = Path(tmp)
        store = None
        for i in range(n_cases):
            if i % STORE_EVERY == 0:
                for old in workdir.glob("soak*.duckdb*"):
                    old.unlink()
                store = Store(workdir / f"soak{i}.duckdb", lock_timeout_s=30)
                store.init_schema()
            seed = seed0 + i
            case = make_case(random.Random(seed), big=big)
            outcome = check_case(store, case, workdir, f"soak{seed}")
            status = outcome
            if outcome.startswith("BUG"):
                status = "known_bug" if known_bug(case, outcome) else "bug"
            outcomes[case.defect][status] += 1
            by_format[f"{case.fmt}/{case.kind}/{status}"] += 1
            if status in ("bug", "known_bug"):
                failures.append(
                    {
                        "status": status,
                        "seed": seed,
                        "defect": case.defect,
                        "format": case.fmt,
                        "kind": case.kind,
                        "outcome": outcome[:400],
                    }
                )
            if (i + 1) % 500 == 0:
                rate = (i + 1) / (time.perf_counter() - started)
                print(
                    f"  {i + 1}/{n_cases} files, {len(failures)} failures or known bugs, {rate:.1f} files/s",
                    flush=True,
                )
    seconds = time.perf_counter() - started
    return {
        "files": n_cases,
        "failures": sum(f["status"] == "bug" for f in failures),
        "known_bug_hits": sum(f["status"] == "known_bug" for f in failures),
        "seconds": round(seconds, 1),
        "files_per_second": round(n_cases / seconds, 2),
        "outcomes_by_defect": {k: dict(v) for k, v in sorted(outcomes.items())},
        "outcomes_by_format": dict(sorted(by_format.items())),
        "first_failures": failures[:50],
    }


def _chunk(args: tuple[int, int, bool]) -> dict:
    n_cases, seed0, big = args
    return run_soak(n_cases, seed0=seed0, big=big)


def run_parallel(n_cases: int, workers: int, big: bool = True) -> dict:
    """:func:`run_soak` split over ``workers`` processes (disjoint seed ranges), merged."""
    from multiprocessing import get_context

    per = -(-n_cases // workers)
    jobs = [
        (min(per, n_cases - w * per), w * per, big) for w in range(workers) if w * per < n_cases
    ]
    started = time.perf_counter()
    with get_context("spawn").Pool(len(jobs)) as pool:
        parts = pool.map(_chunk, jobs)
    merged: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    by_format: collections.Counter = collections.Counter()
    for part in parts:
        for defect, counts in part["outcomes_by_defect"].items():
            merged[defect].update(counts)
        by_format.update(part["outcomes_by_format"])
    seconds = time.perf_counter() - started
    failures = [f for part in parts for f in part["first_failures"]]
    return {
        "files": n_cases,
        "workers": len(jobs),
        "failures": sum(part["failures"] for part in parts),
        "known_bug_hits": sum(part["known_bug_hits"] for part in parts),
        "seconds": round(seconds, 1),
        "files_per_second": round(n_cases / seconds, 2),
        "outcomes_by_defect": {k: dict(v) for k, v in sorted(merged.items())},
        "outcomes_by_format": dict(sorted(by_format.items())),
        "first_failures": failures[:50],
    }


def main(quick: bool = False, workers: int = 1, files: int | None = None) -> dict:
    """Run the soak (``quick``: 200 files without the 1 MB cases) and print a summary."""
    n_cases = files or (QUICK_CASES if quick else FULL_CASES)
    if workers > 1:
        result = run_parallel(n_cases, workers, big=not quick)
    else:
        result = run_soak(n_cases, big=not quick)
    result["machine"] = machine_info()
    print(
        f"soak: {result['files']} files, {result['failures']} failures, "
        f"{result['files_per_second']} files/s"
    )
    for defect, counts in result["outcomes_by_defect"].items():
        print(f"  {defect:<24} {counts}")
    for failure in result["first_failures"][:10]:
        print(
            f"  FAIL seed={failure['seed']} {failure['defect']}/{failure['format']}/"
            f"{failure['kind']}: {failure['outcome'][:200]}"
        )
    return result


if __name__ == "__main__":
    import argparse
    import json

    from bench.common import write_result

    parser = argparse.ArgumentParser(description="ingestion soak (see module docstring)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--files", type=int)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    outcome = main(quick=options.quick, workers=options.workers, files=options.files)
    print(write_result("soak.quick" if options.quick else "soak", outcome))
    print(json.dumps({k: v for k, v in outcome.items() if k != "outcomes_by_format"})[:2000])
