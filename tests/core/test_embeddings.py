"""The shared sentence encoder's vectors and its per-process cache (real bundled model)."""

from __future__ import annotations

import numpy as np
import pytest

from core import embeddings


@pytest.mark.integration
def test_a_call_larger_than_the_cache_still_gets_every_vector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [f"the dress number {i} runs small" for i in range(12)]
    expected = embeddings.embed_texts(texts)
    monkeypatch.setattr(embeddings, "_VECTORS", type(embeddings._VECTORS)())
    monkeypatch.setattr(embeddings, "CACHE_SIZE", 3)
    got = embeddings.embed_texts(texts + texts[:2], batch_size=4)
    assert got.shape == (14, embeddings.DIMENSIONS)
    np.testing.assert_allclose(got[:12], expected, atol=1e-5)
    np.testing.assert_allclose(got[12:], expected[:2], atol=1e-5)
    assert len(embeddings._VECTORS) == 3  # the cache keeps its size


@pytest.mark.integration
def test_vectors_are_unit_length_and_near_for_like_sentences() -> None:
    vectors = embeddings.embed_texts(["runs small", "the size is too small", "fast delivery", ""])
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
    assert vectors.shape == (4, embeddings.DIMENSIONS)
