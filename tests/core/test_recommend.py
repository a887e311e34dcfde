"""Tests for core/recommend.py: the recommenders and the leave-last-out protocol, on toy events."""

from __future__ import annotations

import pandas as pd
import pytest

from core.recommend import (
    BlendConfig,
    covisitation,
    evaluate,
    leave_last_out,
    recommend_blend,
    recommend_popular,
    recommend_recent,
    tune_blend,
)

pytestmark = pytest.mark.unit


def _events() -> pd.DataFrame:
    rows = []
    # everyone who views a goes on to b; u3 also keeps coming back to its own c
    for user, items in {"u1": ["a", "b", "x"], "u2": ["a", "b", "y"], "u3": ["c", "d", "c"],
                        "u4": ["z", "a", "b"], "u5": ["a", "z", "a"]}.items():  # fmt: skip
        rows += [(user, item, f"cat-{item}", "pv", t) for t, item in enumerate(items)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "category", "event_type", "ts"])


def test_leave_last_out_holds_each_shoppers_last_event() -> None:
    train, held = leave_last_out(_events())
    assert held.set_index("user_id")["item_id"].to_dict() == {
        "u1": "x", "u2": "y", "u3": "c", "u4": "b", "u5": "a"}  # fmt: skip
    assert len(train) == 10 and not train.merge(held, on=["user_id", "ts"]).shape[0]


def test_recent_popular_and_covisitation() -> None:
    train, _ = leave_last_out(_events())
    assert recommend_recent(train, ["u3", "nobody"])["u3"] == ["d", "c"]
    assert recommend_recent(train, ["nobody"])["nobody"] == []
    assert recommend_popular(train, ["u1"])["u1"][0] == "a"
    follow = covisitation({"s": ["a", "b", "c"], "t": ["a", "b"]}, window=1)
    assert follow["a"] == {"b": 2} and follow["b"] == {"c": 1}
    lists = recommend_blend(train, ["u5"], config=BlendConfig(covisit_weight=3.0))
    assert lists["u5"][:2] == ["a", "z"]  # a is both recent and what follows z (u4: z -> a)


def test_evaluate_counts_hits_and_discounts_by_rank() -> None:
    held = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "item_id": ["a", "b", "c"]})
    lists = {"u1": ["a", "x"], "u2": ["x", "b"], "u3": ["x"] * 10 + ["c"]}
    metrics = evaluate(lists, held)
    assert metrics["hr@10"] == pytest.approx(2 / 3)
    assert metrics["ndcg@10"] == pytest.approx((1 + 1 / __import__("math").log2(3)) / 3)
    assert metrics["recall@50"] == 1.0


def test_tuning_picks_the_setting_best_on_validation() -> None:
    events = pd.concat(
        [_events().assign(user_id=lambda d, i=i: d["user_id"] + f"-{i}") for i in range(3)]
    )
    config, score = tune_blend(events, grid={"covisit_weight": (0.0, 3.0)})
    assert 0.0 <= score <= 1.0 and config.covisit_weight in (0.0, 3.0)
