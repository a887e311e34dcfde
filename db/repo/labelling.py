"""The labelling loop's tables: Label Studio projects per (shop, task), the queue of rows sent to
annotators (``label_queue``) and the annotations that came back (``annotations``).

The human label a row ends up with is recomputed from its live annotations inside the same
transaction that changes them; the rule that turns votes into a label is the caller's
(``decide``), the write is :func:`db.repo.labels.replace_human_label`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from db.repo.labels import replace_human_label
from db.store import Store


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --- projects -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectRow:
    shop_id: str
    task: str
    project_id: int
    title: str
    ls_created_at: str | None
    context_columns: list[str]


def _project_row(row: tuple[Any, ...]) -> ProjectRow:
    return ProjectRow(str(row[0]), str(row[1]), int(row[2]), str(row[3]),
                      None if row[4] is None else str(row[4]), json.loads(row[5] or "[]"))  # fmt: skip


def get_project(store: Store, shop_id: str, task: str) -> ProjectRow | None:
    """The Label Studio project recorded for the shop's task."""
    if not store.exists():
        return None
    with store.read() as con:
        row = con.execute(
            "SELECT shop_id, task, project_id, title, ls_created_at, "
            "CAST(context_columns AS VARCHAR) FROM label_projects WHERE shop_id = ? AND task = ?",
            [shop_id, task],
        ).fetchone()
    if row is None:
        return None
    return _project_row(row)


def save_project(store: Store, row: ProjectRow) -> None:
    """Record (or replace) the shop's task project."""
    with store.write() as con:
        con.execute(
            "INSERT OR REPLACE INTO label_projects (shop_id, task, project_id, title, ls_created_at, "
            "context_columns, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row.shop_id, row.task, row.project_id, row.title, row.ls_created_at,
             json.dumps(list(row.context_columns)), _now()],
        )  # fmt: skip


def projects(store: Store) -> list[ProjectRow]:
    """Every recorded project."""
    if not store.exists():
        return []
    with store.read() as con:
        rows = con.execute(
            "SELECT shop_id, task, project_id, title, ls_created_at, "
            "CAST(context_columns AS VARCHAR) FROM label_projects ORDER BY 1, 2"
        ).fetchall()
    return [_project_row(r) for r in rows]


def queue_shops_of_project(store: Store, task: str, project_id: int) -> list[str]:
    """Shops with queue rows in a project (to migrate a project that served several shops)."""
    df = store.query_df(
        "SELECT DISTINCT shop_id FROM label_queue WHERE task = $task AND ls_project_id = $pid "
        "ORDER BY 1",
        {"task": task, "pid": project_id},
    )
    return df["shop_id"].tolist()


# --- the queue ----------------------------------------------------------------------------------
def pending(store: Store, shop_id: str, task: str) -> pd.DataFrame:
    """Rows chosen but not yet in Label Studio: target_id, uncertainty, model_version."""
    return store.query_df(
        "SELECT target_id, uncertainty, model_version FROM label_queue WHERE shop_id = $shop "
        "AND task = $task AND status = 'pending' ORDER BY uncertainty DESC, target_id",
        {"shop": shop_id, "task": task},
    )


def add_pending(store: Store, shop_id: str, task: str, version: str, strategy: str,
                chosen: pd.DataFrame) -> None:  # fmt: skip
    """Queue ``chosen`` (target_id, uncertainty) as pending, in one transaction."""
    if chosen.empty:
        return
    now = _now()
    with store.write() as con:
        con.executemany(
            "INSERT INTO label_queue (shop_id, task, target_id, model_version, strategy, "
            "uncertainty, queued_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
            [[shop_id, task, t, version, strategy, float(u), now]
             for t, u in zip(chosen["target_id"], chosen["uncertainty"], strict=True)],
        )  # fmt: skip


def mark_queued(store: Store, shop_id: str, task: str, project_id: int,
                ls_task_ids: dict[str, int]) -> None:  # fmt: skip
    """Pending rows that are now Label Studio tasks become ``queued`` with their task ids."""
    if not ls_task_ids:
        return
    with store.write() as con:
        con.executemany(
            "UPDATE label_queue SET status = 'queued', ls_project_id = ?, ls_task_id = ? "
            "WHERE shop_id = ? AND task = ? AND target_id = ? AND status = 'pending'",
            [[project_id, ls_id, shop_id, task, t] for t, ls_id in ls_task_ids.items()],
        )


def queue_counts(store: Store, shop_id: str, task: str) -> dict[str, int]:
    """Rows of the queue by status (pending, queued, labelled)."""
    with store.read() as con:
        rows = con.execute(
            "SELECT status, count(*) FROM label_queue WHERE shop_id = ? AND task = ? GROUP BY 1",
            [shop_id, task],
        ).fetchall()
    counts = {"pending": 0, "queued": 0, "labelled": 0}
    counts.update({status: int(n) for status, n in rows})
    return counts


def open_tasks(
    store: Store, shop_id: str, task: str, version: str, project_id: int
) -> pd.DataFrame:
    """Queued, unanswered Label Studio tasks with the given version's prediction:
    ls_task_id, label, probs (JSON text)."""
    return store.query_df(
        "SELECT q.ls_task_id, p.label, CAST(p.probs AS VARCHAR) AS probs FROM label_queue q "
        "JOIN predictions p ON p.shop_id = q.shop_id AND p.task = q.task "
        "AND p.target_id = q.target_id AND p.model_version = $version "
        "WHERE q.shop_id = $shop AND q.task = $task AND q.status = 'queued' "
        "AND q.ls_task_id IS NOT NULL AND q.ls_project_id = $pid ORDER BY q.ls_task_id",
        {"version": version, "shop": shop_id, "task": task, "pid": project_id},
    )


def queued_targets(store: Store, project_id: int) -> dict[int, tuple[str, str, str]]:
    """``ls_task_id -> (shop, task, target)`` of every row ShopLens sent to a project: how an
    answer finds its row (never from what the answer itself claims)."""
    if not store.exists():
        return {}
    with store.read() as con:
        rows = con.execute(
            "SELECT ls_task_id, shop_id, task, target_id FROM label_queue "
            "WHERE ls_project_id = ? AND ls_task_id IS NOT NULL",
            [project_id],
        ).fetchall()
    return {int(r[0]): (r[1], r[2], r[3]) for r in rows}


# --- annotations ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AnnotationRow:
    """One Label Studio annotation, reduced to what ShopLens keeps."""

    annotation_id: int
    shop_id: str
    task: str
    target_id: str
    ls_task_id: int
    annotator: str | None
    label: str | None
    was_cancelled: bool
    lead_time_s: float | None
    model_label: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class Vote:
    annotation_id: int
    annotator: str | None
    label: str
    lead_time_s: float | None
    model_label: str | None


@dataclass
class AppliedAnnotations:
    new: int = 0
    updated: int = 0
    deleted: int = 0
    labels_written: int = 0
    labels_removed: int = 0
    last_key: tuple[str, str] | None = None


Decide = Callable[[list[Vote]], tuple[str, str, int, float | None, bool | None]]


def apply_annotations(store: Store, records: Sequence[AnnotationRow], deleted_ids: Iterable[int],
                      decide: Decide) -> AppliedAnnotations:  # fmt: skip
    """Upsert ``records``, mark ``deleted_ids`` deleted and rewrite each affected row's human
    label from its live votes with ``decide(votes) -> (label, annotators, annotation_id,
    lead_time_s, agreed_with_model)``; one transaction, so a crash leaves nothing half done and
    a repeat stores nothing twice."""
    deleted = sorted({int(i) for i in deleted_ids})
    out = AppliedAnnotations()
    with store.write() as con:
        ids = [r.annotation_id for r in records] + deleted
        known: dict[int, dict[str, Any]] = {}
        if ids:
            keys = ("annotation_id", "shop_id", "task", "target_id", "updated_at", "deleted")
            for r in con.execute(
                "SELECT annotation_id, shop_id, task, target_id, updated_at, deleted FROM "
                "annotations WHERE annotation_id IN (SELECT unnest(?::BIGINT[]))",
                [ids],
            ).fetchall():
                known[int(r[0])] = dict(zip(keys, r, strict=True))
        affected: set[tuple[str, str, str]] = set()
        for rec in records:
            before = known.get(rec.annotation_id)
            if before is None:
                out.new += 1
            elif before["updated_at"] != rec.updated_at or before["deleted"]:
                out.updated += 1
            else:
                continue
            con.execute("DELETE FROM annotations WHERE annotation_id = ?", [rec.annotation_id])
            con.execute(
                "INSERT INTO annotations (annotation_id, shop_id, task, target_id, ls_task_id, "
                "annotator, label, was_cancelled, deleted, lead_time_s, model_label, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, false, ?, ?, ?, ?)",
                [rec.annotation_id, rec.shop_id, rec.task, rec.target_id, rec.ls_task_id,
                 rec.annotator, rec.label, rec.was_cancelled, rec.lead_time_s, rec.model_label,
                 rec.created_at, rec.updated_at],
            )  # fmt: skip
            affected.add((rec.shop_id, rec.task, rec.target_id))
        for ann_id in deleted:
            before = known.get(ann_id)
            if before is None or before["deleted"]:
                continue
            con.execute("UPDATE annotations SET deleted = true, updated_at = ? "
                        "WHERE annotation_id = ?", [_now(), ann_id])  # fmt: skip
            out.deleted += 1
            affected.add((before["shop_id"], before["task"], before["target_id"]))
        for shop_id, task, target_id in sorted(affected):
            votes = [Vote(*r) for r in con.execute(
                "SELECT annotation_id, annotator, label, lead_time_s, model_label FROM annotations "
                "WHERE shop_id = ? AND task = ? AND target_id = ? AND NOT deleted "
                "AND NOT was_cancelled AND label IS NOT NULL ORDER BY updated_at, annotation_id",
                [shop_id, task, target_id]).fetchall()]  # fmt: skip
            if votes:
                label, annotators, ann_id, lead, agreed = decide(votes)
                replace_human_label(con, shop_id, task, target_id, label, annotators=annotators,
                                    annotation_id=ann_id, lead_time_s=lead,
                                    agreed_with_model=agreed)  # fmt: skip
                out.labels_written += 1
            else:
                replace_human_label(con, shop_id, task, target_id, None)
                out.labels_removed += 1
            con.execute(
                "UPDATE label_queue SET status = ? WHERE shop_id = ? AND task = ? "
                "AND target_id = ? AND status <> 'pending'",
                ["labelled" if votes else "queued", shop_id, task, target_id],
            )
            out.last_key = (shop_id, task)
    return out


def live_annotation_ids(store: Store, shop_id: str, task: str) -> list[int]:
    """Stored, not deleted annotations of live projects (retired ones have ids below zero)."""
    df = store.query_df(
        "SELECT annotation_id FROM annotations WHERE shop_id = $shop AND task = $task "
        "AND NOT deleted AND annotation_id > 0",
        {"shop": shop_id, "task": task},
    )
    return [int(i) for i in df["annotation_id"]]


def retire(store: Store, shop_id: str, task: str) -> tuple[int, int]:
    """Forget the link to the shop's task project that vanished, keeping every answer: its
    annotations get ids below zero (never reused by Label Studio; the human labels follow) and
    rows sent but never answered go back to ``pending``. Returns (annotations kept, rows
    re-opened); repeating it changes nothing more."""
    with store.write() as con:
        row = con.execute(
            "SELECT least(coalesce(min(annotation_id), 0), 0) FROM annotations"
        ).fetchone()
        base = int(row[0]) if row else 0
        con.execute(
            "CREATE TEMP TABLE retired AS SELECT annotation_id AS old_id, "
            "? - row_number() OVER (ORDER BY annotation_id) AS new_id "
            "FROM annotations WHERE shop_id = ? AND task = ? AND annotation_id > 0",
            [base, shop_id, task],
        )
        kept_row = con.execute("SELECT count(*) FROM retired").fetchone()
        con.execute(
            "UPDATE labels SET annotation_id = r.new_id FROM retired r WHERE labels.shop_id = ? "
            "AND labels.task = ? AND labels.source = 'human' AND labels.annotation_id = r.old_id",
            [shop_id, task],
        )
        con.execute("UPDATE annotations SET annotation_id = r.new_id FROM retired r "
                    "WHERE annotations.annotation_id = r.old_id")  # fmt: skip
        con.execute("DROP TABLE retired")
        reopened = con.execute(
            "UPDATE label_queue SET status = 'pending', ls_project_id = NULL, ls_task_id = NULL "
            "WHERE shop_id = ? AND task = ? AND status = 'queued'",
            [shop_id, task],
        ).fetchone()
    return int(kept_row[0]) if kept_row else 0, int(reopened[0]) if reopened else 0


def annotation_votes(store: Store, shop_id: str, task: str) -> pd.DataFrame:
    """Answered, live annotations: target_id, label (for agreement between annotators)."""
    return store.query_df(
        "SELECT target_id, label FROM annotations WHERE shop_id = $shop AND task = $task "
        "AND NOT deleted AND NOT was_cancelled AND label IS NOT NULL",
        {"shop": shop_id, "task": task},
    )


def skipped_count(store: Store, shop_id: str, task: str) -> int:
    """Annotations that skipped (cancelled) their task."""
    with store.read() as con:
        row = con.execute(
            "SELECT count(*) FROM annotations WHERE shop_id = ? AND task = ? AND was_cancelled "
            "AND NOT deleted",
            [shop_id, task],
        ).fetchone()
    return int(row[0]) if row else 0
