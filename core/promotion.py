"""Which version may serve: the promotion rule, one place for every task and every caller.

A version becomes a shop's active version only if, on that shop's fixed test split,

1. it beats the task's baseline (a version that *is* the baseline passes this by definition:
   it is what serves when a trained model could not beat it), and
2. it beats the active version.

Both use the task's primary metric. When the active version was measured on other test rows
(the split has grown, or labels changed since), both versions are evaluated again on the current
split, so the comparison is always like for like (a version copied from another shop is always
evaluated again: its stored metrics describe the other shop). ``force`` activates a version anyway; the
pointer remembers it was forced and the Models page shows a warning.

    >>> promote(ctx, "acme", "sentiment", "v20260101-120000-000001").reason
    'promoted: macro_f1 0.741 beats the active 0.702 and the baseline 0.671'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.kinds.base import get_task

if TYPE_CHECKING:
    from core.context import Context


@dataclass(frozen=True)
class Decision:
    """Whether a version was promoted, and why, with the figures compared."""

    promoted: bool
    reason: str
    score: float | None = None
    active_score: float | None = None
    baseline_score: float | None = None
    forced: bool = False


def model_score(metrics: dict[str, Any], metric: str) -> float | None:
    """The version's primary metric on its test split (None when it was not evaluated)."""
    value = (metrics.get("model") or {}).get(metric)
    return None if value is None else float(value)


def baseline_score(metrics: dict[str, Any], metric: str) -> float | None:
    """The baseline's primary metric on the same test split (None when there is none)."""
    baseline = metrics.get("baseline") or (metrics.get("baselines") or {}).get("tfidf_lr") or {}
    value = baseline.get(metric)
    return None if value is None else float(value)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def promote(ctx: Context, shop_id: str, task: str, version: str, force: bool = False) -> Decision:
    """Apply the promotion rule (module docstring) and activate ``version`` if it passes."""
    spec = get_task(task)
    registry = ctx.registry
    row = registry.version(shop_id, task, version)
    active = registry.active(shop_id, task)
    if active == version:
        return Decision(True, f"{version} is already active")
    metric = spec.metric
    score = model_score(row.metrics, metric)
    base = baseline_score(row.metrics, metric)
    if force:
        registry.activate(shop_id, task, version, "promote", forced=True)
        return Decision(True, f"forced: {version} is active whatever its {metric}", score,
                        None, base, forced=True)  # fmt: skip
    is_baseline = bool(row.metrics.get("is_baseline"))
    if score is not None and base is not None and not is_baseline and score <= base:
        return Decision(False, f"not promoted: {metric} {_fmt(score)} does not beat the "
                               f"baseline's {_fmt(base)}", score, None, base)  # fmt: skip
    active_score = None
    if active is not None:
        active_row = registry.version(shop_id, task, active)
        active_score = model_score(active_row.metrics, metric)
        # a copied version's metrics were measured on another shop's rows: never like for like
        same_rows = (not active_row.copied_from and bool(active_row.test_fingerprint)
                     and active_row.test_fingerprint == row.test_fingerprint)  # fmt: skip
        if active_score is not None and score is not None and not same_rows:
            rows = row.metrics.get("eval_rows")
            active_metrics, _ = spec.evaluate(
                ctx, shop_id, registry.load(shop_id, task, active), rows
            )
            new_metrics, _ = spec.evaluate(
                ctx, shop_id, registry.load(shop_id, task, version), rows
            )
            active_score, score = active_metrics.get(metric), new_metrics.get(metric)
        if active_score is not None and (score is None or score <= active_score):
            return Decision(False, f"not promoted: {metric} {_fmt(score)} does not beat the "
                                   f"active {active}'s {_fmt(active_score)}",
                            score, active_score, base)  # fmt: skip
    registry.activate(shop_id, task, version, "promote")
    beaten = [f"the active {_fmt(active_score)}"] if active_score is not None else []
    if base is not None and not is_baseline:
        beaten.append(f"the baseline {_fmt(base)}")
    if score is None:
        reason = "promoted: no labelled test rows to measure it on yet"
    else:
        reason = f"promoted: {metric} {_fmt(score)}" + (
            " beats " + " and ".join(beaten) if beaten else ""
        )
    if is_baseline:
        reason += " (the baseline serves)"
    return Decision(True, reason,
                    score, active_score, base)  # fmt: skip
