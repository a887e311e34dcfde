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
    recommend_scored,
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


@pytest.mark.integration
def test_recommend_task_serves_the_validation_winner_and_rescoring_never_duplicates(ctx, store):
    from core.scoring import score_task
    from core.training import TrainingConfig, train_task
    from db.repo import recommendations as rec_repo
    from tests.core.conftest import seed_sample_events

    seed_sample_events(store, n_users=400)
    result = train_task(ctx, "recommend", "sample", TrainingConfig(max_minutes=0.5))
    validation = result.metrics["validation"]
    assert set(validation) == {"recent", "popularity", "covisit", "blend", "rerank", "sasrec"}
    assert 0 < result.metrics["methods"]["sasrec"]["hr@10"] < 1
    winner = max(validation, key=lambda m: validation[m]["hr@10"])
    assert result.model_type in (f"recommend_{winner}", "recommend_recent")
    methods = result.metrics["methods"]
    assert methods["popularity"]["hr@10"] < methods["covisit"]["hr@10"]  # real signal in the shop
    assert result.metrics["categories"]["blend"]["hr@10"] > 0.5
    touched = store.query_df("SELECT count(DISTINCT user_id) n FROM events "
                             "WHERE item_id IS NOT NULL")["n"][0]  # fmt: skip
    assert touched == 397  # three of the 400 only searched
    assert score_task(ctx, "recommend", "sample") == touched
    assert score_task(ctx, "recommend", "sample") == touched  # a rerun replaces, never duplicates
    rows = rec_repo.for_shop(store, "sample", result.version)
    assert len(rows) == len(rows.drop_duplicates(["user_id", "rank"])) == 10 * touched
    assert rows["category"].notna().mean() > 0.9


def test_reranker_beats_recently_viewed_on_the_taobao_slice(shared_data) -> None:  # noqa: ARG001
    from bench.core_data import taobao_events
    from core.rerank import fit_reranker

    events = taobao_events()
    train, held = leave_last_out(events)
    users = held["user_id"].tolist()
    reranker = fit_reranker(train, "item_id", BlendConfig())
    assert 0.2 < reranker.meta["candidate_recall"] < 0.35  # the next item is often never seen
    ranked = evaluate(reranker.recommend(train, users), held, "item_id")["hr@10"]
    recent = evaluate(recommend_recent(train, users), held, "item_id")["hr@10"]
    assert ranked > recent + 0.015, (ranked, recent)


def test_parts_scored_with_the_whole_logs_statistics_get_the_whole_logs_lists(shared_data) -> None:  # noqa: ARG001
    # what a distributed engine does: statistics of the whole log once, then each part of the
    # shoppers from its own events
    from bench.core_data import taobao_events
    from core.engines import WholeLogPredictor
    from core.kinds.recommendation import Recommender
    from core.recommend import of_users
    from core.rerank import fit_reranker

    events = taobao_events()
    events = events[events["user_id"].isin(events["user_id"].drop_duplicates().head(240))]
    users = sorted(events["user_id"].astype(str).unique())
    halves = (users[:120], users[120:])
    config = BlendConfig(covisit_window=3, covisit_from=3)
    items, categories = fit_reranker(events, "item_id", config), fit_reranker(events, "category")
    for rec in (Recommender("rerank", config, BlendConfig(), items, categories),
                Recommender("blend", config, BlendConfig())):  # fmt: skip
        assert isinstance(rec, WholeLogPredictor)  # what tells a distributed engine to do this
        whole = rec.recommend(events, users)
        stats = rec.shop_stats(events)
        parts = [rec.recommend(of_users(events, half), half, stats=stats) for half in halves]
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
        # a part's own events alone give other lists: the statistics carry the rest of the shop
        alone = rec.recommend(of_users(events, halves[0]), halves[0])
        assert not alone.equals(whole[whole["user_id"].isin(halves[0])].reset_index(drop=True))
    by_part = categories.recommend_scored(of_users(events, halves[1]), halves[1], 10,
                                          categories.shop_stats(events))  # fmt: skip
    assert by_part == categories.recommend_scored(events, halves[1], 10)
    with pytest.raises(ValueError, match="window 3, not of item_id with window 1"):
        recommend_scored(events, halves[0], "item_id", BlendConfig(), rec.shop_stats(events).items)
