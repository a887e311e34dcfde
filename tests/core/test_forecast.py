"""Tests for core/forecast.py: the backtest against seasonal naive and the choice it drives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.forecast import backtest, best_forecast, seasonal_naive

pytestmark = pytest.mark.unit


def _series(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"day": pd.date_range("2024-01-01", periods=len(values)),
                         "sessions": values.astype(float)})  # fmt: skip


def test_trend_with_weekdays_beats_last_week_and_serves() -> None:
    t = np.arange(56)
    history = _series(100 + 3 * t + np.tile([0, 5, 10, 5, 0, -20, -25], 8))
    report = backtest(history)
    assert report["origins"] == 4 and report["mase"] == pytest.approx(0.0, abs=1e-6)
    assert report["mase_seasonal_naive"] == pytest.approx(1.0)  # a week's trend, every day
    forecast, _, method = best_forecast(history)
    assert method == "trend_weekday" and forecast["forecast"].iloc[0] == pytest.approx(268.0)


def test_seasonal_naive_serves_when_the_trend_model_loses() -> None:
    rng = np.random.default_rng(0)
    pattern = np.array([50, 400, 50, 400, 50, 900, 10])  # a strong, fixed weekly shape
    level = np.concatenate([np.full(28, 1.0), np.full(28, 3.0)])  # a jump the trend line smears
    history = _series(np.tile(pattern, 8) * level + rng.normal(0, 1, 56))
    forecast, report, method = best_forecast(history)
    assert report["mase_seasonal_naive"] < report["mase"] and method == "seasonal_naive"
    assert np.allclose(forecast["forecast"], pattern * 3.0, atol=4)  # last week's values
    assert (forecast["upper"] > forecast["forecast"]).all()


def test_short_history_is_not_backtested() -> None:
    assert backtest(_series(np.arange(10)))["origins"] == 0
    assert seasonal_naive(_series(np.arange(5))).empty
