"""Labels (``labels``): the one place that writes them and the one definition of which label of a
row wins. Sources rank **human > rule > derived**; within a source the newest wins.

    >>> best_labels(store, "acme", "sentiment").head(2)
      target_id     label   source
    0       r01  positive  derived
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb
import pandas as pd

from db.schema import LABEL_SOURCES
from db.store import Store

LABEL_COLUMNS = ["target_id", "label", "source"]
SOURCE_RANK = {source: rank for rank, source in enumerate(LABEL_SOURCES)}  # higher wins
_RANK_SQL = (
    "CASE source "
    + " ".join(f"WHEN '{s}' THEN {r}" for s, r in SOURCE_RANK.items())
    + " ELSE -1 END"
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def merge_labels(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """One label per target from several frames of ``target_id, label, source`` (and optionally
    ``created_at``): the strongest source wins, then the newest."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=LABEL_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    if "created_at" not in df:
        df["created_at"] = pd.NaT
    df["rank"] = df["source"].map(SOURCE_RANK).fillna(-1)
    df = df.sort_values(["rank", "created_at"], na_position="first", kind="stable")
    df = df.drop_duplicates("target_id", keep="last")
    return df[LABEL_COLUMNS].sort_values("target_id").reset_index(drop=True)


def best_labels(store: Store, shop_id: str | None, task: str) -> pd.DataFrame:
    """One label per row of the task from the labels table (``shop_id`` None: every shop).
    Columns: shop_id, target_id, label, source."""
    sql = f"""
    SELECT shop_id, target_id, label, source FROM labels
    WHERE task = $task AND (CAST($shop AS VARCHAR) IS NULL OR shop_id = $shop)
    QUALIFY row_number() OVER (PARTITION BY shop_id, target_id
                               ORDER BY {_RANK_SQL} DESC, created_at DESC) = 1
    ORDER BY shop_id, target_id
    """
    return store.query_df(sql, {"task": task, "shop": shop_id})


def best_labels_cte(name: str = "best") -> str:
    """A CTE ``name`` of one label per (shop, task, target), for queries that join labels (the
    same precedence as :func:`best_labels`)."""
    return f"""{name} AS (
        SELECT shop_id, task, target_id, label FROM labels
        QUALIFY row_number() OVER (PARTITION BY shop_id, task, target_id
                                   ORDER BY {_RANK_SQL} DESC, created_at DESC) = 1)"""


def labelled_targets(store: Store, shop_id: str, task: str, source: str | None = None) -> set[str]:
    """Targets of the task with a stored label (of one source)."""
    df = store.query_df(
        "SELECT DISTINCT target_id FROM labels WHERE shop_id = $shop AND task = $task "
        "AND (CAST($source AS VARCHAR) IS NULL OR source = $source)",
        {"shop": shop_id, "task": task, "source": source},
    )
    return set(df["target_id"])


def _insert(store: Store, shop_id: str, task: str, rows: pd.DataFrame, source: str) -> int:
    """Insert ``rows`` (``target_id, label`` and optionally ``rule_name``, ``annotator``) as
    labels of one source, in one transaction."""
    if rows.empty:
        return 0
    frame = pd.DataFrame({"target_id": rows["target_id"], "label": rows["label"],
                          "rule_name": rows.get("rule_name"), "annotator": rows.get("annotator")})  # fmt: skip
    frame = frame.assign(shop_id=shop_id, task=task, source=source, created_at=_now())
    with store.write() as con:
        con.register("new_labels", frame)
        con.execute(
            "INSERT INTO labels (label_id, shop_id, task, target_id, label, source, rule_name, "
            "annotator, created_at) SELECT nextval('labels_seq'), shop_id, task, target_id, "
            "label, source, rule_name, annotator, created_at FROM new_labels"
        )
        con.unregister("new_labels")
    return len(frame)


def add_rule_labels(store: Store, shop_id: str, task: str, rows: pd.DataFrame) -> int:
    """Store labelling-function votes (``target_id, label, rule_name``) as source ``rule``."""
    return _insert(store, shop_id, task, rows[["target_id", "label", "rule_name"]], "rule")


def add_team_labels(store: Store, shop_id: str, task: str, rows: pd.DataFrame,
                    annotator: str) -> int:  # fmt: skip
    """Store labels people made outside Label Studio (``target_id, label``; a bundled labelled
    set) as source ``human`` for rows without a human label yet; returns how many were added."""
    have = labelled_targets(store, shop_id, task, "human")
    new = rows[~rows["target_id"].isin(have)][["target_id", "label"]]
    return _insert(store, shop_id, task, new.assign(annotator=annotator), "human")


def add_derived_from_incoming(con: duckdb.DuckDBPyConnection, prefix: str, shop_id: str,
                              task: str, key: str, column: str) -> int:  # fmt: skip
    """Labels a data file carried (column ``label_<task>`` of the ingested ``incoming`` rows) as
    source ``derived``, once per row; ``prefix`` names the attached store ("store.")."""
    row = con.execute(
        f"INSERT INTO {prefix}labels (label_id, shop_id, task, target_id, label, source, "
        f"created_at) SELECT nextval('{prefix}labels_seq'), ?, ?, i.{key}, i.{column}, "
        f"'derived', now()::TIMESTAMP FROM incoming i WHERE i.{column} IS NOT NULL AND NOT EXISTS ("
        f"  SELECT 1 FROM {prefix}labels l WHERE l.shop_id = ? AND l.task = ? "
        f"  AND l.target_id = i.{key} AND l.source = 'derived')",
        [shop_id, task, shop_id, task],
    ).fetchone()
    return int(row[0]) if row else 0


def replace_human_label(con: duckdb.DuckDBPyConnection, shop_id: str, task: str, target_id: str,
                        label: str | None, *, annotators: str = "", annotation_id: int | None = None,
                        lead_time_s: float | None = None,
                        agreed_with_model: bool | None = None) -> None:  # fmt: skip
    """Set (or with ``label`` None remove) the row's human label, inside the caller's
    transaction."""
    con.execute(
        "DELETE FROM labels WHERE shop_id = ? AND task = ? AND target_id = ? AND source = 'human'",
        [shop_id, task, target_id],
    )
    if label is None:
        return
    con.execute(
        "INSERT INTO labels (label_id, shop_id, task, target_id, label, source, annotator, "
        "annotation_id, lead_time_s, agreed_with_model, created_at) "
        "VALUES (nextval('labels_seq'), ?, ?, ?, ?, 'human', ?, ?, ?, ?, ?)",
        [shop_id, task, target_id, label, annotators, annotation_id, lead_time_s,
         agreed_with_model, _now()],
    )  # fmt: skip


def human_labels(store: Store, shop_id: str, task: str) -> pd.DataFrame:
    """The task's human labels: target_id, label, agreed_with_model."""
    return store.query_df(
        "SELECT target_id, label, agreed_with_model FROM labels WHERE shop_id = $shop "
        "AND task = $task AND source = 'human' ORDER BY target_id",
        {"shop": shop_id, "task": task},
    )
