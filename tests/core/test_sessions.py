"""Tests for core/sessions.py: session texts, features and sessionisation."""

from __future__ import annotations

import pandas as pd
import pytest

from core.sessions import FEATURE_COLUMNS, session_features, session_texts, sessionize

pytestmark = pytest.mark.unit


def _events():
    ts = pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:02", "2024-01-01 10:05",
                         "2024-01-01 10:06", "2024-01-01 11:00"])  # fmt: skip
    return pd.DataFrame({
        "session_id": ["a", "a", "a", "a", "b"], "user_id": ["u", "u", "u", "u", "v"],
        "item_id": ["1", "2", "2", "3", "9"], "category": ["knits", "tops", "tops", "x", "dresses"],
        "event_type": ["view", "search", "cart", "purchase", "view"],
        "query": [None, "linen top", None, None, None], "ts": ts,
    })  # fmt: skip


def test_session_texts_cut_before_first_purchase():
    out = session_texts(_events()).set_index("target_id")
    assert out.loc["a", "text"] == "view knits; search linen top; cart tops"
    assert bool(out.loc["a", "bought"]) and not bool(out.loc["b", "bought"])
    assert out.loc["a", "n_events"] == 3


def test_session_features_exclude_the_purchase():
    feats = session_features(_events())
    assert set(FEATURE_COLUMNS) <= set(feats.columns)
    assert feats.loc["a", "n_events"] == 3
    assert feats.loc["a", "n_cart"] == 1
    assert feats.loc["a", "duration_s"] == 300
    assert feats["bought"].tolist() == [True, False]


def test_sessionize_splits_on_gap_and_user():
    ev = pd.DataFrame({"user_id": [1, 1, 1, 2],
                       "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:20",
                                             "2024-01-01 11:30", "2024-01-01 11:31"])})  # fmt: skip
    ids = sessionize(ev)
    assert ids[0] == ids[1] != ids[2] != ids[3]
