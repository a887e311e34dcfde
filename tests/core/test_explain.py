"""Tests for core/explain.py: completeness within the reported delta, words, cache."""

from __future__ import annotations

import pytest

from core.explain import explain_text
from core.training import TrainingConfig, train_task

pytestmark = pytest.mark.integration


def test_attributions_complete_within_delta_and_cached(sentiment_store):
    train_task(sentiment_store, "sentiment",
               TrainingConfig(epochs=2, max_length=32, batch_size=8, learning_rate=1e-3,
                              check_int8=False, trainable_layers=1))  # fmt: skip
    text = "love this dress, great fit"
    e = explain_text("sentiment", text, n_steps=20)
    assert e.words == ["love", "this", "dress", ",", "great", "fit"]
    gap = e.encoder_prob - e.baseline_prob
    # completeness: attributions sum to the change in probability, up to the reported delta
    assert abs(sum(e.scores) - gap) <= abs(e.delta) + 1e-4
    assert abs(e.delta) < 0.5 * abs(gap) + 0.02
    assert not e.cached
    again = explain_text("sentiment", text, n_steps=20)
    assert again.cached and again.scores == e.scores
