"""A store and model folder written by the ShopLens before per-shop models open in place: rows
kept, the one registry becomes the sample shop's (versions, active pointer, history), anomaly
reasons move to their column, and the recorded Label Studio projects move into the store."""

from __future__ import annotations

import json
from datetime import datetime

import joblib
import pytest

from common.settings import Settings
from db.store import Store

pytestmark = pytest.mark.integration

OLD_V1, OLD_V2 = "v20240101-000000-000001", "v20240102-000000-000002"


def make_old_store(store: Store) -> None:
    """The tables that changed, as the earlier schema had them, with rows in them."""
    store.init_schema()
    now = datetime(2024, 1, 2)
    with store.write() as con:
        for table in ("model_versions", "active_models", "model_activations", "label_projects",
                      "review_sentences", "predictions"):  # fmt: skip
            con.execute(f"DROP TABLE {table}")
        con.execute("ALTER TABLE training_runs DROP COLUMN shop_id")
        con.execute(
            "CREATE TABLE predictions (shop_id VARCHAR, task VARCHAR, target_id VARCHAR, "
            "model_version VARCHAR, label VARCHAR, probs JSON, entropy DOUBLE, margin DOUBLE, "
            "created_at TIMESTAMP, PRIMARY KEY (shop_id, task, target_id, model_version))"
        )
        con.execute(
            "CREATE TABLE model_versions (task VARCHAR, version VARCHAR, base_model VARCHAR, "
            "created_at TIMESTAMP, metrics JSON, data_fingerprint VARCHAR, train_seconds DOUBLE, "
            "is_active BOOLEAN, PRIMARY KEY (task, version))"
        )
        con.executemany(
            "INSERT INTO predictions VALUES ('sample', ?, ?, ?, ?, ?, 0.1, 0.5, ?)",
            [("risk", "user:u1", "v-risk", "anomalous",
              json.dumps({"normal": 0.1, "anomalous": 0.9, "reason": "80 events in a minute"}), now),
             ("risk", "user:u2", "v-risk", "normal",
              json.dumps({"normal": 0.9, "anomalous": 0.1, "reason": ""}), now),
             ("risk", "session:s1", "v-risk", "anomalous", json.dumps({"anomalous": 0.8}), now),
             ("sentiment", "r1", OLD_V2, "positive", json.dumps({"positive": 0.9}), now)],
        )  # fmt: skip
        con.execute(
            "INSERT INTO model_versions VALUES ('sentiment', ?, 'minilm', ?, '{}', NULL, 1.0, true)",
            [OLD_V2, now],
        )
        con.execute(
            "INSERT INTO training_runs (run_id, task, status, started_at, promoted) "
            "VALUES ('run-1', 'sentiment', 'finished', ?, true)",
            [now],
        )


def make_old_models(settings: Settings) -> None:
    """``models/<task>/<version>/`` folders with ``ACTIVE`` and ``HISTORY`` files."""
    from core.evaluation import fit_tfidf

    labels = ("negative", "neutral", "positive")
    root = settings.models.models_dir / "sentiment"
    for version in (OLD_V1, OLD_V2):
        folder = root / version
        folder.mkdir(parents=True)
        model = fit_tfidf(["awful", "fine", "great", "terrible", "ok", "love"],
                          ["negative", "neutral", "positive"] * 2, labels)  # fmt: skip
        joblib.dump(model, folder / "tfidf.joblib")
        (folder / "meta.json").write_text(json.dumps({"task": "sentiment", "labels": labels}))
        (folder / "metrics.json").write_text(json.dumps({"model": {"macro_f1": 0.6},
                                                         "baselines": {"tfidf_lr": {"macro_f1": 0.5}}}))  # fmt: skip
    (root / "ACTIVE").write_text(OLD_V2)
    (root / "HISTORY").write_text(f"{OLD_V1}\n")
    projects = settings.home / "labeling" / "projects.json"
    projects.parent.mkdir(parents=True)
    projects.write_text(json.dumps({"sentiment": {"project_id": 7, "title": "ShopLens sentiment",
                                                  "created_at": "2024-01-01T00:00:00Z"}}))  # fmt: skip


def test_an_old_store_opens_with_its_models_as_the_sample_shops(settings: Settings, store: Store):
    from core.context import Context
    from core.scoring import predict_texts
    from db import prediction_queries as pq
    from labeling.projects import migrate_legacy_registry, project_id

    make_old_store(store)
    make_old_models(settings)
    assert not store.schema_current()

    ctx = Context.from_settings(settings, store=store)
    assert store.schema_current()
    registry = ctx.registry
    assert [v.version for v in registry.versions("sample", "sentiment")] == [OLD_V1, OLD_V2]
    assert registry.active("sample", "sentiment") == OLD_V2
    assert not (settings.models.models_dir / "sentiment").exists()
    assert (registry.folder("sample", "sentiment", OLD_V2) / "tfidf.joblib").is_file()
    assert predict_texts(ctx, "sentiment", "sample", ["great"])["label"].tolist() == ["positive"]
    assert registry.rollback("sample", "sentiment") == OLD_V1  # the history came along

    rows = store.query_df("SELECT target_id, reason FROM predictions WHERE task = 'risk' "
                          "ORDER BY target_id")  # fmt: skip
    assert rows["target_id"].tolist() == ["u1", "u2"]
    assert (
        rows["reason"].tolist()[0] == "80 events in a minute" and rows["reason"].isna().tolist()[1]
    )
    runs = store.query_df("SELECT shop_id FROM training_runs")
    assert runs["shop_id"].tolist() == ["sample"]
    assert pq.scored_count(store, "sample", "sentiment", OLD_V2) == 1

    assert migrate_legacy_registry(store, settings.home) == 1
    assert project_id(store, "sample", "sentiment") == 7
    assert migrate_legacy_registry(store, settings.home) == 0  # once
    again = Context.from_settings(settings, store=store)  # a second open changes nothing
    assert again.registry.active("sample", "sentiment") == OLD_V1
