"""Text classification: a label per text (a review, a review sentence, a message).

A concrete task says where its texts and labels come from (:meth:`load_texts`,
:meth:`load_labels`) and its label set; this kind trains the encoder + TF-IDF blend against the
TF-IDF + LR baseline on the shop's fixed split, scores texts, explains a prediction word by word
and sends uncertain rows to annotators as single-choice questions.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from common.errors import InputError
from core.kinds.base import (
    Candidate,
    LabellingSpec,
    NotExplainable,
    Progress,
    Task,
    TrainOutcome,
    joblib_writer,
)
from core.training import TrainingConfig, fingerprint, fixed_subset, get_or_create_split
from db.repo import predictions as prediction_repo

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ScoringEngine


class TextClassificationTask(Task):
    """A task whose rows are texts and whose answer is one of ``labels``."""

    distributed = True
    monitored = True

    kind = "text_classification"
    metric = "macro_f1"
    max_length = 128
    few_shot = False  # also fit the few-shot classifier; it serves when better on validation

    def __init__(self, name: str, description: str, labels: Sequence[str],
                 pages: Sequence[str] = ("explain",), guide: str = "",
                 labelled: bool = True, order: int = 100) -> None:  # fmt: skip
        super().__init__(name, description, labels, pages, order)
        self.labelling = (
            LabellingSpec("choices", self.labels, guide or description) if labelled else None
        )

    # --- what a concrete task supplies ------------------------------------------------------
    @abstractmethod
    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        """``target_id`` and ``text`` of every row (plus context columns)."""

    @abstractmethod
    def load_labels(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        """``target_id, label, source``: one label per row, the strongest source winning."""

    def prepare(self, ctx: Context, shop_id: str) -> None:
        """Anything to do before the labels are read for training (e.g. store rule votes)."""

    # --- training ------------------------------------------------------------------------------
    def training_data(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        """Texts joined with their labels: target_id, text, label, source (labels outside the
        label set and empty texts are dropped)."""
        texts = self.load_texts(ctx, shop_id)
        labels = self.load_labels(ctx, shop_id)
        data = texts[["target_id", "text"]].merge(labels, on="target_id", how="inner")
        labels_ok = data["label"].isin(self.label_set(ctx, shop_id))
        data = data[labels_ok & data["text"].fillna("").str.strip().ne("")]
        return data.reset_index(drop=True)

    def _split_data(self, ctx: Context, shop_id: str, config: TrainingConfig
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:  # fmt: skip
        data = self.training_data(ctx, shop_id)
        if len(data) < config.min_examples or data["label"].nunique() < 2:
            raise InputError(
                f"{self.name} needs at least {config.min_examples} labelled rows of two classes in "
                f"shop {shop_id!r}; it has {len(data)} of {data['label'].nunique()} classes. "
                "Load data (`shoplens ingest`, `shoplens load-sample`) or label some rows first."
            )
        data["split"] = get_or_create_split(ctx.store, self.name, shop_id, data, config.split,
                                            config.seed)  # fmt: skip
        parts = {s: data[data["split"] == s].reset_index(drop=True)
                 for s in ("train", "validation", "test")}  # fmt: skip
        train, val, test = parts["train"], parts["validation"], parts["test"]
        if len(val) == 0 or len(test) == 0:  # tiny sets: evaluate on the training rows
            val = val if len(val) else train
            test = test if len(test) else train
        val = fixed_subset(val, config.max_eval_examples)
        test = fixed_subset(test, config.max_eval_examples)
        return data, train, val, test

    def train(self, ctx: Context, shop_id: str, config: Any, progress: Progress) -> TrainOutcome:
        from core.evaluation import classification_metrics, fit_tfidf
        from core.modeling import pick_device
        from core.text_model import fit_frames, write_encoder_blend, write_tfidf

        config = config if isinstance(config, TrainingConfig) else TrainingConfig()
        clock = config.clock()  # the budget covers preparing the rows too
        self.prepare(ctx, shop_id)
        data, train, val, test = self._split_data(ctx, shop_id, config)
        labels = self.trained_labels(ctx, shop_id, data)
        device = pick_device(config.device or ctx.device)
        base = self._encoder(ctx, shop_id, data["text"], config, progress)
        fitted = fit_frames(labels, train, val, test, config, base, device, progress, clock)
        fit, tfidf, baselines = fitted.fit, fitted.tfidf, fitted.metrics["baselines"]
        base_meta = {"labels": list(labels), "n_train": len(train), "n_test": len(test)}
        if len(val) and not val["target_id"].isin(train["target_id"]).all():
            # the baseline tunes nothing on validation, so the one that would serve learns from
            # those rows too (never from the test rows every later version is judged on); the
            # blend is judged against it
            rows = pd.concat([train, val], ignore_index=True)
            tfidf = fit_tfidf(rows["text"], rows["label"], labels, config.seed)
            baselines = {**baselines, "tfidf_lr_train_only": baselines["tfidf_lr"],
                         "tfidf_lr": classification_metrics(
                             test["label"], tfidf.predict_proba(test["text"].tolist()), labels)}  # fmt: skip
            base_meta["n_train"] = len(rows)
        test_fp = fingerprint(test, ("target_id", "label", "text"))
        common = {"metric": self.metric, "eval_rows": config.max_eval_examples,
                  "test_fingerprint": test_fp, "n_test": len(test),
                  "baseline": {"name": "tfidf_lr", **baselines["tfidf_lr"]},
                  "baselines": baselines}  # fmt: skip
        model_metrics = {**common, "model": fitted.metrics["model"],
                         "encoder_only": fitted.metrics["encoder_only"]}  # fmt: skip
        meta = {"labels": list(labels), "config": asdict(config), **fit.meta,
                "n_validation": len(val), "n_test": len(test), "losses": fit.losses}  # fmt: skip
        model = Candidate("encoder_blend", model_metrics, meta, write_encoder_blend(fit))
        if self.few_shot:
            from core.fewshot import fit_few_shot
            from core.tuning import macro_f1

            progress(0.95, "fitting the few-shot classifier on sentence embeddings")
            few = fit_few_shot(train["text"].tolist(), train["label"].tolist(), labels,
                               method="logistic")  # fmt: skip
            y_val = val["label"].map({label: i for i, label in enumerate(labels)}).to_numpy()
            few_val = macro_f1(few.predict_proba(val["text"].tolist()), y_val)
            blend_val = macro_f1(fit.val_probs, y_val)
            meta["validation_macro_f1_few_shot"] = few_val
            if few_val > blend_val:  # chosen on validation, never on the test rows
                few_metrics = classification_metrics(test["label"],
                                                     few.predict_proba(test["text"].tolist()), labels)  # fmt: skip
                model = Candidate("few_shot", {**common, "model": few_metrics,
                                               "encoder_blend": fitted.metrics["model"]},
                                  {**base_meta, "validation_macro_f1": few_val,
                                   "validation_macro_f1_blend": blend_val}, joblib_writer(few, "few_shot.joblib"))  # fmt: skip
        return TrainOutcome(
            model=model,
            baseline=Candidate("tfidf_lr", {**common, "model": baselines["tfidf_lr"],
                                            "is_baseline": True},
                               base_meta, write_tfidf(tfidf), is_baseline=True),
            test_fingerprint=test_fp,
            data_fingerprint=fingerprint(data),
            labels_used={str(k): int(v) for k, v in data["source"].value_counts().items()},
        )  # fmt: skip

    def trained_labels(self, ctx: Context, shop_id: str, data: pd.DataFrame) -> tuple[str, ...]:
        """The classes a model learns: the task's labels that the shop's labelled rows show (a
        class no row shows cannot be learnt: a shop of 1- and 5-star reviews trains negative /
        positive); the whole label set when fewer than two show."""
        labels = self.label_set(ctx, shop_id)
        present = tuple(label for label in labels if label in set(data["label"]))
        return present if len(present) >= 2 else labels

    def _encoder(self, ctx: Context, shop_id: str, texts: pd.Series, config: TrainingConfig,
                 progress: Progress) -> Path:  # fmt: skip
        """The encoder to fine-tune: the shop's extended one; else, for a mostly Chinese shop
        (and the bundled base), one extended now (:mod:`core.encoder_vocab`); else the base."""
        from core.encoder_vocab import CHINESE_SHARE, chinese_share, extend_encoder, shop_encoder
        from core.modeling import base_model_path

        own = shop_encoder(ctx.home, shop_id)
        if own is not None:
            return own
        base = base_model_path(ctx.base_model)
        minutes = config.encoder_minutes
        if minutes is None:
            minutes = 0.4 * config.max_minutes if config.max_minutes else 8.0
        sample = texts.sample(min(len(texts), 2000), random_state=0).tolist()
        if ctx.base_model is not None or minutes <= 0 or chinese_share(sample) < CHINESE_SHARE:
            return base
        progress(0.02, f"extending the encoder with Chinese characters ({minutes:.0f} min)")
        folder = ctx.home / "encoders" / shop_id
        extend_encoder(base, folder, texts.tolist(), minutes=minutes,
                       progress=lambda f, m: progress(0.02 + 0.2 * f, m))  # fmt: skip
        return folder

    def evaluate(self, ctx: Context, shop_id: str, predictor: Any,
                 max_rows: int | None = None) -> tuple[dict[str, Any], str]:  # fmt: skip
        from core.evaluation import classification_metrics

        config = TrainingConfig(max_eval_examples=max_rows)
        _, _, _, test = self._split_data(ctx, shop_id, config)
        probs = predictor.predict_proba(test["text"].tolist())
        return (classification_metrics(test["label"], probs, predictor.labels),
                fingerprint(test, ("target_id", "label", "text")))  # fmt: skip

    # --- serving -------------------------------------------------------------------------------
    def load_predictor(self, folder: Path, meta: dict[str, Any], device: str) -> Any:
        import joblib

        from core.hardware import bf16_on_cpu
        from core.modeling import (
            TextClassifier,
            TfidfClassifier,
            load_encoder,
            pick_device,
            quantize_int8,
            to_bf16,
        )

        labels = tuple(meta["labels"])
        tfidf_file = folder / "tfidf.joblib"
        tfidf = joblib.load(tfidf_file) if tfidf_file.is_file() else None
        if meta.get("model_type") == "tfidf_lr":
            return TfidfClassifier(self.name, labels, tfidf, meta)
        if meta.get("model_type") == "few_shot":
            return joblib.load(folder / "few_shot.joblib")
        model, tokenizer = load_encoder(folder / "model")
        dev = pick_device(device)
        model.to(dev).eval()
        bf16 = (to_bf16(model) if dev.type == "cpu" and meta.get("bf16_ok")
                and bf16_on_cpu() else None)  # fmt: skip
        int8 = (quantize_int8(model) if dev.type == "cpu" and bf16 is None and meta.get("int8_ok")
                else None)  # fmt: skip
        return TextClassifier(
            task=self.name, version="", labels=labels, model=model, tokenizer=tokenizer,
            max_length=int(meta.get("max_length", self.max_length)), tfidf=tfidf,
            ensemble_weight=float(meta.get("ensemble_weight", 1.0)),
            bias=np.asarray(meta.get("bias") or np.zeros(len(labels)), dtype=np.float64),
            device=dev, int8_model=int8, meta=meta, bf16_model=bf16,
        )  # fmt: skip

    def rows_to_score(self, ctx: Context, shop_id: str, version: str) -> pd.DataFrame:
        """``target_id, text`` of the rows ``version`` has not scored yet."""
        texts = self.load_texts(ctx, shop_id)
        done = prediction_repo.scored_targets(ctx.store, shop_id, self.name, version)
        return texts[~texts["target_id"].isin(done)][["target_id", "text"]].reset_index(drop=True)

    def score(self, ctx: Context, shop_id: str, version: str, engine: ScoringEngine,
              progress: Progress) -> int:  # fmt: skip
        from core.scoring import prediction_frame

        todo = self.rows_to_score(ctx, shop_id, version)
        labels = tuple(ctx.registry.meta(shop_id, self.name, version).get("labels")
                       or self.label_set(ctx, shop_id))  # fmt: skip
        written = 0
        for ids, probs in engine.predict_texts(ctx, shop_id, self.name, version, todo, progress):
            written += prediction_repo.write(
                ctx.store, prediction_frame(shop_id, self.name, version, labels, ids, probs)
            )
        return written

    def explain(self, predictor: Any, text: str, n_steps: int = 20) -> Any:
        from core.explain import explain_text
        from core.fewshot import FewShotClassifier

        if isinstance(predictor, FewShotClassifier):
            raise NotExplainable(f"the serving {self.name} model is the few-shot classifier on "
                                 "sentence embeddings: it has no word-level attribution")  # fmt: skip

        return explain_text(predictor, text, n_steps=n_steps)

    # --- labelling -----------------------------------------------------------------------------
    def labelling_spec(self, ctx: Context, shop_id: str) -> LabellingSpec | None:
        if self.labelling is None:
            return None
        labels = self.label_set(ctx, shop_id)
        return LabellingSpec(self.labelling.template, labels, self.labelling.guide,
                             self.labelling.open)  # fmt: skip

    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: Sequence[str]) -> pd.DataFrame:
        texts = self.load_texts(ctx, shop_id)
        if len(target_ids):
            texts = texts[texts["target_id"].isin(list(target_ids))]
        return texts.reset_index(drop=True)


def probs_of(raw: object) -> dict[str, float]:
    """A stored ``probs`` JSON object as a dict of floats."""
    data = json.loads(raw) if isinstance(raw, str) else dict(raw or {})  # type: ignore[call-overload]
    return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}
