"""A learned re-ranker over the blend's candidates: which of a shopper's candidate items (or
categories) comes next, from how the shopper touched each one.

The blend (:func:`core.recommend.recommend_scored`) proposes up to ``depth`` candidates per
shopper: their own recent keys, keys that follow them elsewhere, popular ones. Gradient boosting
then scores each (shopper, candidate) pair from features a person would look at: how recently and
how often the shopper touched it, whether they carted, favourited or bought it, whether it was the
very last thing they touched, its co-visitation and blend scores, its popularity, and whether it
shares the category of the shopper's last event. It learns on the validation protocol (each
shopper's last training event held out of the training events), so the test events are never
seen.

    >>> model = fit_reranker(train, "item_id")
    >>> lists = model.recommend(train, users)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.recommend import BlendConfig, Lists, leave_last_out, recommend_scored, with_key

FEATURES = [
    "blend_score", "blend_rank", "in_history", "recency_rank", "n_touch", "n_cart", "n_fav",
    "n_buy", "hours_since", "is_last", "log_popularity", "same_category_as_last", "history_size",
    "share_of_history", "n_last10", "transition",
]  # fmt: skip


def _candidates(train: pd.DataFrame, users: list[str], key: str, config: BlendConfig,
                depth: int) -> pd.DataFrame:  # fmt: skip
    """One row per (user, candidate) with :data:`FEATURES`."""
    events = with_key(train, key).assign(user_id=lambda d: d["user_id"].astype(str),
                                         k=lambda d: d[key].astype(str))  # fmt: skip
    scored = recommend_scored(events, users, key, BlendConfig(**{**config.__dict__,
                                                                 "length": depth}))  # fmt: skip
    rows = [(u, k, s, r) for u, ranked in scored.items() for r, (k, s) in enumerate(ranked)]
    cand = pd.DataFrame(rows, columns=["user_id", "k", "blend_score", "blend_rank"])
    if cand.empty:
        return cand.assign(**{f: [] for f in FEATURES if f not in cand})
    kinds = (
        events["event_type"] if "event_type" in events else pd.Series("view", index=events.index)
    )
    per = events.assign(cart=kinds.eq("cart"), fav=kinds.eq("fav"), buy=kinds.eq("purchase"))
    g = per.groupby(["user_id", "k"])
    hist = pd.DataFrame({"n_touch": g.size(), "n_cart": g["cart"].sum(), "n_fav": g["fav"].sum(),
                         "n_buy": g["buy"].sum(), "last_ts": g["ts"].max()}).reset_index()  # fmt: skip
    hist["recency_rank"] = hist.groupby("user_id")["last_ts"].rank(ascending=False, method="first")
    last = per.sort_values("ts", kind="stable").groupby("user_id").tail(1).set_index("user_id")
    user_last_ts = last["ts"]
    gap = hist["user_id"].map(user_last_ts) - hist["last_ts"]
    seconds = gap.dt.total_seconds() if hasattr(gap, "dt") else gap.astype(float)  # epoch seconds
    hist["hours_since"] = seconds / 3600
    cand = cand.merge(hist.drop(columns="last_ts"), on=["user_id", "k"], how="left")
    cand["in_history"] = cand["n_touch"].notna().astype(float)
    never = {
        "n_touch": 0,
        "n_cart": 0,
        "n_fav": 0,
        "n_buy": 0,
        "recency_rank": 999,
        "hours_since": 1e5,
    }
    cand = cand.fillna(never)
    cand["is_last"] = (cand["k"] == cand["user_id"].map(last["k"])).astype(float)
    popularity = events["k"].value_counts()
    cand["log_popularity"] = np.log1p(cand["k"].map(popularity).fillna(0).to_numpy(dtype=float))
    if key != "category" and "category" in events:
        category_of = events.drop_duplicates("k", keep="last").set_index("k")["category"]
        last_category = cand["user_id"].map(last["category"])
        cand["same_category_as_last"] = (cand["k"].map(category_of) == last_category).astype(float)
    else:
        cand["same_category_as_last"] = 0.0
    cand["history_size"] = cand["user_id"].map(hist.groupby("user_id").size()).fillna(0)
    touches = cand["user_id"].map(per.groupby("user_id").size()).fillna(0)
    cand["share_of_history"] = cand["n_touch"] / touches.clip(lower=1)
    ordered = per.sort_values(["user_id", "ts"], kind="stable")
    recent = (ordered.groupby("user_id").tail(10).groupby(["user_id", "k"]).size()
              .rename("n_last10").reset_index())  # fmt: skip
    cand = cand.merge(recent, on=["user_id", "k"], how="left")
    # how often the shop's shoppers went from the shopper's last key straight to this one
    pairs = pd.DataFrame({"a": ordered["k"], "k": ordered.groupby("user_id")["k"].shift(-1)})
    pairs = pairs.dropna().groupby(["a", "k"]).size().rename("n").reset_index()
    pairs["transition"] = pairs["n"] / pairs.groupby("a")["n"].transform("sum")
    cand = cand.assign(a=cand["user_id"].map(last["k"])).merge(
        pairs[["a", "k", "transition"]], on=["a", "k"], how="left").drop(columns="a")  # fmt: skip
    return cand.fillna({"n_last10": 0, "transition": 0.0})


@dataclass
class Reranker:
    """The fitted re-ranker for one key (item_id or category)."""

    key: str
    config: BlendConfig
    depth: int
    model: Any
    meta: dict[str, Any] = field(default_factory=dict)

    def recommend_scored(self, train: pd.DataFrame, users: list[str],
                         length: int = 50) -> dict[str, list[tuple[str, float]]]:  # fmt: skip
        """Ranked ``(key, probability)`` pairs per shopper."""
        cand = _candidates(train, [str(u) for u in users], self.key, self.config, self.depth)
        out: dict[str, list[tuple[str, float]]] = {str(u): [] for u in users}
        if cand.empty:
            return out
        cand["p"] = self.model.predict_proba(cand[FEATURES].to_numpy(dtype=float))[:, 1]
        cand = cand.sort_values(["user_id", "p", "blend_rank"], ascending=[True, False, True])
        for user, part in cand.groupby("user_id", sort=False):
            out[str(user)] = list(zip(part["k"].head(length), part["p"].head(length), strict=True))
        return out

    def recommend(self, train: pd.DataFrame, users: list[str], length: int = 50) -> Lists:
        return {
            u: [k for k, _ in r] for u, r in self.recommend_scored(train, users, length).items()
        }


def fit_reranker(train: pd.DataFrame, key: str = "item_id", config: BlendConfig | None = None,
                 depth: int = 50, seed: int = 0, steps: int = 3) -> Reranker:  # fmt: skip
    """Learn the re-ranker on ``train``'s own events: each shopper's last ``steps`` events are
    held out one after the other (the last, then the one before it on the events before it …),
    each a next-key question asked of the events before it."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    config = config or BlendConfig()
    parts, ys, asked = [], [], 0
    fit = with_key(train, key)
    for _ in range(steps):
        fit, held = leave_last_out(fit)
        if held.empty:
            break
        users = held["user_id"].astype(str).tolist()
        part = _candidates(fit, users, key, config, depth)
        truth = dict(zip(held["user_id"].astype(str), held[key].astype(str), strict=True))
        parts.append(part)
        ys.append((part["k"] == part["user_id"].map(truth)).astype(int).to_numpy())
        asked += len(held)
    if not parts:
        raise ValueError("too few events to learn a re-ranker from")
    cand, y = pd.concat(parts, ignore_index=True), np.concatenate(ys)
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                           min_samples_leaf=20, random_state=seed)  # fmt: skip
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError("no held-out key among the candidates: too few events to learn from")
    model.fit(cand[FEATURES].to_numpy(dtype=float), y)
    recall = float(y.sum() / max(asked, 1))
    return Reranker(key, config, depth, model, {"candidate_recall": recall, "pairs": int(len(y)),
                                                "steps": len(parts)})  # fmt: skip
