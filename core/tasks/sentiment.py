"""Sentiment of a review: negative / neutral / positive.

Until a person labels a review, its label comes from its stars (1-2 negative, 3 neutral, 4-5
positive; source ``derived``). The model reads the title and the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from core.kinds.base import register_task
from core.kinds.text_classification import TextClassificationTask
from db.repo import labels as label_repo
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context

SENTIMENT_LABELS = ("negative", "neutral", "positive")


def rating_to_sentiment(rating: float | None) -> str | None:
    """Star rating to sentiment: 1-2 negative, 3 neutral, 4-5 positive (None when unknown)."""
    if rating is None or pd.isna(rating):
        return None
    return "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"


def review_input(reviews: pd.DataFrame) -> pd.Series:
    """What the model reads of a review: ``title. text`` (the text alone without a title)."""
    title = reviews["title"].fillna("").str.strip()
    text = reviews["text"].fillna("")
    return title.where(title == "", title + ". ") + text


class ReviewSentiment(TextClassificationTask):
    """Reviews: how does the shopper feel?"""

    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        reviews = text_repo.reviews(ctx.store, shop_id)
        return pd.DataFrame({"target_id": reviews["review_id"], "text": review_input(reviews),
                             "language": reviews["language"]})  # fmt: skip

    def load_labels(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        reviews = text_repo.reviews(ctx.store, shop_id)
        derived = pd.DataFrame({"target_id": reviews["review_id"],
                                "label": reviews["rating"].map(rating_to_sentiment),
                                "source": "derived"}).dropna(subset=["label"])  # fmt: skip
        stored = label_repo.best_labels(ctx.store, shop_id, self.name)
        return label_repo.merge_labels([derived, stored])

    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: Sequence[str]) -> pd.DataFrame:
        rows = super().labelling_rows(ctx, shop_id, target_ids).drop(columns=["language"])
        context = text_repo.review_context(ctx.store, shop_id).drop(columns=["review"])
        return rows.merge(context.rename(columns={"review_id": "target_id"}), on="target_id",
                          how="left")  # fmt: skip


SENTIMENT = register_task(ReviewSentiment(
    "sentiment",
    "Reviews: negative / neutral / positive (from star ratings until a human labels them).",
    SENTIMENT_LABELS,
    pages=("overview", "sentiment", "segments", "explain"),
    order=10,
))  # fmt: skip
