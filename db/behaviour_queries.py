"""Queries of the Search and Recommendations pages: what shoppers search for and what follows,
"shoppers who viewed this also viewed / bought", and what a segment's recommendations favour.

Parameters are bound, never formatted into SQL; the period is ``[start, end]`` inclusive.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from db.dashboard_queries import (
    categories,
    period_bounds,
    session_rows_sql,
    summaries_cover,
    used_params,
)
from db.store import Store

_SEARCHES = """
    s AS (SELECT session_id, user_id, lower(trim(query)) AS q, ts FROM events
          WHERE shop_id = $shop AND event_type = 'search' AND query IS NOT NULL
            AND trim(query) <> '' AND ts >= $lo AND ts < $hi),
    after AS (  -- each searching session's last view and last purchase, up to a day after
                -- the period (the log is stored in time order: the period's row groups only)
        SELECT session_id, max(ts) FILTER (WHERE event_type = 'view') AS last_view,
               max(ts) FILTER (WHERE event_type = 'purchase') AS last_buy
        FROM events WHERE shop_id = $shop AND ts >= $lo AND ts < $hi + INTERVAL 1 DAY
          AND session_id IN (SELECT session_id FROM s)
        GROUP BY 1),
    hits AS (
        SELECT s.*, coalesce(a.last_view > s.ts, FALSE) AS viewed,
               coalesce(a.last_buy > s.ts, FALSE) AS bought
        FROM s LEFT JOIN after a USING (session_id))
"""


def search_activity(store: Store, shop_id: str, start: date, end: date,
                    limit: int = 500) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """What the Search page shows, from one query over the period's searches and the sessions
    they start (a query of its own for each half read a 100M-event log's week twice as often):

    - per query (lower-cased, trimmed), the ``limit`` most searched first: searches, shoppers,
      the share of searches followed in the same session by a view (``view_rate``) and by a
      purchase (``purchase_rate``; a session is followed until a day after the period), and the
      searches in the period's first and second half (``earlier``, ``later``) for trends;
    - per day: searches, distinct queries, and searches followed by nothing (no view, no
      purchase) in the same session (``dead_ends``).
    """
    lo, hi = period_bounds(start, end)
    mid = lo + (hi - lo) / 2
    sql = f"""
    WITH {_SEARCHES}
    SELECT q AS query, day, count(*) AS searches, count(DISTINCT user_id) AS shoppers,
           avg(CAST(viewed AS DOUBLE)) AS view_rate, avg(CAST(bought AS DOUBLE)) AS purchase_rate,
           count(*) FILTER (WHERE ts < $mid) AS earlier,
           count(*) FILTER (WHERE ts >= $mid) AS later, count(DISTINCT q) AS queries,
           count(*) FILTER (WHERE NOT viewed AND NOT bought) AS dead_ends
    FROM (SELECT *, CAST(ts AS DATE) AS day FROM hits)
    GROUP BY GROUPING SETS ((q), (day))
    """
    both = store.query_df(sql, {"shop": shop_id, "lo": lo, "hi": hi, "mid": mid})
    per_query = both[both["query"].notna()]
    queries = (
        per_query.sort_values(["searches", "query"], ascending=[False, True], kind="stable")
        .head(limit)[["query", "searches", "shoppers", "view_rate", "purchase_rate", "earlier",
                      "later"]]
        .reset_index(drop=True)
    )  # fmt: skip
    daily = (
        both[both["day"].notna() & both["query"].isna()]
        .sort_values("day")[["day", "searches", "queries", "dead_ends"]]
        .reset_index(drop=True)
    )
    return queries, daily


def catalogue_texts(store: Store, shop_id: str) -> list[str]:
    """Every item title and category of the shop (what a query can match), sorted."""
    df = store.query_df(
        "SELECT DISTINCT t FROM (SELECT title AS t FROM items WHERE shop_id = $shop UNION ALL "
        "SELECT category FROM items WHERE shop_id = $shop) WHERE t IS NOT NULL",
        {"shop": shop_id},
    )
    # and the events' categories (from the day summaries when they cover the log); sorted, so
    # the answer does not depend on how DuckDB happened to order a DISTINCT
    return sorted({*df["t"].astype(str), *categories(store, shop_id)})


def also_touched(store: Store, shop_id: str, item_id: str, event_type: str = "view",
                 limit: int = 10, start: date | None = None, end: date | None = None,
                 sample_above: int | None = None) -> pd.DataFrame:  # fmt: skip
    """ "Shoppers who viewed this also viewed / bought": the other items that shoppers who touched
    ``item_id`` went on to ``event_type`` (view or purchase), by how many of them did; with
    ``start`` and ``end`` (days, inclusive), the period's events only (a page's period: the log is
    stored in time order, so a week of a 100M-event log reads a week's row groups).
    Columns: item_id, title, category, shoppers, share (of the item's shoppers).

    With ``sample_above``, an item touched by more shoppers than that is answered from a fixed
    sample of them, 1 in n (by a hash of the shopper id) so that about ``sample_above`` remain:
    ``share`` is the sample's, ``shoppers`` that share of all the item's shoppers, and
    ``attrs["sampled_one_in"]`` is n (1 when every shopper was counted). The week's most viewed
    item of a 100M-event log, 128k shoppers, 1 in 7: 0.66 s instead of 1.3 s, shares within
    1 point of the exact ones.
    """
    if event_type not in ("view", "purchase", "cart", "fav"):
        raise ValueError(f"event type {event_type!r}")
    if sample_above is not None and sample_above < 1:
        raise ValueError(f"sample_above must be at least 1, not {sample_above}")
    lo, hi = period_bounds(start or date.min, end or date(9998, 12, 31))
    params = {"shop": shop_id, "item": str(item_id), "lo": lo, "hi": hi}
    touched = """SELECT DISTINCT user_id FROM events
                 WHERE shop_id = $shop AND ts >= $lo AND ts < $hi AND item_id = $item
                   AND event_type <> 'search'"""
    # a page asks for viewed and bought: the item's shoppers are found once per page run
    kept = store.kept_for_this_read(("shoppers of", shop_id, str(item_id), lo, hi), touched,
                                    params)  # fmt: skip
    item_shoppers = kept or f"({touched})"
    total, one_in = None, 1
    if sample_above is not None:
        total = int(store.query_df(f"SELECT count(*) AS n FROM {item_shoppers}",
                                   used_params(item_shoppers, params))["n"].iloc[0])  # fmt: skip
        one_in = -(-total // sample_above)  # ceiling
    # typed: an untyped parameter here made the scan four times slower
    sample = "hash({}) % CAST($one_in AS UBIGINT) = 0" if one_in > 1 else "TRUE"
    sql = f"""
    -- the item's shoppers and their events are two scans of the period rather than one shared
    -- CTE (materialised: twice as slow), and distinct pairs are counted rather than
    -- count(DISTINCT) per item
    WITH who AS (SELECT user_id FROM {item_shoppers} WHERE {sample.format("user_id")}),
    pairs AS (SELECT DISTINCT e.item_id, e.user_id FROM events e SEMI JOIN who USING (user_id)
              WHERE e.shop_id = $shop AND e.ts >= $lo AND e.ts < $hi AND e.event_type = $kind
                AND e.item_id IS NOT NULL AND e.item_id <> $item
                AND {sample.format("e.user_id")}),
    other AS (SELECT item_id, count(*) AS shoppers FROM pairs GROUP BY 1),
    n AS (SELECT count(*) AS who FROM who)
    SELECT o.item_id, i.title, i.category,
           CAST(round(o.shoppers * coalesce(CAST($total AS BIGINT), n.who) / n.who) AS BIGINT)
           AS shoppers, o.shoppers / n.who AS share
    FROM other o CROSS JOIN n LEFT JOIN items i ON i.shop_id = $shop AND i.item_id = o.item_id
    ORDER BY o.shoppers DESC, o.item_id LIMIT $limit
    """
    params |= {"kind": event_type, "limit": limit, "total": total, "one_in": one_in}
    out = store.query_df(sql, used_params(sql, params))
    if out.empty and one_in > 1:  # a small sample may hold none who did: count them all
        return also_touched(store, shop_id, item_id, event_type, limit, start, end)
    out.attrs["sampled_one_in"] = one_in
    return out


def shopper_recommendations(store: Store, shop_id: str, version: str, user_id: str,
                            k: int = 10) -> pd.DataFrame:  # fmt: skip
    """One shopper's list with item titles. Columns: rank, item_id, title, category, score."""
    sql = """
    SELECT r.rank, r.item_id, i.title, coalesce(r.category, i.category) AS category, r.score
    FROM recommendations r LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE r.shop_id = $shop AND r.model_version = $version AND r.user_id = $user
      AND r.rank <= $k ORDER BY r.rank
    """
    return store.query_df(sql, {"shop": shop_id, "version": version, "user": str(user_id),
                                "k": k})  # fmt: skip


def recommended_users(store: Store, shop_id: str, version: str, limit: int = 200) -> list[str]:
    """Shoppers with a list, most active first (a picker's choices). Activity comes from the
    per-shopper summary when it covers the log."""
    activity = ("SELECT user_id, events AS n FROM user_firsts WHERE shop_id = $shop"
                if summaries_cover(store, shop_id)
                else "SELECT user_id, count(*) AS n FROM events WHERE shop_id = $shop GROUP BY 1")  # fmt: skip
    sql = f"""
    SELECT r.user_id FROM (SELECT DISTINCT user_id FROM recommendations
                           WHERE shop_id = $shop AND model_version = $version) r
    JOIN ({activity}) e USING (user_id)
    ORDER BY e.n DESC, r.user_id LIMIT $limit
    """
    df = store.query_df(sql, {"shop": shop_id, "version": version, "limit": limit})
    return df["user_id"].astype(str).tolist()


def segment_promotions(store: Store, shop_id: str, start: date, end: date, segment: str,
                       version: str, category: str | None = None,
                       limit: int = 15) -> pd.DataFrame:  # fmt: skip
    """What to promote to a segment (shoppers active in the period who meet it): the items most
    often in its shoppers' top-10 lists. Columns: item_id, title, category, shoppers (how many of
    the segment's shoppers have it), share, mean_rank."""
    lo, hi = period_bounds(start, end)
    sql = (
        session_rows_sql(store, shop_id, segment, category, period=(start, end))
        + """
    , members AS (SELECT DISTINCT user_id FROM sd)
    SELECT r.item_id, i.title, coalesce(i.category, any_value(r.category)) AS category,
           count(*) AS shoppers, count(*) / (SELECT count(*) FROM members) AS share,
           avg(r.rank) AS mean_rank
    FROM recommendations r
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    WHERE r.shop_id = $shop AND r.model_version = $version AND r.rank <= 10
      AND r.user_id IN (SELECT user_id FROM members)
    GROUP BY r.item_id, i.title, i.category
    ORDER BY shoppers DESC, mean_rank, r.item_id LIMIT $limit
    """
    )
    params = {"shop": shop_id, "lo": lo, "hi": hi, "category": category, "version": version,
              "limit": limit}  # fmt: skip
    return store.query_df(sql, used_params(sql, params))


def shopper_exists(store: Store, shop_id: str, user_id: str) -> bool:
    """Whether the shop has any event of ``user_id``."""
    df = store.query_df("SELECT 1 AS x FROM events WHERE shop_id = $shop AND user_id = $user "
                        "LIMIT 1", {"shop": shop_id, "user": str(user_id)})  # fmt: skip
    return not df.empty


def shopper_predictions(store: Store, shop_id: str, user_id: str,
                        tasks: tuple[str, ...]) -> pd.DataFrame:  # fmt: skip
    """The active versions' predictions for one shopper. Columns: task, model_version, label,
    probs (JSON text), reason."""
    sql = """
    SELECT p.task, p.model_version, p.label, CAST(p.probs AS VARCHAR) AS probs, p.reason
    FROM predictions p JOIN active_models a
      ON a.shop_id = p.shop_id AND a.task = p.task AND a.version = p.model_version
    WHERE p.shop_id = $shop AND p.target_id = $user AND list_contains($tasks, p.task)
    ORDER BY p.task
    """
    return store.query_df(sql, {"shop": shop_id, "user": str(user_id), "tasks": list(tasks)})


def item_exists(store: Store, shop_id: str, item_id: str) -> bool:
    """Whether the shop lists ``item_id`` or has an event on it."""
    df = store.query_df(
        "SELECT 1 AS x FROM items WHERE shop_id = $shop AND item_id = $item UNION ALL "
        "SELECT 1 FROM (SELECT 1 FROM events WHERE shop_id = $shop AND item_id = $item LIMIT 1)",
        {"shop": shop_id, "item": str(item_id)},
    )
    return not df.empty


def daily_activity(store: Store, shop_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(per category, total)``: one row per day (and category) with sessions, views, carts and
    purchases, from the summary table (rebuilt at ingest), else from the events."""
    from db.dashboard_queries import summaries_cover

    cols = "day, category, sessions, views, carts, purchases"
    if summaries_cover(store, shop_id):
        per = store.query_df(f"SELECT {cols} FROM activity_daily WHERE shop_id = $shop AND NOT total "
                             "ORDER BY day, category", {"shop": shop_id})  # fmt: skip
        total = store.query_df(f"SELECT {cols} FROM activity_daily WHERE shop_id = $shop AND total "
                               "ORDER BY day", {"shop": shop_id})  # fmt: skip
        return per, total
    sql = """
    SELECT CAST(ts AS DATE) AS day, {group} AS category, count(DISTINCT session_id) AS sessions,
           count(*) FILTER (WHERE event_type = 'view') AS views,
           count(*) FILTER (WHERE event_type = 'cart') AS carts,
           count(*) FILTER (WHERE event_type = 'purchase') AS purchases
    FROM events WHERE shop_id = $shop GROUP BY ALL ORDER BY ALL
    """
    per = store.query_df(sql.format(group="category"), {"shop": shop_id})
    total = store.query_df(sql.format(group="CAST(NULL AS VARCHAR)"), {"shop": shop_id})
    return per, total


def segment_activity(store: Store, shop_id: str, start: date, first: date,
                     end: date) -> pd.DataFrame:  # fmt: skip
    """Sessions, views, carts and purchases of new and returning shoppers (``segment``: new when
    the shopper was first seen within the 7 days to the event's day), for the baseline days
    ``start``..``first`` (exclusive) and the checked days ``first``..``end`` (``checked``).
    Columns: segment, checked, days, sessions, views, carts, purchases."""
    lo, _ = period_bounds(start, start)
    _, hi = period_bounds(end, end)
    sql = """
    SELECT CASE WHEN CAST(u.first_seen AS DATE) > CAST(e.ts AS DATE) - INTERVAL 7 DAY
                THEN 'new' ELSE 'returning' END AS segment,
           CAST(e.ts AS DATE) >= $first AS checked,
           count(DISTINCT CAST(e.ts AS DATE)) AS days,
           count(DISTINCT e.session_id) AS sessions,
           count(*) FILTER (WHERE e.event_type = 'view') AS views,
           count(*) FILTER (WHERE e.event_type = 'cart') AS carts,
           count(*) FILTER (WHERE e.event_type = 'purchase') AS purchases
    FROM events e JOIN users u ON u.shop_id = e.shop_id AND u.user_id = e.user_id
    WHERE e.shop_id = $shop AND e.ts >= $lo AND e.ts < $hi
    GROUP BY 1, 2 ORDER BY 1, 2
    """
    return store.query_df(sql, {"shop": shop_id, "lo": lo, "hi": hi, "first": first})


def monitoring_rows(store: Store, shop_id: str, task: str, version: str) -> pd.DataFrame:
    """A text task's rows with the version's prediction, their text, date and language, and
    whether the row is in the task's fixed split (``reference``: the rows the serving version was
    trained and tested on) or arrived since. Reviews, messages and review sentences alike.
    Columns: target_id, label, ts, text, language, reference."""
    sql = """
    SELECT p.target_id, p.label,
           coalesce(r.ts, m.ts, sr.ts) AS ts, coalesce(r.text, m.text, s.text) AS text,
           coalesce(r.language, m.language, sr.language) AS language,
           d.target_id IS NOT NULL AS reference
    FROM predictions p
    LEFT JOIN reviews r ON r.shop_id = p.shop_id AND r.review_id = p.target_id
    LEFT JOIN messages m ON m.shop_id = p.shop_id AND m.message_id = p.target_id
    LEFT JOIN review_sentences s ON s.shop_id = p.shop_id AND s.sentence_id = p.target_id
    LEFT JOIN reviews sr ON sr.shop_id = s.shop_id AND sr.review_id = s.review_id
    LEFT JOIN data_splits d ON d.shop_id = p.shop_id AND d.task = p.task
                           AND d.target_id = p.target_id
    WHERE p.shop_id = $shop AND p.task = $task AND p.model_version = $version
    """
    return store.query_df(sql, {"shop": shop_id, "task": task, "version": version})


def fresh_human_pairs(store: Store, shop_id: str, task: str, version: str) -> pd.DataFrame:
    """Human labels given after ``version`` was registered, beside its prediction of the same
    row (the latest label per row). Columns: target_id, label, predicted, probs (JSON text)."""
    sql = """
    WITH v AS (SELECT created_at FROM model_versions
               WHERE shop_id = $shop AND task = $task AND version = $version),
    h AS (SELECT target_id, arg_max(label, created_at) AS label FROM labels
          WHERE shop_id = $shop AND task = $task AND source = 'human'
            AND created_at > (SELECT created_at FROM v) GROUP BY 1)
    SELECT h.target_id, h.label, p.label AS predicted, CAST(p.probs AS VARCHAR) AS probs
    FROM h JOIN predictions p ON p.shop_id = $shop AND p.task = $task
                             AND p.model_version = $version AND p.target_id = h.target_id
    ORDER BY h.target_id
    """
    return store.query_df(sql, {"shop": shop_id, "task": task, "version": version})


def daily_text_signals(store: Store, shop_id: str, *, sentiment_task: str, negative_label: str,
                       demand_task: str, need_labels: tuple[str, ...],
                       **_: object) -> pd.DataFrame:  # fmt: skip
    """Per day and category: reviews scored by the active sentiment version, how many it called
    ``negative_label``, and review sentences the active demand version called a need.
    Columns: day, category, reviews, negatives, needs."""
    sql = """
    WITH active AS (SELECT task, version FROM active_models WHERE shop_id = $shop),
    r AS (SELECT r.review_id, CAST(r.ts AS DATE) AS day, coalesce(i.category, '(none)') AS category
          FROM reviews r LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
          WHERE r.shop_id = $shop AND r.ts IS NOT NULL),
    senti AS (SELECT r.day, r.category, count(*) AS reviews,
                     count(*) FILTER (WHERE p.label = $negative) AS negatives
              FROM r JOIN predictions p ON p.shop_id = $shop AND p.target_id = r.review_id
                AND p.task = $sentiment_task
                AND p.model_version = (SELECT version FROM active WHERE task = $sentiment_task)
              GROUP BY 1, 2),
    needs AS (SELECT r.day, r.category, count(*) AS needs
              FROM predictions p
              JOIN review_sentences s ON s.shop_id = p.shop_id AND s.sentence_id = p.target_id
              JOIN r ON r.review_id = s.review_id
              WHERE p.shop_id = $shop AND p.task = $demand_task
                AND p.model_version = (SELECT version FROM active WHERE task = $demand_task)
                AND list_contains($needs, p.label)
              GROUP BY 1, 2)
    SELECT coalesce(senti.day, needs.day) AS day, coalesce(senti.category, needs.category) AS category,
           coalesce(senti.reviews, 0) AS reviews, coalesce(senti.negatives, 0) AS negatives,
           coalesce(needs.needs, 0) AS needs
    FROM senti FULL JOIN needs ON senti.day = needs.day AND senti.category = needs.category
    ORDER BY 1, 2
    """
    return store.query_df(sql, {"shop": shop_id, "negative": negative_label,
                                "sentiment_task": sentiment_task, "demand_task": demand_task,
                                "needs": list(need_labels)})  # fmt: skip


def daily_needs(store: Store, shop_id: str, *, demand_task: str, **_: object) -> pd.DataFrame:
    """Per day and stored need (the grouping of the active demand version's need sentences,
    :mod:`db.repo.needs`): need sentences and up to five of their reviews (the most central
    sentences first). Columns: day, need_id, name, sentences, review_ids (a list)."""
    sql = """
    SELECT CAST(r.ts AS DATE) AS day, m.need_id, g.name, count(*) AS sentences,
           list(DISTINCT r.review_id ORDER BY r.review_id)[:5] AS review_ids
    FROM need_members m
    JOIN need_groups g ON g.shop_id = m.shop_id AND g.model_version = m.model_version
         AND g.need_id = m.need_id
    JOIN review_sentences s ON s.shop_id = m.shop_id AND s.sentence_id = m.target_id
    JOIN reviews r ON r.shop_id = s.shop_id AND r.review_id = s.review_id
    WHERE m.shop_id = $shop AND r.ts IS NOT NULL AND m.model_version =
          (SELECT version FROM active_models WHERE shop_id = $shop AND task = $task)
    GROUP BY 1, 2, 3 ORDER BY 1, 2
    """
    return store.query_df(sql, {"shop": shop_id, "task": demand_task})


def negative_reviews(store: Store, shop_id: str, task: str, label: str, category: str | None,
                     start: date, end: date, limit: int = 5) -> list[str]:  # fmt: skip
    """Ids of reviews of ``category`` (any with None) dated ``start``..``end`` that the serving
    ``task`` version calls ``label``, most confident first."""
    lo, hi = period_bounds(start, end)
    sql = """
    SELECT r.review_id FROM reviews r
    LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
    JOIN predictions p ON p.shop_id = r.shop_id AND p.target_id = r.review_id AND p.task = $task
     AND p.model_version = (SELECT version FROM active_models WHERE shop_id = $shop AND task = $task)
    WHERE r.shop_id = $shop AND r.ts >= $lo AND r.ts < $hi AND p.label = $label
      AND (CAST($category AS VARCHAR) IS NULL OR coalesce(i.category, '(none)') = $category)
    ORDER BY p.margin DESC, r.review_id LIMIT $limit
    """
    df = store.query_df(sql, {"shop": shop_id, "task": task, "label": label, "category": category,
                              "lo": lo, "hi": hi, "limit": limit})  # fmt: skip
    return df["review_id"].astype(str).tolist()
