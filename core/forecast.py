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


def _day_numbers(days: pd.Series) -> np.ndarray:
    """Calendar days as integers (days since 1970-01-01)."""
    return pd.to_datetime(days).to_numpy().astype("datetime64[D]").astype(np.int64)


def _weekdays(day_numbers: np.ndarray) -> np.ndarray:
    return (day_numbers + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0


def _trend_weekday(day_numbers: np.ndarray, y: np.ndarray,
                   days: int) -> tuple[np.ndarray, float]:  # fmt: skip
    """The fitted model's forecast of the ``days`` calendar days after the last of
    ``day_numbers`` (clipped at zero) and the residual standard deviation of the fit."""
    t = (day_numbers - day_numbers[0]).astype(float)
    t_future = t[-1] + np.arange(1, days + 1, dtype=float)
    use_weekday = len(y) >= 14

    def design(tt: np.ndarray) -> np.ndarray:
        cols = [np.ones_like(tt), tt]
        if use_weekday:
            weekdays = _weekdays(tt.astype(np.int64) + day_numbers[0])
            cols += [(weekdays == d).astype(float) for d in range(1, 7)]  # Monday is the base
        return np.column_stack(cols)

    x = design(t)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coef
    dof = max(len(y) - x.shape[1], 1)
    sigma = float(np.sqrt((residual**2).sum() / dof))
    return np.clip(design(t_future) @ coef, 0, None), sigma


def _clean(history: pd.DataFrame, value: str) -> pd.DataFrame:
    return history[["day", value]].dropna().sort_values("day").reset_index(drop=True)


def forecast_daily(history: pd.DataFrame, value: str = "sessions", days: int = 7) -> pd.DataFrame:
    """Forecast ``days`` days after the last day of ``history`` (columns ``day`` and ``value``).

    Returns ``day, forecast, lower, upper``; empty when the history has fewer than 3 days.

        >>> h = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=21),
        ...                   "sessions": np.arange(21.0)})
        >>> forecast_daily(h)["forecast"].round(1).tolist()[:2]
        [21.0, 22.0]
    """
    h = _clean(history, value)
    if len(h) < 3:
        return pd.DataFrame(columns=["day", "forecast", "lower", "upper"])
    pred, sigma = _trend_weekday(_day_numbers(h["day"]), h[value].to_numpy(dtype=float), days)
    future = pd.date_range(pd.to_datetime(h["day"]).iloc[-1] + pd.Timedelta(days=1), periods=days)
    return pd.DataFrame(
        {
            "day": future,
            "forecast": pred,
            "lower": np.clip(pred - 1.96 * sigma, 0, None),
            "upper": pred + 1.96 * sigma,
        }
    )


def _repeat_last_week(y: np.ndarray, days: int) -> np.ndarray:
    return np.resize(y[-7:], days)


def seasonal_naive(history: pd.DataFrame, value: str = "sessions", days: int = 7) -> pd.DataFrame:
    """The baseline: each of the next ``days`` days repeats the same weekday of the last week.
    Columns as :func:`forecast_daily` (no band: :func:`best_forecast` adds one from its backtest
    errors). Empty with less than a week of history."""
    h = _clean(history, value)
    if len(h) < 7:
        return pd.DataFrame(columns=["day", "forecast", "lower", "upper"])
    pred = _repeat_last_week(h[value].to_numpy(dtype=float), days)
    future = pd.date_range(pd.to_datetime(h["day"]).iloc[-1] + pd.Timedelta(days=1), periods=days)
    return pd.DataFrame({"day": future, "forecast": pred, "lower": pred, "upper": pred})


def backtest(history: pd.DataFrame, value: str = "sessions", days: int = 7, origins: int = 4,
             min_train: int = 14) -> dict[str, float | int | None]:  # fmt: skip
    """Rolling-origin backtest of :func:`forecast_daily` against :func:`seasonal_naive`: the last
    ``origins`` non-overlapping ``days``-day windows are each forecast from the days before them
    (at least ``min_train``). Errors are MASE (mean absolute error over the in-sample
    seasonal-naive error of the history, so below 1 beats "same day last week" on average) and
    MAPE (days with a zero value left out). ``origins`` is 0 when the history is too short.

        >>> h = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=42),
        ...                   "sessions": np.arange(42.0)})
        >>> backtest(h)["mase"] < backtest(h)["mase_seasonal_naive"]
        True
    """
    h = _clean(history, value)
    y = h[value].to_numpy(dtype=float)
    day_numbers = _day_numbers(h["day"]) if len(h) else np.zeros(0, dtype=np.int64)
    model_err, naive_err, actual_all = [], [], []
    used = 0
    for k in range(origins):
        origin = len(h) - days * (k + 1)
        if origin < max(min_train, 7):
            break
        actual = y[origin : origin + days]
        model_err.append(_trend_weekday(day_numbers[:origin], y[:origin], days)[0] - actual)
        naive_err.append(_repeat_last_week(y[:origin], days) - actual)
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
