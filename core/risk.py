"""Behaviour features of shoppers and an isolation forest over them, each flag with a plain
reason ("412 views and no purchase; 38 events in one minute"): the reason names the features that
stand out most against the shop's typical values (robust z-scores).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

FEATURES = {
    "n_view": "{:.0f} views",
    "views_without_purchase": "{:.0f} views and no purchase",
    "max_per_minute": "{:.0f} events in one minute",
    "night_share": "{:.0%} of events between 0:00 and 5:00",
    "cart_no_buy": "{:.0f} cart adds never bought",
    "n_sessions": "{:.0f} sessions",
}
MODEL_COLUMNS = [*FEATURES, "n_events"]


def behaviour_features(events: pd.DataFrame) -> pd.DataFrame:
    """Per-shopper features from events (user_id, session_id, event_type, ts); index user_id."""
    key = "user_id"
    ev = events.assign(minute=events["ts"].dt.floor("min"), night=events["ts"].dt.hour < 5)
    g = ev.groupby(key)
    feats = pd.DataFrame({"n_events": g.size()})
    for kind in ("view", "cart", "purchase"):
        feats[f"n_{kind}"] = ev["event_type"].eq(kind).groupby(ev[key]).sum()
    feats["views_without_purchase"] = feats["n_view"].where(feats["n_purchase"] == 0, 0)
    feats["max_per_minute"] = ev.groupby([key, "minute"]).size().groupby(level=0).max()
    feats["night_share"] = g["night"].mean()
    feats["cart_no_buy"] = (feats["n_cart"] - feats["n_purchase"]).clip(lower=0)
    feats["n_sessions"] = g["session_id"].nunique()
    return feats.fillna(0)


@dataclass
class RiskModel:
    """A fitted isolation forest, the score range seen in training and the typical values the
    reasons compare against."""

    forest: IsolationForest
    low: float
    high: float
    median: pd.Series
    spread: pd.Series

    def score(self, feats: pd.DataFrame) -> pd.DataFrame:
        """``target_id, score (0..1, higher = stranger), flagged, reason`` per shopper."""
        x = np.log1p(feats[MODEL_COLUMNS].astype(float))
        raw = -self.forest.score_samples(x)
        score = np.clip((raw - self.low) / max(self.high - self.low, 1e-9), 0, 1)
        flagged = self.forest.predict(x) == -1
        reasons = np.where(flagged, self.reasons(feats), "")
        return pd.DataFrame({"target_id": feats.index.astype(str), "score": score,
                             "flagged": flagged, "reason": reasons})  # fmt: skip

    def reasons(self, feats: pd.DataFrame, top: int = 2) -> list[str]:
        cols = list(FEATURES)
        z = ((feats[cols].astype(float) - self.median) / self.spread).clip(lower=0)
        out = []
        for name, row in z.iterrows():
            best = row.sort_values(ascending=False)
            parts = [FEATURES[c].format(feats.at[name, c]) for c in best.index[:top] if best[c] > 1]
            out.append("; ".join(parts) or "unusual mix of activity")
        return out


def fit_risk(feats: pd.DataFrame, contamination: float = 0.02, seed: int = 0) -> RiskModel:
    """Fit the forest on the shop's shoppers (at least 5)."""
    x = np.log1p(feats[MODEL_COLUMNS].astype(float))
    forest = IsolationForest(n_estimators=200, contamination=contamination, random_state=seed)
    forest.fit(x)
    raw = -forest.score_samples(x)
    values = feats[list(FEATURES)].astype(float)
    median = values.median()
    mad = (values - median).abs().median().replace(0, np.nan)
    spread = mad.fillna(values.std().replace(0, 1.0)).fillna(1.0)
    return RiskModel(forest, float(raw.min()), float(raw.max()), median, spread)


def score_risk(events: pd.DataFrame, contamination: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """Fit and score in one go (benchmarks, tests): one row per shopper, strangest first."""
    feats = behaviour_features(events)
    if len(feats) < 5:
        return pd.DataFrame(columns=["target_id", "score", "flagged", "reason"])
    scored = fit_risk(feats, contamination, seed).score(feats)
    return scored.sort_values("score", ascending=False).reset_index(drop=True)
