"""Tests for core/tasks.py: registry, label precedence, per-task loaders."""

from __future__ import annotations

import pandas as pd
import pytest

from common.errors import InputError
from core.tasks import (
    INTENT_CATEGORIES,
    TASKS,
    get_task,
    intent_category,
    merge_labels,
    rating_to_sentiment,
    register_task,
    text_tasks,
)
from tests.core.conftest import seed_events, seed_labels, seed_reviews

pytestmark = pytest.mark.unit


def test_registry_lists_every_task_with_labels():
    assert set(TASKS) == {"sentiment", "intent", "demand", "purchase", "risk"}
    assert text_tasks() == ["sentiment", "intent", "demand", "purchase"]
    assert get_task("demand").labels == (
        "feature_request", "complaint", "praise", "question", "other",
    )  # fmt: skip
    assert len(get_task("intent").labels) == 27
    assert len(set(INTENT_CATEGORIES.values())) == 11
    assert intent_category("track_order") == "ORDER"


def test_unknown_task_and_duplicate_registration():
    with pytest.raises(InputError, match="choose one of"):
        get_task("nope")
    with pytest.raises(ValueError, match="twice"):
        register_task("sentiment", ("a", "b"), "dup")(lambda store, shop_id: pd.DataFrame())


def test_rating_mapping():
    assert [rating_to_sentiment(r) for r in (1, 2, 3, 4, 5, None)] == [
        "negative", "negative", "neutral", "positive", "positive", None,
    ]  # fmt: skip


def test_merge_labels_human_beats_rule_beats_derived():
    frames = [
        pd.DataFrame({"target_id": ["a", "b", "c"], "label": ["x", "x", "x"], "source": "derived"}),
        pd.DataFrame({"target_id": ["a", "b"], "label": ["y", "y"], "source": "rule"}),
        pd.DataFrame({"target_id": ["a"], "label": ["z"], "source": "human"}),
    ]
    merged = merge_labels(frames).set_index("target_id")
    assert merged["label"].to_dict() == {"a": "z", "b": "y", "c": "x"}
    assert merged.loc["a", "source"] == "human"


def test_sentiment_labels_from_ratings_and_human_override(store):
    seed_reviews(store, [("r1", 1, "bad"), ("r2", 3, "meh"), ("r3", 5, "great")])
    seed_labels(store, "sentiment", [("r2", "positive", "human")])
    labels = get_task("sentiment").load_labels(store, "sample").set_index("target_id")
    assert labels["label"].to_dict() == {"r1": "negative", "r2": "positive", "r3": "positive"}
    texts = get_task("sentiment").load_texts(store, "sample")
    assert texts["target_id"].tolist() == ["r1", "r2", "r3"]


def test_demand_sentences_get_rule_labels(store):
    seed_reviews(store, [("r1", 4, "Love it! Wish it came in blue. 有大码吗？")])
    texts = get_task("demand").load_texts(store, "sample")
    assert texts["target_id"].tolist() == ["r1:0", "r1:1", "r1:2"]
    labels = get_task("demand").load_labels(store, "sample")
    assert labels["label"].tolist() == ["praise", "feature_request", "question"]
    assert set(labels["source"]) == {"rule"}


def test_purchase_texts_cut_before_the_purchase(store):
    seed_events(store, [[("view", "knits"), ("cart", "knits"), ("purchase", "knits")],
                        [("view", "dresses"), ("view", "tops")]])  # fmt: skip
    texts = get_task("purchase").load_texts(store, "sample").set_index("target_id")
    assert texts.loc["s000", "text"] == "view knits; cart knits"
    labels = get_task("purchase").load_labels(store, "sample").set_index("target_id")
    assert labels["label"].to_dict() == {"s000": "purchase", "s001": "no_purchase"}


def test_rule_labels_are_recorded_once(store):
    from core.tasks import record_rule_labels

    seed_reviews(store, [("r1", 4, "Love it! Wish it came in blue.")])
    seed_labels(store, "demand", [("r1:0", "other", "human")])
    assert record_rule_labels(store, "sample") == 1
    assert record_rule_labels(store, "sample") == 0
    rows = store.query_df("SELECT target_id, label, source, rule_name FROM labels "
                          "WHERE task = 'demand' ORDER BY target_id")  # fmt: skip
    rows = rows.astype(object).where(rows.notna(), None)
    assert rows.values.tolist() == [["r1:0", "other", "human", None],
                                    ["r1:1", "feature_request", "rule", "wish_or_want"]]  # fmt: skip
    labels = get_task("demand").load_labels(store, "sample")
    assert labels["label"].tolist() == ["other", "feature_request"]
