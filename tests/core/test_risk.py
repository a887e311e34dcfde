"""Tests for core/risk.py: anomaly scores with readable reasons."""

from __future__ import annotations

import pandas as pd
import pytest

from core.risk import behaviour_features, score_risk
from core.scoring import score_task
from core.training import train_task
from tests.core.conftest import seed_events

pytestmark = pytest.mark.unit


def _events():
    rows = []
    base = pd.Timestamp("2024-01-01 12:00")
    for u in range(30):  # ordinary shoppers: a few views and a purchase
        for e, kind in enumerate(["view", "view", "cart", "purchase"]):
            rows.append((f"u{u}", f"s{u}", kind, base + pd.Timedelta(hours=u, minutes=3 * e)))
    for e in range(300):  # a bot: 300 views in 5 minutes at 3 a.m., never buys
        rows.append(
            ("bot", "sbot", "view", pd.Timestamp("2024-01-02 03:00") + pd.Timedelta(seconds=e))
        )
    return pd.DataFrame(rows, columns=["user_id", "session_id", "event_type", "ts"])


def test_bot_is_flagged_with_a_reason():
    feats = behaviour_features(_events())
    assert feats.loc["bot", "views_without_purchase"] == 300
    assert feats.loc["bot", "max_per_minute"] == 60
    assert feats.loc["bot", "fast_share"] == 1.0 and feats.loc["u3", "fast_share"] == 0.0
    out = score_risk(_events())
    top = out.iloc[0]
    assert top["target_id"] == "bot" and top["flagged"] and top["score"] == 1.0
    assert "events in one minute" in top["reason"] or "under 3 seconds" in top["reason"]
    assert out["flagged"].sum() == 1  # the budget follows the scores: one bot, one flag


def test_injected_abuse_is_flagged_and_heavy_buyers_are_not():
    from common.settings import DATA_DIR
    from synthetic.anomalies import inject_anomalies

    events = pd.read_parquet(DATA_DIR / "sample" / "events_synthetic.parquet")
    events = events[events["user_id"].isin(sorted(events["user_id"].unique())[:1000])]
    assert not score_risk(events)["flagged"].any()  # an untouched shop raises no flag
    injected, labels = inject_anomalies(events, per_kind=4, seed=3)
    flagged = set(score_risk(injected).query("flagged")["target_id"])
    abusive = set(labels.loc[labels["abusive"], "user_id"])
    heavy = set(labels.loc[labels["kind"] == "heavy_buyer", "user_id"])
    assert len(flagged & abusive) / len(flagged) >= 0.8 and len(flagged & abusive) / 12 >= 0.8
    assert not flagged & heavy


def test_scores_are_written_as_predictions_with_the_reason_in_its_column(ctx, store):
    seed_events(store, [[("view", "a"), ("purchase", "a")]] * 10 + [[("view", "b")] * 40])
    train_task(ctx, "risk", "sample")
    assert score_task(ctx, "risk", "sample") == 7
    df = store.query_df("SELECT target_id, label, probs->>'$.anomalous' AS p, reason "
                        "FROM predictions WHERE task = 'risk' ORDER BY target_id")  # fmt: skip
    assert df["target_id"].tolist() == [f"u{i}" for i in range(7)]  # shopper ids, no prefix
    flagged = df[df["label"] == "anomalous"]
    assert flagged["reason"].notna().all() and (flagged["reason"] != "").all()
    assert df.loc[df["label"] == "normal", "reason"].isna().all()
