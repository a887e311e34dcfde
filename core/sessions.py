"""Sessions of behaviour events as model inputs: serialised text and tabular features.

The purchase task asks whether a session ends in a purchase. Its input is what happened *before*
the first purchase, so the answer is never in the question: the transformer reads the events as
text ("view knits; cart dresses; search linen dress"), and the gradient-boosting baseline reads
counts and timings of the same cut.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"session_id": ["s", "s", "s"], "user_id": "u",
    ...     "category": ["knits", "dresses", "dresses"], "event_type": ["view", "cart", "purchase"],
    ...     "query": None, "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:01",
    ...     "2024-01-01 10:02"])})
    >>> session_texts(ev)[["target_id", "text", "bought"]].values.tolist()
    [['s', 'view knits; cart dresses', True]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_EVENTS_IN_TEXT = 48
SESSION_GAP = pd.Timedelta(minutes=30)
FEATURE_COLUMNS = [
    "n_events", "n_view", "n_cart", "n_fav", "n_search", "n_items", "n_categories",
    "duration_s", "mean_gap_s", "hour", "weekday", "cart_ratio", "repeat_item_share",
]  # fmt: skip


def sessionize(events: pd.DataFrame, gap: pd.Timedelta = SESSION_GAP) -> pd.Series:
    """Session ids for raw events without them: a new session after ``gap`` of inactivity.

    ``events`` needs ``user_id`` and ``ts`` and must be sorted by user then time.
    """
    new_user = events["user_id"].ne(events["user_id"].shift())
    new_gap = events["ts"].diff().gt(gap)
    number = (new_user | new_gap).cumsum()
    return events["user_id"].astype(str) + "-" + number.astype(str)


def _cut_before_purchase(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Drop each session's first purchase and everything after it; return which ones bought."""
    events = events.sort_values(["session_id", "ts"], kind="stable").reset_index(drop=True)
    is_buy = events["event_type"].eq("purchase")
    bought = is_buy.groupby(events["session_id"]).any()
    after = is_buy.astype(int).groupby(events["session_id"]).cumsum() > 0
    return events[~after], bought


def _event_token(event_type: str, category: object, query: object) -> str:
    if event_type == "search" and isinstance(query, str) and query:
        return f"search {query}"
    return (
        f"{event_type} {category}" if category is not None and category == category else event_type
    )


def session_texts(events: pd.DataFrame) -> pd.DataFrame:
    """One row per session that has at least one event before any purchase: ``target_id``
    (session id), ``text`` (the last ``MAX_EVENTS_IN_TEXT`` events before the first purchase),
    ``bought``, ``user_id`` and ``n_events``."""
    columns = ["target_id", "text", "bought", "user_id", "n_events"]
    if events.empty:
        return pd.DataFrame(columns=columns)
    cut, bought = _cut_before_purchase(events)
    tokens = [
        _event_token(t, c, q)
        for t, c, q in zip(cut["event_type"], cut["category"], cut["query"], strict=True)
    ]
    cut = cut.assign(token=tokens)
    grouped = cut.groupby("session_id", sort=True)
    out = pd.DataFrame(
        {
            "text": grouped["token"].agg(lambda s: "; ".join(s.iloc[-MAX_EVENTS_IN_TEXT:])),
            "user_id": grouped["user_id"].first(),
            "n_events": grouped.size(),
        }
    )
    out["bought"] = bought.reindex(out.index).fillna(False).astype(bool)
    out = out.reset_index().rename(columns={"session_id": "target_id"})
    return out[columns]


def session_features(events: pd.DataFrame) -> pd.DataFrame:
    """Tabular features of each session's events before its first purchase (index: session id),
    plus the ``bought`` outcome."""
    cut, bought = _cut_before_purchase(events)
    g = cut.groupby("session_id", sort=True)
    feats = pd.DataFrame({"n_events": g.size()})
    for kind in ("view", "cart", "fav", "search"):
        feats[f"n_{kind}"] = cut["event_type"].eq(kind).groupby(cut["session_id"]).sum()
    feats["n_items"] = g["item_id"].nunique() if "item_id" in cut else 0
    feats["n_categories"] = g["category"].nunique()
    first, last = g["ts"].min(), g["ts"].max()
    feats["duration_s"] = (last - first).dt.total_seconds()
    feats["mean_gap_s"] = feats["duration_s"] / (feats["n_events"] - 1).clip(lower=1)
    feats["hour"] = first.dt.hour
    feats["weekday"] = first.dt.weekday
    feats["cart_ratio"] = (feats["n_cart"] + feats["n_fav"]) / feats["n_events"]
    feats["repeat_item_share"] = 1 - feats["n_items"] / feats["n_events"]
    feats["bought"] = bought.reindex(feats.index).fillna(False).astype(bool)
    return feats.replace([np.inf, -np.inf], 0).fillna(0)
