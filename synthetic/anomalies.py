"""SYNTHETIC abusive shoppers, injected into a copy of a shop's events with their labels, to
measure the risk model: view bursts at machine rates, cart-stuffing without purchases, catalogue
scraping (many distinct items, seconds apart), and genuine heavy buyers as hard negatives (many
sessions at human speed, with purchases: they must not be flagged).

    >>> events, labels = inject_anomalies(events, seed=0)
    >>> labels["kind"].value_counts().to_dict()
    {'view_burst': 10, 'cart_stuffing': 10, 'scraping': 10, 'heavy_buyer': 10}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ABUSIVE = ("view_burst", "cart_stuffing", "scraping")


def _session(user: str, session: str, items: np.ndarray, categories: np.ndarray,
             types: list[str], start: pd.Timestamp, gaps_s: np.ndarray) -> pd.DataFrame:  # fmt: skip
    ts = start + pd.to_timedelta(np.concatenate([[0.0], np.cumsum(gaps_s[: len(types) - 1])]), "s")
    return pd.DataFrame({"user_id": user, "session_id": session, "item_id": items[: len(types)],
                         "category": categories[: len(types)], "event_type": types,
                         "query": None, "ts": ts})  # fmt: skip


def inject_anomalies(events: pd.DataFrame, per_kind: int = 10,
                     seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """``(events with the injected shoppers, labels)``; labels: user_id, kind, abusive."""
    rng = np.random.default_rng(seed)
    catalogue = events.dropna(subset=["item_id"]).drop_duplicates("item_id")
    item_ids = catalogue["item_id"].to_numpy()
    category_of = dict(zip(catalogue["item_id"], catalogue["category"], strict=True))
    first, last = events["ts"].min(), events["ts"].max()
    span_s = (last - first).total_seconds()
    frames, labels = [], []

    def pick(n: int, distinct: bool = False) -> tuple[np.ndarray, np.ndarray]:
        chosen = rng.choice(item_ids, size=n, replace=not distinct or n > len(item_ids))
        return chosen, np.array([category_of[i] for i in chosen])

    def when() -> pd.Timestamp:  # machines do not sleep: any time of day
        return first + pd.Timedelta(seconds=float(rng.uniform(0, span_s * 0.9)))

    human_times = events["ts"].to_numpy()

    def human_when() -> pd.Timestamp:  # a person shops when the shop's shoppers do
        return pd.Timestamp(human_times[int(rng.integers(0, len(human_times)))])

    for k in range(per_kind):
        user = f"syn-burst-{k}"
        n = int(rng.integers(300, 700))
        items, cats = pick(n)
        frames.append(_session(user, f"{user}-s", items, cats, ["view"] * n, when(),
                               rng.uniform(0.2, 1.5, n)))  # fmt: skip
        labels.append((user, "view_burst"))

        user = f"syn-stuff-{k}"
        for s in range(int(rng.integers(3, 6))):
            n = int(rng.integers(12, 25))
            items, cats = pick(n)
            types = ["view" if j % 2 == 0 else "cart" for j in range(n)]
            frames.append(_session(user, f"{user}-s{s}", items, cats, types, when(),
                                   rng.uniform(4, 20, n)))  # fmt: skip
        labels.append((user, "cart_stuffing"))

        user = f"syn-scrape-{k}"
        n = int(rng.integers(400, 1000))
        items, cats = pick(n, distinct=True)
        frames.append(_session(user, f"{user}-s", items, cats, ["view"] * n, when(),
                               rng.uniform(1.5, 5.0, n)))  # fmt: skip
        labels.append((user, "scraping"))

        user = f"syn-heavy-{k}"  # a loyal, very active customer: many human-speed sessions
        for s in range(int(rng.integers(40, 70))):
            n = int(rng.integers(8, 25))
            items, cats = pick(n)
            types = ["view"] * n
            types[-3] = "cart"
            if s % 3 == 0:
                types[-1] = "purchase"
                items[-1] = items[-3]
            frames.append(_session(user, f"{user}-s{s}", items, cats, types, human_when(),
                                   rng.uniform(15, 120, n)))  # fmt: skip
        labels.append((user, "heavy_buyer"))
    injected = pd.concat(frames, ignore_index=True)
    out = pd.concat([events, injected[events.columns.intersection(injected.columns)]],
                    ignore_index=True).sort_values(["session_id", "ts"], kind="stable")  # fmt: skip
    label_frame = pd.DataFrame(labels, columns=["user_id", "kind"])
    label_frame["abusive"] = label_frame["kind"].isin(ABUSIVE)
    return out.reset_index(drop=True), label_frame
