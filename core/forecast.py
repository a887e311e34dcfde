"""A 7-day traffic forecast simple enough to explain to a merchant, backtested against the
seasonal-naive baseline ("same day last week") over rolling origins; the better one is shown.

Model: least-squares fit of ``y = a + b·t + weekday effect`` on the daily series. The weekday
effect is used only with at least two full weeks of history (otherwise the fit is a straight
trend line), and the forecast is clipped at zero. Uncertainty band: ± 1.96 × the residual
standard deviation of the fit (an approximate 95% band that ignores parameter error).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def forecast_daily(history: pd.DataFrame, value: str = "sessions", days: int = 7) -> pd.DataFrame:
    """Forecast ``days`` days after the last day of ``history`` (columns ``day`` and ``value``).

    Returns ``day, forecast, lower, upper``; empty when the history has fewer than 3 days.

        >>> h = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=21),
        ...                   "sessions": np.arange(21.0)})
        >>> forecast_daily(h)["forecast"].round(1).tolist()[:2]
        [21.0, 22.0]
    """
    columns = ["day", "forecast", "lower", "upper"]
    h = history[["day", value]].dropna().sort_values("day")
    if len(h) < 3:
        return pd.DataFrame(columns=columns)
    days_index = pd.to_datetime(h["day"])
    y = h[value].to_numpy(dtype=float)
    t0 = days_index.iloc[0]
    t = ((days_index - t0).dt.days).to_numpy(dtype=float)
    future_days = pd.date_range(days_index.iloc[-1] + pd.Timedelta(days=1), periods=days)
    t_future = ((future_days - t0).days).to_numpy(dtype=float)

    use_weekday = len(h) >= 14

    def design(tt: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
        cols = [np.ones_like(tt), tt]
        if use_weekday:
            cols += [(weekdays == d).astype(float) for d in range(1, 7)]  # Monday is the base
        return np.column_stack(cols)

    x = design(t, days_index.dt.weekday.to_numpy())
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coef
    dof = max(len(y) - x.shape[1], 1)
    sigma = float(np.sqrt((residual**2).sum() / dof))
    pred = design(t_future, future_days.weekday.to_numpy()) @ coef
    pred = np.clip(pred, 0, None)
    return pd.DataFrame(
        {
            "day": future_days,
            "forecast": pred,
            "lower": np.clip(pred - 1.96 * sigma, 0, None),
            "upper": pred + 1.96 * sigma,
        }
    )


def seasonal_naive(history: pd.DataFrame, value: str = "sessions", days: int = 7) -> pd.DataFrame:
    """The baseline: each of the next ``days`` days repeats the same weekday of the last week.
    Columns as :func:`forecast_daily` (no band: :func:`best_forecast` adds one from its backtest
    errors). Empty with less than a week of history."""
    h = history[["day", value]].dropna().sort_values("day")
    if len(h) < 7:
        return pd.DataFrame(columns=["day", "forecast", "lower", "upper"])
    last_week = h[value].to_numpy(dtype=float)[-7:]
    future = pd.date_range(pd.to_datetime(h["day"]).iloc[-1] + pd.Timedelta(days=1), periods=days)
    pred = np.array([last_week[i % 7] for i in range(days)])
    return pd.DataFrame({"day": future, "forecast": pred, "lower": pred, "upper": pred})


def backtest(history: pd.DataFrame, value: str = "sessions", days: int = 7, origins: int = 4,
             min_train: int = 14) -> dict[str, float | int | None]:  # fmt: skip
    """Rolling-origin backtest of :func:`forecast_daily` against :func:`seasonal_naive`: the last
    ``origins`` non-overlapping ``days``-day windows are each forecast from the days before them
    (at least ``min_train``). Errors are MASE (mean absolute error over the in-sample
    seasonal-naive error of the history, so below 1 beats "same day last week" on average) and
    MAPE (days with a zero value left out). ``origins`` is 0 when the history is too short.

        >>> backtest(h)["mase"] < backtest(h)["mase_seasonal_naive"]
    """
    h = history[["day", value]].dropna().sort_values("day").reset_index(drop=True)
    y = h[value].to_numpy(dtype=float)
    model_err, naive_err, actual_all = [], [], []
    used = 0
    for k in range(origins):
        origin = len(h) - days * (k + 1)
        if origin < max(min_train, 7):
            break
        train, actual = h.iloc[:origin], y[origin : origin + days]
        model_err.append(forecast_daily(train, value, days)["forecast"].to_numpy() - actual)
        naive_err.append(seasonal_naive(train, value, days)["forecast"].to_numpy() - actual)
        actual_all.append(actual)
        used += 1
    empty: dict[str, float | int | None] = {"origins": 0, "days": days, "mase": None, "mase_seasonal_naive": None,
             "mape": None, "mape_seasonal_naive": None, "rmse": None, "rmse_seasonal_naive": None}  # fmt: skip
    if not used:
        return empty
    scale = float(np.mean(np.abs(y[7:] - y[:-7]))) if len(y) > 7 else 0.0
    scale = scale or 1.0
    m, n, a = np.concatenate(model_err), np.concatenate(naive_err), np.concatenate(actual_all)
    nonzero = a != 0

    def mape(err: np.ndarray) -> float | None:
        return float(np.mean(np.abs(err[nonzero]) / a[nonzero])) if nonzero.any() else None

    return {"origins": used, "days": days,
            "mase": float(np.mean(np.abs(m)) / scale),
            "mase_seasonal_naive": float(np.mean(np.abs(n)) / scale),
            "mape": mape(m), "mape_seasonal_naive": mape(n),
            "rmse": float(np.sqrt(np.mean(m**2))), "rmse_seasonal_naive": float(np.sqrt(np.mean(n**2)))}  # fmt: skip


def best_forecast(history: pd.DataFrame, value: str = "sessions",
                  days: int = 7) -> tuple[pd.DataFrame, dict[str, float | int | None], str]:  # fmt: skip
    """The forecast to show: the trend + weekday model unless its backtest loses to seasonal
    naive, then seasonal naive with a band of ± 1.96 × its backtest RMSE. Returns the forecast,
    the backtest and the method's name (``trend_weekday`` or ``seasonal_naive``)."""
    report = backtest(history, value, days)
    naive_wins = (report["mase"] is not None and report["mase_seasonal_naive"] is not None
                  and report["mase_seasonal_naive"] < report["mase"])  # fmt: skip
    if not naive_wins:
        return forecast_daily(history, value, days), report, "trend_weekday"
    naive = seasonal_naive(history, value, days)
    half = 1.96 * float(report["rmse_seasonal_naive"] or 0.0)
    naive["lower"] = np.clip(naive["forecast"] - half, 0, None)
    naive["upper"] = naive["forecast"] + half
    return naive, report, "seasonal_naive"
