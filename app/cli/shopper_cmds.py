"""``shoplens`` shopper commands: ``recommend`` (each shopper's next items into a CSV) and
``shoppers`` (the shopper table a CRM imports: propensity, churn risk, risk, top categories,
recommended items, segment flags). Both exports are masked and Excel-safe like the segment
export."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from common.errors import InputError

if TYPE_CHECKING:
    from app.cli import Runtime


def _write_csv(rt: Runtime, frame: pd.DataFrame, output: str, overwrite: bool) -> Path:
    from app.ui.segments import table_csv
    from common.files import check_output, secret_key, write_atomically
    from privacy.masking import PiiConfig

    ctx = rt.ctx
    settings = ctx.settings
    path = check_output(Path(output), home=ctx.home, overwrite=overwrite,
                        protected=[ctx.store.db_path, settings.models.models_dir])  # fmt: skip
    data = table_csv(frame, secret_key(ctx.home / "secrets" / "pseudonyms.key"),
                     PiiConfig.from_settings(settings))  # fmt: skip
    write_atomically(path, lambda tmp: tmp.write_bytes(data))
    return path


def cmd_recommend(args: argparse.Namespace, rt: Runtime) -> int:
    """Each shopper's (or one shopper's) top ``k`` items from the active recommender."""
    from core.kinds.recommendation import TOP_K
    from core.tasks import check_target
    from db.repo import recommendations as rec_repo
    from db.repo import texts as text_repo

    spec = check_target("recommend", args.shop)
    if not 1 <= args.k <= 100:
        raise InputError(f"--k must be 1 to 100 (got {args.k})")
    version = rt.ctx.registry.require_active(args.shop, spec.name)
    rows = rec_repo.for_shop(rt.store, args.shop, version, args.user, args.k)
    if rows.empty or args.k > TOP_K:  # not scored yet, or longer lists than were stored
        events = text_repo.events(rt.store, args.shop, ("user_id", "item_id", "category", "ts"))
        events = events.assign(user_id=events["user_id"].astype(str))
        if args.user is not None and args.user not in set(events["user_id"]):
            raise InputError(f"shopper {args.user!r} has no events in shop {args.shop!r}")
        recommender = rt.ctx.registry.load(args.shop, spec.name, version)
        users = [args.user] if args.user is not None else None
        rows = recommender.recommend(events, users, args.k)
    if rows.empty:
        raise InputError(f"no recommendations for {args.user or 'any shopper'} in shop {args.shop}")
    path = _write_csv(rt, rows[["user_id", "rank", "item_id", "category", "score"]].round(
        {"score": 4}), args.output, args.overwrite)  # fmt: skip
    print(f"wrote {len(rows)} recommendations for {rows['user_id'].nunique()} shoppers "
          f"(version {version}) to {path}")  # fmt: skip
    return 0


def shopper_frame(rt: Runtime, shop_id: str) -> pd.DataFrame:
    """The shopper table with horizons in its column names and segment flags."""
    from core.signals import shopper_signal_spec
    from db import dashboard_queries as dq

    spec = shopper_signal_spec()
    table = dq.shopper_table(rt.store, shop_id, **spec)
    renames = {}
    for column, task in (("propensity", spec["purchase_task"]), ("churn_risk", spec["churn_task"])):
        version = rt.ctx.registry.active(shop_id, task)
        if version is not None:
            horizon = rt.ctx.registry.version(shop_id, task, version).metrics.get("horizon_days")
            renames[column] = f"{column}_{horizon}d" if horizon else column
    table["buyer"] = table["purchases"] > 0
    table["likely_buyer"] = table["propensity"] >= 0.5
    table["at_risk_of_leaving"] = table["churn_risk"] >= 0.5
    table["risk_flagged"] = table["risk_flagged"].astype("boolean").fillna(False)
    return table.rename(columns=renames)


def cmd_shoppers(args: argparse.Namespace, rt: Runtime) -> int:
    """The shopper table a CRM imports, one row per shopper."""
    from db.shops import check_shop_id

    check_shop_id(args.shop)
    table = shopper_frame(rt, args.shop)
    if table.empty:
        raise InputError(f"shop {args.shop!r} has no shopper events; load them with "
                         "`shoplens ingest FILE --kind events`")  # fmt: skip
    missing = [c for c in ("propensity", "churn_risk", "risk_score", "recommended_items")
               if c in table and table[c].isna().all()]  # fmt: skip
    path = _write_csv(rt, table, args.output, args.overwrite)
    print(f"wrote {len(table)} shoppers to {path}")
    for column in missing:
        print(f"  note: {column} is empty: train and score its task first "
              "(`shoplens train --all`, `shoplens score --all`)")  # fmt: skip
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``recommend`` and ``shoppers`` to the ``shoplens`` command."""
    p = subparsers.add_parser("recommend", help="each shopper's next items into a CSV")
    p.add_argument("--shop", default="sample")
    p.add_argument("--user", help="one shopper (default: every shopper)")
    p.add_argument("--k", type=int, default=10, help="items per shopper (default 10)")
    p.add_argument("--output", required=True, help="the CSV to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(handler=cmd_recommend)

    p = subparsers.add_parser("shoppers", help="the shopper table a CRM imports, into a CSV")
    p.add_argument("--shop", default="sample")
    p.add_argument("--output", required=True, help="the CSV to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(handler=cmd_shoppers)
