"""Shopper forecasts as tasks: one row per shopper, a calibrated probability of an outcome in the
next days (:mod:`core.shopper_forecast` holds the models and the time split).

Labels come from the events themselves (nobody annotates a forecast); training, validation and
test are successive time windows, so the "test split" is the latest window the data covers and
moves on as events arrive: promotion then evaluates the active version on the current window.
Scoring writes each shopper's forecast as of the end of the shop's last day of events, with the
drivers in words as the reason; a rescore after new events replaces the version's rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from common.errors import InputError
from core.kinds.base import Candidate, Progress, Task, TrainOutcome, joblib_writer
from db.repo import predictions as prediction_repo
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ScoringEngine

FORECASTER_FILE = "forecaster.joblib"


class ShopperForecastTask(Task):
    """Per shopper: the probability that ``target`` happens within the horizon."""

    distributed = True
    spread_kept = True  # the Behaviour page draws the forecast's spread over the shoppers

    kind = "shopper_forecast"
    metric = "roc_auc"

    def __init__(self, name: str, description: str, target: str, default_horizon_days: int,
                 pages: tuple[str, ...] = (), order: int = 100) -> None:  # fmt: skip
        from core.shopper_forecast import TARGET_LABELS

        super().__init__(name, description, TARGET_LABELS[target], pages, order)
        self.target_name = target
        self.default_horizon_days = default_horizon_days

    def target(self, config: Any = None) -> Any:
        from core.shopper_forecast import Target

        horizon = getattr(config, "horizon_days", None) or self.default_horizon_days
        return Target(self.target_name, int(horizon))

    def _events(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        events = text_repo.events(ctx.store, shop_id)
        if events.empty:
            raise InputError(
                f"shop {shop_id!r} has no events to forecast from; load them with "
                "`shoplens ingest FILE --kind events`."
            )
        return events

    def train(self, ctx: Context, shop_id: str, config: Any, progress: Progress) -> TrainOutcome:
        from core.shopper_forecast import Target, fit_forecast, max_horizon

        target = self.target(config)
        events = self._events(ctx, shop_id)
        notes = []
        span = (events["ts"].max().floor("D") - events["ts"].min().floor("D")).days + 1
        longest = max_horizon(span)
        if getattr(config, "horizon_days", None) is None and 0 < longest < target.horizon_days:
            notes.append(f"the shop's {span} days of events allow a {longest}-day horizon at "
                         f"most: trained for {longest} days instead of the default "
                         f"{target.horizon_days} (load more history for the default)")  # fmt: skip
            target = Target(target.kind, longest)
        progress(0.1, f"building {target.horizon_days}-day windows")
        result = fit_forecast(events, target, seed=getattr(config, "seed", 0))
        progress(0.9, f"served: {result.forecaster.model_type}")
        meta = {"labels": list(self.labels), "target": target.kind,
                "horizon_days": target.horizon_days, **result.plan.describe()}  # fmt: skip
        model = Candidate(result.forecaster.model_type, result.metrics, meta,
                          joblib_writer(result.forecaster, FORECASTER_FILE))  # fmt: skip
        baseline = Candidate(
            result.baseline.model_type,
            {**result.baseline_metrics, "is_baseline": True},
            meta,
            joblib_writer(result.baseline, FORECASTER_FILE),
            is_baseline=True,
        )
        data_fp = f"{len(events)}:{events['ts'].max()}"
        return TrainOutcome(model, baseline, result.test_fingerprint, data_fp,
                            labels_used={"derived": int(result.metrics["train_rows"])},
                            notes=notes)  # fmt: skip

    def evaluate(self, ctx: Context, shop_id: str, predictor: Any,
                 max_rows: int | None = None) -> tuple[dict[str, Any], str]:  # fmt: skip
        from core.shopper_forecast import evaluate_forecaster

        return evaluate_forecaster(self._events(ctx, shop_id), predictor)

    def load_predictor(self, folder: Path, meta: dict[str, Any], device: str) -> Any:
        import joblib

        return joblib.load(folder / FORECASTER_FILE)

    def score(self, ctx: Context, shop_id: str, version: str, engine: ScoringEngine,
              progress: Progress) -> int:  # fmt: skip
        from functools import partial

        from core.scoring import prediction_frame
        from core.shopper_forecast import score_shoppers, scoring_cutoff

        events = self._events(ctx, shop_id)
        fn = partial(score_shoppers, cutoff=scoring_cutoff(events))
        scored = engine.score_shoppers(ctx, shop_id, self.name, version, events, fn,
                                       whole_log=False, progress=progress)  # fmt: skip
        if scored.empty:
            return 0
        p = scored["probability"].to_numpy(dtype=float)
        frame = prediction_frame(
            shop_id, self.name, version, self.labels, scored["user_id"].astype(str),
            np.column_stack([1 - p, p]), reasons=[r or None for r in scored["reason"]],
        )  # fmt: skip
        progress(1.0, f"{len(frame)} shoppers scored")
        return prediction_repo.write(ctx.store, frame)
