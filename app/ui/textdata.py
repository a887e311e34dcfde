"""Text-side data for the pages: predictions joined to their texts, cached by store version."""

from __future__ import annotations

from datetime import date

import pandas as pd

from app.ui.context import Filters, cached
from app.ui.metrics import NEED_LABELS, confidence
from app.ui.needs import name_needs
from db import dashboard_queries as dq
from db import prediction_queries as pq
from db.store import Store

TRAIN_HINT = (
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
    the sentence texts (:func:`named_needs` brings texts where they are shown)."""
    start, end = dq.previous_period(f.start, f.end) if previous else (f.start, f.end)
    return cached(pq.sentence_predictions, store, shop_id=f.shop_id, start=start, end=end,
                  category=f.category, strict=strict)  # fmt: skip


def has_predictions(store: Store, shop_id: str, task: str) -> bool:
    """Whether the shop's active version of the task has scored any row."""
    return cached(pq.scored_count, store, shop_id=shop_id, task=task) > 0


def named_needs(
    store: Store,
    shop_id: str,
    start: date,
    end: date,
    category: str | None = None,
    kinds: tuple[str, ...] = NEED_LABELS,
    quotes: int = 3,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The period's need sentences (predicted as one of ``kinds``) grouped into named needs
    (:func:`app.ui.needs.name_needs`); call it through :func:`cached`, clustering takes a while."""
    predicted = cached(pq.sentence_predictions, store, shop_id=shop_id, start=start, end=end,
                       category=category, strict=True)  # fmt: skip
    wanted = predicted[predicted["label"].isin(kinds)]
    texts = pq.sentence_texts(store, shop_id, wanted["target_id"].tolist())
    return name_needs(wanted[["target_id"]].merge(texts, on="target_id"), quotes=quotes)
