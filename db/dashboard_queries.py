"""Analytics queries the dashboard needs beyond :mod:`db.queries`.

Every query is parameterised SQL over the store. The shopper *segment* filter is one of the fixed
keys of :data:`SEGMENTS`, each mapped to a constant SQL condition over a per-user aggregate of the
chosen period, so no user string ever becomes SQL. Dates are ``datetime.date`` values; a period is
``[start, end]`` inclusive of both days.

    >>> kpis = period_kpis(store, "sample", date(2017, 11, 27), date(2017, 12, 3))
    >>> sorted(kpis)[:3]
    ['aov', 'buyers', 'conversion']
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd

from db import rollups
from db.store import Store

# key -> (label shown to people, SQL condition over the per-user aggregate `u` of the period)
SEGMENTS: dict[str, tuple[str, str]] = {
    "all": ("All shoppers", "TRUE"),
    "buyers": ("Buyers", "u.purchases > 0"),
    "browsers": ("Browsers (no purchase)", "u.purchases = 0"),
    "cart_abandoners": ("Cart abandoners", "u.carts > 0 AND u.purchases = 0"),
    "new": ("New shoppers", "u.first_ever >= u.period_start"),
    "returning": ("Returning shoppers", "u.first_ever < u.period_start"),
}


def segment_condition(segment: str | None) -> str:
    """The constant SQL condition of a segment key; unknown keys are rejected."""
    key = segment or "all"
    if key not in SEGMENTS:
        raise ValueError(f"unknown segment {key!r}; choose one of {', '.join(SEGMENTS)}")
    return SEGMENTS[key][1]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time.min), datetime.combine(end + timedelta(days=1), time.min)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``start``."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def summaries_cover(store: Store, shop_id: str) -> bool:
    """Whether the summary tables (:mod:`db.rollups`) account for every event of the shop, so
    queries may read them instead of the whole log."""
    with store.read() as con:
        return rollups.covers_events(con, shop_id)


def _filtered_events_sql(segment: str | None, summaries: bool = False) -> str:
    """A CTE chain ``ev`` (events of the period, shop and category) restricted to the segment.

    Parameters, in order: shop, start, end, category, category, shop, start. With ``summaries``
    each shopper's first event comes from ``user_weeks`` instead of a scan of the whole log.
    """
    condition = segment_condition(segment)
    # Only new/returning need each user's first event over the whole log, and "all" needs no
    # per-user step at all; unused CTEs are never run.
    source = "user_weeks" if summaries else "events"
    first_ts = "first_ts" if summaries else "ts"
    needs_first = "first_ever" in condition
    first_join = "JOIN firsts f USING (user_id)" if needs_first else ""
    first_value = "any_value(f.first_ever)" if needs_first else "CAST(NULL AS TIMESTAMP)"
    ev = (
        "SELECT * FROM ev0"
        if condition == "TRUE"
        else "SELECT ev0.* FROM ev0 SEMI JOIN seg USING (user_id)"
    )
    return f"""
    WITH ev0 AS (
        SELECT * FROM events
        WHERE shop_id = ? AND ts >= ? AND ts < ? AND (CAST(? AS VARCHAR) IS NULL OR category = ?)
    ),
    firsts AS (
        SELECT user_id, min({first_ts}) AS first_ever FROM {source} WHERE shop_id = ?
        GROUP BY user_id
    ),
    u AS (
        SELECT ev0.user_id,
               count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
               count(*) FILTER (WHERE event_type = 'cart') AS carts,
               {first_value} AS first_ever,
               CAST(? AS TIMESTAMP) AS period_start
        FROM ev0 {first_join} GROUP BY ev0.user_id
    ),
    seg AS (SELECT user_id FROM u WHERE {condition}),
    ev AS ({ev})
    """


def _segment_sql(store: Store, shop_id: str, segment: str | None) -> str:
    """:func:`_filtered_events_sql`, taking first events from the summaries when they cover
    the shop (checked only for the segments that need first events)."""
    needs_first = "first_ever" in segment_condition(segment)
    return _filtered_events_sql(segment, needs_first and summaries_cover(store, shop_id))


def _params(shop_id: str, start: date, end: date, category: str | None) -> list[Any]:
    lo, hi = _bounds(start, end)
    return [shop_id, lo, hi, category, category, shop_id, lo]


def data_span(store: Store, shop_id: str) -> tuple[date | None, date | None]:
    """First and last day with any event, review or message of the shop."""
    summaries = summaries_cover(store, shop_id)
    events = (
        "SELECT day AS d FROM activity_daily WHERE shop_id = ? AND total"
        if summaries
        else "SELECT CAST(ts AS DATE) d FROM events WHERE shop_id = ?"
    )
    sql = f"""
    SELECT min(d), max(d) FROM (
        {events}
        UNION ALL SELECT CAST(ts AS DATE) FROM reviews WHERE shop_id = ?
        UNION ALL SELECT CAST(ts AS DATE) FROM messages WHERE shop_id = ?
    )"""
    with store.read() as con:
        lo, hi = con.execute(sql, [shop_id, shop_id, shop_id]).fetchone()
    return lo, hi


def shops(store: Store) -> list[str]:
    """Every shop id with a row in ``shops`` or any data, sorted."""
    sql = """
    SELECT shop_id FROM shops UNION SELECT DISTINCT shop_id FROM events
    UNION SELECT DISTINCT shop_id FROM reviews UNION SELECT DISTINCT shop_id FROM messages
    ORDER BY 1"""
    with store.read() as con:
        return [r[0] for r in con.execute(sql).fetchall()]


def categories(store: Store, shop_id: str) -> list[str]:
    """Categories seen in the shop's events and items, sorted."""
    sql = """
    SELECT DISTINCT category FROM events WHERE shop_id = ? AND category IS NOT NULL
    UNION SELECT DISTINCT category FROM items WHERE shop_id = ? AND category IS NOT NULL
    ORDER BY 1"""
    with store.read() as con:
        return [r[0] for r in con.execute(sql, [shop_id, shop_id]).fetchall()]


def period_kpis(
    store: Store,
    shop_id: str,
    start: date,
    end: date,
    category: str | None = None,
    segment: str | None = None,
) -> dict[str, float | None]:
    """Behaviour KPIs of one period: sessions, shoppers, buyers, conversion, orders, revenue, AOV.

    Conversion is buying sessions / sessions. AOV is revenue / orders and ``None`` when no
    purchased item has a price.
    """
    sql = (
        _segment_sql(store, shop_id, segment)
        + """
    -- grouped per session first: count(DISTINCT) straight over a million events is slow
    , s AS (
        SELECT session_id, user_id,
               count(*) FILTER (WHERE event_type = 'purchase') AS orders,
               sum(i.price) FILTER (WHERE event_type = 'purchase') AS revenue,
               count(i.price) FILTER (WHERE event_type = 'purchase') AS priced_orders
        FROM ev LEFT JOIN items i ON i.shop_id = ev.shop_id AND i.item_id = ev.item_id
        GROUP BY session_id, user_id)
    SELECT count(DISTINCT session_id) AS sessions,
           count(DISTINCT user_id) AS shoppers,
           count(DISTINCT user_id) FILTER (WHERE orders > 0) AS buyers,
           count(DISTINCT session_id) FILTER (WHERE orders > 0) AS buying_sessions,
           coalesce(sum(orders), 0) AS orders, sum(revenue) AS revenue,
           coalesce(sum(priced_orders), 0) AS priced_orders
    FROM s
    """
    )
    df = store.query_df(sql, _params(shop_id, start, end, category))
    row = df.iloc[0]
    sessions = int(row["sessions"])
    priced = int(row["priced_orders"] or 0)
    revenue = float(row["revenue"]) if priced else None
    return {
        "sessions": sessions,
        "shoppers": int(row["shoppers"]),
        "buyers": int(row["buyers"]),
        "orders": int(row["orders"]),
        "conversion": (int(row["buying_sessions"]) / sessions) if sessions else None,
        "revenue": revenue,
        "aov": (revenue / priced) if priced else None,
    }


def daily_traffic(
    store: Store,
    shop_id: str,
    start: date,
    end: date,
    category: str | None = None,
    segment: str | None = None,
) -> pd.DataFrame:
    """One row per day of the period: sessions, shoppers, buyers (days without events are 0).

    All shoppers: read from ``activity_daily`` when it covers the shop's events (the forecast
    asks for the whole history); a segment is defined per period, so it reads the events.
    """
    days = """SELECT CAST(d AS DATE) AS day FROM range(CAST(? AS DATE), CAST(? AS DATE) + 1,
              INTERVAL 1 DAY) t(d)"""
    if segment_condition(segment) == "TRUE" and summaries_cover(store, shop_id):
        sql = f"""
        WITH days AS ({days}),
        agg AS (SELECT day, sessions, shoppers, buyers FROM activity_daily
                WHERE shop_id = ? AND day >= ? AND day <= ?
                  AND CASE WHEN CAST(? AS VARCHAR) IS NULL THEN total
                           ELSE NOT total AND category = ? END)
        SELECT days.day, coalesce(sessions, 0) AS sessions, coalesce(shoppers, 0) AS shoppers,
               coalesce(buyers, 0) AS buyers
        FROM days LEFT JOIN agg USING (day) ORDER BY day
        """
        params = [start, end, shop_id, start, end, category, category]
        df = store.query_df(sql, params)
        df["day"] = pd.to_datetime(df["day"])
        return df
    sql = (
        _segment_sql(store, shop_id, segment)
        + """
    , days AS (SELECT CAST(d AS DATE) AS day FROM range(CAST(? AS DATE), CAST(? AS DATE) + 1,
               INTERVAL 1 DAY) t(d))
    , agg AS (
        SELECT CAST(ts AS DATE) AS day, count(DISTINCT session_id) AS sessions,
               count(DISTINCT user_id) AS shoppers,
               count(DISTINCT user_id) FILTER (WHERE event_type = 'purchase') AS buyers
        FROM ev GROUP BY 1)
    SELECT days.day, coalesce(sessions, 0) AS sessions, coalesce(shoppers, 0) AS shoppers,
           coalesce(buyers, 0) AS buyers
    FROM days LEFT JOIN agg USING (day) ORDER BY day
    """
    )
    df = store.query_df(sql, [*_params(shop_id, start, end, category), start, end])
    df["day"] = pd.to_datetime(df["day"])
    return df


def funnel_by(
    store: Store,
    shop_id: str,
    start: date,
    end: date,
    by: str = "category",
    category: str | None = None,
    segment: str | None = None,
    limit: int = 10,
) -> pd.DataFrame:
    """Sessions that viewed, carted and bought, per category (the busiest ``limit``) or in total.

    ``by`` is ``"category"`` or ``"total"``. A session counts at a stage when it has at least one
    event of that type in the group.
    """
    if by not in ("category", "total"):
        raise ValueError("by must be 'category' or 'total'")
    group = "coalesce(category, '(none)')" if by == "category" else "'all'"
    sql = (
        _segment_sql(store, shop_id, segment)
        + f"""
    , s AS (
        SELECT {group} AS grp, session_id,
               bool_or(event_type = 'view') AS viewed, bool_or(event_type = 'cart') AS carted,
               bool_or(event_type = 'purchase') AS bought
        FROM ev GROUP BY 1, 2)
    SELECT grp AS "group", count(*) FILTER (WHERE viewed) AS view,
           count(*) FILTER (WHERE carted) AS cart, count(*) FILTER (WHERE bought) AS purchase
    FROM s GROUP BY 1 ORDER BY view DESC, "group" LIMIT ?
    """
    )
    return store.query_df(sql, [*_params(shop_id, start, end, category), limit])


def top_items_period(
    store: Store,
    shop_id: str,
    start: date,
    end: date,
    category: str | None = None,
    segment: str | None = None,
    limit: int = 15,
) -> pd.DataFrame:
    """The most viewed items of the period with carts, purchases and view-to-purchase rate."""
    sql = (
        _segment_sql(store, shop_id, segment)
        + """
    SELECT ev.item_id, any_value(coalesce(i.title, '')) AS title,
           any_value(coalesce(ev.category, i.category)) AS category,
           count(*) FILTER (WHERE event_type = 'view') AS views,
           count(*) FILTER (WHERE event_type = 'cart') AS carts,
           count(*) FILTER (WHERE event_type = 'purchase') AS purchases
    FROM ev LEFT JOIN items i ON i.shop_id = ev.shop_id AND i.item_id = ev.item_id
    WHERE ev.item_id IS NOT NULL
    GROUP BY ev.item_id ORDER BY views DESC, purchases DESC, ev.item_id LIMIT ?
    """
    )
    df = store.query_df(sql, [*_params(shop_id, start, end, category), limit])
    df["purchase_rate"] = (df["purchases"] / df["views"].where(df["views"] > 0)).fillna(0.0)
    return df


def cohort_weeks(store: Store, shop_id: str, weeks: int = 8) -> pd.DataFrame:
    """Weekly cohorts (by first event) and the share of each cohort active N weeks later.

    Columns: cohort (week start), week (0..), users, active, retention.
    """
    active_weeks = (  # one row per shopper and week with an event
        "SELECT user_id, CAST(week AS TIMESTAMP) AS wk FROM user_weeks WHERE shop_id = ?"
        if summaries_cover(store, shop_id)
        else "SELECT user_id, date_trunc('week', ts) AS wk FROM events WHERE shop_id = ? GROUP BY 1, 2"
    )
    sql = f"""
    WITH e AS ({active_weeks}),
    f AS (SELECT user_id, min(wk) AS cohort FROM e GROUP BY 1),
    a AS (SELECT f.cohort, CAST(date_diff('week', f.cohort, e.wk) AS INTEGER) AS week,
                 count(*) AS active
          FROM e JOIN f USING (user_id) GROUP BY 1, 2),
    sz AS (SELECT cohort, count(*) AS users FROM f GROUP BY 1)
    SELECT a.cohort, a.week, sz.users, a.active, a.active / sz.users AS retention
    FROM a JOIN sz USING (cohort) WHERE a.week < ? ORDER BY a.cohort, a.week
    """
    return store.query_df(sql, [shop_id, weeks])


def user_activity(store: Store, shop_id: str, start: date, end: date) -> pd.DataFrame:
    """One row per shopper active in the period: sessions, events, views, carts, purchases,
    first/last event, days since last event (at the period end) and events per minute."""
    lo, hi = _bounds(start, end)
    sql = """
    SELECT user_id, count(DISTINCT session_id) AS sessions, count(*) AS events,
           count(*) FILTER (WHERE event_type = 'view') AS views,
           count(*) FILTER (WHERE event_type = 'cart') AS carts,
           count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
           min(ts) AS first_ts, max(ts) AS last_ts,
           date_diff('day', max(ts), CAST(? AS TIMESTAMP)) AS recency_days
    FROM events WHERE shop_id = ? AND ts >= ? AND ts < ?
    GROUP BY user_id ORDER BY user_id
    """
    return store.query_df(sql, [hi, shop_id, lo, hi])


def risky_sessions(
    store: Store, shop_id: str, start: date, end: date, limit: int = 50
) -> pd.DataFrame:
    """Sessions whose behaviour looks automated or abusive, with the reasons.

    Rules (documented in docs/dashboard.md): more than 60 events a minute over a session of at
    least 30 events (bot-like speed); 20 or more cart adds and no purchase (cart hoarding); 200 or
    more views of which none led anywhere (scraping).
    """
    lo, hi = _bounds(start, end)
    sql = """
    WITH s AS (
        SELECT session_id, any_value(user_id) AS user_id, count(*) AS events,
               count(*) FILTER (WHERE event_type = 'view') AS views,
               count(*) FILTER (WHERE event_type = 'cart') AS carts,
               count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
               greatest(date_diff('second', min(ts), max(ts)), 1) / 60.0 AS minutes
        FROM events WHERE shop_id = ? AND ts >= ? AND ts < ? GROUP BY session_id),
    r AS (
        SELECT *, events / minutes AS events_per_min,
            concat_ws('; ',
              CASE WHEN events >= 30 AND events / minutes > 60 THEN 'bot-like speed' END,
              CASE WHEN carts >= 20 AND purchases = 0 THEN 'cart hoarding' END,
              CASE WHEN views >= 200 AND carts = 0 AND purchases = 0 THEN 'scraping pattern' END
            ) AS reasons
        FROM s)
    SELECT session_id, user_id, events, views, carts, purchases,
           round(events_per_min, 1) AS events_per_min, reasons
    FROM r WHERE reasons <> '' ORDER BY events DESC, session_id LIMIT ?
    """
    return store.query_df(sql, [shop_id, lo, hi, limit])


def latest_version(store: Store, shop_id: str, task: str) -> str | None:
    """The model version with the newest predictions for the task in this shop (or ``None``)."""
    sql = """SELECT model_version FROM predictions WHERE shop_id = ? AND task = ?
             GROUP BY 1 ORDER BY max(created_at) DESC, 1 DESC LIMIT 1"""
    with store.read() as con:
        row = con.execute(sql, [shop_id, task]).fetchone()
    return row[0] if row else None


def _text_period(alias: str, strict: bool) -> str:
    # strict: only rows dated inside the period; otherwise undated rows are kept too
    undated = "FALSE" if strict else f"{alias}.ts IS NULL"
    return f"(CAST(? AS TIMESTAMP) IS NULL OR {undated} OR ({alias}.ts >= ? AND {alias}.ts < ?))"


def _period_params(start: date | None, end: date | None) -> list[Any]:
    if start is None or end is None:
        return [None, None, None]
    lo, hi = _bounds(start, end)
    return [lo, lo, hi]


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
    sql = f"""
    SELECT r.review_id, r.item_id, coalesce(i.title, r.item_id) AS title,
           coalesce(i.category, '(none)') AS category, r.rating, r.text, r.ts,
           p.label, CAST(p.probs AS VARCHAR) AS probs
    FROM reviews r
    JOIN predictions p ON p.shop_id = r.shop_id AND p.task = ? AND p.target_id = r.review_id
         AND p.model_version = ?
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE r.shop_id = ? AND {_text_period("r", strict)}
      AND (CAST(? AS VARCHAR) IS NULL OR i.category = ?)
    ORDER BY r.review_id
    """
    version = version or latest_version(store, shop_id, task)
    params = [task, version, shop_id, *_period_params(start, end), category, category]
    return store.query_df(sql, params)


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
    sql = f"""
    SELECT m.message_id, m.user_id, m.channel, m.text, m.ts, p.label,
           CAST(p.probs AS VARCHAR) AS probs
    FROM messages m
    JOIN predictions p ON p.shop_id = m.shop_id AND p.task = ? AND p.target_id = m.message_id
         AND p.model_version = ?
    WHERE m.shop_id = ? AND {_text_period("m", strict)}
    ORDER BY m.message_id
    """
    version = version or latest_version(store, shop_id, task)
    return store.query_df(sql, [task, version, shop_id, *_period_params(start, end)])


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
    sql = f"""
    WITH p AS (
        SELECT target_id, regexp_replace(target_id, ':[0-9]+$', '') AS review_id, label,
               CAST(probs AS VARCHAR) AS probs
        FROM predictions WHERE shop_id = ? AND task = ? AND model_version = ?)
    SELECT p.target_id, p.review_id, r.item_id, coalesce(i.title, r.item_id) AS title,
           coalesce(i.category, '(none)') AS category, r.rating, r.ts, p.label, p.probs
    FROM p JOIN reviews r ON r.shop_id = ? AND r.review_id = p.review_id
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE {_text_period("r", strict)} AND (CAST(? AS VARCHAR) IS NULL OR i.category = ?)
    ORDER BY p.target_id
    """
    version = version or latest_version(store, shop_id, task)
    params = [shop_id, task, version, shop_id, *_period_params(start, end), category, category]
    return store.query_df(sql, params)


def user_signals(store: Store, shop_id: str, start: date, end: date) -> pd.DataFrame:
    """One row per shopper active in the period, with behaviour and text signals for segments.

    Behaviour: sessions, events, carts, purchases, recency_days (at the period end). Model
    signals (NULL without a model): propensity (mean purchase probability of the user's
    sessions), risk (highest anomaly probability of the user or their sessions). Text signals
    over all time: reviews, negative_share (of predicted review sentiments), top_intent (most
    frequent predicted message intent), needs (review sentences predicted as a need).
    """
    lo, hi = _bounds(start, end)
    sql = """
    WITH latest AS (
        SELECT task, arg_max(model_version, created_at) AS version FROM predictions
        WHERE shop_id = $shop GROUP BY task),
    sess AS (  -- one scan of the period, per session (count(DISTINCT) per user is slow)
        SELECT session_id, user_id, count(*) AS events,
               count(*) FILTER (WHERE event_type = 'cart') AS carts,
               count(*) FILTER (WHERE event_type = 'purchase') AS purchases, max(ts) AS last_ts
        FROM events WHERE shop_id = $shop AND ts >= $lo AND ts < $hi GROUP BY ALL),
    act AS (
        SELECT user_id, count(*) AS sessions, CAST(sum(events) AS BIGINT) AS events,
               CAST(sum(carts) AS BIGINT) AS carts, CAST(sum(purchases) AS BIGINT) AS purchases,
               date_diff('day', max(last_ts), CAST($hi AS TIMESTAMP)) AS recency_days
        FROM sess GROUP BY user_id),
    prop AS (
        SELECT s.user_id, avg(CAST(p.probs->>'$.purchase' AS DOUBLE)) AS propensity
        FROM predictions p JOIN sess s ON p.target_id = s.session_id
        WHERE p.shop_id = $shop AND p.task = 'purchase'
          AND p.model_version = (SELECT version FROM latest WHERE task = 'purchase')
        GROUP BY 1),
    risk_pred AS (
        SELECT target_id, CAST(probs->>'$.anomalous' AS DOUBLE) AS r FROM predictions
        WHERE shop_id = $shop AND task = 'risk'
          AND model_version = (SELECT version FROM latest WHERE task = 'risk')),
    risk AS (
        -- risk targets are "user:<id>" / "session:<id>" (bare ids accepted too)
        SELECT user_id, max(r) AS risk FROM (
            SELECT regexp_replace(target_id, '^user:', '') AS user_id, r
            FROM risk_pred WHERE NOT starts_with(target_id, 'session:')
            UNION ALL
            SELECT s.user_id, p.r
            FROM risk_pred p JOIN sess s
                 ON regexp_replace(p.target_id, '^session:', '') = s.session_id)
        GROUP BY 1),
    -- each task's newest predictions are read separately: one shared CTE over every task
    -- would be materialised, JSON and all (about 1 s at 2M predictions)
    senti AS (
        SELECT r.user_id, count(*) AS reviews,
               avg(CASE WHEN p.label = 'negative' THEN 1.0 ELSE 0.0 END) AS negative_share
        FROM reviews r JOIN predictions p ON p.shop_id = r.shop_id AND p.target_id = r.review_id
        WHERE r.shop_id = $shop AND r.user_id IS NOT NULL AND p.task = 'sentiment'
          AND p.model_version = (SELECT version FROM latest WHERE task = 'sentiment')
        GROUP BY 1),
    intent AS (
        SELECT m.user_id, mode(p.label ORDER BY p.label) AS top_intent
        FROM messages m JOIN predictions p ON p.shop_id = m.shop_id AND p.target_id = m.message_id
        WHERE m.shop_id = $shop AND m.user_id IS NOT NULL AND p.task = 'intent'
          AND p.model_version = (SELECT version FROM latest WHERE task = 'intent')
        GROUP BY 1),
    needs AS (
        SELECT r.user_id, count(*) AS needs
        FROM predictions p JOIN reviews r ON r.shop_id = p.shop_id
             AND r.review_id = regexp_replace(p.target_id, ':[0-9]+$', '')
        WHERE p.shop_id = $shop AND p.task = 'demand'
          AND p.model_version = (SELECT version FROM latest WHERE task = 'demand')
          AND p.label IN ('feature_request', 'complaint', 'question')
          AND r.user_id IS NOT NULL GROUP BY 1)
    SELECT act.*, prop.propensity, risk.risk, coalesce(senti.reviews, 0) AS reviews,
           senti.negative_share, intent.top_intent, coalesce(needs.needs, 0) AS needs
    FROM act LEFT JOIN prop USING (user_id) LEFT JOIN risk USING (user_id)
    LEFT JOIN senti USING (user_id) LEFT JOIN intent USING (user_id)
    LEFT JOIN needs USING (user_id)
    ORDER BY act.user_id
    """
    return store.query_df(sql, {"shop": shop_id, "lo": lo, "hi": hi})


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
    sql = f"""
    SELECT r.review_id, r.text FROM reviews r
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE r.shop_id = ? AND {_text_period("r", strict)}
      AND (CAST(? AS VARCHAR) IS NULL OR i.category = ?)
    ORDER BY r.review_id
    """
    return store.query_df(sql, [shop_id, *_period_params(start, end), category, category])


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


def message_author_kinds(store: Store, shop_id: str, start: date, end: date) -> pd.DataFrame:
    """For each message author: ``buyers`` (bought in the period), ``browsers`` (active, did not
    buy) or ``not active in period``. Only the authors' events are read. Columns: user_id, kind."""
    lo, hi = _bounds(start, end)
    sql = """
    WITH authors AS (SELECT DISTINCT user_id FROM messages
                     WHERE shop_id = ? AND user_id IS NOT NULL),
    act AS (SELECT e.user_id, bool_or(e.event_type = 'purchase') AS bought
            FROM events e SEMI JOIN authors a ON a.user_id = e.user_id
            WHERE e.shop_id = ? AND e.ts >= ? AND e.ts < ? GROUP BY 1)
    SELECT a.user_id, CASE WHEN act.bought THEN 'buyers' WHEN act.bought IS NOT NULL
                           THEN 'browsers' ELSE 'not active in period' END AS kind
    FROM authors a LEFT JOIN act USING (user_id) ORDER BY a.user_id
    """
    return store.query_df(sql, [shop_id, shop_id, lo, hi])
