"""Business alerts: how fast an injected conversion drop is found and named, how many false
alerts an untouched period raises, and how long the daily check takes at 10M events.

Quality: in copies of the bundled synthetic shop, 70 % of one category's purchases vanish from a
given day on (three runs, three categories). Each day from two weeks before the drop to a week
after is checked as the daily job would. Reported: the detection delay (days from the drop to the
first cart → purchase drop alert naming that category), the driver named, and the alerts raised
in the two untouched weeks before (false alerts), plus those of the unmodified shop over the same
three weeks.

Speed: the daily check (reading the daily summary table and testing the last day) on a store with
10M synthetic events (500k with ``--quick``), ingested as a user would; and every check of the
last 7 days as the Overview and ``shoplens alerts`` run them (traffic, funnel steps, negative
reviews, needs, with their category, segment and need drivers and the reviews behind them).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import best_of, machine_info, timer
from common.settings import DATA_DIR

DROP = 0.7
START = pd.Timestamp("2026-10-18")
CATEGORIES = ("Dresses", "Knits", "Blouses")


def _run(events: pd.DataFrame, category: str, seed: int) -> dict[str, Any]:
    from core.alerts import check_days, daily_from_events

    rng = np.random.default_rng(seed)
    lost = (events["category"].eq(category) & events["event_type"].eq("purchase")
            & (events["ts"] >= START) & (rng.random(len(events)) < DROP))  # fmt: skip
    per, total = daily_from_events(events[~lost])
    until = (START + pd.Timedelta(days=6)).date()
    alerts = check_days(per, total, days=21, until=until)
    found = [a for a in alerts if a.metric == "cart_to_purchase" and a.direction == "drop"
             and pd.Timestamp(a.day) >= START]  # fmt: skip
    first = found[0] if found else None
    return {
        "category": category, "purchases_removed": int(lost.sum()),
        "detected": first is not None,
        "delay_days": None if first is None else (pd.Timestamp(first.day) - START).days,
        "driver_named": None if first is None else first.driver,
        "driver_right": first is not None and first.driver == category,
        "first_alert": None if first is None else first.describe(),
        "false_alerts_before_drop": [a.describe() for a in alerts if pd.Timestamp(a.day) < START],
    }  # fmt: skip


def _timing(n_events: int) -> dict[str, Any]:
    from bench.bench_pages import build_synthetic_store
    from core.alerts import check_days, shop_alerts
    from db.behaviour_queries import daily_activity

    with tempfile.TemporaryDirectory(prefix="bench_alerts_") as tmp:
        with timer() as build:
            store = build_synthetic_store(Path(tmp), n_events)

        def check() -> int:
            per, total = daily_activity(store, "sample")
            return len(check_days(per, total, days=1))

        def whole() -> int:  # what the Overview and `shoplens alerts` run: every check,
            return len(shop_alerts(store, "sample", days=7))  # drivers and evidence included

        seconds, _ = best_of(check, repeat=3)
        whole_seconds, found = best_of(whole, repeat=3)
        return {"events": n_events, "build_s": round(build.seconds, 1),
                "daily_check_s": round(seconds, 3),
                "shop_alerts_7_days_s": round(whole_seconds, 3),
                "shop_alerts_7_days_found": found}  # fmt: skip


def main(quick: bool = False) -> dict[str, Any]:
    from core.alerts import check_days, daily_from_events

    events = pd.read_parquet(DATA_DIR / "sample" / "events_synthetic.parquet")
    runs = [_run(events, category, seed) for seed, category in enumerate(CATEGORIES)]
    per, total = daily_from_events(events)
    clean = check_days(per, total, days=21, until=(START + pd.Timedelta(days=6)).date())
    delays = [r["delay_days"] for r in runs if r["delay_days"] is not None]
    return {
        "benchmark": "alerts",
        "machine": machine_info(),
        "quick": quick,
        "injected": runs,
        "detected": f"{sum(r['detected'] for r in runs)} of {len(runs)}",
        "mean_delay_days": float(np.mean(delays)) if delays else None,
        "drivers_right": f"{sum(r['driver_right'] for r in runs)} of {len(runs)}",
        "false_alerts_untouched_2_weeks": sum(len(r["false_alerts_before_drop"]) for r in runs),
        "unmodified_shop_alerts_3_weeks": [a.describe() for a in clean],
        "timing": _timing(500_000 if quick else 10_000_000),
    }
