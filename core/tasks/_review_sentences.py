"""What the tasks over review sentences share (demand, aspects): the sentences, storing them
so predictions join their review in the store's queries, and the review around a sentence for
annotators. (A leading underscore: not a task module, the scan skips it.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from core.demand_rules import split_review_sentences
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context


def review_sentences(ctx: Context, shop_id: str) -> pd.DataFrame:
    """``target_id``, ``text``, ``review_id``, ``position`` and ``rating`` (the review's stars,
    missing when it has none) of every review sentence."""
    return split_review_sentences(text_repo.reviews(ctx.store, shop_id))


def store_sentences(ctx: Context, shop_id: str) -> pd.DataFrame:
    """Store the shop's review sentences (before scoring them) and return them."""
    sentences = review_sentences(ctx, shop_id)
    text_repo.save_sentences(ctx.store, shop_id,
                             sentences.rename(columns={"target_id": "sentence_id"}))  # fmt: skip
    return sentences


def with_review_context(ctx: Context, shop_id: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Sentence rows for annotators with their review's context (product, rating, the review)."""
    rows = rows.drop(columns=["rating"], errors="ignore")  # the context carries it
    rows = rows.merge(text_repo.review_context(ctx.store, shop_id), on="review_id", how="left")
    return rows.drop(columns=["review_id", "position"])
