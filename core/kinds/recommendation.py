"""Recommendations as a task: per shopper, the items (and categories) they are likely to want next.

Training holds out each shopper's last event that names an item (the test) and, inside the
rest, the second-to-last (validation). The blend's weights are tuned on validation; a learned
re-ranker (:mod:`core.rerank`) over the blend's candidates and a sequential transformer
(:mod:`core.sasrec`) are judged on validation after learning on the events before it.
Popularity, the shopper's recently touched items, co-visitation, the tuned blend, the re-ranker
and the sequential model are then measured on the test events, ranked over all items, by HR@10
(the primary metric), NDCG@10 and Recall@50, and the same for the next category. The served
recommender is the best on validation; the baseline is "recently touched", the strongest simple
one on real shops. Scoring refits the statistics on every event (the sequential model keeps its
weights and reads every event) and writes each shopper's top items to the ``recommendations``
table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from common.errors import InputError
from core.kinds.base import Candidate, Progress, Task, TrainOutcome, joblib_writer
from core.recommend import BlendConfig
from db.repo import recommendations as rec_repo
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ScoringEngine

MODEL_FILE = "recommender.joblib"
TOP_K = 10
# the sequential model's share of the training budget, and its cap without one
SASREC_SHARE, SASREC_SECONDS = 0.2, 90.0
# a small grid: tuning runs inside `make run`'s budget (about 30 s on the sample shop, 2 cores)
TASK_GRID = {"recency_decay": (0.9, 0.97), "covisit_weight": (0.3, 1.0, 3.0),
             "covisit_window": (1, 3), "covisit_from": (1, 3)}  # fmt: skip
METHODS = {
    "recent": BlendConfig(recent_weight=1.0, recency_decay=0.97, covisit_weight=0.0,
                          popularity_weight=0.0),
    "popularity": BlendConfig(recent_weight=0.0, covisit_weight=0.0, popularity_weight=1.0),
    "covisit": BlendConfig(recent_weight=0.0, recency_decay=0.9, covisit_weight=1.0,
                           covisit_window=3, covisit_from=5, popularity_weight=0.0),
}  # fmt: skip


@dataclass
class Recommender:
    """A chosen method and its settings, for items and for categories; it refits on the events
    it is given (co-visitation counts and popularity are statistics of the shop's events)."""

    method: str
    item_config: BlendConfig
    category_config: BlendConfig
    item_reranker: Any = None  # a core.rerank.Reranker when the re-ranker serves
    category_reranker: Any = None
    item_sequence: Any = None  # a core.sasrec.SASRecModel when the sequential model serves

    def scored(self, events: pd.DataFrame, users: list[str], key: str, k: int,
               stats: Any = None) -> dict[str, list[tuple[str, float]]]:  # fmt: skip
        """Ranked ``(key, score)`` pairs per shopper for ``key`` (item_id or category);
        ``stats``: the whole log's statistics for ``key`` (:meth:`shop_stats`' ``items``), when
        ``events`` may hold only the shoppers' own events."""
        from core.recommend import recommend_scored, with_key

        if key == "item_id" and self.item_sequence is not None:
            return self.item_sequence.recommend_scored(events, users, k)
        reranker = self.item_reranker if key == "item_id" else self.category_reranker
        if reranker is not None:
            return reranker.recommend_scored(events, users, k, stats)
        config = self.item_config if key == "item_id" else self.category_config
        return recommend_scored(with_key(events, key), users, key,
                                BlendConfig(**{**config.__dict__, "length": k}), stats)  # fmt: skip

    def shop_stats(self, events: pd.DataFrame) -> RecommenderStats:
        """What :meth:`recommend` reads from the whole log, worked out once: then each part of
        the shoppers (a distributed engine's) is scored from that part's own events."""
        from core.recommend import shop_stats, with_key

        items = with_key(events, "item_id")
        if self.item_sequence is not None:  # it reads only each shopper's own events
            method: Any = None
        elif self.item_reranker is not None:
            method = self.item_reranker.shop_stats(items)
        else:
            method = shop_stats(items, "item_id", self.item_config.covisit_window)
        return RecommenderStats(method, *_fill_ins(items))

    def recommend(self, events: pd.DataFrame, users: list[str] | None = None,
                  k: int = TOP_K, stats: RecommenderStats | None = None) -> pd.DataFrame:  # fmt: skip
        """``user_id, rank, item_id, category, score`` for each shopper (all who touched an
        item when ``users`` is None); lists shorter than ``k`` are filled with the shop's most
        touched items (scores below every personal one). With ``stats`` (:meth:`shop_stats` of
        the whole log), ``events`` need hold only the shoppers' own events."""
        from core.recommend import with_key

        items = with_key(events, "item_id")
        who = sorted(items["user_id"].astype(str).unique()) if users is None else users
        scored = self.scored(items, who, "item_id", k, None if stats is None else stats.items)
        popular, category_of = _fill_ins(items) if stats is None else (stats.popular,
                                                                      stats.category_of)  # fmt: skip
        # a shopper the method has too little for gets the shop's best sellers after its own
        top = list((popular / popular.max() * 1e-3).head(k).items()) if len(popular) else []
        rows = []
        for user, ranked in scored.items():
            seen = {item for item, _ in ranked}
            filled = ranked[:k] + [(i, s) for i, s in top if i not in seen][: k - len(ranked)]
            rows += [(user, rank, item, category_of.get(item), score)
                     for rank, (item, score) in enumerate(filled, start=1)]  # fmt: skip
        return pd.DataFrame(rows, columns=["user_id", "rank", "item_id", "category", "score"])


@dataclass
class RecommenderStats:
    """What a :class:`Recommender`'s lists read from the whole log (:meth:`Recommender.
    shop_stats`): the method's statistics (None for the sequential model), how often each item
    is touched (the fill-ins) and each item's category."""

    items: Any  # a core.rerank.RerankStats, a core.recommend.ShopStats or None
    popular: pd.Series
    category_of: pd.Series


def _fill_ins(items: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Touches per item (most first) and each item's category, from every shopper's events."""
    category_of = (
        items.dropna(subset=["category"]).drop_duplicates("item_id", keep="last")
        .assign(item_id=lambda d: d["item_id"].astype(str))
        .set_index("item_id")["category"].astype(str)
    )  # fmt: skip
    return items["item_id"].astype(str).value_counts(), category_of


def _evaluate_methods(train: pd.DataFrame, held: pd.DataFrame, key: str,
                      configs: dict[str, BlendConfig]) -> dict[str, dict[str, float]]:  # fmt: skip
    from core.recommend import evaluate, recommend_blend

    users = held["user_id"].astype(str).tolist()
    return {name: {k: round(v, 4) for k, v in
                   evaluate(recommend_blend(train, users, key, c), held, key).items()}
            for name, c in configs.items()}  # fmt: skip


class RecommendationTask(Task):
    """Next items and categories per shopper."""

    distributed = True

    kind = "recommendation"
    metric = "hr@10"

    def _events(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        from core.recommend import with_key

        events = text_repo.events(ctx.store, shop_id,
                                  ("user_id", "item_id", "category", "event_type", "ts"))  # fmt: skip
        events = with_key(events, "item_id")
        if events["user_id"].nunique() < 5:
            raise InputError(
                f"{self.name} needs item events of at least 5 shoppers in shop {shop_id!r}; it "
                f"has {events['user_id'].nunique()}. Load events with `shoplens ingest FILE "
                "--kind events`."
            )
        return events.assign(user_id=events["user_id"].astype(str),
                             item_id=events["item_id"].astype(str))  # fmt: skip

    def _split(self, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        from core.recommend import leave_last_out

        train, held = leave_last_out(events)
        if held.empty:
            raise InputError("no shopper has two item events: nothing to evaluate on")
        return train, held

    def train(self, ctx: Context, shop_id: str, config: Any, progress: Progress) -> TrainOutcome:
        from core.recommend import evaluate, leave_last_out, tune_blend
        from core.rerank import fit_reranker

        events = self._events(ctx, shop_id)
        train, held = self._split(events)
        progress(0.05, "tuning the blend on each shopper's second-to-last item")
        item_blend, item_val = tune_blend(train, "item_id", TASK_GRID)
        category_blend, _ = tune_blend(train, "category", TASK_GRID)
        # validation: each shopper's second-to-last item, every method fitted without it
        fit, val_held = leave_last_out(train)
        validation = _evaluate_methods(fit, val_held, "item_id", METHODS)
        validation["blend"] = {"hr@10": round(item_val, 4)}
        progress(0.4, "learning the re-ranker")
        val_users = val_held["user_id"].astype(str).tolist()
        inner = fit_reranker(fit, "item_id", item_blend, seed=getattr(config, "seed", 0))
        validation["rerank"] = {k: round(v, 4) for k, v in evaluate(
            inner.recommend(fit, val_users), val_held, "item_id").items()}  # fmt: skip
        progress(0.55, "training the sequential model (SASRec)")
        sequence = self._sasrec(fit, config)
        if sequence is not None:
            validation["sasrec"] = {k: round(v, 4) for k, v in evaluate(
                sequence.recommend(fit, val_users), val_held, "item_id").items()}  # fmt: skip
        progress(0.7, "measuring every method on each shopper's last item")
        item_configs = {**METHODS, "blend": item_blend}
        items = _evaluate_methods(train, held, "item_id", item_configs)
        categories = _evaluate_methods(train, held, "category",
                                       {**METHODS, "blend": category_blend})  # fmt: skip
        users = held["user_id"].astype(str).tolist()
        item_rr = fit_reranker(train, "item_id", item_blend)
        category_rr = fit_reranker(train, "category", category_blend)
        items["rerank"] = {k: round(v, 4) for k, v in
                           evaluate(item_rr.recommend(train, users), held, "item_id").items()}  # fmt: skip
        if sequence is not None:  # trained without the validation events: never saw the test
            items["sasrec"] = {k: round(v, 4) for k, v in
                               evaluate(sequence.recommend(train, users), held, "item_id").items()}  # fmt: skip
        categories["rerank"] = {k: round(v, 4) for k, v in
                                evaluate(category_rr.recommend(train, users), held, "category").items()}  # fmt: skip
        best = max(validation, key=lambda m: (validation[m]["hr@10"], m in ("rerank", "blend")))
        common = {"metric": self.metric, "shoppers": int(len(held)),
                  "items": int(events["item_id"].nunique()), "validation": validation,
                  "methods": items, "categories": categories,
                  "protocol": "leave-last-out, ranked over all items",
                  "baseline": {"name": "recent", **items["recent"]}}  # fmt: skip
        if best == "rerank":
            chosen = Recommender("rerank", item_blend, category_blend, item_rr, category_rr)
        elif best == "sasrec":
            chosen = Recommender("sasrec", item_blend, category_blend, None, category_rr, sequence)
        else:
            chosen = Recommender(best, item_configs[best],
                                 category_blend if best == "blend" else METHODS[best])  # fmt: skip
        baseline = Recommender("recent", METHODS["recent"], METHODS["recent"])
        meta = {"labels": [], "item_config": chosen.item_config.__dict__}
        model = Candidate(f"recommend_{best}", {**common, "model": items[best]}, meta,
                          joblib_writer(chosen, MODEL_FILE))  # fmt: skip
        base = Candidate("recommend_recent", {**common, "model": items["recent"],
                                              "is_baseline": True},
                         meta, joblib_writer(baseline, MODEL_FILE), is_baseline=True)  # fmt: skip
        fingerprint = f"{len(held)}:{held['ts'].max()}"
        return TrainOutcome(model, base, fingerprint, f"{len(events)}:{events['ts'].max()}")

    def _sasrec(self, fit: pd.DataFrame, config: Any) -> Any:
        """The sequential model on ``fit``'s items within its share of the budget, or None when
        the shop has too few repeated items to learn one."""
        from core.sasrec import fit_sasrec

        minutes = getattr(config, "max_minutes", None)
        device = getattr(config, "device", None)
        device = None if device in (None, "auto") else device
        seconds = min(SASREC_SECONDS, 60 * minutes * SASREC_SHARE) if minutes else SASREC_SECONDS
        try:
            return fit_sasrec(fit, "item_id", max_seconds=seconds,
                              seed=getattr(config, "seed", 0), device=device)  # fmt: skip
        except ValueError:
            return None

    def evaluate(self, ctx: Context, shop_id: str, predictor: Any,
                 max_rows: int | None = None) -> tuple[dict[str, Any], str]:  # fmt: skip
        from core.recommend import evaluate

        events = self._events(ctx, shop_id)
        train, held = self._split(events)
        users = held["user_id"].astype(str).tolist()
        scored = predictor.scored(train, users, "item_id", 50)
        lists = {u: [k for k, _ in ranked] for u, ranked in scored.items()}
        metrics = {k: round(v, 4) for k, v in evaluate(lists, held, "item_id").items()}
        return metrics, f"{len(held)}:{held['ts'].max()}"

    def load_predictor(self, folder: Path, meta: dict[str, Any], device: str) -> Any:
        import joblib

        return joblib.load(folder / MODEL_FILE)

    def score(self, ctx: Context, shop_id: str, version: str, engine: ScoringEngine,
              progress: Progress) -> int:  # fmt: skip
        # a shopper's list reads the whole log (co-visitation, popularity)
        rows = engine.score_shoppers(ctx, shop_id, self.name, version, self._events(ctx, shop_id),
                                     Recommender.recommend, whole_log=True, progress=progress)  # fmt: skip
        progress(1.0, f"{rows['user_id'].nunique()} shoppers' lists")
        return rec_repo.replace(ctx.store, shop_id, version, rows)
