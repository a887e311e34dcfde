"""``shoplens alerts``: the shop's business alerts (traffic, funnel steps, negative reviews and
needs out of their band), each with the category that drives it."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from common.errors import InputError

if TYPE_CHECKING:
    from app.cli import Runtime


def cmd_alerts(args: argparse.Namespace, rt: Runtime) -> int:
    """Check the last ``--days`` days of the shop's events; print the alerts (``--json``: as a
    JSON list)."""
    from core.alerts import shop_alerts
    from db.behaviour_queries import daily_activity
    from db.shops import check_shop_id

    check_shop_id(args.shop)
    if not 1 <= args.days <= 90:
        raise InputError(f"--days must be 1 to 90 (got {args.days})")
    per_category, total = daily_activity(rt.store, args.shop)
    if total.empty:
        raise InputError(f"shop {args.shop!r} has no events to check; load them with "
                         "`shoplens ingest FILE --kind events`")  # fmt: skip
    alerts = shop_alerts(rt.store, args.shop, days=args.days, activity=(per_category, total))
    if args.json:
        print(json.dumps({"shop": args.shop, "days_checked": args.days,
                          "last_day": str(total["day"].max())[:10],
                          "alerts": [a.as_dict() for a in alerts]}, indent=2,
                         ensure_ascii=False))  # fmt: skip
        return 0
    if not alerts:
        print(f"no alerts in the last {args.days} days of shop {args.shop}")
    for alert in alerts:
        print(alert.describe())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``alerts`` to the ``shoplens`` command."""
    p = subparsers.add_parser("alerts", help="traffic and funnel steps out of their expected band")
    p.add_argument("--shop", default="sample")
    p.add_argument("--days", type=int, default=7, help="how many recent days to check (default 7)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_alerts)
