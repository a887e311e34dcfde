"""Tests for the task registry (core/kinds/base.py, core/tasks/) and each task's loaders."""

from __future__ import annotations

import pytest

from common.errors import InputError
from core.kinds.base import TASKS, all_tasks, get_task, labelled_tasks, register_task, tasks_on_page
from core.tasks.sentiment import ReviewSentiment, rating_to_sentiment
from tests.core.conftest import seed_events, seed_labels, seed_reviews

pytestmark = pytest.mark.unit


def test_registry_lists_every_task_with_its_kind_pages_and_labels():
    assert [t.name for t in all_tasks()] == [
        "sentiment", "aspects", "intent", "demand", "purchase", "session_purchase", "churn",
        "recommend", "risk"]  # fmt: skip
    assert {t.name: t.kind for t in all_tasks()} == {
        "sentiment": "text_classification", "aspects": "aspect_sentiment",
        "intent": "text_classification", "demand": "text_classification",
        "purchase": "shopper_forecast", "session_purchase": "text_classification",
        "churn": "shopper_forecast", "recommend": "recommendation", "risk": "anomaly",
    }  # fmt: skip
    assert [t.name for t in labelled_tasks()] == ["sentiment", "aspects", "intent", "demand"]
    assert [t.name for t in tasks_on_page("explain")] == [
        "sentiment",
        "aspects",
        "intent",
        "demand",
    ]
    assert get_task("sentiment").explainable and not get_task("risk").explainable
    assert get_task("demand").labels == (
        "feature_request", "complaint", "praise", "question", "other",
    )  # fmt: skip
    assert get_task("intent").labels == ()  # the shop's own (core/intents.py), not code


def test_unknown_task_and_duplicate_registration():
    with pytest.raises(InputError, match="choose one of: sentiment, aspects, intent"):
        get_task("nope")
    with pytest.raises(ValueError, match="twice"):
        register_task(ReviewSentiment("sentiment", "dup", ("a", "b")))
    assert isinstance(TASKS["sentiment"], ReviewSentiment)


def test_rating_mapping():
    assert [rating_to_sentiment(r) for r in (1, 2, 3, 4, 5, None)] == [
        "negative", "negative", "neutral", "positive", "positive", None,
    ]  # fmt: skip


def test_sentiment_labels_from_ratings_and_human_override(ctx, store):
    seed_reviews(store, [("r1", 1, "bad"), ("r2", 3, "meh"), ("r3", 5, "great")])
    seed_labels(store, "sentiment", [("r2", "positive", "human")])
    labels = get_task("sentiment").load_labels(ctx, "sample").set_index("target_id")
    assert labels["label"].to_dict() == {"r1": "negative", "r2": "positive", "r3": "positive"}
    assert labels.loc["r2", "source"] == "human"
    texts = get_task("sentiment").load_texts(ctx, "sample")
    assert texts["target_id"].tolist() == ["r1", "r2", "r3"]


def test_demand_sentences_get_rule_labels_recorded_once(ctx, store):
    seed_reviews(store, [("r1", 4, "Love it! Wish it came in blue. 有大码吗？")])
    demand = get_task("demand")
    texts = demand.load_texts(ctx, "sample")
    assert texts["target_id"].tolist() == ["r1:0", "r1:1", "r1:2"]
    labels = demand.load_labels(ctx, "sample")
    assert labels["label"].tolist() == ["praise", "feature_request", "question"]
    assert set(labels["source"]) == {"rule"}
    seed_labels(store, "demand", [("r1:0", "other", "human")])
    demand.prepare(ctx, "sample")
    demand.prepare(ctx, "sample")  # a second time adds nothing
    rows = store.query_df("SELECT target_id, source FROM labels WHERE task = 'demand' "
                          "ORDER BY target_id, source")  # fmt: skip
    assert rows.values.tolist() == [["r1:0", "human"], ["r1:1", "rule"], ["r1:2", "rule"]]
    assert demand.load_labels(ctx, "sample")["label"].tolist() == [
        "other", "feature_request", "question"]  # fmt: skip


def test_demand_learns_from_peoples_labels_alone_once_there_are_enough(ctx, store):
    from core.tasks.demand import LABELS_TO_TEACH_ALONE

    n = LABELS_TO_TEACH_ALONE
    seed_reviews(store, [(f"r{i}", 2, f"Love it number {i}. It ripped at the seam.")
                         for i in range(n)])  # fmt: skip
    demand = get_task("demand")
    seed_labels(store, "demand", [(f"r{i}:1", "complaint", "human") for i in range(n - 1)])
    labels = demand.load_labels(ctx, "sample")
    assert len(labels) == 2 * n and (labels["source"] == "human").sum() == n - 1  # rules beside
    seed_labels(store, "demand", [(f"r{n - 1}:1", "complaint", "human")])
    labels = demand.load_labels(ctx, "sample")
    assert len(labels) == n and set(labels["source"]) == {"human"}
    assert labels["target_id"].str.endswith(":1").all()


def test_purchase_texts_cut_before_the_purchase(ctx, store):
    seed_events(store, [[("view", "knits"), ("cart", "knits"), ("purchase", "knits")],
                        [("view", "dresses"), ("view", "tops")]])  # fmt: skip
    texts = get_task("session_purchase").load_texts(ctx, "sample").set_index("target_id")
    assert texts.loc["s000", "text"] == "view knits; cart knits"
    labels = get_task("session_purchase").load_labels(ctx, "sample").set_index("target_id")
    assert labels["label"].to_dict() == {"s000": "purchase", "s001": "no_purchase"}


def test_loaders_read_only_their_shop(ctx, store):
    seed_reviews(store, [("r1", 5, "great")], shop_id="a")
    seed_reviews(store, [("r9", 1, "bad")], shop_id="b")
    assert get_task("sentiment").load_texts(ctx, "a")["target_id"].tolist() == ["r1"]
    assert get_task("sentiment").load_labels(ctx, "b")["label"].tolist() == ["negative"]


@pytest.mark.integration
def test_the_shop_owns_its_intents_and_a_new_one_trains_from_a_few_examples(ctx, store):
    from core.intents import add_intent, shop_intents
    from db.sample import sample_dir

    assert shop_intents(ctx, "sample").names == ()
    seed_labels(store, "intent", [("m1", "track_order", "derived")])
    assert shop_intents(ctx, "sample").names == ("track_order",)  # from the shop's labels
    taxonomy = add_intent(ctx, "sample", "size_question",
                          ["Is this true to size?", "Which size should I take?"], "product")  # fmt: skip
    assert taxonomy.names == ("size_question", "track_order")
    assert taxonomy.category("size_question") == "PRODUCT"
    again = add_intent(
        ctx, "sample", "size_question", ["Does it run small?", "Is this true to size?"]
    )
    assert shop_intents(ctx, "sample").intents[0].examples == (
        "Is this true to size?", "Which size should I take?", "Does it run small?")  # fmt: skip
    assert again.category("size_question") == "PRODUCT"
    data = get_task("intent").training_data(ctx, "sample")
    assert (data["label"] == "size_question").sum() == 3  # the examples train
    with pytest.raises(InputError, match="lower-case"):
        add_intent(ctx, "sample", "Size Question", ["x"])
    with pytest.raises(InputError, match="at least one --example"):
        add_intent(ctx, "sample", "stock_question", [])
    from core.intents import parse_taxonomy

    sample = parse_taxonomy((sample_dir() / "intents.json").read_text(encoding="utf-8"))
    assert len(sample.names) == 27 and len({i.category for i in sample.intents}) == 11
    assert sample.category("track_order") == "ORDER" and sample.category("new_one") == "OTHER"
