"""Anomaly detection: shoppers whose behaviour is unlike the shop's, each flag with a reason.

Unsupervised: training fits the detector on the shop's shoppers; there is no labelled test split
(so no metric and no baseline to beat until annotators confirm flags), and scoring writes a
0..1 score per shopper with the reason as its own column.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from common.errors import InputError
from core.kinds.base import Candidate, Progress, Task, TrainOutcome
from db.repo import predictions as prediction_repo
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ScoringEngine


class ShopperAnomalyTask(Task):
    """Per shopper: normal or anomalous, with a score and a plain reason."""

    kind = "anomaly"
    metric = "precision_at_budget"

    def _features(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        from core.risk import behaviour_features

        events = text_repo.events(ctx.store, shop_id, ("user_id", "session_id", "event_type", "ts"))
        return behaviour_features(events) if len(events) else pd.DataFrame()

    def train(self, ctx: Context, shop_id: str, config: Any, progress: Progress) -> TrainOutcome:
        feats = self._features(ctx, shop_id)
        if len(feats) < 5:
            raise InputError(
                f"{self.name} needs the events of at least 5 shoppers in shop {shop_id!r}; it has "
                f"{len(feats)}. Load events with `shoplens ingest FILE --kind events`."
            )
        from core.risk import fit_risk

        progress(0.2, f"fitting the detector on {len(feats)} shoppers")
        model = fit_risk(feats, seed=getattr(config, "seed", 0))

        def write(folder: Path) -> None:
            import joblib

            joblib.dump(model, folder / "detector.joblib")

        metrics = {"metric": self.metric, "model": {}, "n_shoppers": len(feats),
                   "note": "unsupervised: no labelled anomalies to evaluate on"}  # fmt: skip
        candidate = Candidate("isolation_forest", metrics, {"labels": list(self.labels)}, write)
        return TrainOutcome(candidate, None, test_fingerprint="", data_fingerprint="")

    def evaluate(self, ctx: Context, shop_id: str, predictor: Any,
                 max_rows: int | None = None) -> tuple[dict[str, Any], str]:  # fmt: skip
        return {}, ""

    def load_predictor(self, folder: Path, meta: dict[str, Any], device: str) -> Any:
        import joblib

        return joblib.load(folder / "detector.joblib")

    def score(self, ctx: Context, shop_id: str, version: str, engine: ScoringEngine,
              progress: Progress) -> int:  # fmt: skip
        from core.scoring import prediction_frame

        feats = self._features(ctx, shop_id)
        if feats.empty:
            return 0
        scored = ctx.registry.load(shop_id, self.name, version).score(feats)
        p = scored["score"].to_numpy(dtype=float)
        frame = prediction_frame(
            shop_id, self.name, version, self.labels, scored["target_id"],
            np.column_stack([1 - p, p]), reasons=[r or None for r in scored["reason"]],
            predicted=np.where(scored["flagged"], "anomalous", "normal").tolist(),
        )  # fmt: skip
        progress(1.0, f"{len(frame)} shoppers scored")
        return prediction_repo.write(ctx.store, frame)
