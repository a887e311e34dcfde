"""Predictions (``predictions``): written per model version, read by version.

A rerun writes the same (shop, task, target, version) key again, so it never duplicates a row.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from db.store import Store

COLUMNS = ["shop_id", "task", "target_id", "model_version", "label", "probs", "entropy",
           "margin", "reason", "created_at"]  # fmt: skip


def write(store: Store, rows: pd.DataFrame) -> int:
    """Insert (or replace) prediction rows in one short transaction; ``probs`` is JSON text."""
    if rows.empty:
        return 0
    frame = rows.reindex(columns=COLUMNS)
    with store.write() as con:
        con.register("new_predictions", frame)
        con.execute(
            f"INSERT OR REPLACE INTO predictions ({', '.join(COLUMNS)}) "
            "SELECT shop_id, task, target_id, model_version, label, probs::JSON, entropy, margin, "
            "reason, created_at FROM new_predictions"
        )
        # a kept spread no longer counts the version's rows: readers count them until it is
        # kept again (keep_spreads)
        con.execute(
            "DELETE FROM prediction_spreads s WHERE EXISTS (SELECT 1 FROM new_predictions n "
            "WHERE n.shop_id = s.shop_id AND n.task = s.task AND n.model_version = s.model_version)"
        )
    return len(frame)


def has_spreads(store: Store, shop_id: str, task: str, version: str) -> bool:
    """Whether ``version``'s spreads are kept (:func:`keep_spreads`, none written since)."""
    df = store.query_df(
        "SELECT count(*) AS n FROM prediction_spreads WHERE shop_id = $shop AND task = $task "
        "AND model_version = $version",
        {"shop": shop_id, "task": task, "version": version},
    )
    return bool(df["n"].iloc[0])


def keep_spreads(store: Store, shop_id: str, task: str, version: str,
                 labels: Sequence[str]) -> None:  # fmt: skip
    """Keep how ``version``'s probability of each of ``labels`` spreads over the bins pages draw
    (:func:`db.prediction_queries.probability_histogram` with ``two_class``: the task has two
    classes and each row's label is its more probable one), counted as that function counts
    them, so a page reads a few rows instead of every prediction."""
    from db.prediction_queries import SPREAD_BINS, spread_sql

    key = {"shop": shop_id, "task": task, "version": version}
    with store.write() as con:
        con.execute(
            "DELETE FROM prediction_spreads WHERE shop_id = $shop AND task = $task "
            "AND model_version = $version",
            key,
        )
        for label in labels:
            con.execute(
                "INSERT INTO prediction_spreads (shop_id, task, model_version, label, bucket, "
                "rows) SELECT $shop, $task, $version, $label, b, rows "
                f"FROM ({spread_sql(True, label)})",
                {**key, "label": label, "bins": SPREAD_BINS},
            )


def scored_targets(store: Store, shop_id: str, task: str, version: str) -> set[str]:
    """Targets that ``version`` has scored."""
    df = store.query_df(
        "SELECT target_id FROM predictions WHERE shop_id = $shop AND task = $task "
        "AND model_version = $version",
        {"shop": shop_id, "task": task, "version": version},
    )
    return set(df["target_id"])


def count(store: Store, shop_id: str, task: str, version: str) -> int:
    """How many rows ``version`` has scored."""
    with store.read() as con:
        row = con.execute(
            "SELECT count(*) FROM predictions WHERE shop_id = $shop AND task = $task "
            "AND model_version = $version",
            {"shop": shop_id, "task": task, "version": version},
        ).fetchone()
    return int(row[0]) if row else 0


def of_targets(store: Store, shop_id: str, task: str, version: str,
               target_ids: Sequence[str]) -> pd.DataFrame:  # fmt: skip
    """target_id, label, probs (JSON text) of ``version`` for the given targets."""
    return store.query_df(
        "SELECT target_id, label, CAST(probs AS VARCHAR) AS probs FROM predictions "
        "WHERE shop_id = $shop AND task = $task AND model_version = $version "
        "AND target_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY target_id",
        {"shop": shop_id, "task": task, "version": version, "ids": list(target_ids)},
    )


def unlabelled_candidates(store: Store, shop_id: str, task: str, version: str) -> pd.DataFrame:
    """Predictions of ``version`` for rows neither queued for labelling nor human-labelled:
    target_id, label, probs (JSON text)."""
    return store.query_df(
        """
        SELECT p.target_id, p.label, CAST(p.probs AS VARCHAR) AS probs FROM predictions p
        WHERE p.shop_id = $shop AND p.task = $task AND p.model_version = $version
          AND NOT EXISTS (SELECT 1 FROM label_queue q WHERE q.shop_id = p.shop_id
                          AND q.task = p.task AND q.target_id = p.target_id)
          AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.shop_id = p.shop_id
                          AND l.task = p.task AND l.target_id = p.target_id
                          AND l.source = 'human')
        ORDER BY p.target_id
        """,
        {"shop": shop_id, "task": task, "version": version},
    )
