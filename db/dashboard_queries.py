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

from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd

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


def _filtered_events_sql(segment: str | None) -> str:
    """A CTE chain ``ev`` (events of the period, shop and category) restricted to the segment.

    Parameters, in order: shop, start, end, category, category, shop, start.
    """
    return f"""
    WITH ev0 AS (
        SELECT * FROM events
        WHERE shop_id = ? AND ts >= ? AND ts < ? AND (CAST(? AS VARCHAR) IS NULL OR category = ?)
    ),
    firsts AS (
        SELECT user_id, min(ts) AS first_ever FROM events WHERE shop_id = ? GROUP BY user_id
    ),
    u AS (
        SELECT ev0.user_id,
               count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
               count(*) FILTER (WHERE event_type = 'cart') AS carts,
               any_value(f.first_ever) AS first_ever,
               CAST(? AS TIMESTAMP) AS period_start
        FROM ev0 JOIN firsts f USING (user_id) GROUP BY ev0.user_id
    ),
    seg AS (SELECT user_id FROM u WHERE {segment_condition(segment)}),
    ev AS (SELECT ev0.* FROM ev0 SEMI JOIN seg USING (user_id))
    """


def _params(shop_id: str, start: date, end: date, category: str | None) -> list[Any]:
    lo, hi = _bounds(start, end)
    return [shop_id, lo, hi, category, category, shop_id, lo]


def data_span(store: Store, shop_id: str) -> tuple[date | None, date | None]:
    """First and last day with any event, review or message of the shop."""
    sql = """
    SELECT min(d), max(d) FROM (
        SELECT CAST(ts AS DATE) d FROM events WHERE shop_id = ?
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
        _filtered_events_sql(segment)
        + """
    SELECT count(DISTINCT session_id) AS sessions,
           count(DISTINCT user_id) AS shoppers,
           count(DISTINCT user_id) FILTER (WHERE event_type = 'purchase') AS buyers,
           count(DISTINCT session_id) FILTER (WHERE event_type = 'purchase') AS buying_sessions,
           count(*) FILTER (WHERE event_type = 'purchase') AS orders,
           sum(i.price) FILTER (WHERE event_type = 'purchase') AS revenue,
           count(i.price) FILTER (WHERE event_type = 'purchase') AS priced_orders
    FROM ev LEFT JOIN items i ON i.shop_id = ev.shop_id AND i.item_id = ev.item_id
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
    """One row per day of the period: sessions, shoppers, buyers (days without events are 0)."""
    sql = (
        _filtered_events_sql(segment)
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
        _filtered_events_sql(segment)
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
        _filtered_events_sql(segment)
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
    sql = """
    WITH e AS (SELECT user_id, date_trunc('week', ts) AS wk FROM events WHERE shop_id = ?
               GROUP BY 1, 2),
    f AS (SELECT user_id, min(wk) AS cohort FROM e GROUP BY 1),
    a AS (SELECT f.cohort, CAST(date_diff('week', f.cohort, e.wk) AS INTEGER) AS week,
                 count(DISTINCT e.user_id) AS active
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
