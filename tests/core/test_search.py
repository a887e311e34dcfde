"""Tests for core/search.py (unmet demand, trends) and the Search page's queries on a toy shop."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from core.search import Catalogue, trending, unmatched_queries

pytestmark = pytest.mark.unit


def test_queries_match_titles_and_categories_in_english_and_chinese() -> None:
    catalogue = ["General · Dresses · 12", "Blouses", "Pants", "夏季连衣裙", "Knits"]
    assert unmatched_queries(
        ["linen dress", "white blouse", "pant", "swimsuit", "连衣裙", "泳衣", "knit top", "tee"],
        catalogue,
    ) == ["swimsuit", "泳衣", "tee"]
    assert Catalogue([]).matches("dress") is False


def test_trending_needs_growth_and_support() -> None:
    queries = pd.DataFrame({"query": ["a", "b", "c", "d"], "searches": [10, 8, 3, 12],
                            "earlier": [2, 4, 0, 8], "later": [8, 4, 3, 4]})  # fmt: skip
    rising = trending(queries)
    assert rising["query"].tolist() == ["a"]  # b is flat, c has too few searches, d fell
    assert rising["growth"].tolist() == [4.0]


@pytest.mark.integration
def test_search_funnel_counts_what_follows_a_search(store) -> None:
    from db import behaviour_queries as bq

    t0 = datetime(2024, 5, 1, 10)
    rows = [  # (user, session, item, type, query, minutes after t0)
        ("u1", "s1", None, "search", "Linen Dress", 0), ("u1", "s1", "i1", "view", None, 1),
        ("u1", "s1", "i1", "purchase", None, 2),
        ("u2", "s2", "i1", "view", None, 0), ("u2", "s2", None, "search", "linen dress ", 1),
        ("u3", "s3", None, "search", "swimsuit", 60 * 30), ("u3", "s3", "i2", "view", None, 60 * 30 + 1),
    ]  # fmt: skip
    with store.write() as con:
        con.executemany(
            "INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, category, "
            "event_type, query, ts) VALUES (?, 'sample', ?, ?, ?, 'Dresses', ?, ?, ?)",
            [(n, u, s, i, t, q, t0 + timedelta(minutes=m)) for n, (u, s, i, t, q, m) in enumerate(rows)],
        )  # fmt: skip
    queries = bq.search_queries(store, "sample", date(2024, 5, 1), date(2024, 5, 2)).set_index(
        "query"
    )
    assert queries.loc["linen dress", "searches"] == 2  # case and spaces folded
    assert queries.loc["linen dress", "view_rate"] == 0.5  # u2 viewed before searching, not after
    assert queries.loc["linen dress", "purchase_rate"] == 0.5
    assert (queries.loc["swimsuit", "earlier"], queries.loc["swimsuit", "later"]) == (0, 1)
    daily = bq.search_daily(store, "sample", date(2024, 5, 1), date(2024, 5, 2))
    assert daily["searches"].tolist() == [2, 1] and daily["dead_ends"].tolist() == [1, 0]
    also = bq.also_touched(store, "sample", "i1", "view")
    assert also.empty  # nobody who touched i1 viewed anything else
