"""Text-side data for the pages: predictions joined to their texts, cached by store version."""

from __future__ import annotations

import pandas as pd

from app.ui.context import Filters, cached
from app.ui.i18n import N_
from app.ui.metrics import confidence
from db import dashboard_queries as dq
from db import prediction_queries as pq
from db.store import Store

TRAIN_HINT = N_(
    "`shoplens train {task} --shop {shop}` then `shoplens score {task} --shop {shop}` "
    "(train a model, score the rows)"
)


def reviews_scored(
    store: Store, f: Filters, strict: bool = False, previous: bool = False
) -> pd.DataFrame:
    """Sentiment predictions of the reviews in the filters' period (or the previous one), with a
    ``confidence`` column."""
    start, end = dq.previous_period(f.start, f.end) if previous else (f.start, f.end)
    df = cached(
        pq.review_predictions,
        store,
        shop_id=f.shop_id,
        start=start,
        end=end,
        category=f.category,
        strict=strict,
    )
    return df.assign(confidence=confidence(df["probs"])) if len(df) else df


def messages_scored(store: Store, f: Filters, previous: bool = False) -> pd.DataFrame:
    """Intent predictions of the messages dated in the period (or the previous one)."""
    start, end = dq.previous_period(f.start, f.end) if previous else (f.start, f.end)
    df = cached(pq.message_predictions, store, shop_id=f.shop_id, start=start, end=end, strict=True)
    return df.assign(confidence=confidence(df["probs"])) if len(df) else df


def sentences_scored(
    store: Store, f: Filters, previous: bool = False, strict: bool = True
) -> pd.DataFrame:
    """Demand predictions of the review sentences in the period (or the previous one), without
    the sentence texts (:func:`core.text_insight.shop_needs` brings texts where they are shown)."""
    start, end = dq.previous_period(f.start, f.end) if previous else (f.start, f.end)
    return cached(pq.sentence_predictions, store, shop_id=f.shop_id, start=start, end=end,
                  category=f.category, strict=strict)  # fmt: skip


def has_predictions(store: Store, shop_id: str, task: str) -> bool:
    """Whether the shop's active version of the task has scored any row."""
    return cached(pq.scored_count, store, shop_id=shop_id, task=task) > 0
