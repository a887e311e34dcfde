"""Tests for core/inference.py: scoring into the store, determinism, file prediction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from common.errors import InputError
from core import registry
from core.inference import predict_file, predict_texts, score_task
from core.training import TrainingConfig, train_task

pytestmark = pytest.mark.integration


@pytest.fixture
def trained(sentiment_store):
    config = TrainingConfig(epochs=2, max_length=16, batch_size=8, learning_rate=1e-3,
                            check_int8=True, trainable_layers=1)  # fmt: skip
    train_task(sentiment_store, "sentiment", config)
    return sentiment_store


def test_score_writes_only_missing_rows_and_is_deterministic(trained):
    assert score_task(trained, "sentiment") == 40
    assert score_task(trained, "sentiment") == 0  # nothing left for the active version
    df = trained.query_df("SELECT * FROM predictions ORDER BY target_id")
    assert len(df) == 40 and set(df["model_version"]) == {registry.active_version("sentiment")}
    probs = [json.loads(p) for p in df["probs"]]
    assert all(abs(sum(p.values()) - 1) < 1e-4 for p in probs)
    assert (df["entropy"] >= 0).all() and df["margin"].between(0, 1).all()
    first = df[["target_id", "label", "entropy"]].copy()
    with trained.write() as con:
        con.execute("DELETE FROM predictions")
    score_task(trained, "sentiment")
    again = trained.query_df("SELECT target_id, label, entropy FROM predictions ORDER BY target_id")
    assert again["label"].tolist() == first["label"].tolist()
    np.testing.assert_allclose(again["entropy"], first["entropy"], atol=1e-6)


def test_predict_texts_columns_and_batch_independence(trained):
    texts = ["love this dress great fit", "awful ripped seams", "x" * 3]
    out = predict_texts("sentiment", texts)
    assert list(out.columns) == ["label", "prob_negative", "prob_neutral", "prob_positive"]
    assert out.loc[0, "label"] == "positive" and out.loc[1, "label"] == "negative"
    # int8 quantises activations per batch, so a text's probabilities move a little with its
    # batch-mates; its label does not
    alone = predict_texts("sentiment", texts[1:2])
    assert alone.loc[0, "label"] == out.loc[1, "label"]
    np.testing.assert_allclose(alone.iloc[0, 1:].astype(float), out.iloc[1, 1:].astype(float),
                               atol=0.1)  # fmt: skip


def test_predict_file_shape_columns_and_errors(trained, tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"id": [1, 2, 3], "body": ["love it", None, "awful cheap"], "label": "x"}).to_csv(
        src, index=False
    )
    out = tmp_path / "out.csv"
    assert predict_file("sentiment", src, "body", out) == 3
    df = pd.read_csv(out)
    assert list(df.columns) == ["id", "body", "label_input", "label", "prob_negative",
                                "prob_neutral", "prob_positive"]  # fmt: skip
    assert len(df) == 3 and df["id"].tolist() == [1, 2, 3]
    with pytest.raises(InputError, match="no column 'text'"):
        predict_file("sentiment", src, "text", out)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        predict_file("sentiment", tmp_path / "empty.csv", "body", out)
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="cannot read"):
        predict_file("sentiment", tmp_path / "bad.parquet", "body", out)
    with pytest.raises(InputError, match="does not exist"):
        predict_file("sentiment", tmp_path / "missing.csv", "body", out)
