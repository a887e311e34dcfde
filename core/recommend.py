"""Recommendations from behaviour events: what a shopper is likely to want next.

Three simple recommenders and their blend, each a function of training events only:

- **popularity**: the most interacted-with items (or categories) of the shop;
- **recent**: the shopper's own recently touched items, most recent first (on real shops the
  strongest simple baseline: people come back to what they looked at);
- **co-visitation**: item-to-item counts of "touched b within ``window`` events after a" over
  every shopper's sequence; a shopper's candidates are the items that follow their recent ones;
- **blend**: recency-decayed scores of the shopper's own items, plus co-visitation from their
  last items, plus a little popularity to fill the list.

:func:`leave_last_out` and :func:`evaluate` implement the benchmark protocol: the last event of
each shopper is held out, lists are ranked over **all** items (no sampled negatives) and scored
by HR@10, NDCG@10 and Recall@50. The same code ranks categories (``key="category"``).

    >>> train, held = leave_last_out(events)
    >>> evaluate(recommend_blend(train, held["user_id"], key="item_id"), held, "item_id")["hr@10"]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

Lists = dict[str, list[str]]  # user -> ranked keys


@dataclass(frozen=True)
class BlendConfig:
    """Weights of the blend (defaults: the best next-item setting on the Taobao slice's
    validation events, :func:`tune_blend`)."""

    recent_weight: float = 1.0
    recency_decay: float = 0.97  # weight of the n-th most recent distinct key: decay ** n
    covisit_weight: float = 3.0
    covisit_window: int = 1  # b counts as following a when within this many events after it
    covisit_from: int = 1  # the shopper's last distinct keys that seed co-visitation
    popularity_weight: float = 0.01
    length: int = 50


def leave_last_out(events: pd.DataFrame, min_events: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, held)``: every event but each shopper's last (shoppers with at least
    ``min_events`` events), and the held-out last events (one row per shopper)."""
    ordered = events.sort_values(["user_id", "ts"], kind="stable")
    counts = ordered.groupby("user_id")["ts"].transform("size")
    ordered = ordered[counts >= min_events]
    last = ordered.groupby("user_id").tail(1)
    return ordered.drop(index=last.index), last.reset_index(drop=True)


def with_key(events: pd.DataFrame, key: str) -> pd.DataFrame:
    """The events that name a ``key`` (searches name no item): only they are recommendable."""
    return events[events[key].notna()]


def _sequences(train: pd.DataFrame, key: str) -> dict[str, list[str]]:
    ordered = with_key(train, key).sort_values(["user_id", "ts"], kind="stable")
    return {str(u): g.astype(str).tolist() for u, g in ordered.groupby("user_id")[key]}


def recommend_popular(train: pd.DataFrame, users: Iterable[str], key: str = "item_id",
                      length: int = 50) -> Lists:  # fmt: skip
    """The shop's most frequent keys, the same list for everyone."""
    top = with_key(train, key)[key].astype(str).value_counts().index[:length].tolist()
    return {str(u): top for u in users}


def recommend_recent(train: pd.DataFrame, users: Iterable[str], key: str = "item_id",
                     length: int = 50) -> Lists:  # fmt: skip
    """Each shopper's own distinct keys, most recent first."""
    sequences = _sequences(train, key)
    return {
        str(u): list(dict.fromkeys(reversed(sequences.get(str(u), []))))[:length] for u in users
    }


def covisitation(sequences: dict[str, list[str]], window: int = 3) -> dict[str, Counter[str]]:
    """``a -> Counter(b)``: how often b was touched within ``window`` events after a (a != b)."""
    follow: dict[str, Counter[str]] = defaultdict(Counter)
    for sequence in sequences.values():
        for i, a in enumerate(sequence):
            for b in sequence[i + 1 : i + 1 + window]:
                if b != a:
                    follow[a][b] += 1
    return follow


def recommend_covisit(train: pd.DataFrame, users: Iterable[str], key: str = "item_id",
                      length: int = 50) -> Lists:  # fmt: skip
    """Keys that follow the shopper's last five ones (within 3 events) elsewhere in the shop."""
    only = BlendConfig(recent_weight=0.0, recency_decay=0.9, covisit_weight=1.0, covisit_window=3,
                       covisit_from=5, popularity_weight=0.0, length=length)  # fmt: skip
    return recommend_blend(train, users, key, only)


def recommend_blend(train: pd.DataFrame, users: Iterable[str], key: str = "item_id",
                    config: BlendConfig | None = None) -> Lists:  # fmt: skip
    """The blend (module docstring): per shopper, a ranked list of ``config.length`` keys."""
    scored = recommend_scored(train, users, key, config)
    return {user: [k for k, _ in ranked] for user, ranked in scored.items()}


@dataclass
class ShopStats:
    """What the blend of one key reads from the whole log rather than from a shopper's own
    events: co-visitation (for one window) and how often each key is touched. Worked out once
    (:func:`shop_stats`), it lets the lists of a part of the shoppers be made from that part's
    events alone (a distributed engine's replica scores many parts)."""

    key: str
    window: int
    follow: dict[str, Counter[str]]
    popular: pd.Series  # touches per key, most first

    @cached_property
    def pop_score(self) -> dict[str, float]:
        """Each key's touches over the most touched key's."""
        popular = self.popular
        return (popular / popular.max()).to_dict() if len(popular) else {}


def _stats_of(sequences: dict[str, list[str]], events: pd.DataFrame, key: str,
              window: int) -> ShopStats:  # fmt: skip
    popular = with_key(events, key)[key].astype(str).value_counts()
    return ShopStats(key, window, covisitation(sequences, window), popular)


def shop_stats(events: pd.DataFrame, key: str = "item_id", window: int = 1) -> ShopStats:
    """The :class:`ShopStats` of ``events`` (every shopper's) for ``key`` and a co-visitation
    ``window`` (:attr:`BlendConfig.covisit_window`)."""
    return _stats_of(_sequences(events, key), events, key, window)


def of_users(events: pd.DataFrame, users: Iterable[str]) -> pd.DataFrame:
    """The events of ``users`` (compared as strings)."""
    return events[events["user_id"].astype(str).isin({str(u) for u in users})]


def recommend_scored(train: pd.DataFrame, users: Iterable[str], key: str = "item_id",
                     config: BlendConfig | None = None,
                     stats: ShopStats | None = None) -> dict[str, list[tuple[str, float]]]:  # fmt: skip
    """The blend's ranked ``(key, score)`` pairs per shopper (scores > 0, best first). With
    ``stats`` (:func:`shop_stats` of the whole log) only the shoppers' own events of ``train``
    are read."""
    config = config or BlendConfig()
    users = [str(u) for u in users]
    if stats is None:
        sequences = _sequences(train, key)
        stats = _stats_of(sequences, train, key, config.covisit_window)
    elif (stats.key, stats.window) != (key, config.covisit_window):
        raise ValueError(f"these statistics are of {stats.key} with window {stats.window}, not "
                         f"of {key} with window {config.covisit_window}")  # fmt: skip
    else:
        sequences = _sequences(of_users(train, users), key)
    follow, pop_score = stats.follow, stats.pop_score
    top = stats.popular.index[: config.length].tolist()
    out: dict[str, list[tuple[str, float]]] = {}
    for user in users:
        history = list(dict.fromkeys(reversed(sequences.get(str(user), []))))
        scores: dict[str, float] = defaultdict(float)
        for n, item in enumerate(history):
            scores[item] += config.recent_weight * config.recency_decay**n
        for n, item in enumerate(history[: config.covisit_from]):
            followers = follow.get(item)
            if not followers:
                continue
            total = sum(followers.values())
            for other, count in followers.most_common(config.length):
                scores[other] += config.covisit_weight * config.recency_decay**n * count / total
        for item in top:
            scores[item] += config.popularity_weight * pop_score.get(item, 0.0)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        out[str(user)] = [(k, s) for k, s in ranked if s > 0][: config.length]
    return out


def evaluate(lists: Lists, held: pd.DataFrame, key: str = "item_id") -> dict[str, float]:
    """HR@10, NDCG@10 and Recall@50 of ranked lists against each shopper's held-out key (one
    relevant key per shopper, so recall@50 is the hit rate at 50)."""
    hits10, ndcg10, hits50 = [], [], []
    for user, truth in zip(held["user_id"].astype(str), held[key].astype(str), strict=True):
        ranked = lists.get(user, [])
        rank = ranked.index(truth) if truth in ranked[:50] else None
        hits10.append(rank is not None and rank < 10)
        ndcg10.append(1.0 / np.log2(rank + 2) if rank is not None and rank < 10 else 0.0)
        hits50.append(rank is not None)
    n = max(len(held), 1)
    return {"users": float(len(held)), "hr@10": float(np.sum(hits10) / n),
            "ndcg@10": float(np.sum(ndcg10) / n), "recall@50": float(np.sum(hits50) / n)}  # fmt: skip


GRID = {"recency_decay": (0.7, 0.9, 0.97), "covisit_weight": (0.3, 1.0, 3.0, 10.0),
        "covisit_window": (1, 3, 10), "covisit_from": (1, 3, 10)}  # fmt: skip


def tune_blend(train: pd.DataFrame, key: str = "item_id",
               grid: dict[str, tuple] | None = None) -> tuple[BlendConfig, float]:  # fmt: skip
    """The blend setting with the best HR@10 on validation: each shopper's second-to-last event
    held out of ``train`` (the test events are never seen). Returns it and its validation HR@10."""
    import itertools

    grid = grid or GRID
    fit, held = leave_last_out(train)
    users = held["user_id"].astype(str)
    best = (BlendConfig(), -1.0)
    for values in itertools.product(*grid.values()):
        config = BlendConfig(**dict(zip(grid, values, strict=True)))
        score = evaluate(recommend_blend(fit, users, key, config), held, key)["hr@10"]
        if score > best[1]:
            best = (config, score)
    return best
