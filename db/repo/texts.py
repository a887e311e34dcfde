"""The rows tasks learn from and predict for: reviews, their sentences, messages, events."""

from __future__ import annotations

import pandas as pd

from db.store import Store


def reviews(store: Store, shop_id: str) -> pd.DataFrame:
    """review_id, item_id, user_id, title, text, rating, language, ts of every review, by id."""
    return store.query_df(
        "SELECT review_id, item_id, user_id, title, text, rating, language, ts FROM reviews "
        "WHERE shop_id = $shop ORDER BY review_id",
        {"shop": shop_id},
    )


def messages(store: Store, shop_id: str) -> pd.DataFrame:
    """message_id, user_id, channel, text, language, ts of every message, by id."""
    return store.query_df(
        "SELECT message_id, user_id, channel, text, language, ts FROM messages "
        "WHERE shop_id = $shop ORDER BY message_id",
        {"shop": shop_id},
    )


def review_context(store: Store, shop_id: str) -> pd.DataFrame:
    """Per review: its product (title, else category, else item id), rating and whole text."""
    return store.query_df(
        """
        SELECT r.review_id, coalesce(i.title, i.category, r.item_id) AS product,
               CAST(r.rating AS VARCHAR) AS rating, r.text AS review
        FROM reviews r LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
        WHERE r.shop_id = $shop
        """,
        {"shop": shop_id},
    )


def events(store: Store, shop_id: str, columns: tuple[str, ...] = (
        "user_id", "session_id", "item_id", "category", "event_type", "query", "ts")) -> pd.DataFrame:  # fmt: skip
    """The shop's events (the named columns), in session then time order."""
    allowed = {"user_id", "session_id", "item_id", "category", "event_type", "query", "ts"}
    unknown = set(columns) - allowed
    if unknown:
        raise ValueError(f"unknown event columns {sorted(unknown)}")
    return store.query_df(
        f"SELECT {', '.join(columns)} FROM events WHERE shop_id = $shop ORDER BY session_id, ts",
        {"shop": shop_id},
    )


def save_sentences(store: Store, shop_id: str, sentences: pd.DataFrame) -> int:
    """Record review sentences (``sentence_id, review_id, position, text``) not stored yet, so
    sentence predictions join their review in SQL; returns how many were added."""
    if sentences.empty:
        return 0
    rows = sentences[["sentence_id", "review_id", "position", "text"]].assign(shop_id=shop_id)
    with store.write() as con:
        con.register("new_sentences", rows)
        row = con.execute(
            "INSERT OR IGNORE INTO review_sentences (shop_id, sentence_id, review_id, position, "
            "text) SELECT shop_id, sentence_id, review_id, position, text FROM new_sentences"
        ).fetchone()
    return int(row[0]) if row else 0
