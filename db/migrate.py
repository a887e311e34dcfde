"""Bring a store written by an earlier ShopLens up to the current schema, in place.

Run by :meth:`db.store.Store.init_schema` inside its transaction, before the tables are created,
so an old store opens with every row kept:

- ``model_versions`` used to mirror one registry for all shops (no ``shop_id``, an ``is_active``
  flag). It held no data of its own: it is dropped and the model registry registers the versions
  it finds on disk (``core.registry``), which become the sample shop's.
- ``training_runs`` gains ``shop_id`` (earlier runs were the sample shop's).
- ``predictions`` gains ``reason``. Anomaly predictions kept their reason inside the
  probabilities and prefixed their ids with ``user:`` / ``session:``; the reason moves to its
  column and user ids lose the prefix (session-level anomaly rows, never shown, are dropped).
"""

from __future__ import annotations

import duckdb


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = $table", {"table": table}
    ).fetchall()
    return {r[0] for r in rows}


def needed(con: duckdb.DuckDBPyConnection, tables: list[str]) -> bool:
    """Whether the store lacks a table of the current schema or needs a step of :func:`migrate`
    (a read-only check, so an up-to-date store is never opened for writing)."""
    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not set(tables) <= present:
        return True
    return (
        "shop_id" not in _columns(con, "model_versions")
        or "shop_id" not in _columns(con, "training_runs")
        or "reason" not in _columns(con, "predictions")
    )


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every step the store needs; returns what was done (empty for a current store)."""
    done: list[str] = []
    versions = _columns(con, "model_versions")
    if versions and "shop_id" not in versions:
        con.execute("DROP TABLE model_versions")
        done.append("model_versions rebuilt per shop")
    runs = _columns(con, "training_runs")
    if runs and "shop_id" not in runs:
        con.execute("ALTER TABLE training_runs ADD COLUMN shop_id VARCHAR DEFAULT 'sample'")
        done.append("training_runs.shop_id added")
    predictions = _columns(con, "predictions")
    if predictions and "reason" not in predictions:
        con.execute("ALTER TABLE predictions ADD COLUMN reason VARCHAR")
        con.execute(
            "DELETE FROM predictions WHERE task = 'risk' AND starts_with(target_id, 'session:')"
        )
        con.execute(
            "UPDATE predictions SET reason = nullif(probs->>'$.reason', ''), "
            "target_id = regexp_replace(target_id, '^user:', '') WHERE task = 'risk'"
        )
        done.append("predictions.reason added; anomaly reasons moved to it")
    return done
