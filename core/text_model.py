"""Fitting the text classifier: the fine-tuned encoder blended with TF-IDF + logistic regression.

The encoder starts from the pretrained sentence encoder and is fine-tuned on the training rows
(the CPU plan trains the top layers on cached lower-layer states, see :mod:`core.trainer`); a
TF-IDF + LR model is fitted on every training row; their log-probabilities are blended with a
weight and a per-class logit bias tuned for validation macro-F1 (:mod:`core.tuning`). On a CPU
the encoder is also checked under int8 quantisation and, where the processor computes in bf16
natively, as a bf16 copy (each kept when it agrees with fp32; bf16 is preferred, being faster
there and closer to fp32).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from core import trainer
from core.evaluation import AlignedClassifier, fit_tfidf
from core.hardware import bf16_on_cpu
from core.modeling import (
    Encoder,
    blend,
    calibrate_rescue_margin,
    encoder_logits,
    load_encoder,
    quantize_int8,
    to_bf16,
)
from core.tuning import tune_blend

# the share of validation texts whose bf16 label must equal fp32's for bf16 to score on CPU
BF16_MIN_AGREEMENT = 0.99

Progress = Callable[[float, str], None]


@dataclass
class EncoderFit:
    """A fitted encoder + TF-IDF blend, with what the run measured."""

    model: Encoder
    tokenizer: Any
    tfidf: AlignedClassifier | None
    weight: float
    bias: np.ndarray
    val_probs: np.ndarray
    test_probs: np.ndarray
    test_encoder_probs: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)


def fit_encoder_blend(
    labels: tuple[str, ...], train_all: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame,
    config: Any, base: Path, device: torch.device, progress: Progress,
    clock: tuple[float, float],
) -> EncoderFit:  # fmt: skip
    """Fine-tune, blend and tune on frames with ``text`` and ``label``; ``clock`` is
    (start, deadline) in ``time.monotonic`` seconds (the loop stops at 75 % of the budget)."""
    started, deadline = clock
    torch.manual_seed(config.seed)
    index = {label: i for i, label in enumerate(labels)}
    train = train_all
    if config.max_train_examples and len(train) > config.max_train_examples:
        share = config.max_train_examples / len(train)
        train = train.groupby("label", group_keys=False).sample(
            frac=share, random_state=config.seed
        )
        train = train.reset_index(drop=True)
    progress(0.01, "loading the base model")
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
        progress(0.03, "encoding texts with the frozen lower layers")

        def encoding_progress(name: str) -> Progress:
            return lambda f, m: progress(0.03 + 0.1 * f, f"{name}: {m}")

        states = {name: trainer.cache_lower_layers(
                      model, tokenizer, frame["text"].tolist(), n_frozen, config.max_length, device,
                      encoding_progress(name))
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
    loop_deadline = deadline - 0.25 * (deadline - started)
    loop = trainer.run_loop(
        model, step_logits, lambda: logits_of("validation"), y_train, y_val, lengths, config,
        loop_deadline, lambda f, m: progress(0.15 + 0.7 * f, m),
    )  # fmt: skip
    progress(0.87, "evaluating on the test split")
    val_logits, test_logits = logits_of("validation"), logits_of("test")
    tfidf = val_tfidf = test_tfidf = None
    if config.blend_tfidf:
        tfidf = fit_tfidf(train_all["text"], train_all["label"], labels, config.seed)
        val_tfidf, test_tfidf = tfidf.predict_proba(val["text"]), tfidf.predict_proba(test["text"])
    weight, bias = tune_blend(val_logits, val_tfidf, y_val, tune_bias=config.tune_bias)
    meta: dict[str, Any] = {
        "max_length": config.max_length, "plan": "cached" if cached else "full",
        "cache_seconds": cache_seconds, "loop_seconds": loop.seconds,
        "epochs_run": loop.epochs_run, "stopped_by": loop.stopped_by, "n_train": len(train),
        "n_train_tfidf": len(train_all), "ensemble_weight": weight, "bias": bias.tolist(),
        "validation_macro_f1_encoder": loop.best_val_f1,
        "examples_per_second": loop.examples_seen / max(loop.seconds, 1e-9),
        "base_model": base.name, "device": device.type,
    }  # fmt: skip
    meta.update(int8_ok=False, int8_agreement=None, int8_rescue_margin=None, bf16_ok=False,
                bf16_agreement=None)  # fmt: skip
    if config.check_int8 and device.type == "cpu":
        progress(0.92, "checking int8 and bf16 agreement")
        sample = val["text"].tolist()[:400]
        ref = encoder_logits(model, tokenizer, sample, config.max_length, 16, device)
        q = encoder_logits(quantize_int8(model), tokenizer, sample, config.max_length, 16, device)
        rescue, agreement, share = calibrate_rescue_margin(ref, q)
        # re-scoring more than this share in fp32 would eat the int8 speed-up
        meta.update(int8_ok=share <= 0.35, int8_agreement=agreement, int8_rescue_margin=rescue)
        if bf16_on_cpu():
            half = encoder_logits(to_bf16(model), tokenizer, sample, config.max_length, 16, device)
            bf16_agreement = float(np.mean(half.argmax(1) == ref.argmax(1)))
            meta.update(bf16_ok=bf16_agreement >= BF16_MIN_AGREEMENT,
                        bf16_agreement=bf16_agreement)  # fmt: skip
    from core.modeling import softmax

    return EncoderFit(
        model=model, tokenizer=tokenizer, tfidf=tfidf, weight=weight, bias=bias,
        val_probs=blend(val_logits, val_tfidf, weight, bias),
        test_probs=blend(test_logits, test_tfidf, weight, bias),
        test_encoder_probs=softmax(test_logits), meta=meta, losses=loop.losses,
    )  # fmt: skip


def write_encoder_blend(fit: EncoderFit) -> Callable[[Path], None]:
    """A writer of the fitted model's files into a version folder."""

    def write(folder: Path) -> None:
        import joblib

        for p in fit.model.parameters():
            p.requires_grad_(True)
        fit.model.save_pretrained(folder / "model")
        fit.tokenizer.save_pretrained(folder / "model")
        if fit.tfidf is not None:
            joblib.dump(fit.tfidf, folder / "tfidf.joblib")

    return write


def write_tfidf(tfidf: AlignedClassifier) -> Callable[[Path], None]:
    """A writer of a TF-IDF + LR model (a baseline that serves) into a version folder."""

    def write(folder: Path) -> None:
        import joblib

        joblib.dump(tfidf, folder / "tfidf.joblib")

    return write


@dataclass
class FrameFit:
    """A fitted blend with its test metrics and the baselines measured on the same test rows."""

    fit: EncoderFit
    tfidf: AlignedClassifier
    metrics: dict[str, Any]  # model, encoder_only, baselines (majority, tfidf_lr)
    n_test: int

    @property
    def n_train(self) -> int:
        return int(self.fit.meta.get("n_train", 0))

    @property
    def examples_per_second(self) -> float:
        return float(self.fit.meta.get("examples_per_second", 0.0))

    @property
    def stopped_by(self) -> str:
        return str(self.fit.meta.get("stopped_by", ""))


def fit_frames(labels: tuple[str, ...], train: pd.DataFrame, val: pd.DataFrame,
               test: pd.DataFrame, config: Any, base: Path, device: torch.device,
               progress: Progress | None = None,
               clock: tuple[float, float] | None = None) -> FrameFit:  # fmt: skip
    """Fit the blend on ``train`` (tuned on ``val``) and measure it and its baselines on
    ``test``: what a task's training and the quality benchmarks share."""
    from core.evaluation import baseline_metrics, classification_metrics

    fit = fit_encoder_blend(labels, train, val, test, config, base, device,
                            progress or (lambda f, m: None), clock or config.clock())  # fmt: skip
    tfidf = fit.tfidf or fit_tfidf(train["text"], train["label"], labels, config.seed)
    baselines = baseline_metrics(train["text"], train["label"], test["text"], test["label"],
                                 labels, config.seed, tfidf)  # fmt: skip
    metrics = {
        "model": classification_metrics(test["label"], fit.test_probs, labels),
        "encoder_only": classification_metrics(test["label"], fit.test_encoder_probs, labels),
        "baselines": baselines,
    }
    return FrameFit(fit, tfidf, metrics, len(test))


def fit_split_frame(labels: tuple[str, ...], data: pd.DataFrame, config: Any,
                    base: Path | None = None) -> FrameFit:  # fmt: skip
    """:func:`fit_frames` on one frame whose ``split`` column names each row's part (the
    benchmarks' entry: no store, no registry)."""
    from core.modeling import base_model_path, pick_device

    parts = {s: data[data["split"] == s].reset_index(drop=True)
             for s in ("train", "validation", "test")}  # fmt: skip
    return fit_frames(labels, parts["train"], parts["validation"], parts["test"], config,
                      base_model_path(base), pick_device(config.device or "auto"))  # fmt: skip
