"""Model-side queries the dashboard needs: predictions with their texts, labels, annotators.

Every query reads the predictions of the shop's **active** version of a task (the one stored
pointer, ``active_models``), unless a ``version`` is given; after a rollback every page shows the
rolled-back-to version's predictions. Dates are ``datetime.date`` values and a period is
``[start, end]`` inclusive of both days. Parameters are named.

    >>> reviews = review_predictions(store, "sample", start=date(2017, 11, 27), end=date(2017, 12, 3))
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from db.dashboard_queries import period_bounds
from db.repo.labels import best_labels_cte
from db.store import Store

# the version a query reads: the given one, else the shop's active one
_VERSION = """coalesce(CAST($version AS VARCHAR), (SELECT a.version FROM active_models a
                    WHERE a.shop_id = $shop AND a.task = $task))"""


def _text_filter(alias: str, start: date | None, end: date | None, strict: bool,
                 category: str | None = None, by_category: bool = True,
                 ) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """A condition on texts (table alias ``alias``) and its named parameters: dated in the
    period (``strict``: only those; otherwise undated texts are kept too) and, with
    ``by_category``, of the category's items (``items`` joined as ``i``; ``None``: any)."""
    undated = "FALSE" if strict else f"{alias}.ts IS NULL"
    sql = (
        f"(CAST($lo AS TIMESTAMP) IS NULL OR {undated} OR ({alias}.ts >= $lo AND {alias}.ts < $hi))"
    )
    lo, hi = period_bounds(start, end) if start is not None and end is not None else (None, None)
    params: dict[str, Any] = {"lo": lo, "hi": hi}
    if by_category:
        sql += " AND (CAST($category AS VARCHAR) IS NULL OR i.category = $category)"
        params["category"] = category
    return sql, params


def _params(shop_id: str, task: str, version: str | None, **more: Any) -> dict[str, Any]:
    return {"shop": shop_id, "task": task, "version": version, **more}


def review_predictions(store: Store, shop_id: str, task: str = "sentiment",
                       version: str | None = None, start: date | None = None,
                       end: date | None = None, category: str | None = None,
                       strict: bool = False) -> pd.DataFrame:  # fmt: skip
    """Reviews with their item, category and the version's prediction (default: active).
    Columns: review_id, item_id, title, category, rating, text, ts, label, probs (JSON text),
    model_version. Reviews the version has not scored are left out."""
    texts, text_params = _text_filter("r", start, end, strict, category)
    sql = f"""
    SELECT r.review_id, r.item_id, coalesce(i.title, r.item_id) AS title,
           coalesce(i.category, '(none)') AS category, r.rating, r.text, r.ts,
           p.label, CAST(p.probs AS VARCHAR) AS probs, p.model_version
    FROM reviews r
    JOIN predictions p ON p.shop_id = r.shop_id AND p.task = $task AND p.target_id = r.review_id
         AND p.model_version = {_VERSION}
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE r.shop_id = $shop AND {texts}
    ORDER BY r.review_id
    """
    return store.query_df(sql, _params(shop_id, task, version, **text_params))


def message_predictions(store: Store, shop_id: str, task: str = "intent",
                        version: str | None = None, start: date | None = None,
                        end: date | None = None, strict: bool = False) -> pd.DataFrame:  # fmt: skip
    """Messages with the version's prediction (default: active).
    Columns: message_id, user_id, channel, text, ts, label, probs (JSON text)."""
    texts, text_params = _text_filter("m", start, end, strict, by_category=False)
    sql = f"""
    SELECT m.message_id, m.user_id, m.channel, m.text, m.ts, p.label,
           CAST(p.probs AS VARCHAR) AS probs
    FROM messages m
    JOIN predictions p ON p.shop_id = m.shop_id AND p.task = $task AND p.target_id = m.message_id
         AND p.model_version = {_VERSION}
    WHERE m.shop_id = $shop AND {texts}
    ORDER BY m.message_id
    """
    return store.query_df(sql, _params(shop_id, task, version, **text_params))


def sentence_predictions(store: Store, shop_id: str, task: str = "demand",
                         version: str | None = None, start: date | None = None,
                         end: date | None = None, category: str | None = None,
                         strict: bool = False) -> pd.DataFrame:  # fmt: skip
    """Predictions on review sentences with their review's item, category, rating and date.
    Columns: target_id, review_id, user_id, item_id, title, category, rating, ts, label, probs."""
    texts, text_params = _text_filter("r", start, end, strict, category)
    sql = f"""
    SELECT p.target_id, s.review_id, r.user_id, r.item_id, coalesce(i.title, r.item_id) AS title,
           coalesce(i.category, '(none)') AS category, r.rating, r.ts, p.label,
           CAST(p.probs AS VARCHAR) AS probs
    FROM predictions p
    JOIN review_sentences s ON s.shop_id = p.shop_id AND s.sentence_id = p.target_id
    JOIN reviews r ON r.shop_id = s.shop_id AND r.review_id = s.review_id
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE p.shop_id = $shop AND p.task = $task AND p.model_version = {_VERSION} AND {texts}
    ORDER BY p.target_id
    """
    return store.query_df(sql, _params(shop_id, task, version, **text_params))


def sentence_texts(store: Store, shop_id: str, sentence_ids: Sequence[str]) -> pd.DataFrame:
    """``target_id, text, review_id`` of stored review sentences."""
    return store.query_df(
        "SELECT sentence_id AS target_id, text, review_id FROM review_sentences "
        "WHERE shop_id = $shop AND sentence_id IN (SELECT unnest($ids::VARCHAR[])) "
        "ORDER BY sentence_id",
        {"shop": shop_id, "ids": list(sentence_ids)},
    )


def need_memberships(store: Store, shop_id: str, sentence_ids: Sequence[str],
                     task: str = "demand", version: str | None = None) -> pd.DataFrame:  # fmt: skip
    """The stored need of each given sentence under the demand version (default: active):
    ``target_id, need_id, name, similarity, informative``; sentences the version's grouping
    did not see are left out."""
    sql = f"""SELECT m.target_id, m.need_id, g.name, m.similarity, m.informative
              FROM need_members m JOIN need_groups g ON g.shop_id = m.shop_id
                   AND g.model_version = m.model_version AND g.need_id = m.need_id
              WHERE m.shop_id = $shop AND m.model_version = {_VERSION}
                AND m.target_id IN (SELECT unnest($ids::VARCHAR[]))
              ORDER BY m.target_id"""
    return store.query_df(sql, _params(shop_id, task, version, ids=list(sentence_ids)))


def task_predictions(store: Store, shop_id: str, task: str,
                     version: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Every prediction of the version (default: active): target_id, label, probs, entropy,
    margin, reason."""
    sql = f"""SELECT target_id, label, CAST(probs AS VARCHAR) AS probs, entropy, margin, reason
              FROM predictions WHERE shop_id = $shop AND task = $task
              AND model_version = {_VERSION} ORDER BY target_id"""
    return store.query_df(sql, _params(shop_id, task, version))


def scored_count(store: Store, shop_id: str, task: str, version: str | None = None) -> int:
    """How many rows the version (default: active) has scored in the shop."""
    sql = f"""SELECT count(*) FROM predictions WHERE shop_id = $shop AND task = $task
              AND model_version = {_VERSION}"""
    with store.read() as con:
        row = con.execute(sql, _params(shop_id, task, version)).fetchone()
    return int(row[0]) if row else 0


def model_test_pairs(store: Store, shop_id: str, task: str, version: str) -> pd.DataFrame:
    """Predictions of a version next to the best label of each row of the shop's fixed test
    split. Columns: target_id, label (true), predicted, probs (JSON text)."""
    sql = f"""
    WITH {best_labels_cte("l")}
    SELECT p.target_id, l.label, p.label AS predicted, CAST(p.probs AS VARCHAR) AS probs
    FROM predictions p
    JOIN l ON l.shop_id = p.shop_id AND l.task = p.task AND l.target_id = p.target_id
    JOIN data_splits s ON s.shop_id = p.shop_id AND s.task = p.task AND s.target_id = p.target_id
    WHERE p.shop_id = $shop AND p.task = $task AND p.model_version = $version AND s.split = 'test'
    ORDER BY p.target_id
    """
    return store.query_df(sql, _params(shop_id, task, version))


def uncertain_waiting(store: Store, shop_id: str, task: str, max_margin: float = 0.2) -> int:
    """Rows whose active version's prediction is unsure (margin below ``max_margin``), not yet
    queued and without a human label."""
    sql = f"""
    SELECT count(*) FROM predictions p
    WHERE p.shop_id = $shop AND p.task = $task AND p.margin < $max_margin
      AND p.model_version = {_VERSION}
      AND NOT EXISTS (SELECT 1 FROM label_queue q WHERE q.shop_id = p.shop_id
                      AND q.task = p.task AND q.target_id = p.target_id)
      AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.shop_id = p.shop_id AND l.task = p.task
                      AND l.target_id = p.target_id AND l.source = 'human')
    """
    with store.read() as con:
        row = con.execute(sql, _params(shop_id, task, None, max_margin=max_margin)).fetchone()
    return int(row[0]) if row else 0


def annotator_stats(store: Store, shop_id: str, task: str) -> pd.DataFrame:
    """Per annotator: annotations, skipped, mean seconds per annotation, and the share of
    answered annotations whose label equals the model's label at the time."""
    sql = """
    SELECT coalesce(annotator, '(unknown)') AS annotator,
           count(*) FILTER (WHERE label IS NOT NULL) AS annotations,
           count(*) FILTER (WHERE label IS NULL OR was_cancelled) AS skipped,
           round(avg(lead_time_s), 1) AS mean_seconds,
           avg(CASE WHEN label = model_label THEN 1.0 ELSE 0.0 END)
               FILTER (WHERE label IS NOT NULL AND model_label IS NOT NULL) AS model_agreement
    FROM annotations WHERE shop_id = $shop AND task = $task AND NOT deleted
    GROUP BY 1 ORDER BY annotations DESC, annotator
    """
    return store.query_df(sql, {"shop": shop_id, "task": task})


def annotator_agreement(store: Store, shop_id: str, task: str) -> float | None:
    """Pairwise agreement between annotators on rows answered by more than one person
    (share of agreeing pairs), or ``None`` when no row has two answers."""
    sql = """
    WITH a AS (SELECT target_id, annotator, label FROM annotations
               WHERE shop_id = $shop AND task = $task AND NOT deleted AND label IS NOT NULL)
    SELECT avg(CASE WHEN x.label = y.label THEN 1.0 ELSE 0.0 END)
    FROM a x JOIN a y ON x.target_id = y.target_id AND x.annotator < y.annotator
    """
    with store.read() as con:
        row = con.execute(sql, {"shop": shop_id, "task": task}).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def risk_flags(store: Store, shop_id: str, task: str = "risk", limit: int = 50) -> pd.DataFrame:
    """Shoppers the active anomaly model flagged, strangest first, with its reason.
    Columns: user_id, score, reason."""
    sql = f"""
    SELECT target_id AS user_id, round(CAST(probs->>'$.anomalous' AS DOUBLE), 3) AS score,
           coalesce(reason, '') AS reason
    FROM predictions
    WHERE shop_id = $shop AND task = $task AND label = 'anomalous' AND model_version = {_VERSION}
    ORDER BY score DESC, user_id LIMIT $limit
    """
    return store.query_df(sql, _params(shop_id, task, None, limit=limit))


def forecast_extremes(store: Store, shop_id: str, task: str, label: str, limit: int = 10,
                      highest: bool = True) -> pd.DataFrame:  # fmt: skip
    """The shoppers with the highest (or lowest) forecast probability of ``label`` from the
    task's active version, with its drivers. Columns: user_id, probability, reason."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", label):
        raise ValueError(f"label {label!r}: letters, digits and underscores only")
    order = "DESC" if highest else "ASC"
    sql = f"""
    SELECT target_id AS user_id, round(CAST(probs->>'$.{label}' AS DOUBLE), 3) AS probability,
           coalesce(reason, '') AS reason
    FROM predictions
    WHERE shop_id = $shop AND task = $task AND model_version = {_VERSION}
    ORDER BY probability {order}, user_id LIMIT $limit
    """
    return store.query_df(sql, _params(shop_id, task, None, limit=limit))


def review_texts(store: Store, shop_id: str, start: date | None = None, end: date | None = None,
                 category: str | None = None, strict: bool = False) -> pd.DataFrame:  # fmt: skip
    """``review_id, text`` of the shop's reviews in the period (and category), by id."""
    texts, text_params = _text_filter("r", start, end, strict, category)
    sql = f"""
    SELECT r.review_id, r.text FROM reviews r
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE r.shop_id = $shop AND {texts}
    ORDER BY r.review_id
    """
    return store.query_df(sql, {"shop": shop_id, **text_params})


# the bins of the spreads scoring keeps (``prediction_spreads``)
SPREAD_BINS = 20


def spread_sql(two_class: bool, label: str) -> str:
    """SQL counting the rows of ``$version``'s predictions of ``$task`` (the active version when
    NULL) per bin of the probability of ``label`` (bound as $label when ``two_class``) over
    ``$bins`` equal bins of [0, 1]: columns ``b`` and ``rows``, bins without rows left out."""
    if two_class:
        value = "CASE WHEN label = $label THEN (1 + margin) / 2 ELSE (1 - margin) / 2 END"
    else:
        if not re.fullmatch(r"[A-Za-z0-9_]+", label):
            raise ValueError(f"label {label!r}: letters, digits and underscores only")
        # a constant JSON path (the label is checked above) parses faster than a computed one
        value = f"CAST(probs->>'$.{label}' AS DOUBLE)"
    return f"""
    WITH p AS (SELECT least(CAST(floor({value} * $bins) AS INTEGER), $bins - 1) AS b
               FROM predictions
               WHERE shop_id = $shop AND task = $task AND model_version = {_VERSION})
    SELECT b, count(*) AS rows FROM p WHERE b IS NOT NULL GROUP BY b ORDER BY b
    """


def probability_histogram(store: Store, shop_id: str, task: str, label: str, bins: int = 20,
                          two_class: bool = False) -> pd.DataFrame:  # fmt: skip
    """How the active version's probability of ``label`` spreads over ``bins`` equal bins of
    [0, 1], counted in the database (no per-row transfer). Columns: low, high, rows.

    ``two_class``: the task has two classes and each row's label is its more probable class.
    Then p(label) is ``(1 + margin) / 2`` on rows predicted as ``label`` and ``(1 - margin) / 2``
    on the others, which spares parsing one JSON document per row (about 10x faster on 1.7M
    scored sessions); and the spread that scoring kept (``prediction_spreads``, the same counts)
    is read when there is one, instead of every prediction (17M scored sessions: 0.25 s).
    """
    params = _params(shop_id, task, None, bins=bins)
    if two_class:
        params["label"] = label
    df = pd.DataFrame()
    if two_class and bins == SPREAD_BINS:
        df = store.query_df(
            "SELECT bucket AS b, rows FROM prediction_spreads WHERE shop_id = $shop "
            f"AND task = $task AND label = $label AND model_version = {_VERSION} ORDER BY b",
            {k: params[k] for k in ("shop", "task", "label", "version")},
        )
    if df.empty:
        df = store.query_df(spread_sql(two_class, label), params)
    full = pd.DataFrame({"b": range(bins)}).merge(df, on="b", how="left").fillna({"rows": 0})
    return pd.DataFrame(
        {"low": full["b"] / bins, "high": (full["b"] + 1) / bins, "rows": full["rows"].astype(int)}
    )
