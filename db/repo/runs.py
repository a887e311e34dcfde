"""Training runs (``training_runs``): one row per run, written at its start and its end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from db.store import Store


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run(store: Store, run_id: str, shop_id: str, task: str, labels_used: dict[str, int],
              metrics_before: dict[str, Any]) -> None:  # fmt: skip
    """Record a run that has started, with the active version's metrics before it."""
    with store.write() as con:
        con.execute(
            "INSERT INTO training_runs (run_id, shop_id, task, status, started_at, labels_used, "
            "metrics_before, metrics_after, promoted) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?, '{}', false)",
            [run_id, shop_id, task, _now(), json.dumps(labels_used),
             json.dumps(metrics_before, default=str)],
        )  # fmt: skip


def finish_run(store: Store, run_id: str, status: str, *, new_version: str | None = None,
               promoted: bool = False, metrics_after: dict[str, Any] | None = None,
               error: str | None = None, labels_used: dict[str, int] | None = None) -> None:  # fmt: skip
    """Close a run: finished (with its version, metrics and the labels it used) or failed (with
    the error)."""
    with store.write() as con:
        con.execute(
            "UPDATE training_runs SET status = ?, finished_at = ?, metrics_after = ?, "
            "new_version = ?, promoted = ?, error = ?, labels_used = coalesce(?, labels_used) "
            "WHERE run_id = ?",
            [status, _now(), json.dumps(metrics_after or {}, default=str), new_version, promoted,
             error, json.dumps(labels_used) if labels_used is not None else None, run_id],
        )  # fmt: skip


def mark_killed(
    store: Store, task: str, started_after: datetime, shop_id: str | None = None
) -> int:
    """Close the runs of ``task`` a killed job left running; returns how many."""
    with store.write() as con:
        row = con.execute(
            "UPDATE training_runs SET status = 'killed', finished_at = $now, "
            "error = 'job process killed' WHERE task = $task AND status = 'running' "
            "AND started_at >= $after AND (CAST($shop AS VARCHAR) IS NULL OR shop_id = $shop)",
            {"now": _now(), "task": task, "after": started_after, "shop": shop_id},
        ).fetchone()
    return int(row[0]) if row else 0


def runs(store: Store, shop_id: str, task: str, limit: int = 20) -> list[dict[str, Any]]:
    """The shop's latest runs of ``task``, newest first."""
    df = store.query_df(
        "SELECT run_id, status, started_at, finished_at, new_version, promoted, error, "
        "CAST(metrics_before AS VARCHAR) AS metrics_before, "
        "CAST(metrics_after AS VARCHAR) AS metrics_after FROM training_runs "
        "WHERE shop_id = $shop AND task = $task ORDER BY started_at DESC LIMIT $limit",
        {"shop": shop_id, "task": task, "limit": limit},
    )
    return df.to_dict("records")
