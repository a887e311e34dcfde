"""The pandas side of the query benchmark computes what ``db.queries`` computes."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.bench_queries import (
    SHOP,
    _check_same,
    _fill_store,
    pandas_dau,
    pandas_funnel,
    pandas_retention,
)
from db import queries
from db.store import Store
from synthetic.generator import write_events

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def log_and_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qbench")
    items = pd.DataFrame(
        {"item_id": [f"i{i}" for i in range(60)], "category": ["Dresses", "Knits", "Jeans"] * 20}
    )
    parquet = folder / "events.parquet"
    write_events(parquet, 30_000, items=items, seed=9, days=28)
    store = Store(folder / "bench.duckdb", lock_timeout_s=10)
    _fill_store(store, parquet)
    return pd.read_parquet(parquet), store


def test_pandas_and_duckdb_agree(log_and_store):
    events, store = log_and_store
    duck = {
        "funnel": queries.funnel(store, SHOP),
        "dau": queries.daily_active_users(store, SHOP),
        "retention": queries.cohort_retention(store, SHOP, weeks=8),
    }
    panda = {
        "funnel": pandas_funnel(events),
        "dau": pandas_dau(events),
        "retention": pandas_retention(events, weeks=8),
    }
    assert _check_same(duck, panda) == {
        "funnel": True,
        "daily_active_users": True,
        "cohort_retention": True,
    }
    # per category too, and the numbers are not trivially zero
    by_cat = duck["funnel"].set_index("category")
    for category in ("Dresses", "Knits", "Jeans"):
        assert by_cat.loc[category, "purchased"] == panda["funnel"].loc[category, "purchased"]
    assert by_cat.loc["All", "purchased"] > 0
    assert len(duck["dau"]) == 28


def test_check_same_notices_a_difference(log_and_store):
    events, store = log_and_store
    panda = {
        "funnel": pandas_funnel(events),
        "dau": pandas_dau(events),
        "retention": pandas_retention(events),
    }
    wrong = {**panda, "dau": panda["dau"].assign(users=panda["dau"]["users"] + 1)}
    duck = {
        "funnel": queries.funnel(store, SHOP),
        "dau": queries.daily_active_users(store, SHOP),
        "retention": queries.cohort_retention(store, SHOP),
    }
    assert _check_same(duck, wrong)["daily_active_users"] is False
