"""Numbers a merchant can trust: rates with their support and confidence bounds, rankings by a
lower bound, and a significance test for "getting worse".

A rate from 2 reviews is not a finding. Every per-product or per-category rate carries its
support; rankings keep groups with at least ``min_support`` rows and order by a bound (Wilson's
score interval for shares, a normal interval for the sentiment index), so a product with 3 of 3
unhappy reviews does not outrank one with 40 of 60.

    >>> low, high = wilson_interval(8, 10)
    >>> round(low, 3), round(high, 3)
    (0.49, 0.943)
    >>> round(welch_p_value([1, 1, 0, 1, -1] * 8, [-1, -1, 0, -1, 0] * 8), 6) < 0.001
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

Z_95 = 1.959964
MIN_SUPPORT = 5  # rows a group needs before it is ranked
DAILY_MIN_ROWS = 20  # a daily point needs this many rows, else trends go weekly


def wilson_interval(successes: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a share ``successes / n`` ((0, 1) when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_bounds(successes: pd.Series, n: pd.Series, z: float = Z_95) -> pd.DataFrame:
    """:func:`wilson_interval` for aligned series: columns ``low`` and ``high``."""
    pairs = [wilson_interval(float(s), float(t), z) for s, t in zip(successes, n, strict=True)]
    return pd.DataFrame(pairs, columns=["low", "high"], index=successes.index)


def mean_interval(mean: pd.Series, std: pd.Series, n: pd.Series, z: float = Z_95) -> pd.DataFrame:
    """Normal interval of a mean: ``mean ± z·std/√n`` (columns ``low``, ``high``); a group of
    one row gets the widest interval of the score range [-1, 1]."""
    half = z * std.fillna(1.0).clip(lower=1e-9) / np.sqrt(n.clip(lower=1))
    half = half.where(n > 1, 2.0)
    return pd.DataFrame({"low": (mean - half).clip(-1, 1), "high": (mean + half).clip(-1, 1)})


def welch_p_value(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test that ``a`` and ``b`` have the same mean (1.0 when
    either side has fewer than two values or neither varies)."""
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2 or len(y) < 2 or (x.std() == 0 and y.std() == 0):
        return 1.0
    return float(stats.ttest_ind(x, y, equal_var=False).pvalue)


def trend_frequency(rows_per_day: float) -> str:
    """``D`` when a trend line averages at least :data:`DAILY_MIN_ROWS` rows a day, else ``W``:
    daily points from a handful of reviews swing from one extreme to the other."""
    return "D" if rows_per_day >= DAILY_MIN_ROWS else "W"
