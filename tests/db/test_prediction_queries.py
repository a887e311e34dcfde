"""Model-side dashboard queries (db/prediction_queries.py) beyond those checked with the seeded
shop in test_dashboard_queries.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from db import prediction_queries as pq
from db.store import Store
from tests.app.dashboard_seed import SHOP, seed_shop

pytestmark = pytest.mark.integration


@pytest.fixture
def shop(store: Store) -> Store:
    seed_shop(store)
    return store


def test_two_class_histogram_reads_the_margin_and_matches_the_probabilities(shop: Store) -> None:
    from_json = pq.probability_histogram(shop, SHOP, "purchase", "purchase", bins=20)
    from_margin = pq.probability_histogram(
        shop, SHOP, "purchase", "purchase", bins=20, two_class=True
    )
    pd.testing.assert_frame_equal(from_margin, from_json)
    assert (from_json["rows"] > 0).sum() >= 4  # spread over several bins, not one


def test_two_class_histogram_of_scored_rows(store: Store) -> None:
    """Rows as scoring writes them (float32 softmax, probabilities rounded in the JSON)."""
    from core.inference import prediction_rows, write_predictions

    rng = np.random.default_rng(5)
    logits = rng.normal(0, 2, (2000, 2)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ids = [f"s{i}" for i in range(len(probs))]
    labels = ("no_purchase", "purchase")
    write_predictions(store, prediction_rows(SHOP, "purchase", "v1", labels, ids, probs))
    from_json = pq.probability_histogram(store, SHOP, "purchase", "purchase", bins=20)
    from_margin = pq.probability_histogram(
        store, SHOP, "purchase", "purchase", bins=20, two_class=True
    )
    assert from_json["rows"].sum() == 2000 and (from_json["rows"] > 0).all()
    pd.testing.assert_frame_equal(from_margin, from_json)
