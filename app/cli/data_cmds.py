"""Data commands: ``ingest``, ``load-sample``, ``status``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import InputError

if TYPE_CHECKING:
    from app.cli import Runtime

# Heavy modules (duckdb, pandas, torch) are imported inside the handlers, so `shoplens --help`
# and the other commands start fast.
KINDS = ("events", "items", "messages", "reviews", "sessions")


def _parse_pairs(pairs: list[str], flag: str, example: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise InputError(f"{flag} {pair[:80]!r}: expected SOURCE=FIELD, e.g. {flag} {example}")
        parsed[source.strip()] = target.strip()
    return parsed


def _parse_value_maps(pairs: list[str]) -> dict[str, dict[str, str]]:
    maps: dict[str, dict[str, str]] = {}
    for pair in pairs:
        field, sep, rest = pair.partition(":")
        if not sep:
            raise InputError(
                f"--value {pair[:80]!r}: expected FIELD:FROM=TO, e.g. --value event_type:buy=purchase"
            )
        maps.setdefault(field.strip(), {}).update(
            _parse_pairs([rest], "--value", "event_type:buy=purchase")
        )
    return maps


def cmd_ingest(args: argparse.Namespace, rt: Runtime) -> int:
    from db.ingest import check_shop_id, ingest_file

    check_shop_id(args.shop)
    report = ingest_file(
        rt.store,
        Path(args.path),
        args.kind,
        shop_id=args.shop,
        mapping=_parse_pairs(args.map, "--map", "behavior_type=event_type"),
        skip_bad=args.skip_bad,
        value_maps=_parse_value_maps(args.value),
        memory_mb=rt.settings.store.ingest_memory_mb,
    )
    print(report.summary())
    return 0


def cmd_load_sample(args: argparse.Namespace, rt: Runtime) -> int:
    from db.sample import load_sample

    for report in load_sample(rt.store):
        print(report.summary())
    return 0


def collect_status(rt: Runtime) -> dict:
    """The store's status (rows and active model versions per shop) and Label Studio's state."""
    from db.status import store_status
    from labeling.server import status as labelstudio_status

    status = store_status(rt.ctx.store if rt.store.exists() else rt.store)
    ls = labelstudio_status(rt.settings).to_dict()
    ls["state"] = "up" if ls["up"] else "down"
    status["labelstudio"] = ls
    return status


def cmd_status(args: argparse.Namespace, rt: Runtime) -> int:
    from core.tasks import all_tasks

    status = collect_status(rt)
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return 0
    print(
        f"store: {status['store']['path']} ({'present' if status['store']['exists'] else 'missing'})"
    )
    for shop, info in status["shops"].items():
        counts = ", ".join(f"{t} {n}" for t, n in info["rows"].items() if n)
        print(f"shop {shop}: {counts or 'no rows'}")
        for task in all_tasks():
            version = info["models"].get(task.name)
            print(f"  model {task.name}: "
                  f"{version or f'none (`shoplens train {task.name} --shop {shop}`)'}")  # fmt: skip
    ls = status["labelstudio"]
    print(f"label studio: {ls['state']}: {ls['message']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ingest``, ``load-sample`` and ``status``."""
    p = subparsers.add_parser(
        "ingest",
        help="load a CSV, Parquet or JSON Lines file into the store",
        description="Validate a file and load it, all or nothing. A bad file is rejected whole "
        "(exit status 2) with the first problems listed, unless --skip-bad is given.",
    )
    p.add_argument("path", help="file to load (.csv, .parquet, .jsonl)")
    p.add_argument("--kind", required=True, choices=sorted(KINDS), help="what the file holds")
    p.add_argument("--shop", default="sample", help="shop id the rows belong to (default: sample)")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SOURCE=FIELD",
        help="use the file's column SOURCE as FIELD (repeatable), e.g. --map timestamp=ts",
    )
    p.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="FIELD:FROM=TO",
        help="translate a value of FIELD (repeatable), e.g. --value event_type:buy=purchase",
    )
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="load the good rows and write the bad ones with reasons to FILE.rejected.csv",
    )
    p.set_defaults(handler=cmd_ingest)

    p = subparsers.add_parser("load-sample", help="load the bundled sample shop (idempotent)")
    p.set_defaults(handler=cmd_load_sample)

    p = subparsers.add_parser("status", help="row counts, active models and Label Studio's state")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_status)
