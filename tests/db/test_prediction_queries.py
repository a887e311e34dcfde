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
    from core.scoring import prediction_frame
    from db.repo import predictions as prediction_repo
    from tests.conftest import seed_active_version

    rng = np.random.default_rng(5)
    logits = rng.normal(0, 2, (2000, 2)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ids = [f"s{i}" for i in range(len(probs))]
    labels = ("no_purchase", "purchase")
    prediction_repo.write(store, prediction_frame(SHOP, "purchase", "v1", labels, ids, probs))
    seed_active_version(store, "purchase", "v1", SHOP)
    from_json = pq.probability_histogram(store, SHOP, "purchase", "purchase", bins=20)
    from_margin = pq.probability_histogram(
        store, SHOP, "purchase", "purchase", bins=20, two_class=True
    )
    assert from_json["rows"].sum() == 2000 and (from_json["rows"] > 0).all()
    pd.testing.assert_frame_equal(from_margin, from_json)


def test_the_spread_kept_at_scoring_is_read_until_the_version_writes_again(store: Store) -> None:
    from core.scoring import prediction_frame
    from db.repo import predictions as prediction_repo
    from db.repo.models import set_active
    from tests.conftest import seed_active_version

    rng = np.random.default_rng(7)
    labels = ("no_purchase", "purchase")
    p = rng.random(500)
    ids = [f"s{i}" for i in range(len(p))]
    frame = prediction_frame(SHOP, "purchase", "v1", labels, ids, np.column_stack([1 - p, p]))
    prediction_repo.write(store, frame)
    seed_active_version(store, "purchase", "v1", SHOP)
    counted = pq.probability_histogram(store, SHOP, "purchase", "purchase", two_class=True)
    assert not prediction_repo.has_spreads(store, SHOP, "purchase", "v1")
    prediction_repo.keep_spreads(store, SHOP, "purchase", "v1", labels)
    assert prediction_repo.has_spreads(store, SHOP, "purchase", "v1")
    with store.write() as con:  # a change that bypasses the writer: the kept spread still serves
        con.execute("DELETE FROM predictions WHERE target_id = 's0'")
    kept = pq.probability_histogram(store, SHOP, "purchase", "purchase", two_class=True)
    pd.testing.assert_frame_equal(kept, counted)
    assert kept["rows"].sum() == 500 and (kept["rows"] > 0).sum() >= 15
    other = pq.probability_histogram(store, SHOP, "purchase", "no_purchase", two_class=True)
    assert other["rows"].tolist() == kept["rows"].tolist()[::-1]  # p(no) = 1 - p(yes)
    # another version's spread is not this one's
    prediction_repo.write(store, prediction_frame(SHOP, "purchase", "v2", labels, ids[:3],
                                                  np.tile([0.2, 0.8], (3, 1))))  # fmt: skip
    seed_active_version(store, "purchase", "v2", SHOP)
    assert pq.probability_histogram(store, SHOP, "purchase", "purchase",
                                    two_class=True)["rows"].sum() == 3  # fmt: skip
    set_active(store, SHOP, "purchase", "v1")
    pd.testing.assert_frame_equal(
        pq.probability_histogram(store, SHOP, "purchase", "purchase", two_class=True), counted
    )
    # the version writes again: its spread is dropped and the rows are counted
    prediction_repo.write(store, frame.iloc[:1].assign(target_id="new"))
    assert not prediction_repo.has_spreads(store, SHOP, "purchase", "v1")
    assert pq.probability_histogram(store, SHOP, "purchase", "purchase",
                                    two_class=True)["rows"].sum() == 500  # fmt: skip


def test_every_query_reads_the_active_version_only(store: Store) -> None:
    """Predictions of two versions: the pages show the active one's, and follow a rollback."""
    from core.scoring import prediction_frame
    from db.repo import predictions as prediction_repo
    from db.repo.models import set_active
    from tests.conftest import seed_active_version

    labels = ("no_purchase", "purchase")
    ids = [f"s{i}" for i in range(10)]
    low, high = np.tile([0.9, 0.1], (10, 1)), np.tile([0.2, 0.8], (10, 1))
    prediction_repo.write(store, prediction_frame(SHOP, "purchase", "v1", labels, ids, low))
    prediction_repo.write(store, prediction_frame(SHOP, "purchase", "v2", labels, ids, high))
    seed_active_version(store, "purchase", "v1", SHOP)
    seed_active_version(store, "purchase", "v2", SHOP)
    hist = pq.probability_histogram(store, SHOP, "purchase", "purchase", bins=10)
    assert hist.loc[hist["rows"] > 0, "low"].tolist() == [pytest.approx(0.8)]
    set_active(store, SHOP, "purchase", "v1")
    hist = pq.probability_histogram(store, SHOP, "purchase", "purchase", bins=10)
    assert hist.loc[hist["rows"] > 0, "low"].tolist() == [pytest.approx(0.1)]
    assert pq.scored_count(store, SHOP, "purchase") == 10
