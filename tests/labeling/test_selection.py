"""Selection: uncertainty order, seeded random, one pick per cluster."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.selection import select_batch, text_embeddings

pytestmark = pytest.mark.unit

PROBS = np.array([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4], [0.99, 0.01], [0.55, 0.45]])


@pytest.mark.parametrize("strategy", ["entropy", "margin", "breaking_ties"])
def test_uncertainty_strategies_rank_the_closest_calls_first(strategy):
    assert select_batch(PROBS, 3, strategy=strategy).tolist() == [1, 4, 2]


def test_random_is_seeded_and_n_is_capped():
    first = select_batch(PROBS, 3, strategy="random", seed=7).tolist()
    assert first == select_batch(PROBS, 3, strategy="random", seed=7).tolist()
    assert len(select_batch(PROBS, 99)) == 5
    assert select_batch(PROBS, 0).tolist() == []


def test_diverse_takes_the_most_uncertain_of_each_cluster():
    # two tight clusters of texts; plain entropy would take three from the first
    texts = ["red dress small"] * 3 + ["refund my card now"] * 3
    probs = np.array([[0.5, 0.5], [0.52, 0.48], [0.55, 0.45], [0.6, 0.4], [0.7, 0.3], [0.8, 0.2]])
    assert select_batch(probs, 2).tolist() == [0, 1]
    picked = select_batch(probs, 2, diverse=True, texts=texts).tolist()
    assert picked == [0, 3]


def test_text_embeddings_are_unit_length():
    emb = text_embeddings(["a red dress", "blue shoes", "a red skirt", "refund please"])
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0)
