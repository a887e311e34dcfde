"""Bring human answers back from Label Studio: annotations, majority labels, status.

Both ways in (the webhook receiver and ``shoplens label sync`` polling) end in
:func:`apply_annotations`, an upsert keyed by Label Studio's annotation id, so receiving the same
annotation twice, or a webhook and then a sync, stores it once. An annotation finds its row
through what ShopLens recorded when it sent the row (project id and Label Studio task id in the
queue), never through what the annotation's own data claims, and a label outside the task's label
set is never stored. After every change the affected rows' human label is recomputed from all
live annotations of the row: skipped and deleted annotations do not vote, several annotators give
the majority label (ties go to the most recent answer).

When the project disappears from Label Studio (deleted, or the server's data folder reset),
``sync`` refuses with :class:`~labeling.projects.ProjectGone` and changes nothing; the next push
retires the old project (every annotation already pulled is kept, renumbered below zero so a reset
server's new ids cannot collide with them) and re-sends the rows that were never answered.

    >>> report = sync(ctx, "sentiment", "acme")
    >>> report.labels_written
    12
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.kinds.base import LabellingSpec, get_task
from core.tasks import check_target
from db.repo import labelling as repo
from db.repo import labels as label_repo
from db.repo.labelling import AnnotationRow, Vote
from db.store import Store
from labeling.client import LabelStudioClient, LabelStudioUnavailable
from labeling.projects import ProjectGone, live_project_id
from labeling.templates import parse_result

if TYPE_CHECKING:
    from core.context import Context


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
    refused: int = 0  # answers with a label outside the task's label set, or for unknown rows
    project_id: int | None = None  # None: nothing of this shop's task was sent yet

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _timestamp(raw: Any) -> datetime:
    if not raw:
        return datetime.now(UTC).replace(tzinfo=None)
    stamp = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp


def _annotator(annotation: dict[str, Any]) -> str | None:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id"))
    name = str(annotation.get("created_username") or "").split(",")[0].strip()
    return name or (str(who) if who is not None else None)


def parse_annotation(annotation: dict[str, Any], ls_task_id: int,
                     row: tuple[str, str, str], model_label: str | None = None,
                     labelling: LabellingSpec | None = None) -> AnnotationRow | None:  # fmt: skip
    """The record of an annotation of a row ShopLens sent (``row`` = shop, task, target, as
    recorded in the queue); None when its label is not one the task offers (a skip is kept)."""
    shop_id, task, target_id = row
    labelling = labelling or get_task(task).labelling
    if labelling is None:
        return None
    cancelled = bool(annotation.get("was_cancelled"))
    label = None if cancelled else parse_result(labelling, annotation.get("result"))
    if not cancelled and label is None:
        return None
    created = _timestamp(annotation.get("created_at"))
    lead = annotation.get("lead_time")
    return AnnotationRow(
        annotation_id=int(annotation["id"]), shop_id=shop_id, task=task, target_id=target_id,
        ls_task_id=int(ls_task_id), annotator=_annotator(annotation), label=label,
        was_cancelled=cancelled, lead_time_s=float(lead) if lead is not None else None,
        model_label=model_label, created_at=created,
        updated_at=_timestamp(annotation.get("updated_at")) if annotation.get("updated_at") else created,
    )  # fmt: skip


def majority(labels: list[str]) -> tuple[str, float]:
    """The most common label (ties: the one answered last) and the share that gave it."""
    counts = Counter(labels)
    best = max(counts.values())
    winner = next(label for label in reversed(labels) if counts[label] == best)
    return winner, best / len(labels)


def _decide(votes: list[Vote]) -> tuple[str, str, int, float | None, bool | None]:
    winner, _share = majority([v.label for v in votes])
    voters = [v for v in votes if v.label == winner]
    leads = [v.lead_time_s for v in votes if v.lead_time_s is not None]
    model_label = votes[-1].model_label
    return (winner, ",".join(sorted({str(v.annotator) for v in voters})), voters[-1].annotation_id,
            sum(leads) / len(leads) if leads else None,
            None if model_label is None else winner == model_label)  # fmt: skip


def apply_annotations(store: Store, records: list[AnnotationRow],
                      deleted_ids: Iterable[int] = ()) -> SyncReport:  # fmt: skip
    """Upsert ``records``, mark ``deleted_ids`` deleted, refresh the affected human labels; one
    transaction, so a crash leaves the store as it was and a repeat stores nothing twice."""
    first = records[0] if records else None
    applied = repo.apply_annotations(store, records, deleted_ids, _decide)
    shop_id, task = (first.shop_id, first.task) if first else (applied.last_key or ("", ""))
    report = SyncReport(task, shop_id)
    report.seen, report.new, report.updated = len(records), applied.new, applied.updated
    report.deleted = applied.deleted
    report.labels_written, report.labels_removed = applied.labels_written, applied.labels_removed
    return report


def sync(ctx: Context, task: str, shop_id: str = "sample",
         client: LabelStudioClient | None = None) -> SyncReport:  # fmt: skip
    """Poll the shop's task project and apply every annotation (new, changed, deleted).

    Safe to repeat and to mix with the webhook: both upsert by annotation id.
    """
    spec = check_target(task, shop_id)
    labelling = spec.labelling_spec(ctx, shop_id)
    store = ctx.store
    entry = repo.get_project(store, shop_id, task)
    if entry is None:
        return SyncReport(task, shop_id)
    client = client or LabelStudioClient.from_settings(ctx.settings)
    sent = repo.queued_targets(store, entry.project_id)
    records: list[AnnotationRow] = []
    refused = 0
    try:
        live_project_id(client, store, shop_id, task)
        for ls_task in client.iter_tasks(entry.project_id):
            row = sent.get(int(ls_task.get("id") or 0))
            if row is None or row[:2] != (shop_id, task):
                continue  # not a row this shop's task sent
            model_label = (ls_task.get("data") or {}).get("model_label")
            for annotation in ls_task.get("annotations") or []:
                record = parse_annotation(annotation, int(ls_task["id"]), row, model_label,
                                          labelling)  # fmt: skip
                if record is None:
                    refused += 1
                else:
                    records.append(record)
    except LabelStudioUnavailable as exc:
        raise LabelStudioUnavailable(
            f"{exc} Nothing was changed; run the sync again once it is up."
        ) from exc
    except ProjectGone as exc:
        kept = len(label_repo.human_labels(store, shop_id, task))
        raise ProjectGone(
            f"{exc} Nothing was changed: the {kept} human labels already pulled stay in the "
            f"store. Run `shoplens label push {task} --shop {shop_id}` to make a new project; "
            "rows that were sent but not answered are sent again."
        ) from exc
    live = {r.annotation_id for r in records}
    gone = [i for i in repo.live_annotation_ids(store, shop_id, task) if i not in live]
    report = apply_annotations(store, records, deleted_ids=gone)
    report.task, report.shop_id, report.refused = task, shop_id, refused
    report.project_id = entry.project_id
    return report


def label_status(ctx: Context, task: str, shop_id: str = "sample") -> dict[str, Any]:
    """Queue size, human labels, agreement with the model and label counts by source.

    ``by_source`` counts the labels training would use (one per row, human > rule > derived);
    ``agreement`` is the share of human-labelled rows whose label matches the model's guess
    (None before any); ``annotator_agreement`` the mean share of annotators agreeing with the
    majority on rows with two or more answers.
    """
    spec = check_target(task, shop_id)
    store = ctx.store
    by_status = repo.queue_counts(store, shop_id, task)
    human = label_repo.human_labels(store, shop_id, task)
    agreed = human["agreed_with_model"].dropna()
    votes = repo.annotation_votes(store, shop_id, task)
    multi = [majority(list(g["label"]))[1] for _, g in votes.groupby("target_id") if len(g) > 1]
    load_labels = getattr(spec, "load_labels", None)
    merged = load_labels(ctx, shop_id) if load_labels else pd.DataFrame(columns=["source"])
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
        "skipped": repo.skipped_count(store, shop_id, task),
        "by_source": {str(s): int(n) for s, n in by_source.items()},
    }
