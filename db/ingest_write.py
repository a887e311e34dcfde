"""Writing checked rows (view ``incoming`` of the in-memory connection) into the attached store,
inside the caller's transaction. Rows already in the store are left as they are, so a reload adds nothing."""

from __future__ import annotations

import duckdb

from db import rollups
from db.ingest_specs import KindSpec
from db.repo import labels

# The store is attached to the ingesting connection under this name (see Store.attached).
STORE = "store."


def _ensure_shop(con: duckdb.DuckDBPyConnection, shop_id: str) -> None:
    con.execute(
        f"INSERT INTO {STORE}shops (shop_id, name, created_at) SELECT ?, ?, now()::TIMESTAMP "
        f"WHERE NOT EXISTS (SELECT 1 FROM {STORE}shops WHERE shop_id = ?)",
        [shop_id, shop_id, shop_id],
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _upsert_users(con: duckdb.DuckDBPyConnection, shop_id: str, ts_column: str | None) -> None:
    first = f"min({ts_column})" if ts_column else "NULL"
    last = f"max({ts_column})" if ts_column else "NULL"
    con.execute(
        f"INSERT INTO {STORE}users (shop_id, user_id, first_seen, last_seen) "
        f"SELECT ?, user_id, {first}, {last} FROM incoming WHERE user_id IS NOT NULL GROUP BY user_id "
        "ON CONFLICT (shop_id, user_id) DO UPDATE SET "
        "first_seen = least(users.first_seen, EXCLUDED.first_seen), "
        "last_seen = greatest(users.last_seen, EXCLUDED.last_seen)",
        [shop_id],
    )


def _add_missing_items(con: duckdb.DuckDBPyConnection, shop_id: str, with_category: bool) -> None:
    category = "any_value(category)" if with_category else "NULL"
    con.execute(
        f"INSERT INTO {STORE}items (shop_id, item_id, title, category, price) "
        f"SELECT ?, item_id, NULL, {category}, NULL FROM incoming WHERE item_id IS NOT NULL "
        "GROUP BY item_id ON CONFLICT DO NOTHING",
        [shop_id],
    )


def _write_events(con: duckdb.DuckDBPyConnection, shop_id: str, ingest_id: int) -> int:
    lo, hi = con.execute("SELECT min(ts), max(ts) FROM incoming").fetchone() or (None, None)
    if lo is None:
        return 0
    # The events already stored: an event's key hashes its shop and time among the rest, so
    # only the shop's stored events within the file's period can match. Semi-joined against the
    # file (the hash table is built on the file's keys, not on the whole log's), and read from
    # the period's row groups alone (the log is stored in time order): a day's file costs a
    # day's reading, not the log's.
    con.execute(
        "CREATE TEMP TABLE present AS SELECT DISTINCT e.event_key FROM "
        f"(SELECT event_key FROM {STORE}events WHERE shop_id = ? AND ts >= ? AND ts <= ?) e "
        "SEMI JOIN incoming i ON e.event_key = i.event_key",
        [shop_id, lo, hi],
    )
    added = _count(
        con,
        f"INSERT INTO {STORE}events (event_key, shop_id, user_id, session_id, item_id, category, "
        "event_type, query, ts, ingest_id) "
        "SELECT event_key, ?, user_id, session_id, item_id, category, event_type, query, ts, ? "
        "FROM incoming WHERE event_key NOT IN (SELECT event_key FROM present) "
        # in time order, so a query for a period skips the row groups outside it (logs are
        # often sorted by user, which would spread every week over the whole table)
        "ORDER BY ts",
        [shop_id, ingest_id],
    )
    con.execute("DROP TABLE present")
    _upsert_users(con, shop_id, "ts")
    _add_missing_items(con, shop_id, with_category=True)
    if added:
        first, last = con.execute(
            "SELECT CAST(min(ts) AS DATE), CAST(max(ts) AS DATE) FROM incoming"
        ).fetchone() or (None, None)
        rollups.refresh(con, shop_id, first, last, prefix=STORE)
    return added


def _write_items(con: duckdb.DuckDBPyConnection, shop_id: str) -> int:
    """Items may already exist (seen in events, without title or price): fill in what the file
    gives and keep what it leaves empty."""
    added = _count(
        con,
        "SELECT count(*) FROM incoming i WHERE NOT EXISTS "
        f"(SELECT 1 FROM {STORE}items t WHERE t.shop_id = ? AND t.item_id = i.item_id)",
        [shop_id],
    )
    con.execute(
        f"INSERT INTO {STORE}items (shop_id, item_id, title, category, price) "
        "SELECT ?, item_id, title, category, price FROM incoming "
        "ON CONFLICT (shop_id, item_id) DO UPDATE SET "
        "title = coalesce(EXCLUDED.title, items.title), "
        "category = coalesce(EXCLUDED.category, items.category), "
        "price = coalesce(EXCLUDED.price, items.price)",
        [shop_id],
    )
    return added


def _write_keyed(
    con: duckdb.DuckDBPyConnection, spec: KindSpec, shop_id: str, ingest_id: int
) -> int:
    key = spec.key[0]
    columns = list(spec.names)
    added = _count(
        con,
        f"INSERT INTO {STORE}{spec.table} (shop_id, {', '.join(columns)}, ingest_id) "
        f"SELECT ?, {', '.join(f'i.{c}' for c in columns)}, ? FROM incoming i WHERE NOT EXISTS "
        f"(SELECT 1 FROM {STORE}{spec.table} t WHERE t.shop_id = ? AND t.{key} = i.{key})",
        [shop_id, ingest_id, shop_id],
    )
    if "user_id" in spec.names:
        _upsert_users(con, shop_id, "ts" if "ts" in spec.names else None)
    if "item_id" in spec.names and spec.name != "items":
        _add_missing_items(con, shop_id, with_category=False)
    return added


def _write_labels(
    con: duckdb.DuckDBPyConnection, spec: KindSpec, shop_id: str, label_targets: tuple[str, ...]
) -> int:
    return sum(
        labels.add_derived_from_incoming(
            con, STORE, shop_id, column.removeprefix("label_"), spec.key[0], column
        )
        for column in label_targets
    )


def write_incoming(
    con: duckdb.DuckDBPyConnection,
    spec: KindSpec,
    shop_id: str,
    ingest_id: int,
    label_targets: tuple[str, ...],
) -> tuple[int, int]:
    """Insert the ``incoming`` rows of ``spec``'s kind; returns (rows added, labels added)."""
    _ensure_shop(con, shop_id)
    if spec.name == "events":
        added = _write_events(con, shop_id, ingest_id)
    elif spec.name == "items":
        added = _write_items(con, shop_id)
    else:
        added = _write_keyed(con, spec, shop_id, ingest_id)
    labels = _write_labels(con, spec, shop_id, label_targets) if label_targets else 0
    return added, labels
