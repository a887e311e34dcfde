"""Tests for core/training.py and core/trainer.py: tiny fine-tunes per task, the fixed split,
the promotion rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.errors import InputError
from core import registry
from core.trainer import bucketed_batches
from core.training import TrainingConfig, assign_splits, get_or_create_split, train_task
from tests.core.conftest import seed_events, seed_labels, seed_reviews

pytestmark = pytest.mark.integration

TINY = {"epochs": 2, "max_length": 16, "batch_size": 8, "learning_rate": 1e-3,
        "check_int8": False, "trainable_layers": 1}  # fmt: skip


def _learned(result, threshold=0.9):
    assert result.losses[-1] < result.losses[0], "training did not lower the loss"
    assert result.metrics["model"]["accuracy"] >= threshold
    assert result.metrics["encoder_only"]["accuracy"] >= threshold


@pytest.mark.unit
def test_split_is_stratified_seeded_and_stable():
    ids = pd.Series([f"t{i:03d}" for i in range(100)])
    y = pd.Series(["a"] * 80 + ["b"] * 20)
    s1 = assign_splits(ids, y, (0.7, 0.15, 0.15), seed=1)
    assert s1.equals(assign_splits(ids, y, (0.7, 0.15, 0.15), seed=1))
    assert (s1 == "test").sum() == 15 and (s1[ids[80:]] == "test").sum() == 3


def test_split_is_stored_once_and_reused(store):
    data = pd.DataFrame({"target_id": [f"t{i}" for i in range(30)], "label": ["a", "b"] * 15})
    first = get_or_create_split(store, "sentiment", "sample", data, TrainingConfig())
    more = pd.concat([data, pd.DataFrame({"target_id": ["new1"], "label": ["a"]})])
    second = get_or_create_split(store, "sentiment", "sample", more, TrainingConfig(seed=99))
    assert second.iloc[:30].tolist() == first.tolist()
    assert store.query_df("SELECT count(*) n FROM data_splits")["n"][0] == 31


@pytest.mark.unit
def test_bucketed_batches_cover_every_row_once():
    lengths = np.random.default_rng(0).integers(5, 100, 1000)
    batches = bucketed_batches(lengths, 16, np.random.default_rng(0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 10  # similar lengths share a batch


def test_sentiment_tiny_finetune_learns_and_registers(sentiment_store):
    result = train_task(sentiment_store, "sentiment", TrainingConfig(**TINY))
    _learned(result)
    assert result.promoted and registry.active_version("sentiment") == result.version
    row = sentiment_store.query_df("SELECT version, is_active FROM model_versions")
    assert row["version"].tolist() == [result.version] and row["is_active"].all()
    runs = sentiment_store.query_df("SELECT status, promoted FROM training_runs")
    assert runs.values.tolist() == [["finished", True]]
    assert set(result.metrics) >= {"model", "encoder_only", "baselines"}


def test_full_finetune_plan_also_learns(sentiment_store):
    result = train_task(sentiment_store, "sentiment",
                        TrainingConfig(**{**TINY, "trainable_layers": -1, "blend_tfidf": False}))  # fmt: skip
    _learned(result)
    assert registry.list_versions("sentiment")[0]["plan"] == "full"


def test_intent_tiny_finetune(store):
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
    _learned(train_task(store, "intent", TrainingConfig(**{**TINY, "epochs": 3})))


def test_demand_tiny_finetune_from_rules(store):
    texts = [
        "I love it. I wish it had pockets. Does it shrink?",
        "Returned it, too small. Love the colour.",
    ]
    seed_reviews(store, [(f"r{i:02d}", 4, texts[i % 2]) for i in range(16)])
    _learned(train_task(store, "demand", TrainingConfig(**{**TINY, "epochs": 3})), 0.8)


def test_purchase_tiny_finetune(store):
    buy = [("view", "knits"), ("cart", "knits"), ("purchase", "knits")]
    browse = [("view", "dresses"), ("view", "tops")]
    seed_events(store, [buy if i % 2 else browse for i in range(40)])
    _learned(train_task(store, "purchase", TrainingConfig(**TINY)))


def test_worse_version_is_not_promoted_unless_forced(sentiment_store):
    good = train_task(sentiment_store, "sentiment", TrainingConfig(**TINY))
    bad_config = TrainingConfig(**{**TINY, "learning_rate": 0.0, "blend_tfidf": False,
                                   "tune_bias": False})  # fmt: skip
    bad = train_task(sentiment_store, "sentiment", bad_config)
    if bad.metrics["model"]["macro_f1"] < good.metrics["model"]["macro_f1"]:
        assert not bad.promoted and registry.active_version("sentiment") == good.version
        assert registry.promote("sentiment", bad.version, force=True)
        assert registry.active_version("sentiment") == bad.version
        assert registry.rollback("sentiment") == good.version


def test_no_data_is_a_clear_error(store):
    with pytest.raises(InputError, match="labelled rows"):
        train_task(store, "sentiment", TrainingConfig(**TINY))
