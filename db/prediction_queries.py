"""Model-side queries the dashboard needs: predictions with their texts, labels, annotators and
model versions.

Every query is parameterised SQL over the store; "the newest version" of a task is the model
version with the newest predictions in the shop (:func:`latest_version`). Dates are
``datetime.date`` values and a period is ``[start, end]`` inclusive of both days.

    >>> reviews = review_predictions(store, "sample", start=date(2017, 11, 27), end=date(2017, 12, 3))
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pandas as pd

from db.dashboard_queries import period_bounds
from db.store import Store


def latest_version(store: Store, shop_id: str, task: str) -> str | None:
    """The model version with the newest predictions for the task in this shop (or ``None``)."""
    sql = """SELECT model_version FROM predictions WHERE shop_id = ? AND task = ?
             GROUP BY 1 ORDER BY max(created_at) DESC, 1 DESC LIMIT 1"""
    with store.read() as con:
        row = con.execute(sql, [shop_id, task]).fetchone()
    return row[0] if row else None


def _text_filter(
    alias: str,
    start: date | None,
    end: date | None,
    strict: bool,
    category: str | None = None,
    by_category: bool = True,
) -> tuple[str, list[Any]]:
    """A condition on texts (table alias ``alias``) and its parameters: dated in the period
    (``strict``: only those; otherwise undated texts are kept too) and, with ``by_category``, of
    the category's items (``items`` joined as ``i``; ``None`` keeps every category)."""
    undated = "FALSE" if strict else f"{alias}.ts IS NULL"
    sql = f"(CAST(? AS TIMESTAMP) IS NULL OR {undated} OR ({alias}.ts >= ? AND {alias}.ts < ?))"
    if start is None or end is None:
        params: list[Any] = [None, None, None]
    else:
        lo, hi = period_bounds(start, end)
        params = [lo, lo, hi]
    if by_category:
        sql += " AND (CAST(? AS VARCHAR) IS NULL OR i.category = ?)"
        params += [category, category]
    return sql, params


def review_predictions(
    store: Store,
    shop_id: str,
    task: str = "sentiment",
    version: str | None = None,
    start: date | None = None,
    end: date | None = None,
    category: str | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Reviews with their item, category and a model version's prediction (default: the newest).

    Columns: review_id, item_id, title, category, rating, text, ts, label, probs (JSON text).
    Reviews without a prediction of that version are left out.
    """
    texts, text_params = _text_filter("r", start, end, strict, category)
    sql = f"""
    SELECT r.review_id, r.item_id, coalesce(i.title, r.item_id) AS title,
           coalesce(i.category, '(none)') AS category, r.rating, r.text, r.ts,
           p.label, CAST(p.probs AS VARCHAR) AS probs
    FROM reviews r
    JOIN predictions p ON p.shop_id = r.shop_id AND p.task = ? AND p.target_id = r.review_id
         AND p.model_version = ?
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE r.shop_id = ? AND {texts}
    ORDER BY r.review_id
    """
    version = version or latest_version(store, shop_id, task)
    return store.query_df(sql, [task, version, shop_id, *text_params])


def message_predictions(
    store: Store,
    shop_id: str,
    task: str = "intent",
    version: str | None = None,
    start: date | None = None,
    end: date | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Messages with a model version's prediction (default: the newest).

    Columns: message_id, user_id, channel, text, ts, label, probs (JSON text).
    """
    texts, text_params = _text_filter("m", start, end, strict, by_category=False)
    sql = f"""
    SELECT m.message_id, m.user_id, m.channel, m.text, m.ts, p.label,
           CAST(p.probs AS VARCHAR) AS probs
    FROM messages m
    JOIN predictions p ON p.shop_id = m.shop_id AND p.task = ? AND p.target_id = m.message_id
         AND p.model_version = ?
    WHERE m.shop_id = ? AND {texts}
    ORDER BY m.message_id
    """
    version = version or latest_version(store, shop_id, task)
    return store.query_df(sql, [task, version, shop_id, *text_params])


def task_predictions(
    store: Store, shop_id: str, task: str, version: str | None = None
) -> pd.DataFrame:
    """Every prediction of a model version (default: the newest) for the task: target_id, label,
    probs (JSON text), entropy, margin."""
    version = version or latest_version(store, shop_id, task)
    sql = """SELECT target_id, label, CAST(probs AS VARCHAR) AS probs, entropy, margin
             FROM predictions WHERE shop_id = ? AND task = ? AND model_version = ?
             ORDER BY target_id"""
    return store.query_df(sql, [shop_id, task, version])


def best_labels(store: Store, shop_id: str | None, task: str) -> pd.DataFrame:
    """One label per row of the task, preferring human over rule over derived (newest first).

    ``shop_id=None`` takes every shop. Columns: shop_id, target_id, label, source.
    """
    sql = """
    SELECT shop_id, target_id, label, source FROM labels
    WHERE task = ? AND (CAST(? AS VARCHAR) IS NULL OR shop_id = ?)
    QUALIFY row_number() OVER (PARTITION BY shop_id, target_id ORDER BY
        CASE source WHEN 'human' THEN 0 WHEN 'rule' THEN 1 ELSE 2 END, created_at DESC) = 1
    ORDER BY shop_id, target_id
    """
    return store.query_df(sql, [task, shop_id, shop_id])


def model_test_pairs(store: Store, task: str, version: str) -> pd.DataFrame:
    """Predictions of a version next to the best label of each row of the fixed test split.

    Columns: target_id, label (true), predicted, probs (JSON text). Used for the confusion
    matrix and the calibration plot.
    """
    sql = """
    WITH l AS (
        SELECT shop_id, target_id, label FROM labels WHERE task = ?
        QUALIFY row_number() OVER (PARTITION BY shop_id, target_id ORDER BY
            CASE source WHEN 'human' THEN 0 WHEN 'rule' THEN 1 ELSE 2 END, created_at DESC) = 1)
    SELECT p.target_id, l.label, p.label AS predicted, CAST(p.probs AS VARCHAR) AS probs
    FROM predictions p
    JOIN l ON l.shop_id = p.shop_id AND l.target_id = p.target_id
    JOIN data_splits s ON s.shop_id = p.shop_id AND s.task = p.task AND s.target_id = p.target_id
    WHERE p.task = ? AND p.model_version = ? AND s.split = 'test'
    ORDER BY p.target_id
    """
    return store.query_df(sql, [task, task, version])


def model_versions(store: Store, task: str) -> pd.DataFrame:
    """The registry mirror for one task: version, created_at, metrics (JSON text), active flag."""
    sql = """SELECT version, base_model, created_at, CAST(metrics AS VARCHAR) AS metrics,
                    train_seconds, is_active
             FROM model_versions WHERE task = ? ORDER BY created_at DESC, version DESC"""
    return store.query_df(sql, [task])


def queue_counts(store: Store, shop_id: str, task: str) -> dict[str, int]:
    """Rows of the labelling queue by status (pending, queued, labelled) for one task."""
    sql = """SELECT status, count(*) FROM label_queue WHERE shop_id = ? AND task = ?
             GROUP BY 1"""
    with store.read() as con:
        rows = con.execute(sql, [shop_id, task]).fetchall()
    counts = {"pending": 0, "queued": 0, "labelled": 0}
    counts.update({status: int(n) for status, n in rows})
    return counts


def uncertain_waiting(store: Store, shop_id: str, task: str, max_margin: float = 0.2) -> int:
    """Rows whose newest prediction is unsure (margin below ``max_margin``), not yet queued and
    without a human label."""
    sql = """
    SELECT count(*) FROM predictions p
    WHERE p.shop_id = ? AND p.task = ? AND p.margin < ?
      AND p.model_version = (SELECT model_version FROM predictions WHERE shop_id = ? AND task = ?
                             GROUP BY 1 ORDER BY max(created_at) DESC, 1 DESC LIMIT 1)
      AND NOT EXISTS (SELECT 1 FROM label_queue q WHERE q.shop_id = p.shop_id
                      AND q.task = p.task AND q.target_id = p.target_id)
      AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.shop_id = p.shop_id AND l.task = p.task
                      AND l.target_id = p.target_id AND l.source = 'human')
    """
    with store.read() as con:
        return int(con.execute(sql, [shop_id, task, max_margin, shop_id, task]).fetchone()[0])


def annotator_stats(store: Store, shop_id: str, task: str) -> pd.DataFrame:
    """Per annotator: annotations, skipped, mean seconds per annotation, agreement with the model.

    Agreement with the model is the share of answered annotations whose label equals the model's
    label at the time (``model_label``).
    """
    sql = """
    SELECT coalesce(annotator, '(unknown)') AS annotator,
           count(*) FILTER (WHERE label IS NOT NULL) AS annotations,
           count(*) FILTER (WHERE label IS NULL OR was_cancelled) AS skipped,
           round(avg(lead_time_s), 1) AS mean_seconds,
           avg(CASE WHEN label = model_label THEN 1.0 ELSE 0.0 END)
               FILTER (WHERE label IS NOT NULL AND model_label IS NOT NULL) AS model_agreement
    FROM annotations WHERE shop_id = ? AND task = ? AND NOT deleted
    GROUP BY 1 ORDER BY annotations DESC, annotator
    """
    return store.query_df(sql, [shop_id, task])


def annotator_agreement(store: Store, shop_id: str, task: str) -> float | None:
    """Pairwise agreement between annotators on rows answered by more than one person
    (share of agreeing pairs), or ``None`` when no row has two answers."""
    sql = """
    WITH a AS (SELECT target_id, annotator, label FROM annotations
               WHERE shop_id = ? AND task = ? AND NOT deleted AND label IS NOT NULL)
    SELECT avg(CASE WHEN x.label = y.label THEN 1.0 ELSE 0.0 END)
    FROM a x JOIN a y ON x.target_id = y.target_id AND x.annotator < y.annotator
    """
    with store.read() as con:
        value = con.execute(sql, [shop_id, task]).fetchone()[0]
    return None if value is None else float(value)


def sentence_predictions(
    store: Store,
    shop_id: str,
    task: str = "demand",
    version: str | None = None,
    start: date | None = None,
    end: date | None = None,
    category: str | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Predictions on review sentences (target ids ``<review_id>:<n>``) with their review's item,
    category, rating and date. Columns: target_id, review_id, item_id, title, category, rating,
    ts, label, probs (JSON text)."""
    texts, text_params = _text_filter("r", start, end, strict, category)
    sql = f"""
    WITH p AS (
        SELECT target_id, regexp_replace(target_id, ':[0-9]+$', '') AS review_id, label,
               CAST(probs AS VARCHAR) AS probs
        FROM predictions WHERE shop_id = ? AND task = ? AND model_version = ?)
    SELECT p.target_id, p.review_id, r.item_id, coalesce(i.title, r.item_id) AS title,
           coalesce(i.category, '(none)') AS category, r.rating, r.ts, p.label, p.probs
    FROM p JOIN reviews r ON r.shop_id = ? AND r.review_id = p.review_id
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE {texts}
    ORDER BY p.target_id
    """
    version = version or latest_version(store, shop_id, task)
    return store.query_df(sql, [shop_id, task, version, shop_id, *text_params])


def risk_flags(store: Store, shop_id: str, limit: int = 50) -> pd.DataFrame:
    """Users or sessions the risk model flagged, strangest first, with its plain reason.

    Columns: level (user | session), id, score, reason.
    """
    sql = """
    SELECT CASE WHEN starts_with(target_id, 'session:') THEN 'session' ELSE 'user' END AS level,
           regexp_replace(target_id, '^(user|session):', '') AS id,
           round(CAST(probs->>'$.anomalous' AS DOUBLE), 3) AS score,
           coalesce(probs->>'$.reason', '') AS reason
    FROM predictions
    WHERE shop_id = ? AND task = 'risk' AND label = 'anomalous' AND model_version = (
        SELECT model_version FROM predictions WHERE shop_id = ? AND task = 'risk'
        GROUP BY 1 ORDER BY max(created_at) DESC, 1 DESC LIMIT 1)
    ORDER BY score DESC, id LIMIT ?
    """
    return store.query_df(sql, [shop_id, shop_id, limit])


def review_texts(
    store: Store,
    shop_id: str,
    start: date | None = None,
    end: date | None = None,
    category: str | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """``review_id, text`` of the shop's reviews in the period (and category), by id."""
    texts, text_params = _text_filter("r", start, end, strict, category)
    sql = f"""
    SELECT r.review_id, r.text FROM reviews r
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE r.shop_id = ? AND {texts}
    ORDER BY r.review_id
    """
    return store.query_df(sql, [shop_id, *text_params])


def probability_histogram(
    store: Store, shop_id: str, task: str, label: str, bins: int = 20, two_class: bool = False
) -> pd.DataFrame:
    """How the newest version's probability of ``label`` spreads over ``bins`` equal bins of
    [0, 1], counted in the database (no per-row transfer). Columns: low, high, rows.

    ``two_class``: the task has two classes and each row's label is its more probable class
    (true of every model scored by :mod:`core.inference`; not of ``risk``, whose label is the
    anomaly detector's flag). Then p(label) is ``(1 + margin) / 2`` on rows predicted as
    ``label`` and ``(1 - margin) / 2`` on the others, which spares parsing one JSON document per
    row: about 10x faster on 1.7M scored sessions.
    """
    version = latest_version(store, shop_id, task)
    if two_class:
        value = "CASE WHEN label = $label THEN (1 + margin) / 2 ELSE (1 - margin) / 2 END"
    else:
        if not re.fullmatch(r"[A-Za-z0-9_]+", label):
            raise ValueError(f"label {label!r}: letters, digits and underscores only")
        # a constant JSON path (the label is checked above) parses faster than a computed one
        value = f"CAST(probs->>'$.{label}' AS DOUBLE)"
    sql = f"""
    WITH p AS (SELECT least(CAST(floor({value} * $bins) AS INTEGER), $bins - 1) AS b
               FROM predictions
               WHERE shop_id = $shop AND task = $task AND model_version = $version)
    SELECT b, count(*) AS rows FROM p WHERE b IS NOT NULL GROUP BY b ORDER BY b
    """
    params = {"bins": bins, "shop": shop_id, "task": task, "version": version}
    if two_class:
        params["label"] = label
    df = store.query_df(sql, params)
    full = pd.DataFrame({"b": range(bins)}).merge(df, on="b", how="left").fillna({"rows": 0})
    return pd.DataFrame(
        {"low": full["b"] / bins, "high": (full["b"] + 1) / bins, "rows": full["rows"].astype(int)}
    )
