"""Bring human answers back from Label Studio: annotations, majority labels, status.

Both ways in (the webhook receiver and ``shoplens label sync`` polling) end in
:func:`apply_annotations`, an upsert keyed by Label Studio's annotation id, so receiving the same
annotation twice, or a webhook and then a sync, stores it once. After every change the affected
rows' human label is recomputed from all live annotations of the row: skipped (cancelled) and
deleted annotations do not vote, several annotators give the majority label (ties go to the most
recent answer), and the result replaces the row's ``human`` label in ``labels``.

When the task's project disappears from Label Studio (deleted, or the server's data folder reset),
``sync`` refuses with :class:`~labeling.projects.ProjectGone` and changes nothing; the next push
calls :func:`retire_project`, which keeps every annotation already pulled (renumbered below zero,
so a reset server's new ids cannot collide with them; they still vote) and re-opens the rows that
were sent but never answered, so they are sent to the new project.

    >>> report = sync(store, "sentiment")
    >>> report.labels_written
    12
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from common.settings import Settings, load_settings
from core.tasks import check_target
from db.store import Store
from labeling.client import LabelStudioClient, LabelStudioUnavailable
from labeling.projects import FROM_NAME, ProjectGone, live_project_id, project_id


@dataclass(frozen=True)
class AnnotationRecord:
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
class SyncReport:
    """What one sync (or one webhook delivery) changed."""

    task: str
    shop_id: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    labels_written: int = 0
    labels_removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _timestamp(raw: Any) -> datetime:
    if not raw:
        return datetime.now(UTC).replace(tzinfo=None)
    stamp = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp


def _label_of(result: Iterable[dict[str, Any]] | None) -> str | None:
    for item in result or []:
        if item.get("from_name") == FROM_NAME and item.get("type") == "choices":
            choices = (item.get("value") or {}).get("choices") or []
            if choices:
                return str(choices[0])
    return None


def _annotator(annotation: dict[str, Any]) -> str | None:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id"))
    name = str(annotation.get("created_username") or "").split(",")[0].strip()
    return name or (str(who) if who is not None else None)


def parse_annotation(
    annotation: dict[str, Any], ls_task: dict[str, Any]
) -> AnnotationRecord | None:
    """The record for a Label Studio annotation of a ShopLens task (None for foreign tasks)."""
    data = ls_task.get("data") or {}
    if "target_id" not in data or "task" not in data:
        return None
    created = _timestamp(annotation.get("created_at"))
    cancelled = bool(annotation.get("was_cancelled"))
    lead = annotation.get("lead_time")
    return AnnotationRecord(
        annotation_id=int(annotation["id"]),
        shop_id=str(data.get("shop_id") or "sample"),
        task=str(data["task"]),
        target_id=str(data["target_id"]),
        ls_task_id=int(ls_task.get("id") or annotation.get("task")),
        annotator=_annotator(annotation),
        label=None if cancelled else _label_of(annotation.get("result")),
        was_cancelled=cancelled,
        lead_time_s=float(lead) if lead is not None else None,
        model_label=data.get("model_label"),
        created_at=created,
        updated_at=_timestamp(annotation.get("updated_at"))
        if annotation.get("updated_at")
        else created,
    )


def apply_annotations(
    store: Store, records: list[AnnotationRecord], deleted_ids: Iterable[int] = ()
) -> SyncReport:
    """Upsert ``records``, mark ``deleted_ids`` deleted, refresh the affected human labels.

    One transaction: a crash leaves the store as it was, and a repeat stores nothing twice.
    """
    deleted_ids = sorted({int(i) for i in deleted_ids})
    first = records[0] if records else None
    report = SyncReport(first.task if first else "", first.shop_id if first else "")
    with store.write() as con:
        known = _known_annotations(con, [r.annotation_id for r in records] + deleted_ids)
        affected: set[tuple[str, str, str]] = set()
        for rec in records:
            before = known.get(rec.annotation_id)
            if before is None:
                report.new += 1
            elif before["updated_at"] != rec.updated_at or before["deleted"]:
                report.updated += 1
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
        for ann_id in deleted_ids:
            before = known.get(ann_id)
            if before is None or before["deleted"]:
                continue
            con.execute(
                "UPDATE annotations SET deleted = true, updated_at = ? WHERE annotation_id = ?",
                [datetime.now(UTC).replace(tzinfo=None), ann_id],
            )
            report.deleted += 1
            affected.add((before["shop_id"], before["task"], before["target_id"]))
            report.task, report.shop_id = before["task"], before["shop_id"]
        for shop_id, task, target_id in sorted(affected):
            written = _refresh_label(con, shop_id, task, target_id)
            report.labels_written += written
            report.labels_removed += 1 - written
    report.seen = len(records)
    return report


def _known_annotations(con: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    rows = con.execute(
        "SELECT annotation_id, shop_id, task, target_id, updated_at, deleted FROM annotations "
        "WHERE annotation_id IN (SELECT unnest(?::BIGINT[]))",
        [ids],
    ).fetchall()
    keys = ("annotation_id", "shop_id", "task", "target_id", "updated_at", "deleted")
    return {int(r[0]): dict(zip(keys, r, strict=True)) for r in rows}


def majority(labels: list[str]) -> tuple[str, float]:
    """The most common label (ties: the one answered last) and the share that gave it."""
    counts = Counter(labels)
    best = max(counts.values())
    winner = next(label for label in reversed(labels) if counts[label] == best)
    return winner, best / len(labels)


def _refresh_label(con: duckdb.DuckDBPyConnection, shop_id: str, task: str, target_id: str) -> int:
    """Rewrite the row's human label from its live annotations; 1 if one exists afterwards."""
    rows = con.execute(
        "SELECT annotation_id, annotator, label, lead_time_s, model_label FROM annotations "
        "WHERE shop_id = ? AND task = ? AND target_id = ? AND NOT deleted AND NOT was_cancelled "
        "AND label IS NOT NULL ORDER BY updated_at, annotation_id",
        [shop_id, task, target_id],
    ).fetchall()
    con.execute(
        "DELETE FROM labels WHERE shop_id = ? AND task = ? AND target_id = ? AND source = 'human'",
        [shop_id, task, target_id],
    )
    status = "queued"
    if rows:
        winner, _share = majority([r[2] for r in rows])
        voters = [r for r in rows if r[2] == winner]
        leads = [r[3] for r in rows if r[3] is not None]
        model_label = rows[-1][4]
        con.execute(
            "INSERT INTO labels (label_id, shop_id, task, target_id, label, source, annotator, "
            "annotation_id, lead_time_s, agreed_with_model, created_at) "
            "VALUES (nextval('labels_seq'), ?, ?, ?, ?, 'human', ?, ?, ?, ?, ?)",
            [shop_id, task, target_id, winner, ",".join(sorted({str(r[1]) for r in voters})),
             voters[-1][0], sum(leads) / len(leads) if leads else None,
             None if model_label is None else winner == model_label,
             datetime.now(UTC).replace(tzinfo=None)],
        )  # fmt: skip
        status = "labelled"
    con.execute(
        "UPDATE label_queue SET status = ? WHERE shop_id = ? AND task = ? AND target_id = ? "
        "AND status <> 'pending'",
        [status, shop_id, task, target_id],
    )
    return 1 if rows else 0


def sync(
    store: Store,
    task: str,
    shop_id: str = "sample",
    client: LabelStudioClient | None = None,
    settings: Settings | None = None,
) -> SyncReport:
    """Poll the task's project and apply every annotation (new, changed, deleted) to the store.

    Safe to repeat and to mix with the webhook: both upsert by annotation id.
    """
    check_target(task, shop_id)
    settings = settings or load_settings()
    pid = project_id(task, settings)
    if pid is None:
        return SyncReport(task, shop_id)
    client = client or LabelStudioClient.from_settings(settings)
    records: list[AnnotationRecord] = []
    try:
        live_project_id(client, task, settings)
        for ls_task in client.iter_tasks(pid):
            if str((ls_task.get("data") or {}).get("shop_id")) != shop_id:
                continue
            for annotation in ls_task.get("annotations") or []:
                record = parse_annotation(annotation, ls_task)
                if record is not None and record.task == task:
                    records.append(record)
    except LabelStudioUnavailable as exc:
        raise LabelStudioUnavailable(
            f"{exc} Nothing was changed; run the sync again once it is up."
        ) from exc
    except ProjectGone as exc:
        kept = store.query_df(
            "SELECT count(*) AS n FROM labels WHERE shop_id = ? AND task = ? AND source = 'human'",
            [shop_id, task],
        )["n"].iloc[0]
        raise ProjectGone(
            f"{exc} Nothing was changed: the {kept} human labels already pulled stay in the "
            f"store. Run `shoplens label push {task} --shop {shop_id}` to make a new project; "
            "rows that were sent but not answered are sent again."
        ) from exc
    live = {r.annotation_id for r in records}
    stored = store.query_df(  # retired annotations (id < 0) belong to no live project
        "SELECT annotation_id FROM annotations WHERE shop_id = ? AND task = ? AND NOT deleted "
        "AND annotation_id > 0",
        [shop_id, task],
    )["annotation_id"]
    gone = [int(i) for i in stored if int(i) not in live]
    report = apply_annotations(store, records, deleted_ids=gone)
    report.task, report.shop_id = task, shop_id
    return report


def retire_project(store: Store, task: str) -> tuple[int, int]:
    """Forget the link to ``task``'s vanished project, keeping every answer already pulled.

    One transaction: the task's annotations get ids below zero (unique, never reused by Label
    Studio; the human labels pointing at them follow), and the rows that were sent but never
    answered go back to ``pending`` so the next push sends them to the new project. Returns
    (annotations kept, rows re-opened); repeating it changes nothing more.
    """
    with store.write() as con:
        base = con.execute("SELECT least(coalesce(min(annotation_id), 0), 0) FROM annotations")
        base = int(base.fetchone()[0])
        con.execute(
            "CREATE TEMP TABLE retired AS SELECT annotation_id AS old_id, "
            "? - row_number() OVER (ORDER BY annotation_id) AS new_id "
            "FROM annotations WHERE task = ? AND annotation_id > 0",
            [base, task],
        )
        kept = int(con.execute("SELECT count(*) FROM retired").fetchone()[0])
        con.execute(
            "UPDATE labels SET annotation_id = r.new_id FROM retired r "
            "WHERE labels.task = ? AND labels.source = 'human' AND labels.annotation_id = r.old_id",
            [task],
        )
        con.execute(
            "UPDATE annotations SET annotation_id = r.new_id FROM retired r "
            "WHERE annotations.annotation_id = r.old_id"
        )
        con.execute("DROP TABLE retired")
        reopened = con.execute(
            "UPDATE label_queue SET status = 'pending', ls_project_id = NULL, ls_task_id = NULL "
            "WHERE task = ? AND status = 'queued'",
            [task],
        ).fetchone()[0]
    return kept, int(reopened)


def label_status(store: Store, task: str, shop_id: str = "sample") -> dict[str, Any]:
    """Queue size, human labels, agreement with the model and label counts by source.

    ``by_source`` counts the labels training would use (one per row, human > rule > derived);
    ``agreement`` is the share of human-labelled rows whose label matches the model's guess
    (None before any); ``annotator_agreement`` the mean share of annotators agreeing with the
    majority on rows with two or more answers.
    """
    from core.tasks import get_task

    check_target(task, shop_id)
    params: list[Any] = [task, shop_id]
    where = "task = ? AND shop_id = ?"
    queue = store.query_df(
        f"SELECT status, count(*) AS n FROM label_queue WHERE {where} GROUP BY status", params
    )
    by_status = dict(zip(queue["status"], queue["n"].astype(int), strict=True))
    human = store.query_df(
        f"SELECT agreed_with_model FROM labels WHERE {where} AND source = 'human'", params
    )
    agreed = human["agreed_with_model"].dropna()
    votes = store.query_df(
        f"SELECT target_id, label FROM annotations WHERE {where} AND NOT deleted "
        "AND NOT was_cancelled AND label IS NOT NULL",
        params,
    )
    multi = [majority(list(g["label"]))[1] for _, g in votes.groupby("target_id") if len(g) > 1]
    skipped = store.query_df(
        f"SELECT count(*) AS n FROM annotations WHERE {where} AND was_cancelled AND NOT deleted",
        params,
    )["n"].iloc[0]
    merged = get_task(task).load_labels(store, shop_id)
    by_source = merged["source"].value_counts().sort_index() if len(merged) else pd.Series()
    return {
        "task": task,
        "shop_id": shop_id,
        "queued": int(by_status.get("queued", 0)),
        "pending": int(by_status.get("pending", 0)),
        "labelled_in_queue": int(by_status.get("labelled", 0)),
        "human_labels": len(human),
        "agreement": round(float(agreed.mean()), 4) if len(agreed) else None,
        "annotator_agreement": round(float(pd.Series(multi).mean()), 4) if multi else None,
        "skipped": int(skipped),
        "by_source": {str(s): int(n) for s, n in by_source.items()},
    }
