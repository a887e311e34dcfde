"""Text-side data for the pages: predictions joined to their texts, cached by store version."""

from __future__ import annotations

import pandas as pd

from app.ui.context import Filters, cached
from app.ui.metrics import confidence
from core.tasks import get_task
from db import dashboard_queries as dq
from db.store import Store

TRAIN_HINT = "`shoplens train {task}` (trains a model and scores the shop's rows)"


def demand_sentences(store: Store, shop_id: str) -> pd.DataFrame:
    """Every review sentence of the shop: ``target_id`` (review_id:n), ``text``, ``review_id``."""
    return get_task("demand").load_texts(store, shop_id)


def reviews_scored(
    store: Store, f: Filters, strict: bool = False, previous: bool = False
) -> pd.DataFrame:
    """Sentiment predictions of the reviews in the filters' period (or the previous one), with a
    ``confidence`` column."""
    start, end = dq.previous_period(f.start, f.end) if previous else (f.start, f.end)
    df = cached(
        dq.review_predictions,
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
    df = cached(dq.message_predictions, store, shop_id=f.shop_id, start=start, end=end, strict=True)
    return df.assign(confidence=confidence(df["probs"])) if len(df) else df


def sentences_scored(
    store: Store, f: Filters, previous: bool = False, strict: bool = True
) -> pd.DataFrame:
    """Demand predictions of review sentences in the period, with the sentence text."""
    start, end = dq.previous_period(f.start, f.end) if previous else (f.start, f.end)
    df = cached(
        dq.sentence_predictions,
        store,
        shop_id=f.shop_id,
        start=start,
        end=end,
        category=f.category,
        strict=strict,
    )
    if df.empty:
        return df.assign(text=pd.Series(dtype=str))
    texts = cached(demand_sentences, store, shop_id=f.shop_id)[["target_id", "text"]]
    return df.merge(texts, on="target_id", how="left")


def has_predictions(store: Store, shop_id: str, task: str) -> bool:
    """Whether any model version has scored this task in the shop."""
    return cached(dq.latest_version, store, shop_id=shop_id, task=task) is not None
