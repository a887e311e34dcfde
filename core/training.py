"""Training a task's model: data from the store, the fixed split, the fine-tune, the blend with
TF-IDF, evaluation against the baselines, a new registry version and the promotion rule.

The split is created once per (shop, task) and stored in ``data_splits``; rows that arrive later
join train/validation/test by the same seeded rule, and rows already assigned never move, so every
version is compared on the same test rows. Training reads its data at the start and writes its
result at the end; it holds no store connection while it trains.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from common.errors import InputError
from core import registry, trainer
from core.evaluation import baseline_metrics, classification_metrics, fit_tfidf
from core.modeling import (
    base_model_path,
    calibrate_rescue_margin,
    encoder_logits,
    load_encoder,
    pick_device,
    quantize_int8,
)
from core.tasks import get_task, record_rule_labels
from core.tuning import tune_blend

if TYPE_CHECKING:
    from db.store import Store


@dataclass
class TrainingConfig:
    """Every knob of a training run (the CLI and the app fill it; defaults suit 2 CPU cores).

    - ``shop_id``: whose data to train on.
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
    - ``check_int8``: test int8 dynamic quantisation; kept for CPU scoring at >= 99% agreement.
    - ``split``: train/validation/test fractions of a new split; ``seed``: every random choice.
    - ``device``: auto | cpu | cuda (default from settings).
    """

    shop_id: str = "sample"
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


@dataclass
class TrainResult:
    """The outcome of one training run."""

    task: str
    version: str
    promoted: bool
    metrics: dict
    train_seconds: float
    examples_per_second: float
    n_train: int
    n_validation: int
    n_test: int
    stopped_by: str
    losses: list[float] = field(default_factory=list)


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


def get_or_create_split(
    store: Store, task: str, shop_id: str, data: pd.DataFrame, config: TrainingConfig
) -> pd.Series:
    """The stored split of ``data`` (target_id, label); rows without one are assigned and saved."""
    stored = store.query_df(
        "SELECT target_id, split FROM data_splits WHERE shop_id = ? AND task = ?", [shop_id, task]
    )
    known = dict(zip(stored["target_id"], stored["split"], strict=True))
    new = data[~data["target_id"].isin(known)]
    if len(new):
        fresh = assign_splits(new["target_id"], new["label"], config.split, config.seed)
        rows = pd.DataFrame({"shop_id": shop_id, "task": task, "target_id": fresh.index,
                             "split": fresh.to_numpy()})  # fmt: skip
        with store.write() as con:
            con.register("new_splits", rows)
            con.execute(
                "INSERT INTO data_splits (shop_id, task, target_id, split) "
                "SELECT shop_id, task, target_id, split FROM new_splits"
            )
        known.update(fresh.to_dict())
    return data["target_id"].map(known)


def load_training_data(store: Store, task: str, shop_id: str) -> pd.DataFrame:
    """Texts joined with their labels: target_id, text, label, source (labels outside the task's
    label set and empty texts are dropped)."""
    spec = get_task(task)
    if not spec.trainable:
        raise InputError(f"{task} is unsupervised: use `shoplens score {task}` instead of train")
    texts = spec.load_texts(store, shop_id)
    labels = spec.load_labels(store, shop_id)
    data = texts[["target_id", "text"]].merge(labels, on="target_id", how="inner")
    data = data[data["label"].isin(spec.labels) & data["text"].fillna("").str.strip().ne("")]
    return data.reset_index(drop=True)


def fingerprint(data: pd.DataFrame) -> str:
    """A short hash of the (target, label, text) rows a model was trained on."""
    h = hashlib.sha256()
    for row in data.sort_values("target_id")[["target_id", "label", "text"]].itertuples(False):
        h.update("\x1f".join(map(str, row)).encode() + b"\x1e")
    return h.hexdigest()[:16]


def _record_run(store: Store, run_id: str, task: str, **values: object) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.write() as con:
        if values.get("status") == "running":
            con.execute(
                "INSERT INTO training_runs (run_id, task, status, started_at, labels_used, "
                "metrics_before, metrics_after, promoted) "
                "VALUES (?, ?, 'running', ?, ?, '{}', '{}', false)",
                [run_id, task, now, json.dumps(values.get("labels_used", {}))],
            )
            return
        con.execute(
            "UPDATE training_runs SET status = ?, finished_at = ?, metrics_before = ?, "
            "metrics_after = ?, new_version = ?, promoted = ?, error = ? WHERE run_id = ?",
            [values["status"], now, json.dumps(values.get("metrics_before", {})),
             json.dumps(values.get("metrics_after", {})), values.get("new_version"),
             bool(values.get("promoted", False)), values.get("error"), run_id],
        )  # fmt: skip


def train_task(
    store: Store,
    task: str,
    config: TrainingConfig | None = None,
    progress: trainer.Progress | None = None,
    force_promote: bool = False,
) -> TrainResult:
    """Train a new version of ``task`` on the shop's labelled rows, evaluate it on the fixed test
    split, save it to the registry and promote it if its test macro-F1 is at least the active
    version's (or ``force_promote``)."""
    config = config or TrainingConfig()
    report = progress or (lambda fraction, message: None)
    started = time.monotonic()
    deadline = started + 60 * config.max_minutes if config.max_minutes else float("inf")
    spec = get_task(task)
    if task == "demand":  # cold start: the labelling functions' votes are stored as labels
        record_rule_labels(store, config.shop_id)
    data = load_training_data(store, task, config.shop_id)
    if len(data) < config.min_examples or data["label"].nunique() < 2:
        raise InputError(
            f"{task} needs at least {config.min_examples} labelled rows of two classes in shop "
            f"{config.shop_id!r}; it has {len(data)} of {data['label'].nunique()} classes. "
            "Load data (`shoplens load-sample`) or label some rows first."
        )
    data["split"] = get_or_create_split(store, task, config.shop_id, data, config)
    run_id = uuid.uuid4().hex[:12]
    _record_run(store, run_id, task, status="running",
                labels_used=data["source"].value_counts().to_dict())  # fmt: skip
    try:
        result = train_frame(
            task, spec.labels, data, config, report, (started, deadline), force_promote, store
        )
    except BaseException as exc:
        _record_run(store, run_id, task, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    before = registry.list_versions(task)
    _record_run(store, run_id, task, status="finished", new_version=result.version,
                promoted=result.promoted, metrics_after=result.metrics.get("model", {}),
                metrics_before=next((v["metrics"].get("model", {}) for v in before
                                     if v["active"] and v["version"] != result.version), {}))  # fmt: skip
    return result


def train_frame(
    task: str,
    labels: tuple[str, ...],
    data: pd.DataFrame,
    config: TrainingConfig,
    progress: trainer.Progress | None = None,
    clock: tuple[float, float] | None = None,
    force_promote: bool = False,
    store: Store | None = None,
) -> TrainResult:
    """Train, evaluate and register a version from a frame with ``target_id``, ``text``,
    ``label`` and ``split`` (train | validation | test); the store, when given, gets the
    registry mirror. ``clock`` is (start, deadline) in ``time.monotonic`` seconds."""
    report = progress or (lambda fraction, message: None)
    if clock is None:
        now = time.monotonic()
        clock = (now, now + 60 * config.max_minutes if config.max_minutes else float("inf"))
    started, deadline = clock
    torch.manual_seed(config.seed)
    index = {label: i for i, label in enumerate(labels)}
    parts = {s: data[data["split"] == s].reset_index(drop=True)
             for s in ("train", "validation", "test")}  # fmt: skip
    train_all, val, test = parts["train"], parts["validation"], parts["test"]
    if len(val) == 0 or len(test) == 0:  # tiny sets: evaluate on the training rows
        val = val if len(val) else train_all
        test = test if len(test) else train_all
    if config.max_eval_examples:
        val, test = (_fixed_subset(f, config.max_eval_examples) for f in (val, test))
    train = train_all
    if config.max_train_examples and len(train) > config.max_train_examples:
        share = config.max_train_examples / len(train)
        train = train.groupby("label", group_keys=False).sample(
            frac=share, random_state=config.seed
        )
        train = train.reset_index(drop=True)
    base = base_model_path()
    device = pick_device(config.device)
    report(0.01, "loading the base model")
    model, tokenizer = load_encoder(base, labels)
    model.to(device)
    n_layers = model.config.num_hidden_layers
    cached = 0 <= config.trainable_layers < n_layers and trainer.supports_cache(model)
    y_train = train["label"].map(index).to_numpy()
    y_val = val["label"].map(index).to_numpy()
    t0 = time.monotonic()
    if cached:
        n_frozen = n_layers - config.trainable_layers
        trainer.freeze_lower(model, n_frozen)
        report(0.03, "encoding texts with the frozen lower layers")
        states = {name: trainer.cache_lower_layers(
                      model, tokenizer, frame["text"].tolist(), n_frozen, config.max_length, device,
                      lambda f, m, name=name: report(0.03 + 0.1 * f, f"{name}: {m}"))
                  for name, frame in (("train", train), ("validation", val), ("test", test))}  # fmt: skip
        lengths = np.array([s.shape[0] for s in states["train"]])

        def step_logits(rows: np.ndarray, _train: bool) -> torch.Tensor:
            hidden, mask = trainer.pad_cached(states["train"], rows)
            return trainer.top_forward(model, hidden.to(device), mask.to(device), n_frozen)

        def logits_of(name: str) -> np.ndarray:
            return trainer.cached_logits(model, states[name], n_frozen, device)
    else:
        encoded = tokenizer(train["text"].tolist(), truncation=True, max_length=config.max_length)
        ids = encoded["input_ids"]
        lengths = np.array([len(e) for e in ids])

        def step_logits(rows: np.ndarray, _train: bool) -> torch.Tensor:
            batch = tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
                return model(**batch).logits

        frames = {"validation": val, "test": test}

        def logits_of(name: str) -> np.ndarray:
            return encoder_logits(model, tokenizer, frames[name]["text"].tolist(),
                                  config.max_length, 64, device)  # fmt: skip

    cache_seconds = time.monotonic() - t0
    # keep a quarter of the budget for evaluation, the blend, the int8 check and saving
    loop_deadline = deadline - 0.25 * (deadline - started)
    loop = trainer.run_loop(
        model, step_logits, lambda: logits_of("validation"), y_train, y_val, lengths, config,
        loop_deadline, lambda f, m: report(0.15 + 0.7 * f, m),
    )  # fmt: skip
    report(0.87, "evaluating on the test split")
    val_logits, test_logits = logits_of("validation"), logits_of("test")
    tfidf = val_tfidf = test_tfidf = None
    if config.blend_tfidf:
        tfidf = fit_tfidf(train_all["text"], train_all["label"], labels, config.seed)
        val_tfidf, test_tfidf = tfidf.predict_proba(val["text"]), tfidf.predict_proba(test["text"])
    weight, bias = tune_blend(val_logits, val_tfidf, y_val, tune_bias=config.tune_bias)
    from core.modeling import blend, softmax

    test_probs = blend(test_logits, test_tfidf, weight, bias)
    metrics = {
        "model": classification_metrics(test["label"], test_probs, labels),
        "encoder_only": classification_metrics(test["label"], softmax(test_logits), labels),
        "baselines": baseline_metrics(train_all["text"], train_all["label"], test["text"],
                                      test["label"], labels, config.seed, tfidf),
        "validation_macro_f1_encoder": loop.best_val_f1,
    }  # fmt: skip
    int8_ok, agreement, rescue = False, None, None
    if config.check_int8 and device.type == "cpu":
        report(0.92, "checking int8 agreement")
        sample = val["text"].tolist()[:400]
        ref = encoder_logits(model, tokenizer, sample, config.max_length, 16, device)
        q = encoder_logits(quantize_int8(model), tokenizer, sample, config.max_length, 16, device)
        rescue, agreement, share = calibrate_rescue_margin(ref, q)
        int8_ok = share <= 0.35  # re-scoring more than this would eat the int8 speed-up
    train_seconds = time.monotonic() - started
    meta = {
        "task": task, "labels": list(labels), "base_model": str(base.name),
        "created_at": datetime.now(UTC).isoformat(), "max_length": config.max_length,
        "config": {k: v for k, v in asdict(config).items()}, "data_fingerprint": fingerprint(data),
        "train_seconds": train_seconds, "cache_seconds": cache_seconds,
        "loop_seconds": loop.seconds, "epochs_run": loop.epochs_run, "stopped_by": loop.stopped_by,
        "plan": "cached" if cached else "full", "n_train": len(train),
        "n_train_tfidf": len(train_all), "n_validation": len(val), "n_test": len(test),
        "ensemble_weight": weight, "bias": bias.tolist(), "int8_ok": int8_ok,
        "int8_agreement": agreement, "int8_rescue_margin": rescue, "device": device.type,
    }  # fmt: skip
    version = registry.new_version_name()
    registry.save_version(task, version, lambda tmp: _write_version(tmp, model, tokenizer, tfidf,
                                                                    meta, metrics))  # fmt: skip
    promoted = registry.promote(task, version, force=force_promote, store=None)
    if store is not None:
        registry.sync_store(store, task)
    report(1.0, f"saved {task}/{version}" + (" (active)" if promoted else " (not promoted)"))
    return TrainResult(task, version, promoted, metrics, train_seconds,
                       loop.examples_seen / max(loop.seconds, 1e-9), len(train), len(val),
                       len(test), loop.stopped_by, loop.losses)  # fmt: skip


def _fixed_subset(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` rows in order of a hash of their target id (stable across versions)."""
    if len(frame) <= n:
        return frame
    keys = frame["target_id"].map(lambda t: hashlib.md5(str(t).encode()).hexdigest())
    return frame.loc[keys.sort_values(kind="stable").index[:n]].reset_index(drop=True)


def _write_version(tmp: object, model: torch.nn.Module, tokenizer: object, tfidf: object,
                   meta: dict, metrics: dict) -> None:  # fmt: skip
    import joblib

    for p in model.parameters():
        p.requires_grad_(True)
    model.save_pretrained(tmp / "model")
    tokenizer.save_pretrained(tmp / "model")
    if tfidf is not None:
        joblib.dump(tfidf, tmp / "tfidf.joblib")
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
