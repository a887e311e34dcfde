"""Aspects of review sentences: what shoppers say about fit, fabric, colour, quality… and how
they feel about each (rules until people label sentences, then a model that must beat them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from core.kinds.aspect_sentiment import AspectSentimentTask
from core.kinds.base import Progress, register_task
from core.tasks._review_sentences import review_sentences, store_sentences, with_review_context

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ScoringEngine


class ReviewAspects(AspectSentimentTask):
    """Review sentences: aspect → positive / negative / neutral."""

    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        return review_sentences(ctx, shop_id)

    def score(self, ctx: Context, shop_id: str, version: str, engine: ScoringEngine,
              progress: Progress) -> int:  # fmt: skip
        store_sentences(ctx, shop_id)
        return super().score(ctx, shop_id, version, engine, progress)

    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: Sequence[str]) -> pd.DataFrame:
        return with_review_context(ctx, shop_id, super().labelling_rows(ctx, shop_id, target_ids))


ASPECTS = register_task(ReviewAspects(
    "aspects",
    "Review sentences: the aspects they speak of (fit, fabric, colour…) and the writer's "
    "polarity on each (rules until humans label sentences).",
    pages=("sentiment", "explain"),
    order=20,
))  # fmt: skip
