"""Model versions per (shop, task), the one stored active pointer, and its history.

>>> register_version(store, row)
>>> set_active(store, "acme", "sentiment", "v20260101-120000-000001", action="promote")
>>> active_version(store, "acme", "sentiment")
'v20260101-120000-000001'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from db.store import Store


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class VersionRow:
    """One row of ``model_versions`` plus whether it is the shop's active version."""

    shop_id: str
    task: str
    version: str
    kind: str
    model_type: str
    created_at: datetime
    metrics: dict[str, Any] = field(default_factory=dict)
    base_model: str | None = None
    data_fingerprint: str | None = None
    test_fingerprint: str | None = None
    train_seconds: float | None = None
    copied_from: str | None = None
    active: bool = False
    forced: bool = False


_COLUMNS = ("shop_id", "task", "version", "kind", "model_type", "created_at", "metrics",
            "base_model", "data_fingerprint", "test_fingerprint", "train_seconds", "copied_from")  # fmt: skip


def register_version(store: Store, row: VersionRow) -> None:
    """Add a version (replacing a row of the same key, e.g. re-registered after a crash)."""
    values = [getattr(row, c) for c in _COLUMNS]
    values[_COLUMNS.index("metrics")] = json.dumps(row.metrics)
    with store.write() as con:
        con.execute(
            f"INSERT OR REPLACE INTO model_versions ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
            values,
        )


def list_versions(store: Store, shop_id: str, task: str | None = None) -> list[VersionRow]:
    """The shop's versions (of one task), oldest first, each marked active or not."""
    if not store.exists():
        return []
    sql = f"""
    SELECT {", ".join("v." + c for c in _COLUMNS)}, a.version IS NOT NULL AS active,
           coalesce(a.forced, false) AS forced
    FROM model_versions v
    LEFT JOIN active_models a ON a.shop_id = v.shop_id AND a.task = v.task AND a.version = v.version
    WHERE v.shop_id = $shop AND (CAST($task AS VARCHAR) IS NULL OR v.task = $task)
    ORDER BY v.task, v.created_at, v.version
    """
    with store.read() as con:
        rows = con.execute(sql, {"shop": shop_id, "task": task}).fetchall()
    out = []
    for r in rows:
        values = dict(zip((*_COLUMNS, "active", "forced"), r, strict=True))
        metrics = values["metrics"]
        values["metrics"] = json.loads(metrics) if isinstance(metrics, str) else (metrics or {})
        out.append(VersionRow(**values))
    return out


def active_versions(store: Store, shop_id: str | None = None) -> dict[tuple[str, str], str]:
    """``(shop, task) -> version`` for every active pointer (of one shop)."""
    if not store.exists():
        return {}
    with store.read() as con:
        rows = con.execute(
            "SELECT shop_id, task, version FROM active_models "
            "WHERE CAST($shop AS VARCHAR) IS NULL OR shop_id = $shop ORDER BY 1, 2",
            {"shop": shop_id},
        ).fetchall()
    return {(s, t): v for s, t, v in rows}


def active_version(store: Store, shop_id: str, task: str) -> str | None:
    """The version the shop's task serves, or None."""
    return active_versions(store, shop_id).get((shop_id, task))


def _set_active(con: duckdb.DuckDBPyConnection, shop_id: str, task: str, version: str,
                action: str, forced: bool) -> None:  # fmt: skip
    now = _now()
    con.execute(
        "INSERT OR REPLACE INTO active_models (shop_id, task, version, forced, activated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [shop_id, task, version, forced, now],
    )
    con.execute(
        "INSERT INTO model_activations (activation_id, shop_id, task, version, action, forced, "
        "activated_at) VALUES (nextval('model_activations_seq'), ?, ?, ?, ?, ?, ?)",
        [shop_id, task, version, action, forced, now],
    )


def set_active(store: Store, shop_id: str, task: str, version: str, action: str = "promote",
               forced: bool = False) -> None:  # fmt: skip
    """Point the shop's task at ``version`` (one transaction, with a history row)."""
    with store.write() as con:
        _set_active(con, shop_id, task, version, action, forced)


def activation_history(store: Store, shop_id: str, task: str) -> list[str]:
    """The versions the shop's task was pointed at, oldest first (rollbacks included)."""
    with store.read() as con:
        rows = con.execute(
            "SELECT version FROM model_activations WHERE shop_id = ? AND task = ? "
            "ORDER BY activation_id",
            [shop_id, task],
        ).fetchall()
    return [r[0] for r in rows]


def import_legacy(
    store: Store, rows: list[VersionRow], active: str | None, history: list[str]
) -> None:
    """Register versions found in an old registry folder, with their activation history, in one
    transaction (used once, when a store from before per-shop models is opened)."""
    with store.write() as con:
        for row in rows:
            values = [getattr(row, c) for c in _COLUMNS]
            values[_COLUMNS.index("metrics")] = json.dumps(row.metrics)
            con.execute(
                f"INSERT OR REPLACE INTO model_versions ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
                values,
            )
        if rows:
            shop_id, task = rows[0].shop_id, rows[0].task
            known = {r.version for r in rows}
            for version in [v for v in history if v in known and v != active]:
                _set_active(con, shop_id, task, version, "promote", False)
            if active in known:
                _set_active(con, shop_id, task, active, "promote", False)


def shops_with_models(store: Store) -> list[str]:
    """Shops that have at least one model version."""
    if not store.exists():
        return []
    with store.read() as con:
        return [r[0] for r in con.execute(
            "SELECT DISTINCT shop_id FROM model_versions ORDER BY 1").fetchall()]  # fmt: skip
