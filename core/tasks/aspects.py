"""Aspects of review sentences: what shoppers say about fit, fabric, colour, quality… and how
they feel about each (rules until people label sentences, then a model that must beat them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from core.demand_rules import split_review_sentences
from core.kinds.aspect_sentiment import AspectSentimentTask
from core.kinds.base import Progress, register_task
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ScoringEngine


class ReviewAspects(AspectSentimentTask):
    """Review sentences: aspect → positive / negative / neutral."""

    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        return split_review_sentences(text_repo.reviews(ctx.store, shop_id))

    def score(self, ctx: Context, shop_id: str, version: str, engine: ScoringEngine,
              progress: Progress) -> int:  # fmt: skip
        sentences = self.load_texts(ctx, shop_id)
        # stored so the predictions join their review in the store's queries
        text_repo.save_sentences(ctx.store, shop_id,
                                 sentences.rename(columns={"target_id": "sentence_id"}))  # fmt: skip
        return super().score(ctx, shop_id, version, engine, progress)

    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: Sequence[str]) -> pd.DataFrame:
        rows = super().labelling_rows(ctx, shop_id, target_ids)
        context = text_repo.review_context(ctx.store, shop_id)
        rows = rows.merge(context, on="review_id", how="left")
        return rows.drop(columns=["review_id", "position"])


ASPECTS = register_task(ReviewAspects(
    "aspects",
    "Review sentences: the aspects they speak of (fit, fabric, colour…) and the writer's "
    "polarity on each (rules until humans label sentences).",
    pages=("sentiment", "explain"),
    order=20,
))  # fmt: skip
