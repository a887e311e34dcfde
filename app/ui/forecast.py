"""A 7-day traffic forecast simple enough to explain to a merchant.

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
