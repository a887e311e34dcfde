"""Behaviour analytics over the store, as parameterised queries returning DataFrames.

Filters are values passed as query parameters; SQL text never includes user strings. Dates are
inclusive days in UTC: ``start=date(2024, 5, 1), end=date(2024, 5, 31)`` covers all of May.

    >>> funnel(store, "sample", category="Dresses")
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from db.store import Store

DateLike = date | datetime | None


def _event_filter(
    shop_id: str, start: DateLike, end: DateLike, category: str | None = None, alias: str = ""
) -> tuple[str, dict[str, object]]:
    """WHERE clause and named parameters ($shop, $lo, $hi, $category) for shop, day range and
    category."""
    a = f"{alias}." if alias else ""
    clauses = [f"{a}shop_id = $shop"]
    params: dict[str, object] = {"shop": shop_id}
    if start is not None:
        clauses.append(f"{a}ts >= $lo")
        params["lo"] = _day_start(start)
    if end is not None:
        clauses.append(f"{a}ts < $hi")
        params["hi"] = _day_start(end) + timedelta(days=1) if not isinstance(end, datetime) else end
    if category:
        clauses.append(f"{a}category = $category")
        params["category"] = category
    return " AND ".join(clauses), params


def _day_start(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def funnel(
    store: Store,
    shop_id: str,
    start: DateLike = None,
    end: DateLike = None,
    category: str | None = None,
    limit: int = 20,
) -> pd.DataFrame:
    """View → cart → purchase funnel per category, counted in sessions.

    A session reaches a stage in a category when it has an event of that stage or a later one
    there (a purchase counts as carted and viewed, since many shops allow buying without a cart).
    The first row, category ``All``, counts sessions over every category.
    """
    where, params = _event_filter(shop_id, start, end, category)
    sql = f"""
        WITH per_session AS (
            SELECT coalesce(category, '(none)') AS category, session_id,
                   max(CASE event_type WHEN 'purchase' THEN 3 WHEN 'cart' THEN 2
                       WHEN 'search' THEN 0 ELSE 1 END) AS stage
            FROM events WHERE {where} GROUP BY ALL
        ), by_category AS (
            SELECT category, count(*) FILTER (stage >= 1) AS viewed,
                   count(*) FILTER (stage >= 2) AS carted, count(*) FILTER (stage >= 3) AS purchased
            FROM per_session GROUP BY category
        ), overall AS (
            SELECT 'All' AS category, count(*) FILTER (stage >= 1) AS viewed,
                   count(*) FILTER (stage >= 2) AS carted, count(*) FILTER (stage >= 3) AS purchased
            FROM (SELECT session_id, max(stage) AS stage FROM per_session GROUP BY session_id)
        )
        SELECT * FROM overall
        UNION ALL
        (SELECT * FROM by_category ORDER BY viewed DESC, category LIMIT $limit)
    """
    with store.read() as con:
        df = con.execute(sql, {**params, "limit": limit}).df()
    viewed = df["viewed"].where(df["viewed"] > 0)
    carted = df["carted"].where(df["carted"] > 0)
    df["view_to_cart"] = (df["carted"] / viewed).fillna(0.0)
    df["cart_to_purchase"] = (df["purchased"] / carted).fillna(0.0)
    df["conversion"] = (df["purchased"] / viewed).fillna(0.0)
    return df


def daily_active_users(
    store: Store, shop_id: str, start: DateLike = None, end: DateLike = None
) -> pd.DataFrame:
    """Per UTC day: active users, sessions, events and buyers."""
    where, params = _event_filter(shop_id, start, end)
    # one pass to (day, user) first: far fewer rows reach the distinct counts
    sql = f"""
        WITH per_user AS (
            SELECT CAST(ts AS DATE) AS day, user_id, count(DISTINCT session_id) AS sessions,
                   count(*) AS events, bool_or(event_type = 'purchase') AS bought
            FROM events WHERE {where} GROUP BY day, user_id
        )
        SELECT day, count(*) AS users, sum(sessions)::BIGINT AS sessions,
               sum(events)::BIGINT AS events, count(*) FILTER (bought) AS buyers
        FROM per_user GROUP BY day ORDER BY day
    """
    with store.read() as con:
        return con.execute(sql, params).df()


def cohort_retention(store: Store, shop_id: str, weeks: int = 8) -> pd.DataFrame:
    """Weekly cohorts by first activity: the share of each cohort active in each later week.

    Columns: cohort_week (Monday of the first active week), week (0 = first week), users active
    that week, cohort_size, retention (users / cohort_size).
    """
    weeks = max(1, min(int(weeks), 104))
    sql = """
        WITH activity AS (
            SELECT DISTINCT user_id, date_trunc('week', ts) AS week FROM events WHERE shop_id = ?
        ), firsts AS (
            SELECT user_id, min(week) AS cohort_week FROM activity GROUP BY user_id
        ), joined AS (
            SELECT f.cohort_week, CAST(date_diff('week', f.cohort_week, a.week) AS INTEGER) AS week,
                   a.user_id
            FROM activity a JOIN firsts f USING (user_id)
        )
        SELECT cohort_week, week, count(*) AS users,
               max(count(*)) OVER (PARTITION BY cohort_week) AS cohort_size
        FROM joined WHERE week < ? GROUP BY cohort_week, week ORDER BY cohort_week, week
    """
    with store.read() as con:
        df = con.execute(sql, [shop_id, weeks]).df()
    df["retention"] = df["users"] / df["cohort_size"]
    return df


def top_items(
    store: Store,
    shop_id: str,
    start: DateLike = None,
    end: DateLike = None,
    limit: int = 20,
    category: str | None = None,
) -> pd.DataFrame:
    """Items by views, with carts, purchases, conversion and revenue where prices exist."""
    where, params = _event_filter(shop_id, start, end, category, alias="e")
    sql = f"""
        SELECT e.item_id, any_value(i.title) AS title, any_value(coalesce(i.category, e.category)) AS category,
               count(*) FILTER (e.event_type = 'view') AS views,
               count(*) FILTER (e.event_type = 'cart') AS carts,
               count(*) FILTER (e.event_type = 'purchase') AS purchases,
               count(*) FILTER (e.event_type = 'purchase') * any_value(i.price) AS revenue
        FROM events e LEFT JOIN items i ON i.shop_id = e.shop_id AND i.item_id = e.item_id
        WHERE {where} AND e.item_id IS NOT NULL
        GROUP BY e.item_id ORDER BY views DESC, purchases DESC, e.item_id LIMIT $limit
    """
    with store.read() as con:
        df = con.execute(sql, {**params, "limit": max(1, min(int(limit), 1000))}).df()
    df["conversion"] = (df["purchases"] / df["views"].where(df["views"] > 0)).fillna(0.0)
    return df


def list_shops(store: Store) -> list[str]:
    """Every shop id in the store, sorted."""
    with store.read() as con:
        return [row[0] for row in con.execute("SELECT shop_id FROM shops ORDER BY 1").fetchall()]


def date_range(store: Store, shop_id: str) -> tuple[date | None, date | None]:
    """First and last day with events in a shop (``(None, None)`` when it has none)."""
    with store.read() as con:
        first, last = con.execute(
            "SELECT min(ts)::DATE, max(ts)::DATE FROM events WHERE shop_id = ?", [shop_id]
        ).fetchone() or (None, None)
    return first, last
