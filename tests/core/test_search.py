"""Tests for core/search.py (unmet demand, trends) and the Search page's queries on a toy shop."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from core.search import Catalogue, query_aspects, trending, unmatched_queries

pytestmark = pytest.mark.unit


def test_queries_are_read_for_aspects_with_their_words_and_purchase_lift() -> None:
    queries = pd.DataFrame({
        "query": ["red dress", "black dress", "plus size jeans", "knit top", "button down shirt",
                  "dress", "红色连衣裙"],
        "searches": [30, 10, 20, 50, 40, 100, 10],
        "view_rate": [0.5, 0.5, 0.2, 0.6, 0.5, 0.7, 0.5],
        "purchase_rate": [0.2, 0.2, 0.0, 0.1, 0.1, 0.1, 0.3],
    })  # fmt: skip
    out = query_aspects(queries, ["Dresses", "Knits", "Jeans"]).set_index("aspect")
    # knit names the Knits category and a button-down shirt is a style: neither is asked
    assert list(out.index) == ["colour", "size_fit"]
    colour = out.loc["colour"]
    assert (colour["searches"], colour["queries"]) == (50, 3)
    assert colour["asked"] == "red 30 · black 10 · 红色 10"  # Chinese queries are read too
    assert colour["share"] == pytest.approx(50 / 260)
    overall = (30 * 0.2 + 10 * 0.2 + 50 * 0.1 + 40 * 0.1 + 100 * 0.1 + 10 * 0.3) / 260
    assert colour["purchase_rate"] == pytest.approx((30 * 0.2 + 10 * 0.2 + 10 * 0.3) / 50)
    assert colour["purchase_lift"] == pytest.approx(colour["purchase_rate"] / overall)
    assert out.loc["size_fit", "purchase_lift"] == 0.0  # plus-size searchers never bought
    assert query_aspects(queries[queries["query"] == "dress"]).empty
    # a Chinese category names the product too; an aspect asked by too few searches says little
    knitwear = pd.DataFrame({"query": ["针织开衫", "纯棉T恤", "red top"], "searches": [30, 12, 3],
                             "view_rate": [0.5] * 3, "purchase_rate": [0.1] * 3})  # fmt: skip
    out = query_aspects(knitwear, ["针织衫"])
    assert out[["aspect", "searches", "asked"]].values.tolist() == [["fabric", 12, "纯棉 12"]]


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
    queries, daily = bq.search_activity(store, "sample", date(2024, 5, 1), date(2024, 5, 2))
    queries = queries.set_index("query")
    assert queries.loc["linen dress", "searches"] == 2  # case and spaces folded
    assert queries.loc["linen dress", "view_rate"] == 0.5  # u2 viewed before searching, not after
    assert queries.loc["linen dress", "purchase_rate"] == 0.5
    assert (queries.loc["swimsuit", "earlier"], queries.loc["swimsuit", "later"]) == (0, 1)
    assert daily["searches"].tolist() == [2, 1] and daily["dead_ends"].tolist() == [1, 0]
    also = bq.also_touched(store, "sample", "i1", "view")
    assert also.empty  # nobody who touched i1 viewed anything else
    with store.write() as con:  # u1 views i2 the next day
        con.execute("INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, "
                    "category, event_type, ts) VALUES (99, 'sample', 'u1', 's9', 'i2', 'Dresses', "
                    "'view', ?)", [t0 + timedelta(days=1)])  # fmt: skip
    also = bq.also_touched(store, "sample", "i1", "view")
    assert also[["item_id", "shoppers", "share"]].values.tolist() == [["i2", 1, 0.5]]
    day = t0.date()
    assert bq.also_touched(store, "sample", "i1", "view", start=day, end=day).empty
    both = bq.also_touched(store, "sample", "i1", "view", start=day, end=day + timedelta(days=1))
    assert both["item_id"].tolist() == ["i2"]
    # a search's session is followed until a day after the period, not to the end of the log
    late = [("coat", "s7", 24 * 60 + 13 * 60, 24 * 60 + 15 * 60),  # a view 2 hours later
            ("hat", "s8", 24 * 60 + 13 * 60, 4 * 24 * 60)]  # a view 3 days later  # fmt: skip
    with store.write() as con:
        for n, (query, session, searched, viewed) in enumerate(late):
            con.executemany(
                "INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, category, "
                "event_type, query, ts) VALUES (?, 'sample', 'u4', ?, ?, 'Dresses', ?, ?, ?)",
                [(200 + 2 * n, session, None, "search", query, t0 + timedelta(minutes=searched)),
                 (201 + 2 * n, session, "i3", "view", None, t0 + timedelta(minutes=viewed))],
            )  # fmt: skip
    followed = bq.search_activity(store, "sample", day, day + timedelta(days=1))[0]
    followed = followed.set_index("query")
    assert followed.loc["coat", "view_rate"] == 1.0 and followed.loc["hat", "view_rate"] == 0.0


def test_also_viewed_of_a_very_popular_item_is_counted_among_a_fixed_sample(store) -> None:
    from db import behaviour_queries as bq

    t0 = datetime(2024, 5, 1, 10)
    rows = []  # 2,000 shoppers view "hot"; 60 % of them view "a", 30 % "b"
    for n in range(2000):
        user = f"u{n}"
        rows.append((user, "hot"))
        if n % 5 < 3:
            rows.append((user, "a"))
        if n % 10 < 3:
            rows.append((user, "b"))
    with store.write() as con:
        con.executemany(
            "INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, category, "
            "event_type, ts) VALUES (?, 'sample', ?, ?, ?, 'Dresses', 'view', ?)",
            [(k, u, u, i, t0 + timedelta(seconds=k)) for k, (u, i) in enumerate(rows)],
        )
    exact = bq.also_touched(store, "sample", "hot", "view")
    assert exact[["item_id", "shoppers", "share"]].values.tolist() == [
        ["a", 1200, 0.6], ["b", 600, 0.3]
    ]  # fmt: skip
    assert exact.attrs["sampled_one_in"] == 1
    small_enough = bq.also_touched(store, "sample", "hot", "view", sample_above=2000)
    pd.testing.assert_frame_equal(small_enough, exact)
    assert small_enough.attrs["sampled_one_in"] == 1
    sampled = bq.also_touched(store, "sample", "hot", "view", sample_above=200)
    assert sampled.attrs["sampled_one_in"] == 10
    assert sampled["item_id"].tolist() == ["a", "b"]
    assert sampled["share"].tolist() == pytest.approx([0.6, 0.3], abs=0.1)
    assert sampled["share"].tolist() != exact["share"].tolist()  # a sample, not every shopper
    # the counts are the sample's shares of all 2,000 of the item's shoppers
    assert sampled["shoppers"].tolist() == (sampled["share"] * 2000).round().astype(int).tolist()
    again = bq.also_touched(store, "sample", "hot", "view", sample_above=200)
    pd.testing.assert_frame_equal(again, sampled)  # the same sample every time
    with pytest.raises(ValueError, match="sample_above must be at least 1"):
        bq.also_touched(store, "sample", "hot", "view", sample_above=0)


def test_a_sample_that_holds_nobody_who_went_on_is_counted_in_full(store) -> None:
    from db import behaviour_queries as bq

    t0 = datetime(2024, 5, 1, 10)
    one_in = 100  # 1,000 shoppers, a sample of about 10
    with store.read() as con:  # the one shopper who goes on to "a" is outside the sample
        other = next(f"u{n}" for n in range(1000)
                     if con.execute("SELECT hash(?) % 100", [f"u{n}"]).fetchone()[0] != 0)  # fmt: skip
    rows = [(f"u{n}", "hot") for n in range(1000)] + [(other, "a")]
    with store.write() as con:
        con.executemany(
            "INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, category, "
            "event_type, ts) VALUES (?, 'sample', ?, ?, ?, 'Dresses', 'view', ?)",
            [(k, u, u, i, t0 + timedelta(seconds=k)) for k, (u, i) in enumerate(rows)],
        )
    also = bq.also_touched(store, "sample", "hot", "view", sample_above=1000 // one_in)
    assert also[["item_id", "shoppers", "share"]].values.tolist() == [["a", 1, 0.001]]
    assert also.attrs["sampled_one_in"] == 1
