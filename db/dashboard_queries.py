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


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The half-open timestamp range ``[start 00:00, end + 1 day 00:00)`` of a period."""
    return datetime.combine(start, time.min), datetime.combine(end + timedelta(days=1), time.min)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``start``."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def summaries_cover(store: Store, shop_id: str) -> bool:
    """Whether the summary tables (:mod:`db.rollups`) account for every event of the shop, so
    queries may read them instead of the whole log."""

    def check() -> bool:
        with store.read() as con:
            return rollups.covers_events(con, shop_id)

    return store.for_this_read(("summaries_cover", shop_id), check)


def _segment_chain(rows: str, out: str, segment: str | None, summaries: bool, counts: str,
                   members: str | None = None, kept: str | None = None) -> str:  # fmt: skip
    """CTEs ``firsts``, ``u0``, ``u``, ``seg`` and ``out``: the rows of CTE ``rows`` (one per
    event, or per session and day, with ``user_id``) of the shoppers in the segment.

    Who is in the segment is read from CTE ``members`` (default: ``rows``); ``counts`` is
    ``"events"`` when each of its rows is one event, ``"sessions"`` when its rows carry the
    views / carts / purchases columns of ``session_days``. Each shopper's first event comes from
    ``user_firsts`` when ``summaries``, else from a scan of the whole log. Unused CTEs never run.
    With ``kept`` (a table of the segment's ``user_id``, :func:`_kept_members`), ``seg`` reads
    it and ``firsts``, ``u0`` and ``u`` are left out.
    """
    members = members or rows
    condition = segment_condition(segment)
    if kept is not None and condition != "TRUE":
        return f"""
    seg AS (SELECT user_id FROM {kept}),
    {out} AS (SELECT {rows}.* FROM {rows} SEMI JOIN seg USING (user_id))
    """
    if counts == "events":
        purchases = "count(*) FILTER (WHERE event_type = 'purchase')"
        carts = "count(*) FILTER (WHERE event_type = 'cart')"
    else:
        purchases, carts = "sum(purchases)", "sum(carts)"
    kept = (
        f"SELECT * FROM {rows}"
        if condition == "TRUE"
        else f"SELECT {rows}.* FROM {rows} SEMI JOIN seg USING (user_id)"
    )
    return f"""
    u0 AS (
        SELECT user_id, {purchases} AS purchases, {carts} AS carts FROM {members} GROUP BY user_id
    ),
    {_members_sql(condition, summaries)},
    {out} AS ({kept})
    """


def _members_sql(condition: str, summaries: bool) -> str:
    """CTEs ``firsts``, ``u`` and ``seg`` from CTE ``u0`` (one row per shopper of the period with
    at least ``user_id``, ``purchases`` and ``carts``): ``u`` adds each shopper's first event ever
    (joined only when ``condition`` needs it) and the period's start, ``seg`` keeps the rows of
    ``u`` that meet ``condition`` (:func:`segment_condition`). The one place a segment's rule
    meets the shoppers' sums."""
    needs_first = "first_ever" in condition
    first_join = "JOIN firsts f USING (user_id)" if needs_first else ""
    first_value = "f.first_ever" if needs_first else "CAST(NULL AS TIMESTAMP)"
    return f"""firsts AS ({_firsts_sql(summaries)}),
    u AS (  -- each shopper's first event joined after grouping: one row per shopper
        SELECT u0.*, {first_value} AS first_ever, CAST($lo AS TIMESTAMP) AS period_start
        FROM u0 {first_join}
    ),
    seg AS (SELECT * FROM u WHERE {condition})"""


def _firsts_sql(summaries: bool) -> str:
    """SQL of each shopper's first event ever (``user_id``, ``first_ever``): from
    ``user_firsts`` when ``summaries``, else from a scan of the whole log."""
    if summaries:
        return "SELECT user_id, first_ts AS first_ever FROM user_firsts WHERE shop_id = $shop"
    return "SELECT user_id, min(ts) AS first_ever FROM events WHERE shop_id = $shop GROUP BY 1"


def _period_rows(columns: str, by_category: bool = False, one_category: bool = False) -> str:
    """SQL of the shop's ``session_days`` rows of the period [$lo, $hi): over all categories
    (``total``), per category (``by_category``) or of category $category (``one_category``).
    The filter is constant SQL, so the scan skips row groups by it."""
    if by_category or one_category:
        which = "NOT total" + (" AND category = $category" if one_category else "")
    else:
        which = "total"
    return (
        f"SELECT {columns} FROM session_days WHERE shop_id = $shop "
        f"AND day >= CAST($lo AS DATE) AND day < CAST($hi AS DATE) AND {which}"
    )


def _kept_members(store: Store, shop_id: str, segment: str | None, summaries: bool,
                  period: tuple[date, date] | None, category: str | None) -> str | None:  # fmt: skip
    """A temporary table of the shoppers of ``segment`` in ``period`` (and ``category``), made
    once for all of a page run's queries (:meth:`db.store.Store.kept_for_this_read`); ``None``
    for all shoppers, without a period, or where the store keeps nothing (the queries then work
    it out themselves, from the same rows: the period's ``session_days`` over all categories or
    of the one category when ``summaries``, else its events)."""
    if period is None or segment_condition(segment) == "TRUE":
        return None
    if summaries:
        rows = _period_rows("user_id, carts, purchases", one_category=category is not None)
    else:
        which = "" if category is None else "AND category = $category"
        rows = f"""SELECT user_id, event_type FROM events
                   WHERE shop_id = $shop AND ts >= $lo AND ts < $hi {which}"""
    chain = _segment_chain("m0", "m", segment, summaries, "sessions" if summaries else "events")
    sql = f"WITH m0 AS ({rows}), {chain} SELECT user_id FROM seg"
    params = _params(shop_id, period[0], period[1], category)
    key = ("segment", shop_id, segment, summaries, period, category)
    return store.kept_for_this_read(key, sql, used_params(sql, params))


def _filtered_events_sql(segment: str | None, summaries: bool = False,
                         kept: str | None = None, one_category: bool = False) -> str:  # fmt: skip
    """A CTE chain ``ev`` (events of the period, shop and category) restricted to the segment.

    Named parameters: $shop, $lo, $hi (the period's bounds), $category (not NULL when
    ``one_category``). With ``summaries``
    who is in the segment comes from ``session_days`` and each shopper's first event from
    ``user_firsts`` (a sixth of the period's rows; one row per shopper) instead of the events. With
    ``kept`` (:func:`_kept_members`), who is in the segment is read from that table.
    """
    members = ""
    if kept is not None:
        chain = _segment_chain("ev0", "ev", segment, summaries, "events", kept=kept)
    elif summaries:
        members = f""",
    seg_rows AS ({_period_rows("user_id, carts, purchases", one_category=one_category)})"""
        chain = _segment_chain("ev0", "ev", segment, True, "sessions", "seg_rows")
    else:
        chain = _segment_chain("ev0", "ev", segment, False, "events")
    return f"""
    WITH ev0 AS (
        SELECT * FROM events
        WHERE shop_id = $shop AND ts >= $lo AND ts < $hi
          AND (CAST($category AS VARCHAR) IS NULL OR category = $category)
    ){members},
    {chain}
    """


_SESSION_COLUMNS = (
    "day, session_id, user_id, category, split, events, views, carts, purchases, first_ts, last_ts"
)


def _session_rows_sql(
    segment: str | None,
    summaries: bool,
    by_category: bool = False,
    one_category: bool = False,
    kept: str | None = None,
) -> str:
    """A CTE chain ``sd``: the shop's sessions in the period, restricted to the category
    ($category, when ``one_category``) and the segment, one row per day, session and shopper
    (and per category too when ``by_category``), with the columns of ``session_days``.

    Read from ``session_days`` when ``summaries`` (they cover the shop's events), else grouped
    from the events into the same rows, every one marked ``split`` (counted by grouping).
    A query counts the rows not ``split`` as sessions and groups the others
    (:func:`_count_sessions`). Counts summed over these rows are BIGINT only after a cast
    (DuckDB sums integers into HUGEINT). Named parameters as :func:`_filtered_events_sql`;
    ``kept`` as there.
    """
    return f"""
    WITH sd0 AS ({_unfiltered_session_rows(summaries, by_category, one_category)}),
    {_segment_chain("sd0", "sd", segment, summaries, "sessions", kept=kept)}
    """


def _unfiltered_session_rows(summaries: bool, by_category: bool = False,
                             one_category: bool = False) -> str:  # fmt: skip
    """SQL of the period's session rows of every shopper (:func:`_session_rows_sql` before the
    segment): the ``session_days`` rows when ``summaries``, else the same grouped from the
    events, every one marked ``split``."""
    if summaries:
        return _period_rows(_SESSION_COLUMNS, by_category, one_category)
    category = "category" if by_category else "CAST($category AS VARCHAR)"
    return f"""SELECT CAST(ts AS DATE) AS day, session_id, user_id, {category} AS category,
               TRUE AS split, count(*) AS events,
               count(*) FILTER (WHERE event_type = 'view') AS views,
               count(*) FILTER (WHERE event_type = 'cart') AS carts,
               count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
               min(ts) AS first_ts, max(ts) AS last_ts
        FROM events WHERE shop_id = $shop AND ts >= $lo AND ts < $hi
          AND (CAST($category AS VARCHAR) IS NULL OR category = $category)
        GROUP BY ALL"""


def _count_sessions(groups: str, flags: dict[str, str]) -> str:
    """CTE ``counted``: per ``groups`` (an SQL expression over ``sd``'s rows), how many distinct
    sessions meet each condition of ``flags`` (output column -> SQL condition over the summed
    columns ``events``, ``views``, ``carts``, ``purchases``).

    A row not ``split`` is one whole session and is counted as it is; the ``split`` rows (a few
    in a hundred) are summed per session first.
    """
    whole = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {col}" for col, cond in flags.items())
    return f"""
    , split_sessions AS (
        SELECT {groups} AS grp, session_id, sum(events) AS events, sum(views) AS views,
               sum(carts) AS carts, sum(purchases) AS purchases
        FROM sd WHERE split GROUP BY 1, 2)
    , counted AS (
        SELECT grp, {", ".join(f"CAST(sum({col}) AS BIGINT) AS {col}" for col in flags)}
        FROM (SELECT {groups} AS grp, {whole} FROM sd WHERE NOT split GROUP BY 1
              UNION ALL SELECT grp, {whole} FROM split_sessions GROUP BY 1)
        GROUP BY grp)
    """


def session_rows_sql(store: Store, shop_id: str, segment: str | None,
                     category: str | None = None, by_category: bool = False,
                     period: tuple[date, date] | None = None) -> str:  # fmt: skip
    """:func:`_session_rows_sql` from the summaries when they cover the shop, for one category
    (bound as $category) or all (``None``); with the ``period`` the query binds, who is in the
    segment is worked out once per page run (:func:`_kept_members`)."""
    summaries = summaries_cover(store, shop_id)
    kept = _kept_members(store, shop_id, segment, summaries, period, category)
    return _session_rows_sql(segment, summaries, by_category, category is not None, kept)


def segment_sql(store: Store, shop_id: str, segment: str | None,
                category: str | None = None,
                period: tuple[date, date] | None = None) -> str:  # fmt: skip
    """The SQL of the shop's events of a shopper segment (:data:`SEGMENTS`; the other query
    modules build on it), taking who is in the segment from the summaries when they cover the
    shop (checked only for a segment other than all shoppers); with the ``period`` and
    ``category`` the query binds, worked out once per page run (:func:`_kept_members`)."""
    if segment_condition(segment) == "TRUE":
        return _filtered_events_sql(segment)
    summaries = summaries_cover(store, shop_id)
    kept = _kept_members(store, shop_id, segment, summaries, period, category)
    return _filtered_events_sql(segment, summaries, kept, category is not None)


def _params(
    shop_id: str, start: date, end: date, category: str | None, **more: Any
) -> dict[str, Any]:
    lo, hi = period_bounds(start, end)
    return {"shop": shop_id, "lo": lo, "hi": hi, "category": category, **more}


def used_params(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` names (DuckDB refuses any other; which ones a query names depends
    on its filters and on whether it reads the summaries)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def data_span(store: Store, shop_id: str) -> tuple[date | None, date | None]:
    """First and last day with any event, review or message of the shop."""
    summaries = summaries_cover(store, shop_id)
    events = (
        "SELECT day AS d FROM activity_daily WHERE shop_id = $shop AND total"
        if summaries
        else "SELECT CAST(ts AS DATE) d FROM events WHERE shop_id = $shop"
    )
    sql = f"""
    SELECT min(d), max(d) FROM (
        {events}
        UNION ALL SELECT CAST(ts AS DATE) FROM reviews WHERE shop_id = $shop
        UNION ALL SELECT CAST(ts AS DATE) FROM messages WHERE shop_id = $shop
    )"""
    with store.read() as con:
        lo, hi = con.execute(sql, {"shop": shop_id}).fetchone() or (None, None)
    return lo, hi


def shops(store: Store) -> list[str]:
    """Every shop id with a row in ``shops`` or any data, sorted."""
    with store.read() as con:
        # every event counted in the day summaries: their shops are the log's, at a fraction
        # of a scan of the whole log
        covered = store.for_this_read(("cover_all_events",),
                                      lambda: rollups.cover_all_events(con))  # fmt: skip
        events = "activity_daily" if covered else "events"
        sql = f"""
        SELECT shop_id FROM shops UNION SELECT DISTINCT shop_id FROM {events}
        UNION SELECT DISTINCT shop_id FROM reviews UNION SELECT DISTINCT shop_id FROM messages
        ORDER BY 1"""
        return [r[0] for r in con.execute(sql).fetchall()]


def categories(store: Store, shop_id: str) -> list[str]:
    """Categories seen in the shop's events and items, sorted."""
    events = (
        "SELECT DISTINCT category FROM activity_daily WHERE shop_id = $shop AND NOT total"
        if summaries_cover(store, shop_id)
        else "SELECT DISTINCT category FROM events WHERE shop_id = $shop"
    )
    sql = f"""
    SELECT category FROM ({events}) WHERE category IS NOT NULL
    UNION SELECT DISTINCT category FROM items WHERE shop_id = $shop AND category IS NOT NULL
    ORDER BY 1"""
    with store.read() as con:
        return [r[0] for r in con.execute(sql, {"shop": shop_id}).fetchall()]


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
    # one pass: each shopper's sessions, buying sessions and orders, then the segment's
    # shoppers among them (who is in a segment follows from the same per-shopper sums); the
    # rows of a session split over days (a few in a hundred) are one group per session, the
    # whole sessions one group per shopper
    condition = segment_condition(segment)
    summaries = summaries_cover(store, shop_id)
    of_segment = "" if condition == "TRUE" else "AND e.user_id IN (SELECT user_id FROM seg)"
    purchases = (
        "purchase_events" if summaries else "(SELECT * FROM events WHERE event_type = 'purchase')"
    )
    sql = f"""
    WITH sd AS ({_unfiltered_session_rows(summaries, one_category=category is not None)}),
    g AS (
        SELECT user_id, CASE WHEN split THEN session_id END AS split_session, count(*) AS n,
               count(*) FILTER (WHERE purchases > 0) AS n_buying, sum(purchases) AS purchases,
               sum(carts) AS carts
        FROM sd GROUP BY 1, 2),
    u0 AS (
        SELECT user_id, sum(purchases) AS purchases, sum(carts) AS carts,
               sum(CASE WHEN split_session IS NULL THEN n ELSE 1 END) AS sessions,
               sum(CASE WHEN split_session IS NULL THEN n_buying
                        ELSE CAST(purchases > 0 AS INTEGER) END) AS buying
        FROM g GROUP BY 1),
    {_members_sql(condition, summaries)},
    -- revenue needs each purchase's price: read from the period's purchases alone
    rev AS (
        SELECT sum(i.price) AS revenue, count(i.price) AS priced_orders
        FROM {purchases} e JOIN items i ON i.shop_id = e.shop_id AND i.item_id = e.item_id
        WHERE e.shop_id = $shop AND e.ts >= $lo AND e.ts < $hi
          AND (CAST($category AS VARCHAR) IS NULL OR e.category = $category) {of_segment})
    SELECT CAST(coalesce(sum(sessions), 0) AS BIGINT) AS sessions, count(*) AS shoppers,
           count(*) FILTER (WHERE purchases > 0) AS buyers,
           CAST(coalesce(sum(buying), 0) AS BIGINT) AS buying_sessions,
           CAST(coalesce(sum(purchases), 0) AS BIGINT) AS orders,
           (SELECT revenue FROM rev) AS revenue,
           (SELECT coalesce(priced_orders, 0) FROM rev) AS priced_orders
    FROM seg
    """
    df = store.query_df(sql, used_params(sql, _params(shop_id, start, end, category)))
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
        "aov": (revenue / priced) if revenue is not None and priced else None,
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
    asks for the whole history); a segment is defined per period, so it reads the period's
    ``session_days`` (or events).
    """
    days = """SELECT CAST(d AS DATE) AS day FROM range(CAST($start AS DATE),
              CAST($end AS DATE) + 1, INTERVAL 1 DAY) t(d)"""
    if segment_condition(segment) == "TRUE" and summaries_cover(store, shop_id):
        sql = f"""
        WITH days AS ({days}),
        agg AS (SELECT day, sessions, shoppers, buyers FROM activity_daily
                WHERE shop_id = $shop AND day >= $start AND day <= $end
                  AND CASE WHEN CAST($category AS VARCHAR) IS NULL THEN total
                           ELSE NOT total AND category = $category END)
        SELECT days.day, coalesce(sessions, 0) AS sessions, coalesce(shoppers, 0) AS shoppers,
               coalesce(buyers, 0) AS buyers
        FROM days LEFT JOIN agg USING (day) ORDER BY day
        """
        params = {"shop": shop_id, "start": start, "end": end, "category": category}
        df = store.query_df(sql, params)
        df["day"] = pd.to_datetime(df["day"])
        return df
    sql = (
        session_rows_sql(store, shop_id, segment, category, period=(start, end))
        + f"""
    {_count_sessions("day", {"sessions": "TRUE"})}
    , days AS ({days.replace("$start", "$first_day").replace("$end", "$last_day")})
    , per_user AS (SELECT day, user_id, sum(purchases) AS purchases FROM sd GROUP BY 1, 2)
    , agg AS (
        SELECT day, count(*) AS shoppers, count(*) FILTER (WHERE purchases > 0) AS buyers
        FROM per_user GROUP BY 1)
    SELECT days.day, coalesce(c.sessions, 0) AS sessions, coalesce(agg.shoppers, 0) AS shoppers,
           coalesce(agg.buyers, 0) AS buyers
    FROM days LEFT JOIN counted c ON c.grp = days.day LEFT JOIN agg USING (day) ORDER BY day
    """
    )
    params = _params(shop_id, start, end, category, first_day=start, last_day=end)
    df = store.query_df(sql, used_params(sql, params))
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
        session_rows_sql(
            store, shop_id, segment, category, by_category=by == "category", period=(start, end)
        )
        + f"""
    {_count_sessions(group, {"view": "views > 0", "cart": "carts > 0", "purchase": "purchases > 0"})}
    SELECT grp AS "group", view, cart, purchase
    FROM counted ORDER BY view DESC, "group" LIMIT $limit
    """
    )
    return store.query_df(
        sql, used_params(sql, _params(shop_id, start, end, category, limit=limit))
    )


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
        segment_sql(store, shop_id, segment, category, period=(start, end))
        + """
    , top AS (  -- counted first, the catalogue joined to the few top items only
        SELECT item_id, any_value(category) AS category,
               count(*) FILTER (WHERE event_type = 'view') AS views,
               count(*) FILTER (WHERE event_type = 'cart') AS carts,
               count(*) FILTER (WHERE event_type = 'purchase') AS purchases
        FROM ev WHERE item_id IS NOT NULL
        GROUP BY item_id ORDER BY views DESC, purchases DESC, item_id LIMIT $limit)
    SELECT top.item_id, coalesce(i.title, '') AS title, coalesce(top.category, i.category)
           AS category, views, carts, purchases
    FROM top LEFT JOIN items i ON i.shop_id = $shop AND i.item_id = top.item_id
    ORDER BY views DESC, purchases DESC, top.item_id
    """
    )
    df = store.query_df(sql, _params(shop_id, start, end, category, limit=limit))
    df["purchase_rate"] = (df["purchases"] / df["views"].where(df["views"] > 0)).fillna(0.0)
    return df


def cohort_weeks(store: Store, shop_id: str, weeks: int = 8) -> pd.DataFrame:
    """Weekly cohorts (by first event) and the share of each cohort active N weeks later.

    Columns: cohort (week start), week (0..), users, active, retention.
    """
    if summaries_cover(store, shop_id):  # one row per shopper and week with an event
        active_weeks = (
            "SELECT user_id, CAST(week AS TIMESTAMP) AS wk FROM user_weeks WHERE shop_id = $shop"
        )
        cohorts = (
            "SELECT user_id, date_trunc('week', first_ts) AS cohort FROM user_firsts "
            "WHERE shop_id = $shop"
        )
    else:
        active_weeks = (
            "SELECT user_id, date_trunc('week', ts) AS wk FROM events WHERE shop_id = $shop "
            "GROUP BY 1, 2"
        )
        cohorts = "SELECT user_id, min(wk) AS cohort FROM e GROUP BY 1"
    sql = f"""
    WITH e AS ({active_weeks}),
    f AS ({cohorts}),
    a AS (SELECT f.cohort, CAST(date_diff('week', f.cohort, e.wk) AS INTEGER) AS week,
                 count(*) AS active
          FROM e JOIN f USING (user_id) GROUP BY 1, 2),
    sz AS (SELECT cohort, count(*) AS users FROM f GROUP BY 1)
    SELECT a.cohort, a.week, sz.users, a.active, a.active / sz.users AS retention
    FROM a JOIN sz USING (cohort) WHERE a.week < $weeks ORDER BY a.cohort, a.week
    """
    return store.query_df(sql, {"shop": shop_id, "weeks": weeks})


def user_activity(store: Store, shop_id: str, start: date, end: date) -> pd.DataFrame:
    """One row per shopper active in the period: sessions, events, views, carts, purchases,
    first/last event, days since last event (at the period end) and events per minute."""
    lo, hi = period_bounds(start, end)
    sql = """
    SELECT user_id, count(DISTINCT session_id) AS sessions, count(*) AS events,
           count(*) FILTER (WHERE event_type = 'view') AS views,
           count(*) FILTER (WHERE event_type = 'cart') AS carts,
           count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
           min(ts) AS first_ts, max(ts) AS last_ts,
           date_diff('day', max(ts), CAST($hi AS TIMESTAMP)) AS recency_days
    FROM events WHERE shop_id = $shop AND ts >= $lo AND ts < $hi
    GROUP BY user_id ORDER BY user_id
    """
    return store.query_df(sql, {"shop": shop_id, "lo": lo, "hi": hi})


def risky_sessions(
    store: Store, shop_id: str, start: date, end: date, limit: int = 50
) -> pd.DataFrame:
    """Sessions whose behaviour looks automated or abusive, with the reasons.

    Rules (documented in docs/dashboard.md): more than 60 events a minute over a session of at
    least 30 events (bot-like speed); 20 or more cart adds and no purchase (cart hoarding); 200 or
    more views of which none led anywhere (scraping).
    """
    sql = (
        session_rows_sql(store, shop_id, None)
        + """
    -- every rule needs 20 events or more; a row not split is a whole session
    , whole AS (
        SELECT session_id, user_id, events, views, carts, purchases, first_ts, last_ts
        FROM sd WHERE NOT split AND events >= 20)
    , parts AS (
        SELECT session_id, any_value(user_id), sum(events), sum(views), sum(carts),
               sum(purchases), min(first_ts), max(last_ts)
        FROM sd WHERE split GROUP BY session_id HAVING sum(events) >= 20)
    , s AS (
        SELECT session_id, user_id, CAST(events AS BIGINT) AS events,
               CAST(views AS BIGINT) AS views, CAST(carts AS BIGINT) AS carts,
               CAST(purchases AS BIGINT) AS purchases,
               greatest(date_diff('second', first_ts, last_ts), 1) / 60.0 AS minutes
        FROM (SELECT * FROM whole UNION ALL SELECT * FROM parts)),
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
    FROM r WHERE reasons <> '' ORDER BY events DESC, session_id LIMIT $limit
    """
    )
    return store.query_df(sql, used_params(sql, _params(shop_id, start, end, None, limit=limit)))


def _per_shopper_sql(rows: str, aggregates: str) -> str:
    """Two CTEs over ``session_days``-shaped ``rows`` (a CTE's name or a parenthesised query):
    ``split_n`` and ``act``, one row per shopper with ``user_id``, ``sessions`` and the
    ``aggregates``. A row not ``split`` is a session of its own and is counted as it is; only
    split rows are told apart by session id (a filtered ``count(DISTINCT)`` inside the shopper
    grouping would cost more than this second, small grouping)."""
    return f"""
    split_n AS (SELECT user_id, count(DISTINCT session_id) AS n FROM {rows} WHERE split GROUP BY 1),
    act AS (
        SELECT a.user_id, a.whole + coalesce(split_n.n, 0) AS sessions, a.* EXCLUDE (user_id, whole)
        FROM (SELECT user_id, count(*) FILTER (WHERE NOT split) AS whole, {aggregates}
              FROM {rows} GROUP BY 1) a
        LEFT JOIN split_n USING (user_id))"""


def _top_recommended_sql(users: str = "") -> str:
    """SQL of each shopper's top three recommended items by the active recommender (CTE
    ``active``), best first, joined by ``; `` (``recommended_items``); ``users``: a further
    condition on the rows. Each rank is picked on its own and the three joined: ordering the
    rows of every shopper for ``string_agg`` took 0.5 s for 200k shoppers."""
    picked = ", ".join(f"max(item_id) FILTER (WHERE rank = {r})" for r in (1, 2, 3))
    return f"""
        SELECT user_id, concat_ws('; ', {picked}) AS recommended_items
        FROM recommendations WHERE shop_id = $shop AND rank <= 3
          AND model_version = (SELECT version FROM active WHERE task = $recommend_task) {users}
        GROUP BY 1"""


def user_signals(store: Store, shop_id: str, start: date, end: date, *, purchase_task: str,
                 purchase_label: str, churn_task: str, churn_label: str, risk_task: str,
                 risk_label: str, recommend_task: str, sentiment_task: str,
                 negative_label: str, intent_task: str, demand_task: str,
                 need_labels: tuple[str, ...]) -> pd.DataFrame:  # fmt: skip
    """One row per shopper active in the period, with behaviour and model signals for segments.

    Behaviour: sessions, events, carts, purchases, recency_days (at the period end). Model
    signals read each task's **active** version (NULL without one): propensity (the shopper
    forecast's probability of ``purchase_label``), churn_risk (of ``churn_label``), risk (the
    anomaly model's probability of ``risk_label``), recommended_items (the recommender's top 3,
    best first, separated by ``; ``), reviews and negative_share (of predicted review sentiments),
    top_intent (most frequent predicted message intent), needs (review sentences predicted as
    one of ``need_labels``). Which tasks and labels these are is the caller's (``core``).
    """
    lo, hi = period_bounds(start, end)
    sql = (
        session_rows_sql(store, shop_id, None)
        + """
    , active AS (SELECT task, version FROM active_models WHERE shop_id = $shop),
    """
        + _per_shopper_sql(
            "sd",
            """CAST(sum(events) AS BIGINT) AS events,
               CAST(sum(carts) AS BIGINT) AS carts, CAST(sum(purchases) AS BIGINT) AS purchases,
               date_diff('day', max(last_ts), CAST($hi AS TIMESTAMP)) AS recency_days""",
        )
        + """,
    prop AS (
        SELECT target_id AS user_id,
               CAST(probs->>('$.' || $purchase_label) AS DOUBLE) AS propensity
        FROM predictions WHERE shop_id = $shop AND task = $purchase_task
          AND model_version = (SELECT version FROM active WHERE task = $purchase_task)
          AND target_id IN (SELECT user_id FROM act)),
    churn AS (
        SELECT target_id AS user_id, CAST(probs->>('$.' || $churn_label) AS DOUBLE) AS churn_risk
        FROM predictions WHERE shop_id = $shop AND task = $churn_task
          AND model_version = (SELECT version FROM active WHERE task = $churn_task)
          AND target_id IN (SELECT user_id FROM act)),
    risk AS (
        SELECT target_id AS user_id, CAST(probs->>('$.' || $risk_label) AS DOUBLE) AS risk
        FROM predictions WHERE shop_id = $shop AND task = $risk_task
          AND model_version = (SELECT version FROM active WHERE task = $risk_task)
          AND target_id IN (SELECT user_id FROM act)),
    recs AS ("""
        + _top_recommended_sql("AND user_id IN (SELECT user_id FROM act)")
        + """),
    -- each task's predictions are read separately (one shared CTE over every task would be
    -- materialised, JSON and all: about 1 s at 2M predictions), and only the period's shoppers'
    -- (their probabilities parsed from JSON: a 100M-event shop has 1M shoppers, a week 200k)
    senti AS (
        SELECT r.user_id, count(*) AS reviews,
               avg(CASE WHEN p.label = $negative_label THEN 1.0 ELSE 0.0 END) AS negative_share
        FROM reviews r JOIN predictions p ON p.shop_id = r.shop_id AND p.target_id = r.review_id
        WHERE r.shop_id = $shop AND r.user_id IS NOT NULL AND p.task = $sentiment_task
          AND p.model_version = (SELECT version FROM active WHERE task = $sentiment_task)
        GROUP BY 1),
    intent AS (
        SELECT m.user_id, mode(p.label ORDER BY p.label) AS top_intent
        FROM messages m JOIN predictions p ON p.shop_id = m.shop_id AND p.target_id = m.message_id
        WHERE m.shop_id = $shop AND m.user_id IS NOT NULL AND p.task = $intent_task
          AND p.model_version = (SELECT version FROM active WHERE task = $intent_task)
        GROUP BY 1),
    needs AS (
        SELECT r.user_id, count(*) AS needs
        FROM predictions p
        JOIN review_sentences s ON s.shop_id = p.shop_id AND s.sentence_id = p.target_id
        JOIN reviews r ON r.shop_id = s.shop_id AND r.review_id = s.review_id
        WHERE p.shop_id = $shop AND p.task = $demand_task
          AND p.model_version = (SELECT version FROM active WHERE task = $demand_task)
          AND list_contains($need_labels, p.label) AND r.user_id IS NOT NULL GROUP BY 1)
    SELECT act.*, prop.propensity, churn.churn_risk, risk.risk, recs.recommended_items, coalesce(senti.reviews, 0) AS reviews,
           senti.negative_share, intent.top_intent, coalesce(needs.needs, 0) AS needs
    FROM act LEFT JOIN prop USING (user_id) LEFT JOIN churn USING (user_id)
    LEFT JOIN risk USING (user_id) LEFT JOIN recs USING (user_id)
    LEFT JOIN senti USING (user_id) LEFT JOIN intent USING (user_id)
    LEFT JOIN needs USING (user_id)
    ORDER BY act.user_id
    """
    )
    params = {"shop": shop_id, "lo": lo, "hi": hi, "purchase_task": purchase_task,
              "purchase_label": purchase_label, "churn_task": churn_task,
              "churn_label": churn_label, "risk_task": risk_task,
              "recommend_task": recommend_task, "risk_label": risk_label,
              "sentiment_task": sentiment_task, "negative_label": negative_label,
              "intent_task": intent_task, "demand_task": demand_task,
              "need_labels": list(need_labels), "category": None}  # fmt: skip
    return store.query_df(sql, used_params(sql, params))


def message_author_kinds(store: Store, shop_id: str, start: date, end: date) -> pd.DataFrame:
    """For each message author: ``buyers`` (bought in the period), ``browsers`` (active, did not
    buy) or ``not active in period``. Only the authors' events are read. Columns: user_id, kind."""
    lo, hi = period_bounds(start, end)
    sql = """
    WITH authors AS (SELECT DISTINCT user_id FROM messages
                     WHERE shop_id = $shop AND user_id IS NOT NULL),
    act AS (SELECT e.user_id, bool_or(e.event_type = 'purchase') AS bought
            FROM events e SEMI JOIN authors a ON a.user_id = e.user_id
            WHERE e.shop_id = $shop AND e.ts >= $lo AND e.ts < $hi GROUP BY 1)
    SELECT a.user_id, CASE WHEN act.bought THEN 'buyers' WHEN act.bought IS NOT NULL
                           THEN 'browsers' ELSE 'not active in period' END AS kind
    FROM authors a LEFT JOIN act USING (user_id) ORDER BY a.user_id
    """
    return store.query_df(sql, {"shop": shop_id, "lo": lo, "hi": hi})


def shopper_table(store: Store, shop_id: str, *, purchase_task: str, purchase_label: str,
                  churn_task: str, churn_label: str, risk_task: str, risk_label: str,
                  recommend_task: str, **_: object) -> pd.DataFrame:  # fmt: skip
    """One row per shopper with events, for a CRM: behaviour over all time (sessions, events,
    purchases, first and last seen), the active versions' propensity, churn risk and anomaly
    score (NULL without a model), the three categories the shopper touched most and the
    recommender's top three items (``; ``-separated, best first)."""
    if summaries_cover(store, shop_id):  # a sixth of the rows; only split sessions grouped
        activity = (
            _per_shopper_sql(
                "(SELECT * FROM session_days WHERE shop_id = $shop AND total)",
                """CAST(sum(events) AS BIGINT) AS events,
               CAST(sum(purchases) AS BIGINT) AS purchases,
               min(first_ts) AS first_seen, max(last_ts) AS last_seen""",
            )
            + """,
    cat AS (
        SELECT user_id, category, CAST(sum(events) AS BIGINT) AS n FROM session_days
        WHERE shop_id = $shop AND NOT total AND category IS NOT NULL GROUP BY 1, 2),"""
        )
    else:
        activity = """
    act AS (
        SELECT user_id, count(DISTINCT session_id) AS sessions, count(*) AS events,
               count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
               min(ts) AS first_seen, max(ts) AS last_seen
        FROM events WHERE shop_id = $shop GROUP BY 1),
    cat AS (
        SELECT user_id, category, count(*) AS n FROM events
        WHERE shop_id = $shop AND category IS NOT NULL GROUP BY 1, 2),"""
    sql = f"""
    WITH active AS (SELECT task, version FROM active_models WHERE shop_id = $shop),
    {activity}
    cats AS (
        SELECT user_id, string_agg(category, '; ' ORDER BY n DESC, category) AS top_categories
        FROM (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY n DESC, category) AS r
              FROM cat) WHERE r <= 3 GROUP BY 1),
    pred AS (
        SELECT task, target_id AS user_id, probs, label, reason FROM predictions
        WHERE shop_id = $shop AND task IN ($purchase_task, $churn_task, $risk_task)
          AND model_version = (SELECT version FROM active a WHERE a.task = predictions.task)),
    recs AS ({_top_recommended_sql()})
    SELECT act.user_id,
           round(CAST(p.probs->>('$.' || $purchase_label) AS DOUBLE), 4) AS propensity,
           round(CAST(c.probs->>('$.' || $churn_label) AS DOUBLE), 4) AS churn_risk,
           c.reason AS churn_drivers,
           round(CAST(r.probs->>('$.' || $risk_label) AS DOUBLE), 4) AS risk_score,
           r.label = $risk_label AS risk_flagged, r.reason AS risk_reason,
           cats.top_categories, recs.recommended_items,
           act.sessions, act.events, act.purchases, act.first_seen, act.last_seen
    FROM act
    LEFT JOIN pred p ON p.user_id = act.user_id AND p.task = $purchase_task
    LEFT JOIN pred c ON c.user_id = act.user_id AND c.task = $churn_task
    LEFT JOIN pred r ON r.user_id = act.user_id AND r.task = $risk_task
    LEFT JOIN cats ON cats.user_id = act.user_id
    LEFT JOIN recs ON recs.user_id = act.user_id
    ORDER BY act.user_id
    """
    params = {"shop": shop_id, "purchase_task": purchase_task, "purchase_label": purchase_label,
              "churn_task": churn_task, "churn_label": churn_label, "risk_task": risk_task,
              "risk_label": risk_label, "recommend_task": recommend_task}  # fmt: skip
    return store.query_df(sql, params)
