"""Send the rows the active model is least sure of to Label Studio, without losing or doubling any.

``push`` picks the N most uncertain predictions of the shop's active version that are neither
queued nor human-labelled, masks personal data in their texts, and imports them as tasks with the
model's guess as a pre-annotation (model_version and score). The queue is written in two steps so
a Label Studio outage mid-push loses nothing:

1. the chosen rows go into ``label_queue`` as ``pending`` (one transaction);
2. after the import, they become ``queued`` with their Label Studio task ids.

A retry first finishes the pending rows. Before importing it lists the project's tasks and skips
any ShopLens already sent (the import went through but the answer was lost), so a row never
appears twice in Label Studio. If the project has vanished (deleted, or Label Studio's data
folder reset), push makes a new one and first re-opens the rows that were sent to the old one but
never answered (:func:`db.repo.labelling.retire`); answers already pulled stay.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from common.errors import InputError, ShopLensError
from core.kinds.base import LabellingSpec, Task
from core.tasks import check_target
from core.uncertainty import UNCERTAINTY_SIGNALS
from db.repo import labelling as queue_repo
from db.repo import predictions as prediction_repo
from labeling.client import LabelStudioClient, LabelStudioUnavailable
from labeling.projects import ProjectGone, ensure_project, follow_model_version, live_project_id
from labeling.selection import select_batch, uncertainty_scores
from labeling.templates import context_key, prediction_result
from privacy.masking import PiiConfig, mask_pii

if TYPE_CHECKING:
    from core.context import Context


@dataclass
class PushReport:
    """What one push did: rows chosen, sent, resumed from an earlier failed push."""

    task: str
    shop_id: str
    model_version: str
    strategy: str
    diverse: bool
    project_id: int | None = None
    selected: int = 0
    resumed: int = 0
    reopened: int = 0  # sent to a project that has since vanished; sent again
    imported: int = 0
    already_in_label_studio: int = 0
    target_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _probs_dict(raw: Any) -> dict[str, float]:
    data = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}


def masked_rows(ctx: Context, spec: Task, shop_id: str, target_ids: list[str]) -> pd.DataFrame:
    """Texts and context of ``target_ids`` for annotators, PII-masked; id columns dropped."""
    pii = PiiConfig.from_settings(ctx.settings)
    rows = spec.labelling_rows(ctx, shop_id, target_ids).copy()
    drop = [c for c in rows.columns if c.endswith("_id") and c != "target_id"]
    rows = rows.drop(columns=drop)
    for column in rows.columns:
        if column != "target_id":
            rows[column] = rows[column].fillna("").astype(str).map(lambda t: mask_pii(t, pii))
    return rows


def _ls_task(labelling: LabellingSpec, shop_id: str, row: pd.Series, version: str,
             context: list[str]) -> dict:  # fmt: skip
    probs: dict[str, float] = row["probs"]
    data = {"text": row["text"], "target_id": row["target_id"], "model_label": row["label"],
            "shop_id": shop_id, "uncertainty": round(float(row["uncertainty"]), 4)}  # fmt: skip
    data.update({context_key(c): row.get(c, "") for c in context})
    score = round(float(max(probs.values())) if probs else 0.0, 4)
    return {"data": data, "predictions": [{"model_version": version, "score": score,
                                           "result": prediction_result(labelling, row["label"])}]}  # fmt: skip


def _select_new(ctx: Context, spec: Task, shop_id: str, candidates: pd.DataFrame, n: int,
                strategy: str, diverse: bool) -> pd.DataFrame:  # fmt: skip
    if n <= 0 or candidates.empty:
        return candidates.iloc[0:0].assign(uncertainty=[])
    probs = spec.uncertainty_probs(list(candidates["probs"]))
    texts = None
    if diverse:
        frame = spec.labelling_texts(ctx, shop_id).set_index("target_id")["text"]
        texts = frame.reindex(candidates["target_id"]).fillna("").tolist()
    picked = select_batch(probs, n, strategy=strategy, diverse=diverse, texts=texts)
    chosen = candidates.iloc[picked].copy()
    chosen["uncertainty"] = select_scores(probs, strategy)[picked]
    return chosen


def select_scores(probs: np.ndarray, strategy: str) -> np.ndarray:
    """The uncertainty recorded in the queue (for ``random``: the entropy, for reference)."""
    return uncertainty_scores(probs, "entropy" if strategy == "random" else strategy)


def push(ctx: Context, task: str, n: int, strategy: str = "entropy", diverse: bool = False,
         shop_id: str = "sample", client: LabelStudioClient | None = None) -> PushReport:  # fmt: skip
    """Queue the ``n`` least certain rows of the shop's ``task`` in Label Studio (module
    docstring). Rows left ``pending`` by an earlier failed push count towards ``n``."""
    spec = check_target(task, shop_id)
    if spec.labelling is None:
        raise InputError(f"{task} rows are not sent to annotators; labelled tasks: "
                         f"{', '.join(t.name for t in _labelled())}")  # fmt: skip
    if strategy not in UNCERTAINTY_SIGNALS:
        raise InputError(f"unknown strategy {strategy!r}; choose one of: "
                         f"{', '.join(UNCERTAINTY_SIGNALS)}")  # fmt: skip
    if n < 1:
        raise InputError("--n must be at least 1")
    version = ctx.registry.active(shop_id, task)
    if version is None:
        raise ShopLensError(
            f"Shop {shop_id!r} has no active {task} model: train one with `shoplens train {task} "
            f"--shop {shop_id}` and score the rows with `shoplens score {task} --shop {shop_id}` "
            "before pushing."
        )
    store = ctx.store
    report = PushReport(task, shop_id, version, strategy, diverse)
    client = client or LabelStudioClient.from_settings(ctx.settings)
    report.reopened = _reopen_if_project_gone(ctx, shop_id, task, client)
    pending = queue_repo.pending(store, shop_id, task)
    candidates = prediction_repo.unlabelled_candidates(store, shop_id, task, version)
    candidates["probs"] = candidates["probs"].map(_probs_dict)
    if candidates.empty and pending.empty:
        if prediction_repo.count(store, shop_id, task, version) == 0:
            raise ShopLensError(
                f"No predictions from the active {task} model {version} for shop {shop_id!r}: "
                f"run `shoplens score {task} --shop {shop_id}` first."
            )
        return report  # every scored row is queued or labelled already
    chosen = _select_new(ctx, spec, shop_id, candidates, n - len(pending), strategy, diverse)
    report.selected, report.resumed = len(chosen), len(pending)
    queue_repo.add_pending(store, shop_id, task, version,
                           strategy + ("+diverse" if diverse else ""), chosen)  # fmt: skip
    try:
        _send_pending(ctx, spec, shop_id, version, client, report)
    except LabelStudioUnavailable as exc:
        raise LabelStudioUnavailable(
            f"{exc} The {report.selected + report.resumed} chosen rows are kept as pending in the "
            f"queue; run the same push again once Label Studio is up to send them."
        ) from exc
    return report


def _labelled() -> list[Task]:
    from core.tasks import labelled_tasks

    return labelled_tasks()


def _reopen_if_project_gone(ctx: Context, shop_id: str, task: str,
                            client: LabelStudioClient) -> int:  # fmt: skip
    """Rows re-opened because the recorded project vanished (0 when it is there)."""
    try:
        live_project_id(client, ctx.store, shop_id, task)
    except ProjectGone:
        return queue_repo.retire(ctx.store, shop_id, task)[1]
    except LabelStudioUnavailable:
        pass  # reported by the send, once the chosen rows are safely pending
    return 0


def existing_tasks(client: LabelStudioClient, ls_project_id: int, shop_id: str) -> dict[str, int]:
    """``target_id`` -> Label Studio task id for the tasks ShopLens already put in the project."""
    out: dict[str, int] = {}
    for ls_task in client.iter_tasks(ls_project_id):
        data = ls_task.get("data") or {}
        if data.get("shop_id") not in (None, shop_id):
            continue  # a project that an earlier ShopLens shared between shops
        if data.get("target_id") is not None:
            out[str(data["target_id"])] = int(ls_task["id"])
    return out


def _send_pending(ctx: Context, spec: Task, shop_id: str, version: str,
                  client: LabelStudioClient, report: PushReport) -> None:  # fmt: skip
    """Import the queue's pending rows (skipping any already in the project), mark them queued."""
    store = ctx.store
    queue = queue_repo.pending(store, shop_id, spec.name)
    if queue.empty:
        return
    ids = queue["target_id"].tolist()
    texts = masked_rows(ctx, spec, shop_id, ids)
    context = [c for c in texts.columns if c not in ("target_id", "text")]
    preds = prediction_repo.of_targets(store, shop_id, spec.name, version, ids)
    preds["probs"] = preds["probs"].map(_probs_dict)
    rows = queue[["target_id", "uncertainty"]].merge(texts, on="target_id", how="left")
    rows = rows.merge(preds, on="target_id", how="left")
    rows["text"] = rows["text"].fillna("")
    rows["label"] = rows["label"].fillna(spec.labels[0] if spec.labels else "")
    labelling = spec.labelling_spec(ctx, shop_id)
    assert labelling is not None
    rows["probs"] = rows["probs"].map(lambda p: p if isinstance(p, dict) else {})
    pid = ensure_project(client, store, spec, shop_id, context, model_version=version,
                         on_gone=lambda _old: queue_repo.retire(store, shop_id, spec.name),
                         labelling=labelling)  # fmt: skip
    report.project_id = pid
    present = existing_tasks(client, pid, shop_id)
    missing = rows[~rows["target_id"].isin(present)]
    report.already_in_label_studio = len(rows) - len(missing)
    if len(missing):
        payload = [_ls_task(labelling, shop_id, r, version, context) for _, r in missing.iterrows()]
        answer = client.import_tasks(pid, payload)
        task_ids = answer.get("task_ids") or []
        if len(task_ids) == len(payload):
            present.update(zip(missing["target_id"], map(int, task_ids), strict=True))
        else:
            present = existing_tasks(client, pid, shop_id)
        report.imported = len(missing)
    follow_model_version(client, pid, version)
    queue_repo.mark_queued(
        store, shop_id, spec.name, pid, {t: present[t] for t in ids if t in present}
    )
    report.target_ids = ids


def refresh_open_tasks(ctx: Context, task: str, shop_id: str, version: str,
                       client: LabelStudioClient | None = None) -> tuple[int, bool]:  # fmt: skip
    """Give the shop's queued (unanswered) tasks the new version's guesses and point the project
    at it. Called after a promotion so annotators confirm or correct the current model. Returns
    how many tasks got a new prediction and whether the project now follows ``version``."""
    spec = check_target(task, shop_id)
    client = client or LabelStudioClient.from_settings(ctx.settings)
    pid = live_project_id(client, ctx.store, shop_id, task)
    labelling = spec.labelling_spec(ctx, shop_id)
    if pid is None or labelling is None:
        return 0, False
    rows = queue_repo.open_tasks(ctx.store, shop_id, task, version, pid)
    if len(rows):
        predictions = []
        for r in rows.itertuples():
            probs = _probs_dict(r.probs)
            score = round(float(max(probs.values())) if probs else 0.0, 4)
            predictions.append({"task": int(r.ls_task_id), "model_version": version, "score": score,
                                "result": prediction_result(labelling, str(r.label))})  # fmt: skip
        client.import_predictions(pid, predictions)
    return len(rows), follow_model_version(client, pid, version)
