"""Training a task for one shop: the fixed split, the run record, the candidate-or-baseline
choice, the new registry version and the promotion rule.

The split is created once per (shop, task) and stored in ``data_splits``; rows that arrive later
join train/validation/test by the same seeded rule and rows already assigned never move, so
every version is compared on the same test rows. What a task trains is its kind's business
(``Task.train``); whatever it is, it comes with a baseline fitted on the same rows, and when the
model does not beat the baseline **the baseline is registered and serves** (it is a model too).

    >>> result = train_task(ctx, "sentiment", "acme", TrainingConfig(max_minutes=10))
    >>> result.model_type, result.promoted
    ('encoder_blend', True)
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.kinds.base import Progress, get_task, no_progress
from core.promotion import Decision, model_score, promote
from db.repo import runs
from db.repo import splits as split_repo
from db.shops import check_shop_id

if TYPE_CHECKING:
    from core.context import Context
    from db.store import Store


@dataclass
class TrainingConfig:
    """Every knob of a training run (the CLI and the app fill it; defaults suit 2 CPU cores).

    - ``max_length``: tokens per text (longer texts are truncated).
    - ``batch_size``, ``epochs``, ``learning_rate``, ``weight_decay``, ``warmup_ratio``: AdamW
      with linear warm-up then linear decay to zero.
    - ``trainable_layers``: top encoder layers trained on cached lower-layer states (the fast CPU
      plan); ``-1`` fine-tunes every layer.
    - ``class_weights``: inverse-frequency class weights in the loss.
    - ``patience``: epochs without a better validation macro-F1 before stopping early.
    - ``max_minutes``: wall-clock budget for the whole run (None: no limit); training stops
      early enough to evaluate and save.
    - ``max_train_examples``: cap on the rows the encoder trains on (a stratified sample; the
      TF-IDF partner always sees every training row). None: all.
    - ``max_eval_examples``: cap on validation and test rows (a fixed subset: the first rows in
      hash order, the same for every version). None: all.
    - ``blend_tfidf``: blend the encoder with TF-IDF + LR (weight tuned on validation).
    - ``tune_bias``: tune a per-class logit bias for macro-F1 on validation.
    - ``check_int8``: test the fast CPU variants, int8 dynamic quantisation (kept when its
      close calls re-scored in fp32 bring agreement to 99.5 %) and, on a processor with native
      bf16, a bf16 copy (kept at >= 99 % agreement and then preferred).
    - ``split``: train/validation/test fractions of a new split; ``seed``: every random choice.
    - ``device``: auto | cpu | cuda (None: the settings' choice).
    - ``min_examples``: fewer labelled rows than this is an error that says what to do.
    - ``horizon_days``: the forecast horizon of a shopper forecast (purchase, churn); None: the
      task's default.
    - ``encoder_minutes``: a text task on a mostly Chinese shop without an extended encoder first
      extends the bundled one (:mod:`core.encoder_vocab`) for this long; None: 40 % of
      ``max_minutes`` (8 minutes without a budget); 0: never.
    """

    max_length: int = 128
    batch_size: int = 16
    epochs: int = 3
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    trainable_layers: int = 2
    class_weights: bool = True
    patience: int = 0
    max_minutes: float | None = None
    max_train_examples: int | None = None
    max_eval_examples: int | None = None
    blend_tfidf: bool = True
    tune_bias: bool = True
    check_int8: bool = True
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    seed: int = 42
    device: str | None = None
    min_examples: int = 8
    horizon_days: int | None = None
    encoder_minutes: float | None = None

    def clock(self) -> tuple[float, float]:
        """(start, deadline) in ``time.monotonic`` seconds for this run's budget."""
        now = time.monotonic()
        return now, now + 60 * self.max_minutes if self.max_minutes else float("inf")


@dataclass
class TrainResult:
    """The outcome of one training run."""

    task: str
    shop_id: str
    version: str
    promoted: bool
    model_type: str
    metrics: dict[str, Any]
    decision: Decision
    train_seconds: float
    baseline_serves: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people: what was trained, how it scored, what serves now."""
        spec = get_task(self.task)
        score = model_score(self.metrics, spec.metric)
        base = (self.metrics.get("baseline") or {}).get(spec.metric)
        if base is None and self.baseline_serves:
            base = score
        fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
        what = f"the baseline ({self.model_type})" if self.baseline_serves else self.model_type
        return (f"{self.task} {self.version} [{what}] for shop {self.shop_id}: test {spec.metric} "
                f"{fmt(score)} (baseline {fmt(base)}), {self.train_seconds:.0f} s; "
                f"{self.decision.reason}")  # fmt: skip


def assign_splits(
    target_ids: pd.Series, labels: pd.Series, fractions: tuple[float, float, float], seed: int
) -> pd.Series:
    """Stratified, seeded split: per label, shuffle the (sorted) ids and cut by ``fractions``."""
    out = pd.Series("train", index=target_ids.to_numpy(), dtype=object)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"t": target_ids.to_numpy(), "y": labels.to_numpy()}).sort_values("t")
    for _, group in frame.groupby("y", sort=True):
        ids = group["t"].to_numpy()[rng.permutation(len(group))]
        n_test = int(round(fractions[2] * len(ids))) if len(ids) >= 3 else 0
        n_val = int(round(fractions[1] * len(ids))) if len(ids) >= 3 else 0
        out[ids[:n_test]] = "test"
        out[ids[n_test : n_test + n_val]] = "validation"
    return out


def get_or_create_split(store: Store, task: str, shop_id: str, data: pd.DataFrame,
                        fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
                        seed: int = 42) -> pd.Series:  # fmt: skip
    """The stored split of ``data`` (target_id, label); rows without one are assigned and
    saved. Returns one split name per row of ``data``."""
    known = split_repo.stored_splits(store, shop_id, task)
    new = data[~data["target_id"].isin(known)]
    if len(new):
        fresh = assign_splits(new["target_id"], new["label"], fractions, seed)
        split_repo.add_splits(store, shop_id, task, fresh)
        known.update(fresh.to_dict())
    return data["target_id"].map(known)


def fixed_subset(frame: pd.DataFrame, n: int | None) -> pd.DataFrame:
    """The first ``n`` rows in order of a hash of their target id (stable across versions)."""
    if not n or len(frame) <= n:
        return frame
    keys = frame["target_id"].map(lambda t: hashlib.md5(str(t).encode()).hexdigest())
    return frame.loc[keys.sort_values(kind="stable").index[:n]].reset_index(drop=True)


def fingerprint(
    data: pd.DataFrame, columns: tuple[str, ...] = ("target_id", "label", "text")
) -> str:
    """A short hash of the rows (in target order) a model was trained or evaluated on."""
    h = hashlib.sha256()
    present = [c for c in columns if c in data]
    for row in data.sort_values("target_id")[present].itertuples(index=False):
        h.update("\x1f".join(map(str, row)).encode() + b"\x1e")
    return h.hexdigest()[:16]


def train_task(ctx: Context, task: str, shop_id: str, config: Any = None,
               progress: Progress | None = None, force_promote: bool = False) -> TrainResult:  # fmt: skip
    """Train a new version of the shop's ``task``, register it (or its baseline, when the model
    does not beat it) and promote it by :func:`core.promotion.promote`'s rule. With
    ``force_promote`` the trained model itself is registered and activated (marked forced)."""
    spec = get_task(task)
    check_shop_id(shop_id)
    ctx.store.require()  # before the run record below would create an empty store
    config = config if config is not None else TrainingConfig()
    report = progress or no_progress
    started = time.monotonic()
    active = ctx.registry.active(shop_id, task)
    before = ctx.registry.version(shop_id, task, active).metrics.get("model", {}) if active else {}
    run_id = uuid.uuid4().hex[:12]
    runs.start_run(ctx.store, run_id, shop_id, task, {}, before)
    try:
        outcome = spec.train(ctx, shop_id, config, report)
        model, baseline = outcome.model, outcome.baseline
        notes = list(outcome.notes)
        m_score = model_score(model.metrics, spec.metric)
        b_score = model_score(baseline.metrics, spec.metric) if baseline else None
        # --force-promote is the operator's override: the trained model goes in, whatever it scored
        serves_baseline = (not force_promote and m_score is not None and b_score is not None
                           and m_score <= b_score)  # fmt: skip
        chosen = baseline if serves_baseline and baseline is not None else model
        if serves_baseline:
            notes.append(
                f"the {model.model_type} model ({spec.metric} {m_score:.3f}) did not beat its "
                f"baseline ({b_score:.3f}) on the test split: the baseline is registered and serves"
            )
        seconds = time.monotonic() - started
        version = ctx.registry.save(
            shop_id, task, chosen, test_fingerprint=outcome.test_fingerprint,
            data_fingerprint=outcome.data_fingerprint, train_seconds=seconds,
        )  # fmt: skip
        decision = promote(ctx, shop_id, task, version, force=force_promote)
    except BaseException as exc:
        runs.finish_run(ctx.store, run_id, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    runs.finish_run(ctx.store, run_id, "finished", new_version=version,
                    promoted=decision.promoted, metrics_after=chosen.metrics.get("model", {}),
                    labels_used=outcome.labels_used)  # fmt: skip
    report(1.0, f"saved {task}/{version}: {decision.reason}")
    return TrainResult(
        task=task, shop_id=shop_id, version=version, promoted=decision.promoted,
        model_type=chosen.model_type, metrics=chosen.metrics, decision=decision,
        train_seconds=seconds, baseline_serves=serves_baseline,
        details={**model.meta, "labels_used": outcome.labels_used,
                 "candidate_metrics": model.metrics if serves_baseline else None},
        notes=notes, losses=list(model.meta.get("losses", [])),
    )  # fmt: skip
