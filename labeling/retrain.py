"""Retrain a task on its labels with human answers taking precedence, promote only if better.

The labels come from the task's own loader (``core.tasks``: human > rule > derived per row), so
every human label from Label Studio overrides the derived or rule label of its row. Training,
evaluation on the fixed test split and the promotion rule (macro-F1 at least the active
version's) are ``core.training.train_task``'s. Around it this module records what the retrain used
and how the metrics moved, points the Label Studio project at the new version when it is promoted,
and scores the rows with the new version so the next push ranks by its uncertainty.

A retrain that fails or is killed changes nothing: the registry writes a version atomically and
switches the active one only after evaluation.

    >>> report = retrain(store, "sentiment", progress=lambda f, m: print(f"{f:.0%} {m}"))
    >>> report.promoted
    True
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from common.settings import Settings, load_settings
from core.tasks import check_target
from db.store import Store
from labeling.client import LabelStudioClient, LabelStudioError

Progress = Callable[[float, str], None]


@dataclass
class RetrainReport:
    """What one retrain used and changed."""

    task: str
    shop_id: str
    previous_version: str | None
    new_version: str | None = None
    promoted: bool = False
    labels_used: dict[str, int] = field(default_factory=dict)
    metrics_before: dict[str, Any] = field(default_factory=dict)
    metrics_after: dict[str, Any] = field(default_factory=dict)
    train_seconds: float | None = None
    rows_scored: int = 0
    label_studio_updated: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("macro_f1", "accuracy", "roc_auc", "ece")
    return {k: metrics[k] for k in keys if k in metrics}


def _active_metrics(task: str) -> tuple[str | None, dict[str, Any]]:
    from core import registry

    for version in registry.list_versions(task):
        if version["active"]:
            return version["version"], dict(version["metrics"].get("model", {}))
    return None, {}


def retrain(
    store: Store,
    task: str,
    shop_id: str = "sample",
    progress: Progress | None = None,
    max_minutes: float | None = None,
    score: bool = True,
    config_overrides: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> RetrainReport:
    """Train a new version of ``task`` on derived/rule labels overridden by human ones.

    ``progress(fraction, message)`` is called as training goes (the job writes it to its state
    file). ``score`` scores the shop's rows with the new version when it is promoted.
    """
    from core.tasks import get_task
    from core.training import TrainingConfig, train_task

    check_target(task, shop_id)
    settings = settings or load_settings()
    report_progress = progress or (lambda fraction, message: None)
    spec = get_task(task)
    previous, before = _active_metrics(task)
    report = RetrainReport(task, shop_id, previous, metrics_before=_headline(before))
    labels = spec.load_labels(store, shop_id)
    report.labels_used = {str(k): int(v) for k, v in labels["source"].value_counts().items()}
    config = TrainingConfig(shop_id=shop_id, max_minutes=max_minutes, **(config_overrides or {}))
    train_share = 0.9 if score else 1.0
    result = train_task(
        store, task, config, progress=lambda f, m: report_progress(train_share * f, m)
    )
    report.new_version, report.promoted = result.version, bool(result.promoted)
    report.metrics_after = _headline(result.metrics.get("model", {}))
    report.train_seconds = round(float(result.train_seconds), 2)
    _complete_run_record(store, task, result.version, before)
    if report.promoted:
        if score:
            from core.inference import score_task

            report_progress(train_share, "scoring rows with the new version")
            report.rows_scored = int(score_task(store, task, shop_id=shop_id))
        report.label_studio_updated = _point_project(store, task, result.version, settings, report)
    report_progress(1.0, _summary(report))
    return report


def _complete_run_record(store: Store, task: str, version: str, before: dict[str, Any]) -> None:
    """Fill ``metrics_before`` of the run that made ``version`` if the trainer left it empty."""
    with store.write() as con:
        con.execute(
            "UPDATE training_runs SET metrics_before = ? WHERE task = ? AND new_version = ? "
            "AND (metrics_before IS NULL OR CAST(metrics_before AS VARCHAR) IN ('{}', 'null'))",
            [json.dumps(before), task, version],
        )


def _point_project(
    store: Store, task: str, version: str, settings: Settings, report: RetrainReport
) -> bool:
    """Re-predict the open Label Studio tasks with the new version and follow it there."""
    from labeling.routing import refresh_open_tasks

    try:
        client = LabelStudioClient.from_settings(settings)
        refreshed, followed = refresh_open_tasks(
            store, task, report.shop_id, version, client, settings
        )
        if refreshed:
            report.notes.append(f"{refreshed} open Label Studio tasks show the new model's guess")
        return followed
    except LabelStudioError as exc:  # the model is promoted either way; say what is left to do
        report.notes.append(
            f"Label Studio's project still shows the old model version ({exc}); the next "
            f"`shoplens label push {task}` updates it."
        )
        return False


def _summary(report: RetrainReport) -> str:
    before = report.metrics_before.get("macro_f1")
    after = report.metrics_after.get("macro_f1")
    fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    verdict = "promoted" if report.promoted else "kept the active version (not better)"
    return f"{report.task}/{report.new_version}: macro-F1 {fmt(before)} -> {fmt(after)}, {verdict}"
