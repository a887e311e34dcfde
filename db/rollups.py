"""Summary tables beside the event log, so a dashboard page need not read the whole log.

Five tables, all derived from ``events`` only:

- ``activity_daily``: per shop and day, events, sessions, shoppers, buyers, views, carts and
  purchases, once per category and once over all categories (``total``);
- ``user_weeks``: per shop, shopper and week (Monday start), the shopper's events that week and
  the time of the first one (cohorts);
- ``user_firsts``: per shop and shopper, the time of the shopper's first event and their events
  over the whole log (new and returning shoppers, cohort sizes, the most active shoppers), kept
  from ``user_weeks`` for the shoppers of the weeks a refresh rewrites;
- ``session_days``: per shop, day and session (and shopper), the session's events, views, carts,
  purchases and first / last event time that day, once per category and once over all
  categories (``total``). Distinct sessions of any period are counted exactly from it without
  grouping the sessions: a row of a session with one ``total`` row in the whole log is a session
  of its own; only the rows marked ``split`` (a session that crosses midnight has a row on both
  days, as it has events on both) are grouped by session;
- ``purchase_events``: the purchase events alone (a few in a hundred of the log), in time
  order, for revenue and order value (joined with the items' prices when asked).

Ingestion rewrites the days and weeks its rows touch in the same transaction that adds them
(:func:`refresh`), so the summaries never lag the log. A reader checks that they cover every event
before trusting them (:func:`covers_events`): a store written by an older ShopLens, or rows put
in by hand, fall back to reading ``events`` until :func:`rebuild` runs (``Store.init_schema``
runs it when the tables are new).

    >>> with store.write() as con:
    ...     refresh(con, "acme", date(2024, 3, 1), date(2024, 3, 7))
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import duckdb

ROLLUP_TABLES = ("activity_daily", "user_weeks", "user_firsts", "session_days", "purchase_events")


def _purchases_sql(prefix: str, where: str, order: str) -> str:
    """The insert of ``purchase_events``' rows from the events that meet ``where``."""
    return (
        f"INSERT INTO {prefix}purchase_events SELECT shop_id, ts, user_id, item_id, category "
        f"FROM {prefix}events WHERE event_type = 'purchase' AND {where} ORDER BY {order}"
    )


# the summaries a store that lacks them gets from one pass over the log, not a rebuild
_CHEAP_TO_FILL = {
    "user_firsts": "INSERT INTO user_firsts SELECT shop_id, user_id, min(first_ts), sum(events) "
    "FROM user_weeks GROUP BY shop_id, user_id",
    "purchase_events": _purchases_sql("", "TRUE", "shop_id, ts"),
}


def _daily_sql(prefix: str, by_category: bool) -> str:
    """Rows of ``activity_daily`` for the days in [$lo, $hi) of one shop, from the rows of
    ``session_days`` (already grouped per day, category, session and shopper; refreshed first).

    ``count(DISTINCT ...)`` over millions of rows is slow in DuckDB, so sessions and shoppers are
    counted by grouping first (about 5x faster on 10M events).
    """
    rows = "NOT total" if by_category else "total"
    return f"""
    WITH s AS (
        SELECT day, category, session_id, user_id, events AS n, views, carts, purchases
        FROM {prefix}session_days WHERE shop_id = $shop AND day >= CAST($lo AS DATE)
          AND day < CAST($hi AS DATE) AND {rows}),
    by_session AS (SELECT day, category, count(*) AS sessions
                   FROM (SELECT DISTINCT day, category, session_id FROM s) GROUP BY ALL),
    by_user AS (SELECT day, category, count(*) AS shoppers, count(*) FILTER (WHERE bought) AS buyers
                FROM (SELECT day, category, user_id, bool_or(purchases > 0) AS bought
                      FROM s GROUP BY ALL) GROUP BY ALL),
    by_event AS (SELECT day, category, sum(n) AS events, sum(views) AS views, sum(carts) AS carts,
                        sum(purchases) AS purchases FROM s GROUP BY ALL),
    parts AS (
        SELECT day, category, 0 AS events, sessions, 0 AS shoppers, 0 AS buyers, 0 AS views,
               0 AS carts, 0 AS purchases FROM by_session
        UNION ALL SELECT day, category, 0, 0, shoppers, buyers, 0, 0, 0 FROM by_user
        UNION ALL SELECT day, category, events, 0, 0, 0, views, carts, purchases FROM by_event)
    SELECT $shop, day, category, {"FALSE" if by_category else "TRUE"}, sum(events), sum(sessions),
           sum(shoppers), sum(buyers), sum(views), sum(carts), sum(purchases)
    FROM parts GROUP BY day, category
    """


def _session_days_sql(prefix: str) -> str:
    """Rows of ``session_days`` for the days in [$lo, $hi) of one shop, in day order (a period's
    query then skips the row groups of other days)."""
    return f"""
    WITH c AS (
        SELECT CAST(ts AS DATE) AS day, session_id, user_id, category, count(*) AS events,
               count(*) FILTER (WHERE event_type = 'view') AS views,
               count(*) FILTER (WHERE event_type = 'cart') AS carts,
               count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
               min(ts) AS first_ts, max(ts) AS last_ts
        FROM {prefix}events WHERE shop_id = $shop AND ts >= $lo AND ts < $hi
        GROUP BY ALL),
    rows AS (
        SELECT day, session_id, user_id, category, FALSE AS total, events, views, carts,
               purchases, first_ts, last_ts FROM c
        UNION ALL
        SELECT day, session_id, user_id, NULL, TRUE, sum(events), sum(views), sum(carts),
               sum(purchases), min(first_ts), max(last_ts) FROM c GROUP BY day, session_id, user_id)
    SELECT $shop, day, session_id, user_id, category, total, FALSE, events, views, carts,
           purchases, first_ts, last_ts
    FROM rows ORDER BY day, total
    """


def _mark_split_sessions(
    con: duckdb.DuckDBPyConnection, shop_id: str, first_day: date, last_day: date, prefix: str
) -> None:
    """Set ``split`` on every row of the sessions of the refreshed days that have more than one
    ``total`` row in the whole table (rows of other days included: a session may continue a day
    ingested before, or after)."""
    con.execute(
        f"""UPDATE {prefix}session_days SET split = TRUE
        WHERE shop_id = $shop AND NOT split AND session_id IN (
            SELECT session_id FROM {prefix}session_days
            WHERE shop_id = $shop AND total AND session_id IN (
                SELECT session_id FROM {prefix}session_days
                WHERE shop_id = $shop AND total AND day >= $first AND day <= $last)
            GROUP BY session_id HAVING count(*) > 1)""",
        {"shop": shop_id, "first": first_day, "last": last_day},
    )


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def refresh(
    con: duckdb.DuckDBPyConnection, shop_id: str, first_day: date, last_day: date, prefix: str = ""
) -> None:
    """Recompute the summaries of ``shop_id`` for the days ``first_day``..``last_day`` (and the
    weeks holding them) from ``events``, inside the caller's transaction: ``session_days`` from
    the events of those days, ``activity_daily`` and ``user_weeks`` from ``session_days`` (a
    week's ``user_weeks`` rows read the days of the week outside the range too, which earlier
    refreshes keep), and the ``user_firsts`` rows of those weeks' shoppers from ``user_weeks``.

    ``prefix`` names the database holding the tables (``"store."`` when the store is attached
    to another connection, as during ingestion).
    """
    lo = datetime.combine(first_day, time.min)
    hi = datetime.combine(last_day + timedelta(days=1), time.min)
    con.execute(
        f"DELETE FROM {prefix}session_days WHERE shop_id = ? AND day >= ? AND day <= ?",
        [shop_id, first_day, last_day],
    )
    con.execute(
        f"INSERT INTO {prefix}session_days {_session_days_sql(prefix)}",
        {"shop": shop_id, "lo": lo, "hi": hi},
    )
    _mark_split_sessions(con, shop_id, first_day, last_day, prefix)
    con.execute(
        f"DELETE FROM {prefix}purchase_events WHERE shop_id = $shop AND ts >= $lo AND ts < $hi",
        {"shop": shop_id, "lo": lo, "hi": hi},
    )
    con.execute(
        _purchases_sql(prefix, "shop_id = $shop AND ts >= $lo AND ts < $hi", "ts"),
        {"shop": shop_id, "lo": lo, "hi": hi},
    )
    # these two from session_days: a sixth of the rows of the events, grouped already
    con.execute(
        f"DELETE FROM {prefix}activity_daily WHERE shop_id = ? AND day >= ? AND day <= ?",
        [shop_id, first_day, last_day],
    )
    for by_category in (True, False):
        con.execute(
            f"INSERT INTO {prefix}activity_daily {_daily_sql(prefix, by_category)}",
            {"shop": shop_id, "lo": lo, "hi": hi},
        )
    week_lo, week_hi = _week_start(first_day), _week_start(last_day) + timedelta(days=7)
    weeks = {"shop": shop_id, "lo": week_lo, "hi": week_hi}
    of_weeks = (
        f"SELECT user_id FROM {prefix}user_weeks "
        "WHERE shop_id = $shop AND week >= $lo AND week < $hi"
    )
    # the shoppers of those weeks, before and after: their whole-log rows are rewritten below
    con.execute(f"CREATE OR REPLACE TEMPORARY TABLE refreshed_users AS {of_weeks}", weeks)
    con.execute(
        f"DELETE FROM {prefix}user_weeks WHERE shop_id = $shop AND week >= $lo AND week < $hi",
        weeks,
    )
    con.execute(
        f"INSERT INTO {prefix}user_weeks SELECT $shop, user_id, CAST(date_trunc('week', day) AS "
        f"DATE), min(first_ts), sum(events) FROM {prefix}session_days "
        "WHERE shop_id = $shop AND total AND day >= $lo AND day < $hi GROUP BY ALL",
        weeks,
    )
    con.execute(f"INSERT INTO refreshed_users {of_weeks}", weeks)
    con.execute(
        f"DELETE FROM {prefix}user_firsts WHERE shop_id = $shop "
        "AND user_id IN (SELECT user_id FROM refreshed_users)",
        {"shop": shop_id},
    )
    con.execute(
        f"INSERT INTO {prefix}user_firsts SELECT $shop, user_id, min(first_ts), sum(events) "
        f"FROM {prefix}user_weeks WHERE shop_id = $shop "
        "AND user_id IN (SELECT user_id FROM refreshed_users) GROUP BY user_id",
        {"shop": shop_id},
    )
    con.execute("DROP TABLE refreshed_users")


def rebuild(con: duckdb.DuckDBPyConnection, shop_id: str | None = None, prefix: str = "") -> None:
    """Recompute the summaries of one shop (or of every shop with events) from scratch."""
    if shop_id is None:
        shops = [
            r[0] for r in con.execute(f"SELECT DISTINCT shop_id FROM {prefix}events").fetchall()
        ]
        for table in ROLLUP_TABLES:
            con.execute(f"DELETE FROM {prefix}{table}")
    else:
        shops = [shop_id]
    for shop in shops:
        first, last = con.execute(
            f"SELECT CAST(min(ts) AS DATE), CAST(max(ts) AS DATE) FROM {prefix}events "
            "WHERE shop_id = ?",
            [shop],
        ).fetchone() or (None, None)
        if first is None:
            for table in ROLLUP_TABLES:
                con.execute(f"DELETE FROM {prefix}{table} WHERE shop_id = ?", [shop])
            continue
        refresh(con, shop, first, last, prefix)


def fill_missing(con: duckdb.DuckDBPyConnection, missing: set[str]) -> None:
    """Fill the summary tables just created for a store that lacked them: ``user_firsts`` from
    ``user_weeks`` and ``purchase_events`` from the log's purchases (seconds at 100M events),
    anything else by :func:`rebuild`."""
    if missing <= _CHEAP_TO_FILL.keys():
        for table in sorted(missing):
            con.execute(_CHEAP_TO_FILL[table])
    else:
        rebuild(con)


def _tables_present(con: duckdb.DuckDBPyConnection) -> bool:
    present = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND list_contains($tables, table_name)",
        {"tables": list(ROLLUP_TABLES)},
    ).fetchone()
    return present is not None and present[0] == len(ROLLUP_TABLES)


def cover_all_events(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the day summaries count every event of every shop (the shops with events are
    then the shops in ``activity_daily``)."""
    if not _tables_present(con):
        return False
    row = con.execute(
        "SELECT (SELECT count(*) FROM events), "
        "(SELECT coalesce(sum(events), 0) FROM activity_daily WHERE total)"
    ).fetchone()
    return row is not None and row[0] == row[1]


def covers_events(con: duckdb.DuckDBPyConnection, shop_id: str) -> bool:
    """Whether every summary accounts for exactly the shop's events (and so may stand in for
    them). A shop without events is covered when the summaries hold nothing for it either.
    A store written by an older ShopLens has no summary tables until its next schema init (an
    ingest runs one; the dashboard opens the store read-only): not covered."""
    if not _tables_present(con):
        return False
    row = con.execute(
        """SELECT (SELECT count(*) FROM events WHERE shop_id = $shop),
                  (SELECT coalesce(sum(events), 0) FROM activity_daily
                   WHERE shop_id = $shop AND total),
                  (SELECT coalesce(sum(events), 0) FROM user_weeks WHERE shop_id = $shop),
                  (SELECT coalesce(sum(events), 0) FROM user_firsts WHERE shop_id = $shop),
                  (SELECT coalesce(sum(events), 0) FROM session_days
                   WHERE shop_id = $shop AND total),
                  (SELECT count(*) FROM purchase_events WHERE shop_id = $shop),
                  (SELECT coalesce(sum(purchases), 0) FROM activity_daily
                   WHERE shop_id = $shop AND total)""",
        {"shop": shop_id},
    ).fetchone()
    return row is not None and row[0] == row[1] == row[2] == row[3] == row[4] and row[5] == row[6]
