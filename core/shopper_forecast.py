"""Shopper forecasts from behaviour events: who buys in the next H days (purchase propensity) and
who goes quiet for the next D days (churn), on a time split, calibrated, against baselines.

**Time split.** Features are computed from the events *before* a cutoff, the label from the
``horizon`` days after it. The test cutoff is the latest one whose label window the data covers;
the validation cutoff lies one horizon earlier (its labels end where the test's features end);
training stacks a few earlier cutoffs. Nothing the test window labels is seen in training or
calibration; rows of one period are never split at random.

**Models.** A recency rule (the shopper's days since last activity, mapped to a probability),
RFM + logistic regression (recency, frequency, monetary as purchase count), gradient boosting
on the full behaviour features, a small transformer over the shopper's event sequence
(:mod:`core.sequence_model`), and blends (GBM with RFM + LR; GBM with the transformer). Each is calibrated with isotonic regression on the validation
window; the served model is the best on validation; the test window reports ROC-AUC, PR-AUC, the
Brier score, the mean predicted probability against the observed rate, and a reliability table.

**Drivers.** Each score comes with the features that push this shopper's forecast up the most,
in words ("last active 23 days ago; 0 events in the last 7 days").

    >>> plan = plan_cutoffs(events["ts"], horizon_days=7)
    >>> result = fit_forecast(events, Target("purchase", 7))
    >>> result.metrics["model"]["roc_auc"], result.forecaster.score(events).head()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from common.errors import InputError

DAY = pd.Timedelta(days=1)
MAX_TRAIN_WINDOWS = 6

FEATURES = [
    "recency_days", "tenure_days", "n_events", "n_view", "n_cart", "n_fav", "n_purchase",
    "n_search", "n_sessions", "active_days", "events_1d", "events_3d", "events_7d", "carts_7d",
    "purchases_7d", "days_since_purchase", "days_since_cart", "n_items", "n_categories",
    "top_category_share", "cart_not_bought", "events_per_session", "trend_7d",
    "purchase_session_share", "last_event_cart",
]  # fmt: skip
RFM = ["recency_days", "n_sessions", "n_purchase"]

# the drivers a shopper's forecast is explained by, in words
DRIVER_WORDS = {
    "recency_days": "last active {:.0f} days ago",
    "events_7d": "{:.0f} events in the last 7 days",
    "carts_7d": "{:.0f} cart adds in the last 7 days",
    "n_purchase": "{:.0f} purchases so far",
    "days_since_purchase": "last purchase {:.0f} days ago",
    "n_sessions": "{:.0f} sessions",
    "active_days": "active on {:.0f} days",
    "cart_not_bought": "{:.0f} cart adds not bought",
    "trend_7d": "activity at {:.1f}× its usual weekly pace",
}

TARGET_LABELS = {"purchase": ("no_purchase", "purchase"), "churn": ("stays", "churns")}


@dataclass(frozen=True)
class Target:
    """What is forecast: ``purchase`` (at least one purchase in the next ``horizon_days``) or
    ``churn`` (no event at all in the next ``horizon_days``)."""

    kind: str
    horizon_days: int

    def __post_init__(self) -> None:
        if self.kind not in TARGET_LABELS:
            raise ValueError(f"unknown forecast target {self.kind!r}")
        if not 1 <= int(self.horizon_days) <= 365:
            raise InputError(
                f"the horizon must be 1 to 365 days (got {self.horizon_days}); "
                "pass e.g. --horizon-days 7"
            )

    @property
    def labels(self) -> tuple[str, str]:
        return TARGET_LABELS[self.kind]


@dataclass(frozen=True)
class CutoffPlan:
    """The time split: training cutoffs (oldest first), the validation and the test cutoff."""

    train: tuple[pd.Timestamp, ...]
    validation: pd.Timestamp
    test: pd.Timestamp
    horizon_days: int

    def describe(self) -> dict[str, Any]:
        return {"train_cutoffs": [str(c.date()) for c in self.train],
                "validation_cutoff": str(self.validation.date()), "test_cutoff": str(self.test.date()),
                "horizon_days": self.horizon_days}  # fmt: skip


def plan_cutoffs(
    ts: pd.Series, horizon_days: int, min_history_days: int | None = None
) -> CutoffPlan:
    """Cutoffs at day boundaries: test = the day after the last event minus the horizon;
    validation one horizon earlier; up to :data:`MAX_TRAIN_WINDOWS` training cutoffs before it,
    ``max(1, horizon // 2)`` days apart, each with ``min_history_days`` of history (default: half
    the horizon, at least one day). An :class:`InputError` says how much history is missing."""
    if ts.empty:
        raise InputError("no events to forecast from; load events with `shoplens ingest`")
    start = pd.Timestamp(ts.min()).floor("D")
    end = pd.Timestamp(ts.max()).floor("D") + DAY
    horizon = pd.Timedelta(days=horizon_days)
    history = pd.Timedelta(days=min_history_days or max(1, horizon_days // 2))
    step = pd.Timedelta(days=max(1, horizon_days // 2))
    test = end - horizon
    validation = test - horizon
    train: list[pd.Timestamp] = []
    cutoff = validation - step
    while cutoff >= start + history and len(train) < MAX_TRAIN_WINDOWS:
        train.append(cutoff)
        cutoff -= step
    if not train:
        span = (end - start).days
        need = 2 * horizon_days + step.days + history.days
        longest = max_horizon(span)
        raise InputError(
            f"a {horizon_days}-day forecast needs at least {need} days of events (training, "
            f"validation and test windows); this shop has {span}. "
            + (
                f"Use --horizon-days {longest} or less, or load more history."
                if longest
                else "Load more history."
            )  # fmt: skip
        )
    return CutoffPlan(tuple(reversed(train)), validation, test, horizon_days)


def max_horizon(span_days: int) -> int:
    """The longest horizon :func:`plan_cutoffs` can split ``span_days`` of events for (0: none)."""
    for h in range(min(span_days, 365), 0, -1):
        if 2 * h + max(1, h // 2) + max(1, h // 2) <= span_days:
            return h
    return 0


def _with_sessions(events: pd.DataFrame) -> pd.DataFrame:
    if "session_id" in events and events["session_id"].notna().all():
        return events
    from core.sessions import sessionize

    ordered = events.sort_values(["user_id", "ts"], kind="stable").reset_index(drop=True)
    return ordered.assign(session_id=sessionize(ordered))


def prepare_events(events: pd.DataFrame) -> pd.DataFrame:
    """The columns the forecasts read (user_id, session_id, item_id, category, event_type, ts),
    with session ids made from 30-minute gaps where the events carry none."""
    need = {"user_id", "event_type", "ts"}
    missing = need - set(events.columns)
    if missing:
        raise InputError(f"events lack the columns {sorted(missing)}")
    ev = events.copy()
    for column in ("item_id", "category"):
        if column not in ev:
            ev[column] = None
    ev["user_id"] = ev["user_id"].astype(str)
    ev["ts"] = pd.to_datetime(ev["ts"])
    ev = _with_sessions(ev)
    return ev[["user_id", "session_id", "item_id", "category", "event_type", "ts"]]


def shopper_features(events: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per shopper seen before ``cutoff``: :data:`FEATURES` from their events before it
    (index: user_id, sorted)."""
    past = events[events["ts"] < cutoff]
    if past.empty:
        return pd.DataFrame(columns=FEATURES, index=pd.Index([], name="user_id"), dtype=float)
    key = past["user_id"]
    g = past.groupby(key, sort=True)
    age = (cutoff - past["ts"]).dt.total_seconds() / 86400.0
    f = pd.DataFrame(index=g.size().index)
    f["recency_days"] = age.groupby(key).min()
    f["tenure_days"] = age.groupby(key).max()
    f["n_events"] = g.size()
    kinds = past["event_type"]
    for kind in ("view", "cart", "fav", "purchase", "search"):
        f[f"n_{kind}"] = kinds.eq(kind).groupby(key).sum()
    f["n_sessions"] = g["session_id"].nunique()
    f["active_days"] = past["ts"].dt.floor("D").groupby(key).nunique()
    for days in (1, 3, 7):
        f[f"events_{days}d"] = age.lt(days).groupby(key).sum()
    recent = age.lt(7)
    f["carts_7d"] = (recent & kinds.eq("cart")).groupby(key).sum()
    f["purchases_7d"] = (recent & kinds.eq("purchase")).groupby(key).sum()
    f["days_since_purchase"] = age.where(kinds.eq("purchase")).groupby(key).min()
    f["days_since_cart"] = age.where(kinds.eq("cart")).groupby(key).min()
    f["n_items"] = g["item_id"].nunique()
    f["n_categories"] = g["category"].nunique()
    top = past.groupby([key, "category"]).size().groupby(level=0).max()
    f["top_category_share"] = top.reindex(f.index).fillna(0) / f["n_events"]
    f["cart_not_bought"] = (f["n_cart"] - f["n_purchase"]).clip(lower=0)
    f["events_per_session"] = f["n_events"] / f["n_sessions"].clip(lower=1)
    weekly = f["n_events"] / np.maximum(f["tenure_days"], 7.0) * 7.0
    f["trend_7d"] = f["events_7d"] / weekly.clip(lower=1e-9)
    bought = past.assign(b=kinds.eq("purchase")).groupby("session_id")["b"].any()
    session_user = g["session_id"].unique()
    f["purchase_session_share"] = [
        float(bought.reindex(s).mean()) if len(s) else 0.0 for s in session_user
    ]
    last = past.sort_values("ts", kind="stable").groupby(key)["event_type"].last()
    f["last_event_cart"] = last.reindex(f.index).eq("cart").astype(float)
    # "never" is older than anything seen: the shopper's whole history plus a day
    for column in ("days_since_purchase", "days_since_cart"):
        f[column] = f[column].fillna(f["tenure_days"] + 1.0)
    f.index = f.index.astype(str)
    f.index.name = "user_id"
    return f[FEATURES].astype(float)


def outcome(events: pd.DataFrame, cutoff: pd.Timestamp, target: Target,
            users: pd.Index) -> pd.Series:  # fmt: skip
    """Per shopper in ``users``: whether the target happened in ``[cutoff, cutoff + horizon)``."""
    window = events[(events["ts"] >= cutoff)
                    & (events["ts"] < cutoff + pd.Timedelta(days=target.horizon_days))]  # fmt: skip
    if target.kind == "purchase":
        buyers = set(window.loc[window["event_type"].eq("purchase"), "user_id"].astype(str))
        return pd.Series([u in buyers for u in users], index=users, dtype=bool)
    active = set(window["user_id"].astype(str))
    return pd.Series([u not in active for u in users], index=users, dtype=bool)


def window_frame(events: pd.DataFrame, cutoff: pd.Timestamp, target: Target,
                 sequences: bool = False) -> pd.DataFrame:  # fmt: skip
    """Features at ``cutoff`` and the label ``y`` (1 = the target happened). Churn asks about
    shoppers who are still around: those active in the ``horizon`` days before the cutoff (a
    shopper gone for longer has churned already; counting them would reward a recency rule
    for the obvious)."""
    feats = shopper_features(events, cutoff)
    if target.kind == "churn":
        feats = feats[feats["recency_days"] < target.horizon_days]
    if sequences:
        from core.sequence_model import sequence_columns

        feats = feats.join(sequence_columns(events, cutoff, feats.index))
    return feats.assign(y=outcome(events, cutoff, target, feats.index).astype(int).to_numpy())


# --- models ----------------------------------------------------------------------------------
@dataclass
class _Recency:
    """The recency rule: the more recent the last activity, the likelier a purchase (and the
    less likely churn)."""

    churn: bool

    def __call__(self, x: pd.DataFrame) -> np.ndarray:
        r = np.log1p(x["recency_days"].to_numpy(dtype=float))
        return r if self.churn else -r


def _fit_raw(name: str, train: pd.DataFrame, target: Target, seed: int) -> Any:
    """A fitted raw scorer: ``fn(x) -> scores`` (higher = more likely)."""
    y = train["y"].to_numpy()
    if name == "recency":
        return _Recency(target.kind == "churn")
    if name == "rfm_lr":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=1.0))
        lr.fit(np.log1p(train[RFM].to_numpy(dtype=float)), y)
        return _Proba(lr, RFM, log=True)
    if name == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        gbm = HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=50,
            l2_regularization=1.0, early_stopping=False, random_state=seed,
        )  # fmt: skip
        gbm.fit(train[FEATURES].to_numpy(dtype=float), y)
        return _Proba(gbm, FEATURES, log=False)
    if name == "blend":
        parts = [_fit_raw("gbm", train, target, seed), _fit_raw("rfm_lr", train, target, seed)]
        return _Blend(parts)
    if name == "sequence":
        from core.sequence_model import fit_sequence

        return fit_sequence(train, seed=seed)
    if name == "sequence_blend":
        return _Blend(
            [_fit_raw("gbm", train, target, seed), _fit_raw("sequence", train, target, seed)]
        )
    raise ValueError(name)


@dataclass
class _Proba:
    model: Any
    columns: list[str]
    log: bool

    def __call__(self, x: pd.DataFrame) -> np.ndarray:
        values = x[self.columns].to_numpy(dtype=float)
        p = self.model.predict_proba(np.log1p(values) if self.log else values)[:, 1]
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))


@dataclass
class _Blend:
    """The mean of several scorers' log-odds."""

    parts: list[Any]

    def __call__(self, x: pd.DataFrame) -> np.ndarray:
        return np.mean([part(x) for part in self.parts], axis=0)


@dataclass
class Calibrator:
    """Platt scaling: a logistic regression from a raw score (log-odds or a rule's score) to a
    probability, fitted on the validation window. Unlike isotonic steps it keeps every
    shopper's rank (no block of shoppers at exactly 0), and its mean on the validation window
    equals the observed rate. A validation window with one class gives its rate as a constant."""

    a: float
    b: float
    constant: float | None = None

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        if len(np.unique(y)) < 2:
            return cls(0.0, 0.0, float(np.mean(y)) if len(y) else 0.0)
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e4, max_iter=1000).fit(np.asarray(raw).reshape(-1, 1), y)
        return cls(float(lr.coef_[0, 0]), float(lr.intercept_[0]))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self.constant is not None:
            return np.full(len(raw), self.constant)
        return 1.0 / (1.0 + np.exp(-(self.a * np.asarray(raw, dtype=float) + self.b)))


def classification_metrics(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """ROC-AUC, PR-AUC, Brier, mean predicted vs observed rate and a reliability table (equal-count
    bins of the predictions: mean prediction, observed rate, rows)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    two = len(np.unique(y)) == 2
    order = np.argsort(p, kind="stable")
    table = []
    for part in np.array_split(order, min(bins, max(len(p), 1))):
        if len(part):
            table.append({"mean_predicted": round(float(p[part].mean()), 4),
                          "observed": round(float(y[part].mean()), 4), "rows": int(len(part))})  # fmt: skip
    return {
        "roc_auc": float(roc_auc_score(y, p)) if two else None,
        "pr_auc": float(average_precision_score(y, p)) if two else None,
        "brier": float(brier_score_loss(y, p)) if len(y) else None,
        "mean_predicted": float(p.mean()) if len(p) else None,
        "observed_rate": float(y.mean()) if len(y) else None,
        "calibration_gap": float(p.mean() - y.mean()) if len(y) else None,
        "n": int(len(y)), "positives": int(y.sum()), "reliability": table,
    }  # fmt: skip


@dataclass
class Forecaster:
    """A fitted, calibrated shopper forecast: ``score(events)`` gives every shopper's
    probability for the horizon after the events' last day, with its drivers."""

    target: Target
    model_type: str
    raw: Any
    calibrator: Calibrator
    driver_signs: dict[str, float]
    driver_median: dict[str, float]
    driver_spread: dict[str, float]
    extras: dict[str, Any] = field(default_factory=dict)

    def predict(self, feats: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of the target for feature rows."""
        if feats.empty:
            return np.zeros(0)
        return self.calibrator(self.raw(feats))

    def drivers(self, feats: pd.DataFrame, p: np.ndarray | None = None, top: int = 2) -> list[str]:
        """Per row, in words, the features that push its forecast the most away from the shop's
        base rate: up for a shopper above it, down for one below (``p``: the forecasts)."""
        cols = [c for c in DRIVER_WORDS if c in self.driver_signs]
        if feats.empty or not cols:
            return [""] * len(feats)
        values = feats[cols].to_numpy(dtype=float)
        med = np.array([self.driver_median[c] for c in cols])
        spread = np.array([self.driver_spread[c] for c in cols])
        signs = np.array([self.driver_signs[c] for c in cols])
        p = self.predict(feats) if p is None else p
        direction = np.where(p >= self.extras.get("base_rate", 0.5), 1.0, -1.0)
        push = (values - med) / spread * signs * direction[:, None]
        out = []
        for row, pushes in zip(values, push, strict=True):
            best = np.argsort(-pushes, kind="stable")[:top]
            words = [DRIVER_WORDS[cols[i]].format(row[i]) for i in best if pushes[i] > 0.5]
            out.append("; ".join(words))
        return out

    def score(self, events: pd.DataFrame, cutoff: pd.Timestamp | None = None) -> pd.DataFrame:
        """``user_id, probability, reason`` per shopper, as of ``cutoff`` (default: the end of
        the events' last day)."""
        ev = prepare_events(events)
        if ev.empty:
            return pd.DataFrame(columns=["user_id", "probability", "reason"])
        cutoff = cutoff if cutoff is not None else scoring_cutoff(ev)
        feats = shopper_features(ev, cutoff)
        if self.extras.get("sequences"):
            from core.sequence_model import sequence_columns

            feats = feats.join(sequence_columns(ev, cutoff, feats.index))
        p = self.predict(feats)
        return pd.DataFrame({"user_id": feats.index, "probability": p,
                             "reason": self.drivers(feats, p)})  # fmt: skip


def scoring_cutoff(events: pd.DataFrame) -> pd.Timestamp:
    """Where a forecast made now stands: the end of the events' last day."""
    return pd.Timestamp(pd.to_datetime(events["ts"]).max()).floor("D") + DAY


def score_shoppers(forecaster: Forecaster, events: pd.DataFrame, users: list[str],
                   cutoff: pd.Timestamp) -> pd.DataFrame:  # fmt: skip
    """:meth:`Forecaster.score` of ``users`` only (a shopper's forecast reads their own events
    alone), as of ``cutoff``: a part of the shop scored on its own gets the rows the whole shop
    would."""
    ids = events["user_id"].astype(str)
    asked = set(users)
    mine = events if asked.issuperset(ids.unique()) else events[ids.isin(asked)]  # no copy of all
    return forecaster.score(mine, cutoff)


def _driver_stats(train: pd.DataFrame) -> tuple[dict, dict, dict]:
    cols = list(DRIVER_WORDS)
    ranks = train[cols].rank()
    corr = ranks.corrwith(train["y"].rank())
    signs = {c: float(np.sign(corr[c])) for c in cols if np.isfinite(corr[c]) and corr[c] != 0}
    med = train[cols].median()
    mad = (train[cols] - med).abs().median()
    spread = mad.where(mad > 0, train[cols].std()).fillna(1.0).replace(0, 1.0)
    return signs, med.to_dict(), spread.to_dict()


@dataclass
class ForecastResult:
    """The fitted forecasters (served and baseline) and every model's metrics."""

    forecaster: Forecaster
    baseline: Forecaster
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]
    plan: CutoffPlan
    test_fingerprint: str


# the transformer over event sequences is measured in `bench_behaviour` but not trained by
# default: it lost to gradient boosting on every data set measured (docs/models.md)
MODELS = ("recency", "rfm_lr", "gbm", "blend")
SEQUENCE_MODELS = ("sequence", "sequence_blend")
ALL_MODELS = (*MODELS, *SEQUENCE_MODELS)
BASELINE = "rfm_lr"


def fit_forecast(events: pd.DataFrame, target: Target, seed: int = 0,
                 models: tuple[str, ...] = MODELS, min_shoppers: int = 20) -> ForecastResult:  # fmt: skip
    """Fit every model on the training windows, calibrate on validation, report on test; the
    served forecaster is the best on validation ROC-AUC, the baseline is RFM + LR."""
    ev = prepare_events(events)
    plan = plan_cutoffs(ev["ts"], target.horizon_days)
    seq = any(m in SEQUENCE_MODELS for m in models)
    train = pd.concat([window_frame(ev, c, target, seq) for c in plan.train])
    val = window_frame(ev, plan.validation, target, seq)
    test = window_frame(ev, plan.test, target, seq)
    for name, part in (("training", train), ("validation", val), ("test", test)):
        if len(part) < min_shoppers or part["y"].nunique() < 2:
            raise InputError(
                f"the {name} window of the {target.kind} forecast has {len(part)} shoppers and "
                f"{int(part['y'].sum())} with the outcome: too few to learn from. Load more "
                "events, or change --horizon-days."
            )
    signs, med, spread = _driver_stats(train)
    fitted: dict[str, Forecaster] = {}
    rows: dict[str, dict[str, Any]] = {}
    for name in models:
        raw = _fit_raw(name, train, target, seed)
        cal = Calibrator.fit(raw(val), val["y"].to_numpy())
        fitted[name] = Forecaster(target, name, raw, cal, signs, med, spread,
                                  {"base_rate": float(val["y"].mean()),
                                   "sequences": name in SEQUENCE_MODELS})  # fmt: skip
        val_p = fitted[name].predict(val)
        rows[name] = classification_metrics(test["y"].to_numpy(), fitted[name].predict(test))
        rows[name]["validation_roc_auc"] = classification_metrics(val["y"].to_numpy(), val_p)[
            "roc_auc"
        ]
    candidates = [m for m in models if m != BASELINE] or [BASELINE]
    best = max(candidates, key=lambda m: rows[m]["validation_roc_auc"] or 0.0)
    base = BASELINE if BASELINE in fitted else best
    common = {"target": target.kind, "horizon_days": target.horizon_days, **plan.describe(),
              "train_rows": int(len(train)), "validation_rows": int(len(val)),
              "test_rows": int(len(test)), "metric": "roc_auc"}  # fmt: skip
    others = {m: {k: v for k, v in r.items() if k != "reliability"} for m, r in rows.items()}
    metrics = {**common, "model": rows[best], "baselines": others, "baseline": rows[base],
               "selected_by": "validation roc_auc"}  # fmt: skip
    return ForecastResult(fitted[best], fitted[base], metrics, {**common, "model": rows[base]},
                          plan, _window_fingerprint(plan, target, test))  # fmt: skip


def evaluate_forecaster(events: pd.DataFrame, forecaster: Forecaster) -> tuple[dict[str, Any], str]:
    """A fitted forecaster's metrics on the current test window of ``events`` (its horizon),
    and that window's fingerprint."""
    ev = prepare_events(events)
    target = forecaster.target
    plan = plan_cutoffs(ev["ts"], target.horizon_days)
    test = window_frame(ev, plan.test, target, bool(forecaster.extras.get("sequences")))
    metrics = classification_metrics(test["y"].to_numpy(), forecaster.predict(test))
    return metrics, _window_fingerprint(plan, target, test)


def _window_fingerprint(plan: CutoffPlan, target: Target, test: pd.DataFrame) -> str:
    """Which test window a figure was measured on: its cutoff, target, horizon and size."""
    return (
        f"{plan.test.date()}:{target.kind}:{target.horizon_days}:{len(test)}:{int(test['y'].sum())}"
    )
