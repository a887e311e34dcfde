"""Behaviour features of shoppers and an isolation forest over them, each flag with a plain
reason ("412 views and no purchase; 38 events in one minute"): the reason names the features that
stand out most against the shop's typical values (robust z-scores).

**What counts as strange.** The forest reads *how* a shopper behaves, not how much: speed (events
in the busiest minute, the median gap inside sessions, the share of sub-3-second gaps), scraping
(the share of distinct items in the largest session and its size), cart stuffing (the cart share
of events, the most carts in one session, carts with no purchase at all) and the night share. A
loyal customer with hundreds of sessions at human speed who buys is not strange however much she
shops; volume alone never flags anyone.

**How many are flagged.** Not a fixed share: a shopper is flagged when the forest's score is an
outlier of the shop's own score distribution (robust z above :data:`FLAG_Z`), at least one
abuse feature stands out (robust z above :data:`REASON_Z`; a night owl is not abuse) and the
shopper did enough to matter (:data:`MIN_EVENTS`) — so a clean shop gets few or no flags and a
shop under attack gets as many as it has bots, up to :data:`MAX_FLAG_SHARE`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

# feature -> how a reason words it; each is an abuse signal when it is *high*
FEATURES = {
    "max_per_minute": "{:.0f} events in one minute",
    "fast_share": "{:.0%} of clicks under 3 seconds apart",
    "largest_session": "{:.0f} events in one session",
    "distinct_item_share": "{:.0%} distinct items in its largest session",
    "cart_share": "{:.0%} of events are cart adds",
    "max_session_carts": "{:.0f} cart adds in one session",
    "unbought_carts": "{:.0f} cart adds and no purchase",
    "views_without_purchase": "{:.0f} views and no purchase",
    "night_share": "{:.0%} of events between 0:00 and 5:00",
}
MODEL_COLUMNS = [c for c in FEATURES if c != "views_without_purchase"] + ["median_gap_inverse"]
FLAG_Z = 4.0  # robust z of the forest's score above which a shopper may be flagged
REASON_Z = 4.0  # and at least one abuse feature this far above the shop's typical value
EVIDENCE = (
    "max_per_minute",
    "fast_share",
    "largest_session",
    "distinct_item_share",
    "cart_share",
    "max_session_carts",
    "unbought_carts",
)  # night alone is no abuse
MIN_EVENTS = 20  # a shopper with fewer events has done too little to be worth a flag
MAX_FLAG_SHARE = 0.05
FAST_GAP_S = 3.0


def behaviour_features(events: pd.DataFrame) -> pd.DataFrame:
    """Per-shopper features from events (user_id, session_id, event_type, ts; item_id when
    present); index user_id."""
    key = "user_id"
    ev = events.sort_values([key, "session_id", "ts"], kind="stable")
    ev = ev.assign(minute=ev["ts"].dt.floor("min"), night=ev["ts"].dt.hour < 5)
    g = ev.groupby(key)
    feats = pd.DataFrame({"n_events": g.size()})
    for kind in ("view", "cart", "purchase"):
        feats[f"n_{kind}"] = ev["event_type"].eq(kind).groupby(ev[key]).sum()
    feats["n_sessions"] = g["session_id"].nunique()
    feats["max_per_minute"] = ev.groupby([key, "minute"]).size().groupby(level=0).max()
    gap = ev["ts"].diff().dt.total_seconds()
    gap = gap.where(ev["session_id"].eq(ev["session_id"].shift()))
    feats["fast_share"] = gap.lt(FAST_GAP_S).groupby(ev[key]).sum() / gap.notna().groupby(
        ev[key]
    ).sum().clip(lower=1)
    median_gap = gap.groupby(ev[key]).median()
    feats["median_gap_inverse"] = 1.0 / (1.0 + median_gap.reindex(feats.index).fillna(600.0))
    sessions = ev.groupby([key, "session_id"])
    size = sessions.size()
    items = sessions["item_id"].nunique() if "item_id" in ev else size * 0
    largest = size.groupby(level=0).idxmax()
    feats["largest_session"] = size.groupby(level=0).max()
    feats["distinct_item_share"] = [
        float(items.get(idx, 0)) / max(float(size[idx]), 1.0)
        for idx in largest.reindex(feats.index)
    ]
    carts = ev["event_type"].eq("cart").groupby([ev[key], ev["session_id"]]).sum()
    feats["max_session_carts"] = carts.groupby(level=0).max()
    feats["cart_share"] = feats["n_cart"] / feats["n_events"]
    feats["unbought_carts"] = feats["n_cart"].where(feats["n_purchase"] == 0, 0)
    feats["views_without_purchase"] = feats["n_view"].where(feats["n_purchase"] == 0, 0)
    feats["night_share"] = g["night"].mean()
    feats.index = feats.index.astype(str)
    return feats.replace([np.inf, -np.inf], 0).fillna(0)


def _robust(values: pd.DataFrame | pd.Series) -> tuple:
    median = values.median()
    mad = (values - median).abs().median() * 1.4826
    if isinstance(mad, pd.Series):
        spread = mad.where(mad > 0, values.std()).fillna(1.0).replace(0, 1.0)
    else:
        spread = mad if mad > 0 else (float(values.std()) or 1.0)
    return median, spread


@dataclass
class RiskModel:
    """A fitted isolation forest, its score's typical value and spread on the shop, and the
    typical values the reasons compare against."""

    forest: IsolationForest
    low: float
    high: float
    median: pd.Series
    spread: pd.Series
    score_median: float = 0.0
    score_spread: float = 1.0

    def _raw(self, feats: pd.DataFrame) -> np.ndarray:
        return -self.forest.score_samples(np.log1p(feats[MODEL_COLUMNS].astype(float)))

    def feature_z(self, feats: pd.DataFrame) -> pd.DataFrame:
        """How far each abuse feature stands above the shop's typical value (robust z, >= 0)."""
        cols = list(FEATURES)
        return ((feats[cols].astype(float) - self.median[cols]) / self.spread[cols]).clip(lower=0)

    def score(self, feats: pd.DataFrame) -> pd.DataFrame:
        """``target_id, score (0..1, higher = stranger), flagged, reason`` per shopper."""
        raw = self._raw(feats)
        score = np.clip((raw - self.low) / max(self.high - self.low, 1e-9), 0, 1)
        z_score = (raw - self.score_median) / self.score_spread
        evidence = self.feature_z(feats)[list(EVIDENCE)].max(axis=1).to_numpy() > REASON_Z
        enough = feats["n_events"].to_numpy() >= MIN_EVENTS
        flagged = (z_score > FLAG_Z) & evidence & enough
        cap = max(1, int(np.ceil(MAX_FLAG_SHARE * len(feats))))
        if flagged.sum() > cap:  # the strangest ones only
            order = np.argsort(-raw, kind="stable")
            keep = np.zeros(len(raw), dtype=bool)
            keep[[i for i in order if flagged[i]][:cap]] = True
            flagged = keep
        reasons = np.where(flagged, self.reasons(feats), "")
        return pd.DataFrame({"target_id": feats.index.astype(str), "score": score,
                             "flagged": flagged, "reason": reasons})  # fmt: skip

    def reasons(self, feats: pd.DataFrame, top: int = 2) -> list[str]:
        z = self.feature_z(feats)
        out = []
        for name, row in z.iterrows():
            best = row.sort_values(ascending=False)
            parts = [FEATURES[c].format(feats.at[name, c]) for c in best.index[:top] if best[c] > 1]
            out.append("; ".join(parts) or "unusual mix of activity")
        return out


def fit_risk(feats: pd.DataFrame, seed: int = 0) -> RiskModel:
    """Fit the forest on the shop's shoppers (at least 5)."""
    x = np.log1p(feats[MODEL_COLUMNS].astype(float))
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(x)
    raw = -forest.score_samples(x)
    median, spread = _robust(feats[list(FEATURES)].astype(float))
    score_median, score_spread = _robust(pd.Series(raw))
    return RiskModel(forest, float(raw.min()), float(raw.max()), median, spread,
                     float(score_median), float(score_spread))  # fmt: skip


def score_risk(events: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Fit and score in one go (benchmarks, tests): one row per shopper, strangest first."""
    feats = behaviour_features(events)
    if len(feats) < 5:
        return pd.DataFrame(columns=["target_id", "score", "flagged", "reason"])
    scored = fit_risk(feats, seed).score(feats)
    return scored.sort_values("score", ascending=False).reset_index(drop=True)
