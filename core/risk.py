"""Risk: unsupervised anomaly scores for users and sessions, each flag with a plain reason.

An isolation forest scores behaviour features (views without purchases, bursts of events, night
activity, cart churn); a flagged row's reason names the features that stand out most against
the shop's typical values (robust z-scores), e.g. "412 views and no purchase; 38 events in one
minute". Scores land in ``predictions`` under task ``risk`` (label normal/anomalous; the reason is
kept in the probabilities' JSON under ``reason``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

if TYPE_CHECKING:
    from db.store import Store


RISK_VERSION = "iforest-1"
FEATURES = {
    "n_view": "{:.0f} views",
    "views_without_purchase": "{:.0f} views and no purchase",
    "max_per_minute": "{:.0f} events in one minute",
    "night_share": "{:.0%} of events between 0:00 and 5:00",
    "cart_no_buy": "{:.0f} cart adds never bought",
    "n_sessions": "{:.0f} sessions",
}


def behaviour_features(events: pd.DataFrame, level: str = "user") -> pd.DataFrame:
    """Per-user (or per-session) features from events (user_id, session_id, event_type, ts)."""
    key = "user_id" if level == "user" else "session_id"
    ev = events.assign(minute=events["ts"].dt.floor("min"), night=events["ts"].dt.hour < 5)
    g = ev.groupby(key)
    feats = pd.DataFrame({"n_events": g.size()})
    for kind in ("view", "cart", "purchase"):
        feats[f"n_{kind}"] = ev["event_type"].eq(kind).groupby(ev[key]).sum()
    feats["views_without_purchase"] = feats["n_view"].where(feats["n_purchase"] == 0, 0)
    feats["max_per_minute"] = ev.groupby([key, "minute"]).size().groupby(level=0).max()
    feats["night_share"] = g["night"].mean()
    feats["cart_no_buy"] = (feats["n_cart"] - feats["n_purchase"]).clip(lower=0)
    feats["n_sessions"] = g["session_id"].nunique() if level == "user" else 1
    return feats.fillna(0)


def _reasons(feats: pd.DataFrame, top: int = 2) -> list[str]:
    cols = list(FEATURES)
    x = feats[cols].astype(float)
    median = x.median()
    mad = (x - median).abs().median().replace(0, np.nan)
    spread = mad.fillna(x.std().replace(0, 1.0)).fillna(1.0)
    z = ((x - median) / spread).clip(lower=0)
    out = []
    for name, row in z.iterrows():
        best = row.sort_values(ascending=False)
        parts = [FEATURES[c].format(feats.at[name, c]) for c in best.index[:top] if best[c] > 1]
        out.append("; ".join(parts) or "unusual mix of activity")
    return out


def score_risk(
    events: pd.DataFrame, level: str = "user", contamination: float = 0.02, seed: int = 0
) -> pd.DataFrame:
    """Anomaly score (higher = stranger, 0..1), flag and reason for each user or session."""
    feats = behaviour_features(events, level)
    columns = ["target_id", "score", "flagged", "reason"]
    if len(feats) < 5:
        return pd.DataFrame(columns=columns)
    forest = IsolationForest(n_estimators=200, contamination=contamination, random_state=seed)
    x = np.log1p(feats[list(FEATURES) + ["n_events"]].astype(float))
    forest.fit(x)
    raw = -forest.score_samples(x)
    score = (raw - raw.min()) / max(raw.max() - raw.min(), 1e-9)
    flagged = forest.predict(x) == -1
    reasons = np.where(flagged, _reasons(feats), "")
    out = pd.DataFrame({"target_id": feats.index.astype(str), "score": score,
                        "flagged": flagged, "reason": reasons})  # fmt: skip
    return out.sort_values("score", ascending=False).reset_index(drop=True)


def score_risk_to_store(store: Store, shop_id: str, level: str = "user") -> int:
    """Score every user of a shop and write the results as ``risk`` predictions."""
    events = store.query_df(
        "SELECT user_id, session_id, event_type, ts FROM events WHERE shop_id = ?", [shop_id]
    )
    scored = score_risk(events, level)
    if scored.empty:
        return 0
    p = scored["score"].clip(0, 1).to_numpy()
    rows = pd.DataFrame({
        "shop_id": shop_id, "task": "risk", "target_id": f"{level}:" + scored["target_id"],
        "model_version": RISK_VERSION,
        "label": np.where(scored["flagged"], "anomalous", "normal"),
        "probs": [json.dumps({"normal": round(1 - s, 6), "anomalous": round(s, 6), "reason": r})
                  for s, r in zip(p, scored["reason"], strict=True)],
        "entropy": -(p * np.log(np.clip(p, 1e-12, 1)) + (1 - p) * np.log(np.clip(1 - p, 1e-12, 1))),
        "margin": np.abs(2 * p - 1), "created_at": datetime.now(UTC).replace(tzinfo=None),
    })  # fmt: skip
    from core.inference import write_predictions

    write_predictions(store, rows)
    return len(rows)
