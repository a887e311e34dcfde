"""Fixtures for core/: small stores seeded with direct parameterised INSERTs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from db.store import Store

POSITIVE = ["love this dress", "great fit and soft", "perfect and beautiful", "amazing quality"]
NEGATIVE = ["awful ripped seams", "terrible cheap fabric", "horrible returned it", "worst ever"]


def seed_reviews(store: Store, rows: list[tuple[str, int, str]], shop_id: str = "sample") -> None:
    """Insert reviews as (review_id, rating, text)."""
    with store.write() as con:
        con.executemany(
            "INSERT INTO reviews (shop_id, review_id, rating, title, text) VALUES (?, ?, ?, ?, ?)",
            [(shop_id, rid, rating, None, text) for rid, rating, text in rows],
        )


def seed_labels(
    store: Store, task: str, rows: list[tuple[str, str, str]], shop_id: str = "sample"
) -> None:
    """Insert labels as (target_id, label, source)."""
    now = datetime(2024, 1, 1)
    with store.write() as con:
        con.executemany(
            "INSERT INTO labels (label_id, shop_id, task, target_id, label, source, created_at) "
            "VALUES (nextval('labels_seq'), ?, ?, ?, ?, ?, ?)",
            [(shop_id, task, t, label, source, now) for t, label, source in rows],
        )


def separable_reviews(n: int = 40) -> list[tuple[str, int, str]]:
    """A trivially separable sentiment set: positive words at 5 stars, negative ones at 1."""
    rows = []
    for i in range(n):
        if i % 2:
            rows.append((f"r{i:03d}", 5, f"{POSITIVE[i % 4]} {POSITIVE[(i + 1) % 4]}"))
        else:
            rows.append((f"r{i:03d}", 1, f"{NEGATIVE[i % 4]} {NEGATIVE[(i + 1) % 4]}"))
    return rows


def seed_events(
    store: Store, sessions: list[list[tuple[str, str]]], shop_id: str = "sample"
) -> None:
    """Insert one session per list of (event_type, category), a minute apart."""
    start = datetime(2024, 1, 1, 10)
    rows = []
    for s, events in enumerate(sessions):
        for e, (kind, category) in enumerate(events):
            key = s * 1000 + e
            rows.append((key, shop_id, f"u{s % 7}", f"s{s:03d}", f"i{e}", category, kind,
                         start + timedelta(hours=s, minutes=e)))  # fmt: skip
    with store.write() as con:
        con.executemany(
            "INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, category, "
            "event_type, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def seed_sample_events(store: Store, n_users: int = 1500, shop_id: str = "sample") -> None:
    """The bundled synthetic shop's events of its first ``n_users`` shoppers (all 56 days)."""
    import numpy as np
    import pandas as pd

    from common.settings import DATA_DIR

    events = pd.read_parquet(DATA_DIR / "sample" / "events_synthetic.parquet")
    events = events[events["user_id"].isin(sorted(events["user_id"].unique())[:n_users])]
    events = events.assign(shop_id=shop_id, event_key=np.arange(len(events)))
    with store.write() as con:
        con.register("sample_events", events)
        con.execute("INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, "
                    "category, event_type, query, ts) SELECT event_key, shop_id, user_id, "
                    "session_id, item_id, category, event_type, query, ts FROM sample_events")  # fmt: skip
        con.unregister("sample_events")


# Words a bag of words has never seen in training, but the pretrained encoder knows the meaning
# of: on these test rows the encoder beats TF-IDF + LR, so it is what serves.
TRAIN_POS = ["love this dress", "great fit and soft", "perfect and beautiful", "amazing quality"]
TRAIN_NEG = ["awful ripped seams", "terrible cheap fabric", "horrible returned it", "worst ever"]
TEST_POS = ["wonderful, I adore it", "fantastic purchase, delighted", "superb, very happy",
            "excellent and lovely"]  # fmt: skip
TEST_NEG = ["dreadful, so disappointed", "bad, I hate it", "poor and nasty", "rubbish, a mess"]
VALIDATION_POS = ["marvellous, pleased", "brilliant, thrilled", "gorgeous, glad", "splendid, joy"]
VALIDATION_NEG = ["appalling, upset", "dire, annoyed", "lousy, angry", "shoddy, miserable"]


def seed_splits(store: Store, task: str, splits: dict[str, str], shop_id: str = "sample") -> None:
    """Fix the train/validation/test assignment of rows before training."""
    with store.write() as con:
        con.executemany(
            "INSERT INTO data_splits (shop_id, task, target_id, split) VALUES (?, ?, ?, ?)",
            [(shop_id, task, t, s) for t, s in splits.items()],
        )


def synonym_reviews(store: Store, shop_id: str = "sample", n_train: int = 32) -> None:
    """Reviews whose validation and test rows use only words the training rows never use (and
    the test rows none that the validation rows use: a baseline that also learns from the
    validation rows still meets only unseen words)."""
    rows, splits = [], {}
    for i in range(n_train):
        pos = i % 2 == 1
        words = TRAIN_POS if pos else TRAIN_NEG
        rows.append((f"tr{i:03d}", 5 if pos else 1, words[i % 4]))
        splits[f"tr{i:03d}"] = "train"
    for name, count in (("validation", 8), ("test", 16)):
        for i in range(count):
            pos = i % 2 == 1
            if name == "test":
                words = TEST_POS if pos else TEST_NEG
            else:
                words = VALIDATION_POS if pos else VALIDATION_NEG
            rid = f"{name[:2]}{i:03d}"
            rows.append((rid, 5 if pos else 1, words[(i // 2) % 4]))
            splits[rid] = name
    seed_reviews(store, rows, shop_id)
    seed_splits(store, "sentiment", splits, shop_id)


@pytest.fixture
def sentiment_store(store: Store) -> Store:
    seed_reviews(store, separable_reviews(40))
    return store
