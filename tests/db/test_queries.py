from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from db import dashboard_queries, queries
from db.ingest import ingest_file
from db.store import Store

pytestmark = pytest.mark.integration

# Three sessions in Dresses (view only / view+cart / view+cart+purchase), one in Knits
# (purchase without cart), one search; users u1, u2 in week 1, u1 again in week 2.
EVENTS = """user_id,session_id,event_type,ts,item_id,category
u1,s1,view,2024-05-06T10:00:00Z,d1,Dresses
u1,s1,search,2024-05-06T10:01:00Z,,
u2,s2,view,2024-05-06T11:00:00Z,d1,Dresses
u2,s2,cart,2024-05-06T11:02:00Z,d1,Dresses
u2,s3,view,2024-05-07T09:00:00Z,d2,Dresses
u2,s3,cart,2024-05-07T09:01:00Z,d2,Dresses
u2,s3,purchase,2024-05-07T09:05:00Z,d2,Dresses
u1,s4,purchase,2024-05-14T12:00:00Z,k1,Knits
"""
ITEMS = "item_id,title,category,price\nd1,Red dress,Dresses,50\nd2,Blue dress,Dresses,80\nk1,Wool knit,Knits,30\n"


@pytest.fixture
def shop(store: Store, tmp_path: Path) -> Store:
    (tmp_path / "items.csv").write_text(ITEMS)
    (tmp_path / "events.csv").write_text(EVENTS)
    ingest_file(store, tmp_path / "items.csv", "items", shop_id="s")
    ingest_file(store, tmp_path / "events.csv", "events", shop_id="s")
    return store


def test_funnel_counts_sessions_per_stage(shop: Store) -> None:
    df = queries.funnel(shop, "s").set_index("category")
    assert df.loc["All", ["viewed", "carted", "purchased"]].tolist() == [4, 3, 2]
    assert df.loc["Dresses", ["viewed", "carted", "purchased"]].tolist() == [3, 2, 1]
    assert df.loc["Knits", ["viewed", "carted", "purchased"]].tolist() == [1, 1, 1]
    assert df.loc["Dresses", "conversion"] == pytest.approx(1 / 3)


def test_funnel_filters_by_day_and_category(shop: Store) -> None:
    df = queries.funnel(shop, "s", start=date(2024, 5, 7), end=date(2024, 5, 7)).set_index(
        "category"
    )
    assert df.loc["All", ["viewed", "carted", "purchased"]].tolist() == [1, 1, 1]
    only = queries.funnel(shop, "s", category="Knits")
    assert only["category"].tolist() == ["All", "Knits"]
    assert queries.funnel(shop, "other")["viewed"].tolist() == [0]


def test_daily_active_users(shop: Store) -> None:
    df = queries.daily_active_users(shop, "s")
    assert [str(d)[:10] for d in df["day"]] == ["2024-05-06", "2024-05-07", "2024-05-14"]
    assert df["users"].tolist() == [2, 1, 1]
    assert df["buyers"].tolist() == [0, 1, 1]


def test_cohort_retention(shop: Store) -> None:
    df = queries.cohort_retention(shop, "s", weeks=8)
    assert df[["week", "users", "cohort_size"]].values.tolist() == [[0, 2, 2], [1, 1, 2]]
    assert df["retention"].tolist() == [1.0, 0.5]


def test_top_items_with_revenue(shop: Store) -> None:
    df = queries.top_items(shop, "s").set_index("item_id")
    assert df.loc["d1", ["views", "carts", "purchases"]].tolist() == [2, 1, 0]
    assert df.loc["d2", "revenue"] == 80
    assert df.loc["k1", "title"] == "Wool knit"


def test_helpers(shop: Store) -> None:
    assert queries.list_shops(shop) == ["s"]
    assert dashboard_queries.categories(shop, "s") == ["Dresses", "Knits"]
    assert queries.date_range(shop, "s") == (date(2024, 5, 6), date(2024, 5, 14))


def test_filter_values_are_never_sql(shop: Store) -> None:
    hostile = "Dresses' OR '1'='1"
    df = queries.funnel(shop, "s", category=hostile)
    assert df["viewed"].tolist() == [0]
    assert queries.top_items(shop, "s' OR shop_id <> '").empty
