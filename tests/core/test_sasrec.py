"""Tests for core/sasrec.py: the sequential recommender learns an order it can only get from
sequences, ranks over the whole vocabulary and never recommends a rare key."""

from __future__ import annotations

import pandas as pd
import pytest

from core.recommend import evaluate, leave_last_out, recommend_recent
from core.sasrec import fit_sasrec

pytestmark = pytest.mark.unit


def _cycles(users: int = 60) -> pd.DataFrame:
    """Every shopper walks the same cycle a -> b -> c -> d -> e from a different start, and
    touches one key of their own that no one else does."""
    cycle = list("abcde")
    rows = []
    for u in range(users):
        walk = [cycle[(u + i) % 5] for i in range(12)]
        walk.insert(3, f"own-{u}")
        rows += [(f"u{u}", k, "view", t) for t, k in enumerate(walk)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "ts"])


def test_sasrec_learns_what_comes_next_and_beats_recently_touched() -> None:
    events = _cycles()
    train, held = leave_last_out(events)
    users = held["user_id"].tolist()
    model = fit_sasrec(train, "item_id", dim=32, epochs=30, max_seconds=60, batch=16)
    assert model.meta["vocabulary"] == 5  # the one-off keys share the rare token
    lists = model.recommend(train, users, length=3)
    top1 = sum(lists[u][0] == truth for u, truth in zip(users, held["item_id"], strict=True))
    assert top1 / len(users) > 0.9
    assert all(not k.startswith("own-") for ranked in lists.values() for k in ranked)
    # recently touched holds all five cycle keys: only the order tells the next one
    ours = evaluate({u: r[:1] for u, r in lists.items()}, held)["hr@10"]
    recent = evaluate({u: r[:1] for u, r in recommend_recent(train, users).items()}, held)["hr@10"]
    assert ours > recent + 0.5


def test_sasrec_scores_pairs_and_refuses_too_little() -> None:
    events = _cycles(20)
    model = fit_sasrec(events, "item_id", dim=16, epochs=2, max_seconds=30)
    pairs = pd.DataFrame({"user_id": ["u1", "u1", "nobody"], "k": ["a", "own-1", "a"]})
    p = model.score_pairs(events, pairs)
    assert 0 < p[0] < 1 and p[1] == 0 and p[2] == 0
    one_each = pd.DataFrame({"user_id": ["x", "y"], "item_id": ["p", "q"], "ts": [0, 1]})
    with pytest.raises(ValueError, match="too few events"):
        fit_sasrec(one_each, "item_id")
