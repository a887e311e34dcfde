"""Tests for core/alerts.py: a drop in one category is found within days and named; a steady
shop raises nothing; a traffic collapse names its category."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.settings import DATA_DIR
from core.alerts import check_days, daily_from_events

pytestmark = pytest.mark.unit


def _steady(days: int = 56, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = []
    for d in pd.date_range("2024-01-01", periods=days):
        for category, size in (("Dresses", 400), ("Knits", 300), ("Tops", 200)):
            views = rng.poisson(size * 5)
            carts = rng.binomial(views, 0.08)
            rows.append((d, category, size + rng.integers(-20, 20), views, carts,
                         rng.binomial(carts, 0.35)))  # fmt: skip
    per = pd.DataFrame(rows, columns=["day", "category", "sessions", "views", "carts", "purchases"])
    return per, per.groupby("day", as_index=False)[
        ["sessions", "views", "carts", "purchases"]
    ].sum()


def test_a_steady_shop_raises_no_alert() -> None:
    per, total = _steady()
    assert check_days(per, total, days=21) == []


def test_a_traffic_collapse_is_named_by_its_category() -> None:
    per, total = _steady()
    last = per["day"].max()
    per.loc[(per["day"] == last) & (per["category"] == "Knits"), "sessions"] = 20
    total = per.groupby("day", as_index=False)[["sessions", "views", "carts", "purchases"]].sum()
    alerts = [a for a in check_days(per, total, days=1) if a.metric == "traffic"]
    assert len(alerts) == 1 and alerts[0].direction == "drop" and alerts[0].driver == "Knits"
    assert alerts[0].observed < alerts[0].low and alerts[0].driver_share > 0.8
    assert "driven by Knits" in alerts[0].describe()
    assert alerts[0].as_dict()["look_at"]["category"] == "Knits"


def test_a_conversion_drop_in_one_category_is_found_within_days() -> None:
    events = pd.read_parquet(DATA_DIR / "sample" / "events_synthetic.parquet")
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2026-10-20")
    lost = (events["category"].eq("Dresses") & events["event_type"].eq("purchase")
            & (events["ts"] >= start) & (rng.random(len(events)) < 0.7))  # fmt: skip
    per, total = daily_from_events(events[~lost])
    alerts = check_days(per, total, days=14, until=pd.Timestamp("2026-10-26").date())
    found = [a for a in alerts if a.metric == "cart_to_purchase" and a.direction == "drop"]
    assert found and found[0].driver == "Dresses"
    assert (pd.Timestamp(found[0].day) - start).days <= 3  # detection delay
    assert not [a for a in alerts if pd.Timestamp(a.day) < start]  # nothing before the drop


def test_negative_reviews_and_needs_alert_with_their_category() -> None:
    from core.alerts import check_text_days

    rng = np.random.default_rng(0)
    rows = []
    bad_from, burst = pd.Timestamp("2024-02-20"), pd.Timestamp("2024-02-25")
    for d in pd.date_range("2024-01-01", periods=56):
        for category, n in (("Dresses", 120), ("Knits", 80)):
            reviews = rng.poisson(n)
            p = 0.35 if category == "Dresses" and d >= bad_from else 0.15
            needs = rng.poisson(n * 0.2) + (40 if category == "Knits" and d == burst else 0)
            rows.append((d, category, reviews, rng.binomial(reviews, p), needs))
    daily = pd.DataFrame(rows, columns=["day", "category", "reviews", "negatives", "needs"])
    alerts = check_text_days(daily, days=14)
    negative = [a for a in alerts if a.metric == "negative_share"]
    assert negative and all(a.driver == "Dresses" and a.bad for a in negative)
    assert min(pd.Timestamp(a.day) for a in negative) == bad_from  # found on the first day
    needs = [a for a in alerts if a.metric == "needs"]
    assert [(str(a.day), a.driver) for a in needs] == [("2024-02-25", "Knits")] and needs[0].bad


def test_a_rise_in_needs_names_the_need_behind_it_and_its_reviews() -> None:
    """A burst of "runs small" sentences: the alert names that need (not the steady "colours"
    one, nor the other bucket) with the share of the rise it explains, and the reviews."""
    from core.alerts import check_text_days

    rng = np.random.default_rng(1)
    burst = pd.Timestamp("2024-02-25")
    days = pd.date_range("2024-01-01", periods=56)
    daily, needs = [], []
    for d in days:
        small = rng.poisson(6) + (45 if d == burst else 0)
        colours, other = rng.poisson(8), rng.poisson(10)
        daily.append((d, "Dresses", 100, 15, small + colours + other))
        for need_id, name, n in ((1, "runs small · size up", small), (2, "colors · wish", colours),
                                 (0, "other", other)):  # fmt: skip
            needs.append((d, need_id, name, n, [f"r{d:%m%d}-{need_id}-{i}" for i in range(n)][:5]))
    daily = pd.DataFrame(daily, columns=["day", "category", "reviews", "negatives", "needs"])
    needs = pd.DataFrame(needs, columns=["day", "need_id", "name", "sentences", "review_ids"])
    alerts = [a for a in check_text_days(daily, days=14, needs=needs) if a.metric == "needs"]
    assert [str(a.day) for a in alerts] == ["2024-02-25"]
    alert = alerts[0]
    assert alert.need == "runs small · size up" and alert.need_share > 0.8
    assert alert.evidence and all(e.startswith("r0225-1-") for e in alert.evidence)
    assert "mostly the need “runs small · size up”" in alert.describe()
    assert alert.as_dict()["look_at"]["need"] == "runs small · size up"
    # without the stored needs the alert still stands, named by its category only
    plain = [a for a in check_text_days(daily, days=14) if a.metric == "needs"]
    assert plain[0].need is None and plain[0].driver == "Dresses"


def test_a_funnel_move_names_the_shopper_segment_behind_it() -> None:
    """New shoppers stop buying after carting, returning ones do not: the alert says so, and
    points the dashboard's segment filter there; a move shared by both names neither."""
    from dataclasses import replace

    from core.alerts import Alert, segment_driver

    rows = pd.DataFrame(
        [("new", False, 28, 900, 5000, 1000, 300), ("returning", False, 28, 2000, 15000, 3000, 900),
         ("new", True, 1, 30, 500, 100, 5), ("returning", True, 1, 70, 1500, 300, 90)],
        columns=["segment", "checked", "days", "sessions", "views", "carts", "purchases"],
    )  # fmt: skip
    alert = Alert(pd.Timestamp("2024-02-25").date(), "cart_to_purchase", "cart → purchase",
                  95 / 400, 0.3, 0.25, 0.35, "drop", None, None, "behaviour", True)  # fmt: skip
    named = segment_driver(alert, rows)
    assert named.segment == "new" and named.segment_share == pytest.approx(1.0)
    assert "mostly new shoppers (100% of the drop)" in named.describe()
    assert named.as_dict()["look_at"]["segment"] == "new"
    both = rows.assign(purchases=[300, 900, 20, 60])  # each segment a third down
    shared = replace(alert, observed=80 / 400)
    assert segment_driver(shared, both).segment is None  # neither explains half of it
