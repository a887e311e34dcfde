"""Tests for core/training.py, core/text_model.py and core/trainer.py: the fixed split, tiny
fine-tunes per task, the model-or-baseline choice and the run record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.errors import InputError
from core.trainer import bucketed_batches
from core.training import TrainingConfig, assign_splits, get_or_create_split, train_task
from tests.core.conftest import seed_events, seed_labels, seed_reviews, synonym_reviews

pytestmark = pytest.mark.integration

TINY = {"epochs": 2, "max_length": 16, "batch_size": 8, "learning_rate": 1e-3,
        "check_int8": False, "trainable_layers": 1}  # fmt: skip


def _encoder_learned(result, threshold=0.9):
    """The encoder trained (loss fell) and, served or not, fits the toy rows."""
    assert result.losses[-1] < result.losses[0], "training did not lower the loss"
    candidate = result.details.get("candidate_metrics") or result.metrics
    assert candidate["encoder_only"]["accuracy"] >= threshold


@pytest.mark.unit
def test_split_is_stratified_seeded_and_stable():
    ids = pd.Series([f"t{i:03d}" for i in range(100)])
    y = pd.Series(["a"] * 80 + ["b"] * 20)
    s1 = assign_splits(ids, y, (0.7, 0.15, 0.15), seed=1)
    assert s1.equals(assign_splits(ids, y, (0.7, 0.15, 0.15), seed=1))
    assert (s1 == "test").sum() == 15 and (s1[ids[80:]] == "test").sum() == 3


def test_split_is_stored_once_per_shop_and_reused(store):
    data = pd.DataFrame({"target_id": [f"t{i}" for i in range(30)], "label": ["a", "b"] * 15})
    first = get_or_create_split(store, "sentiment", "sample", data)
    more = pd.concat([data, pd.DataFrame({"target_id": ["new1"], "label": ["a"]})])
    second = get_or_create_split(store, "sentiment", "sample", more, seed=99)
    assert second.iloc[:30].tolist() == first.tolist()
    other_shop = get_or_create_split(store, "sentiment", "other", data, seed=5)
    assert len(other_shop) == 30
    counts = store.query_df("SELECT shop_id, count(*) n FROM data_splits GROUP BY 1 ORDER BY 1")
    assert counts.values.tolist() == [["other", 30], ["sample", 31]]


@pytest.mark.unit
def test_bucketed_batches_cover_every_row_once():
    lengths = np.random.default_rng(0).integers(5, 100, 1000)
    batches = bucketed_batches(lengths, 16, np.random.default_rng(0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 10  # similar lengths share a batch


def test_encoder_that_beats_its_baseline_serves(ctx, store):
    synonym_reviews(store)  # test rows use words the training rows never do
    result = train_task(ctx, "sentiment", "sample", TrainingConfig(**{**TINY, "epochs": 4}))
    assert result.model_type == "encoder_blend" and not result.baseline_serves
    assert result.metrics["model"]["macro_f1"] > result.metrics["baseline"]["macro_f1"] + 0.2
    assert result.promoted and ctx.registry.active("sample", "sentiment") == result.version
    assert result.metrics["n_test"] == 16
    rows = ctx.registry.versions("sample", "sentiment")
    assert [(r.version, r.model_type, r.active) for r in rows] == [
        (result.version, "encoder_blend", True)]  # fmt: skip
    runs = store.query_df("SELECT shop_id, status, promoted, CAST(labels_used AS VARCHAR) AS used "
                          "FROM training_runs")  # fmt: skip
    assert runs[["shop_id", "status", "promoted"]].values.tolist() == [["sample", "finished", True]]
    assert '"derived": 56' in runs["used"][0]


def test_baseline_serves_when_the_model_does_not_beat_it(ctx, sentiment_store):
    # trivially separable words: TF-IDF + LR is perfect, the encoder can at most tie it
    result = train_task(ctx, "sentiment", "sample", TrainingConfig(**TINY))
    _encoder_learned(result)
    assert result.baseline_serves and result.model_type == "tfidf_lr"
    assert result.metrics["is_baseline"] and result.promoted
    assert any("baseline is registered and serves" in n for n in result.notes)
    predictor = ctx.registry.load("sample", "sentiment")
    assert predictor.model_type == "tfidf_lr"
    # the shop has 1- and 5-star reviews only: its model learns the two classes it can see
    assert tuple(predictor.labels) == ("negative", "positive")
    assert predictor.labels[predictor.predict_proba(["love this dress"]).argmax()] == "positive"


def test_full_finetune_plan_also_learns(ctx, sentiment_store):
    config = TrainingConfig(**{**TINY, "trainable_layers": -1, "blend_tfidf": False})
    result = train_task(ctx, "sentiment", "sample", config)
    _encoder_learned(result)
    assert result.details["plan"] == "full"


def test_intent_tiny_finetune(ctx, store):
    words = {"track_order": "where is my parcel", "get_refund": "money back refund please",
             "cancel_order": "cancel purchase now"}  # fmt: skip
    rows, labels = [], []
    for i in range(36):
        intent = list(words)[i % 3]
        rows.append((f"m{i:02d}", f"{words[intent]} {i}"))
        labels.append((f"m{i:02d}", intent, "derived"))
    with store.write() as con:
        con.executemany(
            "INSERT INTO messages (shop_id, message_id, channel, text) VALUES ('sample', ?, 'support', ?)",
            rows,
        )
    seed_labels(store, "intent", labels)
    _encoder_learned(train_task(ctx, "intent", "sample", TrainingConfig(**{**TINY, "epochs": 6})))


def test_demand_tiny_finetune_from_rules(ctx, store):
    texts = [
        "I love it. I wish it had pockets. Does it shrink?",
        "Returned it, too small. Love the colour.",
    ]
    seed_reviews(store, [(f"r{i:02d}", 4, texts[i % 2]) for i in range(16)])
    result = train_task(ctx, "demand", "sample", TrainingConfig(**{**TINY, "epochs": 3}))
    _encoder_learned(result, 0.8)
    assert store.query_df("SELECT count(*) n FROM labels WHERE source = 'rule'")["n"][0] == 40


def test_session_purchase_tiny_finetune(ctx, store):
    buy = [("view", "knits"), ("cart", "knits"), ("purchase", "knits")]
    browse = [("view", "dresses"), ("view", "tops")]
    seed_events(store, [buy if i % 2 else browse for i in range(40)])
    _encoder_learned(train_task(ctx, "session_purchase", "sample", TrainingConfig(**TINY)))


def test_risk_fits_and_scores_without_labels(ctx, store):
    from core.scoring import score_task

    seed_events(store, [[("view", "knits")] * (1 + i % 3) for i in range(20)])
    result = train_task(ctx, "risk", "sample", TrainingConfig())
    assert result.promoted and result.model_type == "isolation_forest"
    assert score_task(ctx, "risk", "sample") == 7  # seven shoppers (u0..u6)
    rows = store.query_df("SELECT target_id, label, reason FROM predictions WHERE task = 'risk'")
    assert sorted(rows["target_id"]) == [f"u{i}" for i in range(7)]
    assert set(rows["label"]) <= {"normal", "anomalous"}


def test_no_data_is_a_clear_error_and_a_failed_run_is_recorded(ctx, store):
    with pytest.raises(InputError, match="labelled rows"):
        train_task(ctx, "sentiment", "sample", TrainingConfig(**TINY))
    runs = store.query_df("SELECT status, error FROM training_runs")
    assert runs["status"].tolist() == ["failed"] and "labelled rows" in runs["error"][0]


@pytest.mark.unit
def test_training_before_any_data_says_to_load_data_first(settings):
    from core.context import Context

    ctx = Context.from_settings(settings)  # a fresh home: no store file yet
    assert not ctx.store.exists()
    with pytest.raises(InputError, match="load-sample"):
        train_task(ctx, "recommend", "acme", TrainingConfig(**TINY))
    assert not ctx.store.exists()  # the failed attempt wrote nothing
