"""Run the benchmarks: ``python -m bench [NAME ...] [--quick]``.

Discovers every ``bench/bench_<name>.py``, calls its ``main(quick)``, writes the returned dict
to ``bench/results/<name>.json`` (quick runs go to ``<name>.quick.json`` so they never overwrite
a full result) and prints a one-line summary per benchmark.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from bench.common import timer, write_result

BENCH_DIR = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Names of the available benchmarks (``bench_<name>.py`` -> ``name``), sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def _summary(result: dict) -> str:
    scalars = [
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in result.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    return ", ".join(scalars[:8])


def run(names: Sequence[str], quick: bool = False, tag: str = "", note: str = "") -> int:
    """Run the named benchmarks (all when empty); return the number that failed.

    Results go to ``<name>.json`` (``<name>.quick.json`` for quick runs); a ``tag`` is added to
    the file name (``<name>.<tag>.json``) and a ``note`` (where and how it was measured) to the file.
    """
    available = discover()
    unknown = [n for n in names if n not in available]
    if unknown:
        print(
            f"error: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return len(unknown)
    failures = 0
    for name in names or available:
        print(f"== bench {name}{' (quick)' if quick else ''}", flush=True)
        module = importlib.import_module(f"bench.bench_{name}")
        try:
            with timer() as t:
                result = module.main(quick=quick)
        except Exception:  # report every failing benchmark, then go on with the next one
            traceback.print_exc()
            print(f"FAILED {name}", flush=True)
            failures += 1
            continue
        payload = {"quick": quick, "wall_seconds": round(t.seconds, 3), **(result or {})}
        if note:
            payload = {"note": note, **payload}
        stem = ".".join(part for part in (name, "quick" if quick else "", tag) if part)
        path = write_result(stem, payload)
        print(f"ok {name} in {t.seconds:.1f}s -> {path.name}: {_summary(result or {})}", flush=True)
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run; exit status 1 if any benchmark failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--tag", default="", help="add to result file names: <name>.<tag>.json")
    parser.add_argument("--note", default="", help="stored in the results: where/how measured")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(discover()))
        return 0
    if not args.names and not discover():
        print("no benchmarks found in bench/")
        return 0
    if args.tag and not args.tag.replace("-", "").isalnum():
        parser.error("--tag may hold only letters, digits and '-'")
    return 1 if run(args.names, quick=args.quick, tag=args.tag, note=args.note) else 0


if __name__ == "__main__":
    from app.cli import exit_quietly

    exit_quietly(main())
