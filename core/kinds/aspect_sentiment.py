"""Aspect-based sentiment: for each sentence, the aspects it speaks of and the polarity on each.

The shop's aspect set (:mod:`core.aspect_sets`; the apparel default until the shop stores its
own) drives everything. Until people have labelled ``min_labelled`` sentences the transparent
rules serve (:mod:`core.aspects`); then :func:`core.aspect_model.fit_aspect_model` trains on the
human labels and must beat the rules on the shop's fixed test split (``mention_f1``: a hit needs
the aspect and its polarity right) to serve. A prediction row's label is the encoded mention
list (``colour:positive;size_fit:negative``; ``none``), its probabilities the confidence per
mentioned aspect, its reason the words that triggered each mention.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from common.errors import InputError
from core.aspect_sets import APPAREL_SET, AspectSet, parse_aspect_set
from core.aspects import Mention, decode_mentions, encode_mentions, mention_metrics
from core.kinds.base import Candidate, LabellingSpec, Progress, Task, TrainOutcome, joblib_writer
from db.repo import labels as label_repo
from db.repo import predictions as prediction_repo
from db.repo import shop_settings

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ScoringEngine

ASPECT_SET_KEY = "aspect_set"


def shop_aspect_set(ctx: Context, shop_id: str) -> AspectSet:
    """The shop's own aspect set, or the apparel default."""
    raw = shop_settings.get_setting(ctx.store, shop_id, ASPECT_SET_KEY)
    return parse_aspect_set(raw, "the stored aspect set") if raw else APPAREL_SET


def save_aspect_set(ctx: Context, shop_id: str, raw: str, source: str) -> AspectSet:
    """Check ``raw`` (JSON) and store it as the shop's aspect set; returns the parsed set."""
    aspect_set = parse_aspect_set(raw, source)
    shop_settings.put_setting(ctx.store, shop_id, ASPECT_SET_KEY, aspect_set.to_json())
    return aspect_set


def mentions_reason(mentions: Sequence[Mention]) -> str | None:
    """The words behind each mention, for the reason column (``size_fit: runs small``)."""
    parts = [f"{m.aspect}: {', '.join(m.triggers) if m.triggers else 'the sentence as a whole'}"
             for m in mentions]  # fmt: skip
    return "; ".join(parts) or None


class AspectSentimentTask(Task):
    """Per sentence: aspect → positive / negative / neutral."""

    monitored = True

    kind = "aspect_sentiment"
    metric = "mention_f1"
    min_labelled = 30
    max_unlabelled = 3000

    def __init__(self, name: str, description: str, pages: Sequence[str] = (),
                 order: int = 100) -> None:  # fmt: skip
        super().__init__(name, description, (), pages, order)
        self.labelling = LabellingSpec(
            "aspects", APPAREL_SET.names,
            "For each aspect the sentence speaks of, pick the writer's opinion on it: positive, "
            "negative, or neutral when it is mentioned without a clear opinion. Leave aspects "
            "it does not speak of empty; overall praise ('love it') has no aspect.",
        )  # fmt: skip

    @abstractmethod
    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        """``target_id`` and ``text`` of every sentence (plus context columns)."""

    def labelling_spec(self, ctx: Context, shop_id: str) -> LabellingSpec:
        """The labelling spec with the shop's aspects as its choices."""
        spec = self.labelling
        assert spec is not None
        return LabellingSpec(spec.template, shop_aspect_set(ctx, shop_id).names, spec.guide)

    def uncertainty_probs(self, probs: Sequence[dict[str, float]]) -> np.ndarray:
        """Two columns per sentence from its least sure mention (no mention: sure)."""
        least = np.array([min(p.values()) if p else 1.0 for p in probs], dtype=float)
        return np.column_stack([1 - least, least]) if len(least) else np.zeros((0, 2))

    def training_data(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        """Sentences with a human label: target_id, text, label, source (and rating, when the
        sentences come with their review's stars)."""
        texts = self.load_texts(ctx, shop_id)
        texts = texts[[c for c in ("target_id", "text", "rating") if c in texts.columns]]
        labels = label_repo.best_labels(ctx.store, shop_id, self.name)
        return texts.merge(labels, on="target_id", how="inner").reset_index(drop=True)

    # --- training ------------------------------------------------------------------------------
    def train(self, ctx: Context, shop_id: str, config: Any, progress: Progress) -> TrainOutcome:
        from core.aspect_model import RuleAspects, fit_aspect_model
        from core.training import fingerprint, get_or_create_split

        aspect_set = shop_aspect_set(ctx, shop_id)
        if self.load_texts(ctx, shop_id).empty:
            raise InputError(f"{self.name} needs review sentences in shop {shop_id!r}; it has none. "
                             "Load reviews (`shoplens ingest FILE --kind reviews`).")  # fmt: skip
        data = self.training_data(ctx, shop_id)
        rules = RuleAspects(aspect_set)
        meta = {"labels": list(aspect_set.names), "aspect_set": json.loads(aspect_set.to_json())}
        if len(data) < self.min_labelled:
            note = (f"{len(data)} labelled sentences (fewer than {self.min_labelled}): the rules "
                    "serve until people label more")  # fmt: skip
            metrics = {"metric": self.metric, "model": {}, "is_baseline": True, "note": note}
            candidate = Candidate(
                "aspect_rules",
                metrics,
                meta,
                joblib_writer(rules, "aspects.joblib"),
                is_baseline=True,
            )
            return TrainOutcome(candidate, None, "", fingerprint(data) if len(data) else "",
                                notes=[note])  # fmt: skip
        seed = int(getattr(config, "seed", 42))
        split = getattr(config, "split", (0.7, 0.15, 0.15))
        data["split"] = get_or_create_split(ctx.store, self.name, shop_id, data, split, seed)
        test = data[data["split"] == "test"].reset_index(drop=True)
        train = data[data["split"] != "test"].reset_index(drop=True)  # no tuning: val trains
        if test.empty:
            test = train
        gold = [decode_mentions(x) for x in train["label"]]
        pool = self.load_texts(ctx, shop_id)
        pool = pool[~pool["target_id"].isin(data["target_id"])]
        pool = pool.sample(min(len(pool), self.max_unlabelled), random_state=seed)
        progress(0.2, f"fitting on {len(train)} labelled and {len(pool)} unlabelled sentences")
        model = fit_aspect_model(train["text"].tolist(), gold, aspect_set, pool["text"].tolist(),
                                 seed=seed, ratings=ratings_of(train),
                                 progress=lambda done, message: progress(0.25 + 0.55 * done,
                                                                         message))  # fmt: skip
        progress(0.8, f"evaluating on {len(test)} test sentences")
        test_gold = [decode_mentions(x) for x in test["label"]]
        model_metrics = _metrics(model, test, test_gold)
        rule_metrics = _metrics(rules, test, test_gold)
        test_fp = fingerprint(test, ("target_id", "label", "text"))
        common = {"metric": self.metric, "test_fingerprint": test_fp, "n_test": len(test),
                  "baseline": {"name": "aspect_rules", **rule_metrics}}  # fmt: skip
        meta = {**meta, **model.meta, "n_train": len(train), "n_test": len(test)}
        return TrainOutcome(
            model=Candidate("aspect_model", {**common, "model": model_metrics}, meta,
                            joblib_writer(model, "aspects.joblib")),
            baseline=Candidate("aspect_rules", {**common, "model": rule_metrics,
                                                "is_baseline": True}, meta, joblib_writer(rules, "aspects.joblib"),
                               is_baseline=True),
            test_fingerprint=test_fp, data_fingerprint=fingerprint(data),
            labels_used={"human": len(data)},
        )  # fmt: skip

    def evaluate(self, ctx: Context, shop_id: str, predictor: Any,
                 max_rows: int | None = None) -> tuple[dict[str, Any], str]:  # fmt: skip
        from core.training import fingerprint, get_or_create_split

        data = self.training_data(ctx, shop_id)
        if data.empty:
            return {}, ""
        data["split"] = get_or_create_split(
            ctx.store, self.name, shop_id, data, (0.7, 0.15, 0.15), 42
        )
        test = data[data["split"] == "test"].reset_index(drop=True)
        if max_rows:
            test = test.head(max_rows)
        gold = [decode_mentions(x) for x in test["label"]]
        return _metrics(predictor, test, gold), fingerprint(test, ("target_id", "label", "text"))

    # --- serving -------------------------------------------------------------------------------
    def load_predictor(self, folder: Path, meta: dict[str, Any], device: str) -> Any:
        import joblib

        return joblib.load(folder / "aspects.joblib")

    def score(self, ctx: Context, shop_id: str, version: str, engine: ScoringEngine,
              progress: Progress) -> int:  # fmt: skip
        texts = self.load_texts(ctx, shop_id)
        done = prediction_repo.scored_targets(ctx.store, shop_id, self.name, version)
        todo = texts[~texts["target_id"].isin(done)].reset_index(drop=True)
        predictor = ctx.registry.load(shop_id, self.name, version)
        written = 0
        for start in range(0, len(todo), 2000):
            chunk = todo.iloc[start : start + 2000]
            mentions = predictor.extract(chunk["text"].tolist(), ratings=ratings_of(chunk))
            written += prediction_repo.write(ctx.store, mention_frame(
                shop_id, self.name, version, chunk["target_id"].tolist(), mentions,
                predictor.aspect_set))  # fmt: skip
            progress(min(1.0, (start + len(chunk)) / max(len(todo), 1)),
                     f"{start + len(chunk)}/{len(todo)} sentences")  # fmt: skip
        return written

    def explain(self, predictor: Any, text: str, n_steps: int = 20) -> Any:
        """The aspects of ``text`` and the words that triggered each (green: positive, red:
        negative, pale: neutral); a mention found from the sentence's meaning alone has no
        trigger word."""
        from core.demand_rules import split_sentences
        from core.explain import Explanation

        sentences = split_sentences(text) or [text]
        found = [m for ms in predictor.extract(sentences) for m in ms]
        weight = {"positive": 1.0, "negative": -1.0, "neutral": 0.25}
        triggers: list[tuple[str, str | None, float]] = [
            (m.aspect, word, weight[m.polarity]) for m in found for word in m.triggers or (None,)
        ]
        kept = text_polarity(found)
        label = encode_mentions(kept)
        confidence = min((m.confidence for m in kept), default=1.0)
        return Explanation(self.name, getattr(predictor, "version", ""), label, confidence, None,
                           None, [], [], None, 0, [], 0.0, triggers=triggers)  # fmt: skip

    # --- labelling -----------------------------------------------------------------------------
    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: Sequence[str]) -> pd.DataFrame:
        texts = self.load_texts(ctx, shop_id)
        if len(target_ids):
            texts = texts[texts["target_id"].isin(list(target_ids))]
        return texts.reset_index(drop=True)


def text_polarity(mentions: Sequence[Mention]) -> list[Mention]:
    """One mention per aspect for a text of several sentences: an opinion (positive or
    negative) over a neutral mention, and between two of the same kind the more confident
    ("it runs small. Do you have it in XL?" is negative on size_fit, not neutral)."""

    def weight(m: Mention) -> tuple[bool, float]:
        return m.polarity != "neutral", m.confidence

    kept: dict[str, Mention] = {}
    for m in mentions:
        if m.aspect not in kept or weight(m) > weight(kept[m.aspect]):
            kept[m.aspect] = m
    return list(kept.values())


def ratings_of(rows: pd.DataFrame) -> list[float | None] | None:
    """The star rating of each row's review (None where it has none), or None without a
    ``rating`` column."""
    if "rating" not in rows.columns:
        return None
    return [None if pd.isna(r) else float(r) for r in rows["rating"]]


def _metrics(predictor: Any, test: pd.DataFrame, gold: list[dict[str, str]]) -> dict[str, Any]:
    found = predictor.extract(test["text"].tolist(), ratings=ratings_of(test))
    return mention_metrics(gold, [{m.aspect: m.polarity for m in ms} for ms in found])


def mention_frame(shop_id: str, task: str, version: str, ids: Sequence[str],
                  mentions: Sequence[Sequence[Mention]], aspect_set: AspectSet) -> pd.DataFrame:  # fmt: skip
    """Prediction rows for sentences: the encoded mentions as the label, the confidence per
    aspect as probabilities, entropy / margin of the least sure mention (for routing to
    annotators) and the trigger words as the reason."""
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(tzinfo=None)
    confidence = [[m.confidence for m in ms] for ms in mentions]
    least = np.array([min(c) if c else 1.0 for c in confidence])
    p = np.clip(least, 1e-6, 1 - 1e-6)
    return pd.DataFrame({
        "shop_id": shop_id, "task": task, "target_id": list(ids), "model_version": version,
        "label": [encode_mentions(list(ms)) for ms in mentions],
        "probs": [json.dumps({m.aspect: round(m.confidence, 4) for m in ms}) for ms in mentions],
        "entropy": -(p * np.log(p) + (1 - p) * np.log(1 - p)), "margin": 2 * p - 1,
        "reason": [mentions_reason(ms) for ms in mentions], "created_at": now,
    })  # fmt: skip
