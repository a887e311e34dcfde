"""Retrain a shop's task on its labels with human answers taking precedence; promote only if
better.

The labels come from the task (human > rule > derived per row), so every human label from Label
Studio overrides the derived or rule label of its row. Training, the baseline, evaluation on the
fixed test split and the promotion rule are :func:`core.training.train_task`'s. Around it this
module reports what the retrain used and how the metrics moved, scores the rows with the new
version when it is promoted (so the next push ranks by its uncertainty) and points the shop's
Label Studio project at it.

A retrain that fails or is killed changes nothing: the registry writes a version atomically and
switches the active pointer only after evaluation.

    >>> report = retrain(ctx, "sentiment", "acme", progress=lambda f, m: print(f"{f:.0%} {m}"))
    >>> report.promoted
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from core.tasks import check_target
from labeling.client import LabelStudioError

if TYPE_CHECKING:
    from core.context import Context

Progress = Callable[[float, str], None]
HEADLINE = ("macro_f1", "accuracy", "roc_auc", "ece", "brier", "hr@10", "ndcg@10")


@dataclass
class RetrainReport:
    """What one retrain used and changed."""

    task: str
    shop_id: str
    previous_version: str | None
    new_version: str | None = None
    promoted: bool = False
    decision: str = ""
    baseline_serves: bool = False
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
    return {k: metrics[k] for k in HEADLINE if k in metrics}


def retrain(ctx: Context, task: str, shop_id: str = "sample", progress: Progress | None = None,
            max_minutes: float | None = None, score: bool = True,
            config_overrides: dict[str, Any] | None = None) -> RetrainReport:  # fmt: skip
    """Train a new version of the shop's ``task`` on derived/rule labels overridden by human
    ones. ``progress(fraction, message)`` is called as training goes (the job writes it to its
    state file); ``score`` scores the shop's rows with the new version when it is promoted."""
    from core.scoring import score_task
    from core.training import TrainingConfig, train_task

    check_target(task, shop_id)
    report_progress = progress or (lambda fraction, message: None)
    previous = ctx.registry.active(shop_id, task)
    before = (
        ctx.registry.version(shop_id, task, previous).metrics.get("model", {}) if previous else {}
    )
    report = RetrainReport(task, shop_id, previous, metrics_before=_headline(before))
    config = TrainingConfig(max_minutes=max_minutes, **(config_overrides or {}))
    train_share = 0.9 if score else 1.0
    result = train_task(ctx, task, shop_id, config,
                        progress=lambda f, m: report_progress(train_share * f, m))  # fmt: skip
    report.new_version, report.promoted = result.version, result.promoted
    report.decision, report.baseline_serves = result.decision.reason, result.baseline_serves
    report.labels_used = dict(result.details.get("labels_used") or {})
    report.metrics_after = _headline(result.metrics.get("model", {}))
    report.train_seconds = round(float(result.train_seconds), 2)
    report.notes += result.notes
    if report.promoted:
        if score:
            report_progress(train_share, "scoring rows with the new version")
            report.rows_scored = int(score_task(ctx, task, shop_id))
        report.label_studio_updated = _point_project(ctx, task, result.version, report)
    report_progress(1.0, _summary(report))
    return report


def _point_project(ctx: Context, task: str, version: str, report: RetrainReport) -> bool:
    """Re-predict the shop's open Label Studio tasks with the new version and follow it there."""
    from labeling.projects import project_id
    from labeling.routing import refresh_open_tasks

    if project_id(ctx.store, report.shop_id, task) is None:
        return False
    try:
        refreshed, followed = refresh_open_tasks(ctx, task, report.shop_id, version)
        if refreshed:
            report.notes.append(f"{refreshed} open Label Studio tasks show the new model's guess")
        return followed
    except LabelStudioError as exc:  # the model is promoted either way; say what is left to do
        report.notes.append(
            f"Label Studio's project still shows the old model version ({exc}); the next "
            f"`shoplens label push {task} --shop {report.shop_id}` updates it."
        )
        return False


def _summary(report: RetrainReport) -> str:
    fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    before, after = report.metrics_before.get("macro_f1"), report.metrics_after.get("macro_f1")
    return (f"{report.task}/{report.new_version}: macro-F1 {fmt(before)} -> {fmt(after)}, "
            f"{report.decision}")  # fmt: skip
