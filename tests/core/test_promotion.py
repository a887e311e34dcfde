"""Tests for core/promotion.py: a version serves only if it beats its baseline and the active
version on the shop's test split; force overrides and is remembered."""

from __future__ import annotations

import pytest

from core.kinds.base import Candidate
from core.promotion import promote

pytestmark = pytest.mark.unit


def _candidate(score: float, baseline: float, is_baseline: bool = False) -> Candidate:
    metrics = {"model": {"macro_f1": score}, "baseline": {"name": "tfidf_lr", "macro_f1": baseline}}
    if is_baseline:
        metrics["is_baseline"] = True
    return Candidate("tfidf_lr" if is_baseline else "encoder_blend", metrics, {"labels": ["a", "b"]},
                     lambda folder: None, is_baseline)  # fmt: skip


def _save(ctx, score, baseline, fingerprint="fp1", shop="sample", is_baseline=False):
    return ctx.registry.save(shop, "sentiment", _candidate(score, baseline, is_baseline),
                             test_fingerprint=fingerprint)  # fmt: skip


def test_first_version_serves_only_if_it_beats_its_baseline(ctx):
    worse = _save(ctx, 0.59, 0.60)
    decision = promote(ctx, "sample", "sentiment", worse)
    assert not decision.promoted and "does not beat the baseline's 0.600" in decision.reason
    assert ctx.registry.active("sample", "sentiment") is None
    baseline = _save(ctx, 0.60, 0.60, is_baseline=True)
    assert promote(ctx, "sample", "sentiment", baseline).promoted
    better = _save(ctx, 0.70, 0.60)
    decision = promote(ctx, "sample", "sentiment", better)
    assert decision.promoted and decision.reason == (
        "promoted: macro_f1 0.700 beats the active 0.600 and the baseline 0.600"
    )
    assert ctx.registry.active("sample", "sentiment") == better


def test_a_version_must_beat_the_active_one_on_the_same_rows(ctx):
    first = _save(ctx, 0.70, 0.60)
    assert promote(ctx, "sample", "sentiment", first).promoted
    tie = _save(ctx, 0.70, 0.60)
    decision = promote(ctx, "sample", "sentiment", tie)
    assert not decision.promoted and "does not beat the active" in decision.reason
    forced = promote(ctx, "sample", "sentiment", tie, force=True)
    assert forced.promoted and forced.forced
    row = ctx.registry.version("sample", "sentiment", tie)
    assert row.active and row.forced
    assert ctx.registry.rollback("sample", "sentiment") == first
    assert not ctx.registry.version("sample", "sentiment", first).forced


def test_shops_keep_separate_pointers(ctx):
    a = _save(ctx, 0.70, 0.60, shop="a")
    b = _save(ctx, 0.80, 0.60, shop="b")
    assert promote(ctx, "a", "sentiment", a).promoted
    assert promote(ctx, "b", "sentiment", b).promoted
    a2 = _save(ctx, 0.75, 0.60, shop="a")
    assert promote(ctx, "a", "sentiment", a2).promoted
    assert ctx.registry.active("b", "sentiment") == b
    assert ctx.registry.rollback("a", "sentiment") == a
    assert ctx.registry.active("b", "sentiment") == b
    with pytest.raises(Exception, match="no version"):
        promote(ctx, "b", "sentiment", a)  # a version of another shop is not this shop's
