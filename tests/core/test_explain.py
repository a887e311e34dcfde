"""Tests for core/explain.py: the encoder's attributions are complete within the reported delta,
the TF-IDF part's terms are its exact contributions, and explanations are cached."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.explain import explain_text, tfidf_terms
from core.training import TrainingConfig, train_task
from tests.core.conftest import synonym_reviews

pytestmark = pytest.mark.integration


def test_both_parts_of_a_blend_are_explained_and_cached(ctx, store, tmp_path):
    synonym_reviews(store)
    train_task(ctx, "sentiment", "sample",
               TrainingConfig(epochs=4, max_length=32, batch_size=8, learning_rate=1e-3,
                              check_int8=False, trainable_layers=1))  # fmt: skip
    predictor = ctx.registry.load("sample", "sentiment")
    text, cache = "wonderful, I adore it", tmp_path / "explanations"
    e = explain_text(predictor, text, n_steps=20, cache_dir=cache)
    assert e.words == ["wonderful", ",", "i", "adore", "it"] or e.words[0] == "wonderful"
    gap = e.encoder_prob - e.baseline_prob
    # completeness: attributions sum to the change in probability, up to the reported delta
    assert abs(sum(e.scores) - gap) <= abs(e.delta) + 1e-4
    assert abs(e.delta) < 0.5 * abs(gap) + 0.02
    assert not e.cached and 0.0 < e.encoder_weight <= 1.0
    again = explain_text(predictor, text, n_steps=20, cache_dir=cache)
    assert again.cached and again.scores == e.scores
    # a file an older ShopLens kept (a field this one lacks) is still read; an unreadable one
    # is worked out again and replaced
    (kept,) = cache.rglob("*.json")
    kept.write_text(json.dumps({**json.loads(kept.read_text()), "terms_title": "old"}))
    assert explain_text(predictor, text, n_steps=20, cache_dir=cache).cached
    kept.write_text("{")
    fresh = explain_text(predictor, text, n_steps=20, cache_dir=cache)
    assert not fresh.cached and fresh.label == e.label and json.loads(kept.read_text())


@pytest.mark.unit
def test_tfidf_terms_are_the_logit_contributions():
    from core.evaluation import fit_tfidf

    texts = ["great dress", "great fit", "awful seams", "awful fabric", "okay dress"] * 3
    y = ["positive", "positive", "negative", "negative", "neutral"] * 3
    tfidf = fit_tfidf(texts, y, ("negative", "neutral", "positive"))
    terms = dict(tfidf_terms(tfidf, "great dress, awful", 2))
    assert terms["great"] > 0 and terms["awful"] < 0
    pipe = tfidf.clf
    x = pipe.named_steps["tfidf"].transform(["great dress, awful"])
    coef = pipe.named_steps["lr"].coef_
    row = coef[list(tfidf.columns).index(2)] - coef.mean(axis=0)
    assert np.isclose(sum(terms.values()), float((x @ row)[0]), atol=1e-9)
    # two classes: one coefficient row, split evenly between the classes
    binary = fit_tfidf(texts[:4] * 3, y[:4] * 3, ("negative", "neutral", "positive"))
    assert dict(tfidf_terms(binary, "great", 2))["great"] > 0
    assert dict(tfidf_terms(binary, "great", 0))["great"] < 0
