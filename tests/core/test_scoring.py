"""Tests for core/scoring.py: scoring into the store, determinism, text and file prediction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from common.errors import InputError
from core.registry import NoModelError
from core.scoring import predict_file, predict_texts, score_task
from core.training import TrainingConfig, train_task
from tests.core.conftest import synonym_reviews

pytestmark = pytest.mark.integration


@pytest.fixture
def trained(ctx, store):
    synonym_reviews(store)
    config = TrainingConfig(epochs=4, max_length=16, batch_size=8, learning_rate=1e-3,
                            check_int8=True, trainable_layers=1)  # fmt: skip
    result = train_task(ctx, "sentiment", "sample", config)
    assert result.model_type == "encoder_blend"
    return ctx


def test_score_writes_only_missing_rows_and_is_deterministic(trained):
    ctx, store = trained, trained.store
    assert score_task(ctx, "sentiment", "sample") == 56
    assert score_task(ctx, "sentiment", "sample") == 0  # nothing left for the active version
    df = store.query_df("SELECT * FROM predictions ORDER BY target_id")
    assert len(df) == 56 and set(df["model_version"]) == {
        ctx.registry.active("sample", "sentiment")
    }
    probs = [json.loads(p) for p in df["probs"]]
    assert all(abs(sum(p.values()) - 1) < 1e-4 for p in probs)
    assert (df["entropy"] >= 0).all() and df["margin"].between(0, 1).all()
    first = df[["target_id", "label", "entropy"]].copy()
    with store.write() as con:
        con.execute("DELETE FROM predictions")
    score_task(ctx, "sentiment", "sample")
    again = store.query_df("SELECT target_id, label, entropy FROM predictions ORDER BY target_id")
    assert again["label"].tolist() == first["label"].tolist()
    np.testing.assert_allclose(again["entropy"], first["entropy"], atol=1e-6)


def test_a_shop_without_a_model_is_told_how_to_get_one(trained):
    with pytest.raises(NoModelError, match="--copy-from sample --shop other"):
        score_task(trained, "sentiment", "other")


def test_predict_texts_columns_and_batch_independence(trained):
    texts = ["wonderful, I adore it", "dreadful, so disappointed", "x" * 3]
    out = predict_texts(trained, "sentiment", "sample", texts)
    # the trained shop has 1- and 5-star reviews only: two classes
    assert list(out.columns) == ["label", "prob_negative", "prob_positive"]
    assert out.loc[0, "label"] == "positive" and out.loc[1, "label"] == "negative"
    # int8 quantises activations per batch, so a text's probabilities move a little with its
    # batch-mates; its label does not
    alone = predict_texts(trained, "sentiment", "sample", texts[1:2])
    assert alone.loc[0, "label"] == out.loc[1, "label"]
    np.testing.assert_allclose(alone.iloc[0, 1:].astype(float), out.iloc[1, 1:].astype(float),
                               atol=0.1)  # fmt: skip


def test_predict_file_shape_columns_and_errors(trained, tmp_path):
    ctx = trained
    src = tmp_path / "in.csv"
    pd.DataFrame({"id": [1, 2, 3], "body": ["love it", None, "awful cheap"], "label": "x"}).to_csv(
        src, index=False
    )
    out = tmp_path / "out.csv"
    assert predict_file(ctx, "sentiment", "sample", src, "body", out) == 3
    df = pd.read_csv(out)
    assert list(df.columns) == ["id", "body", "label_input", "label", "prob_negative",
                                "prob_positive"]  # fmt: skip
    assert len(df) == 3 and df["id"].tolist() == [1, 2, 3]
    with pytest.raises(InputError, match="no column 'text'"):
        predict_file(ctx, "sentiment", "sample", src, "text", tmp_path / "o2.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        predict_file(
            ctx, "sentiment", "sample", tmp_path / "empty.csv", "body", tmp_path / "o3.csv"
        )
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="cannot read"):
        predict_file(
            ctx, "sentiment", "sample", tmp_path / "bad.parquet", "body", tmp_path / "o4.csv"
        )
    with pytest.raises(InputError, match="does not exist"):
        predict_file(
            ctx, "sentiment", "sample", tmp_path / "missing.csv", "body", tmp_path / "o5.csv"
        )


def test_predict_file_never_writes_over_the_store_the_input_or_an_existing_file(trained, tmp_path):
    ctx = trained
    src = tmp_path / "in.csv"
    pd.DataFrame({"body": ["love it"]}).to_csv(src, index=False)
    store_bytes = ctx.store.db_path.read_bytes()
    with pytest.raises(InputError, match="runtime data"):
        predict_file(ctx, "sentiment", "sample", src, "body", ctx.store.db_path)
    with pytest.raises(InputError, match="runtime data"):
        predict_file(ctx, "sentiment", "sample", src, "body", ctx.home / "elsewhere.csv")
    with pytest.raises(InputError, match="is the input file"):
        predict_file(ctx, "sentiment", "sample", src, "body", src, overwrite=True)
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    with pytest.raises(InputError, match="exists already.*--overwrite"):
        predict_file(ctx, "sentiment", "sample", src, "body", out)
    assert out.read_text() == "keep me"
    assert predict_file(ctx, "sentiment", "sample", src, "body", out, overwrite=True) == 1
    assert ctx.store.db_path.read_bytes() == store_bytes
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_cpu_scoring_takes_the_bf16_copy_only_where_training_checked_it(ctx, store, monkeypatch):
    import torch

    from core import hardware
    from core.modeling import encoder_logits

    monkeypatch.setitem(hardware._PREFERENCE, "cpu_bf16", "on")
    synonym_reviews(store)
    config = TrainingConfig(epochs=4, max_length=16, batch_size=8, learning_rate=1e-3,
                            check_int8=True, trainable_layers=1)  # fmt: skip
    train_task(ctx, "sentiment", "sample", config)
    meta = ctx.registry.meta("sample", "sentiment", ctx.registry.active("sample", "sentiment"))
    assert meta["bf16_ok"] is True and meta["bf16_agreement"] >= 0.99
    served = ctx.registry.load("sample", "sentiment")
    assert served.scoring_model().dtype == torch.bfloat16 and served.int8_model is None
    assert next(served.model.parameters()).dtype == torch.float32  # explanations read fp32
    texts = ["wonderful, I adore it", "dreadful, so disappointed", "fine I guess", "meh"]
    fp32 = encoder_logits(served.model, served.tokenizer, texts, served.max_length)
    half = served.logits(texts)
    assert half.dtype == np.float32 and not np.array_equal(half, fp32)  # really ran in bf16
    assert (half[:2].argmax(1) == fp32[:2].argmax(1)).all()  # the clear ones; the others may tie
    np.testing.assert_allclose(half, fp32, atol=0.1)
    hardware.use_cpu_bf16("off")  # a processor without native bf16 (restored by monkeypatch)
    assert ctx.registry.load("sample", "sentiment").bf16_model is None
