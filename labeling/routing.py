"""Send the rows the active model is least sure of to Label Studio, without losing or doubling any.

``push`` picks the N most uncertain predictions of the active model version that are neither
queued nor human-labelled, masks personal data in their texts, and imports them as tasks with the
model's guess as a pre-annotation (model_version and score). The queue is written in two steps so
a Label Studio outage mid-push loses nothing:

1. the chosen rows go into ``label_queue`` as ``pending`` (one transaction);
2. after the import, they become ``queued`` with their Label Studio task ids.

A retry first finishes the pending rows. Before importing it lists the project's tasks and skips
any whose ``target_id`` is already there (the import went through but the answer was lost), so a
row never appears twice in Label Studio. If the task's project has vanished (deleted, or Label
Studio's data folder reset), push makes a new one and first re-opens the rows that were sent to the
old one but never answered (:func:`labeling.sync.retire_project`); answers already pulled stay.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from common.errors import InputError, ShopLensError
from common.settings import Settings, load_settings
from core.tasks import check_target
from db.store import Store
from labeling.client import LabelStudioClient, LabelStudioUnavailable
from labeling.projects import (
    FROM_NAME,
    TO_NAME,
    ProjectGone,
    context_key,
    ensure_project,
    follow_model_version,
    live_project_id,
    project_id,
)
from labeling.selection import STRATEGIES, select_batch, uncertainty_scores
from labeling.sync import retire_project
from privacy.masking import mask_pii


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


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _probs_dict(raw: Any) -> dict[str, float]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def candidate_predictions(store: Store, task: str, shop_id: str, version: str) -> pd.DataFrame:
    """Predictions of ``version`` for rows neither in the queue nor labelled by a human."""
    df = store.query_df(
        """
        SELECT p.target_id, p.label, p.probs FROM predictions p
        WHERE p.shop_id = ? AND p.task = ? AND p.model_version = ?
          AND NOT EXISTS (SELECT 1 FROM label_queue q WHERE q.shop_id = p.shop_id
                          AND q.task = p.task AND q.target_id = p.target_id)
          AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.shop_id = p.shop_id
                          AND l.task = p.task AND l.target_id = p.target_id
                          AND l.source = 'human')
        ORDER BY p.target_id
        """,
        [shop_id, task, version],
    )
    df["probs"] = df["probs"].map(_probs_dict)
    return df


def _prob_matrix(probs: pd.Series, labels: tuple[str, ...]) -> np.ndarray:
    matrix = np.array([[float(p.get(label, 0.0)) for label in labels] for p in probs])
    sums = matrix.sum(axis=1, keepdims=True)
    return matrix / np.where(sums > 0, sums, 1.0)


def _review_context(store: Store, shop_id: str) -> pd.DataFrame:
    """Product, rating and the whole review for every review (context for review-based tasks)."""
    return store.query_df(
        """
        SELECT r.review_id, coalesce(i.title, i.category, r.item_id) AS product,
               CAST(r.rating AS VARCHAR) AS rating, r.text AS review
        FROM reviews r LEFT JOIN items i ON i.shop_id = r.shop_id AND i.item_id = r.item_id
        WHERE r.shop_id = ?
        """,
        [shop_id],
    )


def task_texts(store: Store, spec: Any, shop_id: str, target_ids: list[str]) -> pd.DataFrame:
    """Texts and context for ``target_ids``, PII-masked; context columns are ``ctx_*`` keys."""
    texts = spec.load_texts(store, shop_id)
    texts = texts[texts["target_id"].isin(target_ids)].copy()
    if spec.name == "sentiment" and "review_id" not in texts:
        texts["review_id"] = texts["target_id"]
    if "review_id" in texts:
        context = _review_context(store, shop_id)
        if spec.name == "sentiment":
            context = context.drop(columns=["review"])  # the text already is the review
        texts = texts.merge(context, on="review_id", how="left")
    drop = [c for c in texts.columns if c.endswith("_id") and c != "target_id"]
    texts = texts.drop(columns=drop + [c for c in ("language",) if c in texts])
    for column in texts.columns:
        if column != "target_id":
            texts[column] = texts[column].fillna("").astype(str).map(mask_pii)
    return texts


def _ls_task(row: pd.Series, task: str, shop_id: str, version: str, context: list[str]) -> dict:
    probs: dict[str, float] = row["probs"]
    model_label = row["label"]
    data = {
        "text": row["text"],
        "target_id": row["target_id"],
        "shop_id": shop_id,
        "task": task,
        "model_label": model_label,
        "uncertainty": round(float(row["uncertainty"]), 4),
    }
    data.update({context_key(c): row.get(c, "") for c in context})
    result = [
        {"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
         "value": {"choices": [model_label]}}
    ]  # fmt: skip
    score = round(float(max(probs.values())) if probs else 0.0, 4)
    return {
        "data": data,
        "predictions": [{"model_version": version, "score": score, "result": result}],
    }


def existing_tasks(client: LabelStudioClient, ls_project_id: int, shop_id: str) -> dict[str, int]:
    """``target_id`` -> Label Studio task id for the shop's tasks already in the project."""
    out: dict[str, int] = {}
    for ls_task in client.iter_tasks(ls_project_id):
        data = ls_task.get("data") or {}
        if data.get("target_id") is not None and str(data.get("shop_id")) == shop_id:
            out[str(data["target_id"])] = int(ls_task["id"])
    return out


def _select_new(spec: Any, candidates: pd.DataFrame, n: int, strategy: str, diverse: bool,
                store: Store, shop_id: str) -> pd.DataFrame:  # fmt: skip
    if n <= 0 or candidates.empty:
        return candidates.iloc[0:0].assign(uncertainty=[])
    probs = _prob_matrix(candidates["probs"], spec.labels)
    texts = None
    if diverse:
        frame = spec.load_texts(store, shop_id).set_index("target_id")["text"]
        texts = frame.reindex(candidates["target_id"]).fillna("").tolist()
    picked = select_batch(probs, n, strategy=strategy, diverse=diverse, texts=texts)
    scores = select_scores(probs, strategy)
    chosen = candidates.iloc[picked].copy()
    chosen["uncertainty"] = scores[picked]
    return chosen


def select_scores(probs: np.ndarray, strategy: str) -> np.ndarray:
    """The uncertainty recorded in the queue (for ``random``: the entropy, for reference)."""
    return uncertainty_scores(probs, "entropy" if strategy == "random" else strategy)


def push(
    store: Store,
    task: str,
    n: int,
    strategy: str = "entropy",
    diverse: bool = False,
    shop_id: str = "sample",
    client: LabelStudioClient | None = None,
    settings: Settings | None = None,
) -> PushReport:
    """Queue the ``n`` least certain rows of ``task`` in Label Studio (see the module docstring).

    Rows left ``pending`` by an earlier push that failed count towards ``n`` and are sent first.
    """
    from core.registry import active_version
    from core.tasks import get_task

    check_target(task, shop_id)
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {strategy!r}; choose one of: {', '.join(STRATEGIES)}")
    if n < 1:
        raise InputError("--n must be at least 1")
    settings = settings or load_settings()
    spec = get_task(task)
    version = active_version(task)
    if version is None:
        raise ShopLensError(
            f"No active model for {task!r}: train one with `shoplens train {task}` and score the "
            f"rows with `shoplens score {task}` before pushing."
        )
    report = PushReport(task, shop_id, version, strategy, diverse)
    report.reopened = _reopen_if_project_gone(store, task, client, settings)
    pending = store.query_df(
        "SELECT target_id, uncertainty FROM label_queue WHERE shop_id = ? AND task = ? "
        "AND status = 'pending' ORDER BY queued_at, target_id",
        [shop_id, task],
    )
    candidates = candidate_predictions(store, task, shop_id, version)
    if candidates.empty and pending.empty:
        n_preds = store.query_df(
            "SELECT count(*) AS n FROM predictions WHERE shop_id = ? AND task = ? "
            "AND model_version = ?",
            [shop_id, task, version],
        )["n"].iloc[0]
        if n_preds == 0:
            raise ShopLensError(
                f"No predictions from the active {task} model {version} for shop {shop_id!r}: "
                f"run `shoplens score {task}` first."
            )
        return report  # every scored row is queued or labelled already
    chosen = _select_new(spec, candidates, n - len(pending), strategy, diverse, store, shop_id)
    report.selected, report.resumed = len(chosen), len(pending)
    if len(chosen):
        now = _now()
        with store.write() as con:
            con.executemany(
                "INSERT INTO label_queue (shop_id, task, target_id, model_version, strategy, "
                "uncertainty, queued_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
                [
                    [shop_id, task, t, version, strategy + ("+diverse" if diverse else ""),
                     float(u), now]
                    for t, u in zip(chosen["target_id"], chosen["uncertainty"], strict=True)
                ],
            )  # fmt: skip
    try:
        _send_pending(store, spec, shop_id, version, client, settings, report)
    except LabelStudioUnavailable as exc:
        raise LabelStudioUnavailable(
            f"{exc} The {report.selected + report.resumed} chosen rows are kept as pending in the "
            f"queue; run the same push again once Label Studio is up to send them."
        ) from exc
    return report


def _reopen_if_project_gone(
    store: Store, task: str, client: LabelStudioClient | None, settings: Settings
) -> int:
    """Rows re-opened because the task's recorded project vanished (0 when it is there)."""
    if project_id(task, settings) is None:
        return 0
    try:
        live_project_id(client or LabelStudioClient.from_settings(settings), task, settings)
    except ProjectGone:
        return retire_project(store, task)[1]
    except LabelStudioUnavailable:
        pass  # reported by the send, once the chosen rows are safely pending
    return 0


def _send_pending(store: Store, spec: Any, shop_id: str, version: str,
                  client: LabelStudioClient | None, settings: Settings,
                  report: PushReport) -> None:  # fmt: skip
    """Import the queue's pending rows (skipping any already in the project), mark them queued."""
    queue = store.query_df(
        "SELECT target_id, uncertainty, model_version FROM label_queue WHERE shop_id = ? "
        "AND task = ? AND status = 'pending' ORDER BY uncertainty DESC, target_id",
        [shop_id, spec.name],
    )
    if queue.empty:
        return
    ids = queue["target_id"].tolist()
    texts = task_texts(store, spec, shop_id, ids)
    context = [c for c in texts.columns if c not in ("target_id", "text")]
    preds = store.query_df(
        "SELECT target_id, label, probs FROM predictions WHERE shop_id = ? AND task = ? "
        "AND model_version = ? AND target_id IN (SELECT unnest(?::VARCHAR[]))",
        [shop_id, spec.name, version, ids],
    )
    preds["probs"] = preds["probs"].map(_probs_dict)
    rows = queue.merge(texts, on="target_id", how="left").merge(preds, on="target_id", how="left")
    rows["text"] = rows["text"].fillna("")
    rows["label"] = rows["label"].fillna(spec.labels[0])
    rows["probs"] = rows["probs"].map(lambda p: p if isinstance(p, dict) else {})
    client = client or LabelStudioClient.from_settings(settings)
    pid = ensure_project(
        client, spec, context, model_version=version, settings=settings,
        on_gone=lambda _old: retire_project(store, spec.name),
    )  # fmt: skip
    report.project_id = pid
    present = existing_tasks(client, pid, shop_id)
    missing = rows[~rows["target_id"].isin(present)]
    report.already_in_label_studio = len(rows) - len(missing)
    if len(missing):
        payload = [_ls_task(r, spec.name, shop_id, version, context) for _, r in missing.iterrows()]
        answer = client.import_tasks(pid, payload)
        task_ids = answer.get("task_ids") or []
        if len(task_ids) == len(payload):
            present.update(zip(missing["target_id"], map(int, task_ids), strict=True))
        else:
            present = existing_tasks(client, pid, shop_id)
        report.imported = len(missing)
    follow_model_version(client, pid, version)
    with store.write() as con:
        con.executemany(
            "UPDATE label_queue SET status = 'queued', ls_project_id = ?, ls_task_id = ? "
            "WHERE shop_id = ? AND task = ? AND target_id = ? AND status = 'pending'",
            [[pid, present[t], shop_id, spec.name, t] for t in ids if t in present],
        )
    report.target_ids = ids


def _prediction(ls_task_id: int, label: str, probs: dict[str, float], version: str) -> dict:
    result = [
        {"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
         "value": {"choices": [label]}}
    ]  # fmt: skip
    score = round(float(max(probs.values())) if probs else 0.0, 4)
    return {"task": ls_task_id, "model_version": version, "score": score, "result": result}


def refresh_open_tasks(
    store: Store,
    task: str,
    shop_id: str,
    version: str,
    client: LabelStudioClient | None = None,
    settings: Settings | None = None,
) -> tuple[int, bool]:
    """Give the queued (unanswered) tasks the new version's guesses and point the project at it.

    Called after a promotion so annotators confirm or correct the current model. Returns how
    many tasks got a new prediction and whether the project now follows ``version``.
    """
    settings = settings or load_settings()
    rows = store.query_df(
        "SELECT q.ls_project_id, q.ls_task_id, p.label, p.probs FROM label_queue q "
        "JOIN predictions p ON p.shop_id = q.shop_id AND p.task = q.task "
        "AND p.target_id = q.target_id AND p.model_version = ? "
        "WHERE q.shop_id = ? AND q.task = ? AND q.status = 'queued' AND q.ls_task_id IS NOT NULL",
        [version, shop_id, task],
    )
    client = client or LabelStudioClient.from_settings(settings)
    from labeling.projects import project_id, set_model_version

    pid = project_id(task, settings)
    if pid is None:
        return 0, False
    rows = rows[rows["ls_project_id"] == pid]
    if len(rows):
        client.import_predictions(
            pid,
            [_prediction(int(r.ls_task_id), r.label, _probs_dict(r.probs), version)
             for r in rows.itertuples()],
        )  # fmt: skip
    return len(rows), set_model_version(client, task, version, settings)
