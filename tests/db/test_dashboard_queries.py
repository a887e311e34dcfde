"""The dashboard's analytics queries on a small seeded shop."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.signals import shopper_signal_spec
from db import dashboard_queries as dq
from db import prediction_queries as pq
from db.store import Store
from tests.app.dashboard_seed import SHOP, seed_shop

pytestmark = pytest.mark.integration

START, END = date(2024, 3, 15), date(2024, 3, 21)


@pytest.fixture
def shop(store: Store) -> Store:
    seed_shop(store)
    return store


def test_previous_period_has_the_same_length() -> None:
    assert dq.previous_period(START, END) == (date(2024, 3, 8), date(2024, 3, 14))


def test_unknown_segment_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown segment"):
        dq.segment_condition("x'; DROP TABLE events; --")


def test_span_shops_and_categories(shop: Store) -> None:
    assert dq.shops(shop) == [SHOP]
    assert dq.data_span(shop, SHOP) == (date(2024, 3, 1), date(2024, 3, 21))
    assert dq.categories(shop, SHOP) == ["bags", "dresses", "shoes", "tops"]


def test_kpis_match_the_raw_events(shop: Store) -> None:
    k = dq.period_kpis(shop, SHOP, START, END)
    raw = shop.query_df(
        "SELECT count(DISTINCT session_id) s, count(DISTINCT user_id) FILTER (WHERE event_type = "
        "'purchase') b FROM events WHERE shop_id = ? AND ts >= '2024-03-15' AND ts < '2024-03-22'",
        [SHOP],
    ).iloc[0]
    assert (k["sessions"], k["buyers"]) == (raw["s"], raw["b"])
    assert 0 < k["conversion"] < 1 and k["aov"] > 0


def test_segments_partition_shoppers(shop: Store) -> None:
    kpi = {s: dq.period_kpis(shop, SHOP, START, END, segment=s) for s in dq.SEGMENTS}
    assert kpi["buyers"]["shoppers"] + kpi["browsers"]["shoppers"] == kpi["all"]["shoppers"]
    assert kpi["new"]["shoppers"] + kpi["returning"]["shoppers"] == kpi["all"]["shoppers"]
    assert kpi["browsers"]["buyers"] == 0 and kpi["cart_abandoners"]["orders"] == 0


def test_category_filter_and_daily_traffic(shop: Store) -> None:
    shoes = dq.period_kpis(shop, SHOP, START, END, category="shoes")
    everything = dq.period_kpis(shop, SHOP, START, END)
    assert 0 < shoes["sessions"] < everything["sessions"]
    daily = dq.daily_traffic(shop, SHOP, START, END)
    assert len(daily) == 7 and daily["day"].iloc[0] == pd.Timestamp("2024-03-15")
    total = dq.funnel_by(shop, SHOP, START, END, by="total").iloc[0]
    assert total["view"] >= total["cart"] >= total["purchase"] > 0
    by_cat = dq.funnel_by(shop, SHOP, START, END, by="category")
    assert set(by_cat["group"]) <= {"bags", "dresses", "shoes", "tops"}


def test_cohorts_items_and_risky_sessions(shop: Store) -> None:
    cohorts = dq.cohort_weeks(shop, SHOP)
    assert (cohorts[cohorts["week"] == 0]["retention"] == 1.0).all()
    items = dq.top_items_period(shop, SHOP, START, END)
    assert items["views"].is_monotonic_decreasing
    risky = dq.risky_sessions(shop, SHOP, date(2024, 3, 1), END)
    assert risky["session_id"].tolist() == ["bot-1"]
    assert risky.loc[0, "reasons"] == "bot-like speed"


def test_text_predictions_and_signals(shop: Store) -> None:
    assert pq.scored_count(shop, SHOP, "sentiment") == 50  # the active version's rows
    reviews = pq.review_predictions(shop, SHOP)
    assert len(reviews) == 50 and set(reviews["label"]) <= {"negative", "neutral", "positive"}
    shoes = pq.review_predictions(shop, SHOP, category="shoes")
    assert 0 < len(shoes) < 50
    assert len(pq.message_predictions(shop, SHOP, start=START, end=END, strict=True)) < 30
    sentences = pq.sentence_predictions(shop, SHOP)
    assert sentences["review_id"].isin(reviews["review_id"]).all()
    users = dq.user_signals(shop, SHOP, START, END, **shopper_signal_spec())
    assert users["user_id"].is_unique and users["propensity"].between(0, 1).all()
    assert users["churn_risk"].between(0, 1).all() and users["propensity"].nunique() > 1
    assert users.set_index("user_id").loc["u-bot", "risk"] == pytest.approx(0.97)
    spread = pq.probability_histogram(shop, SHOP, "purchase", "purchase", bins=4)
    shoppers = shop.query_df("SELECT count(DISTINCT user_id) n FROM events")["n"][0]
    assert spread["low"].tolist() == [0, 0.25, 0.5, 0.75] and spread["rows"].sum() == shoppers
    flags = pq.risk_flags(shop, SHOP)
    assert flags.to_dict("records") == [
        {"user_id": "u-bot", "score": 0.97, "reason": "80 events in one minute"}
    ]
    pairs = pq.model_test_pairs(shop, SHOP, "sentiment", "v-demo-1")
    assert len(pairs) > 0 and set(pairs.columns) == {"target_id", "label", "predicted", "probs"}


def test_labelling_counts_on_a_fresh_shop(shop: Store) -> None:
    from db.repo.labelling import queue_counts

    assert queue_counts(shop, SHOP, "sentiment") == {"pending": 0, "queued": 0, "labelled": 0}
    assert pq.annotator_agreement(shop, SHOP, "sentiment") is None
    assert pq.annotator_stats(shop, SHOP, "sentiment").empty


def test_message_author_kinds(shop: Store) -> None:
    kinds = dq.message_author_kinds(shop, SHOP, START, END).set_index("user_id")["kind"]
    assert len(kinds) == 30 and set(kinds) <= {"buyers", "browsers", "not active in period"}
    signals = dq.user_signals(shop, SHOP, START, END, **shopper_signal_spec()).set_index("user_id")
    for user, kind in kinds.items():
        if user in signals.index:
            assert kind == ("buyers" if signals.at[user, "purchases"] > 0 else "browsers")
        else:
            assert kind == "not active in period"
