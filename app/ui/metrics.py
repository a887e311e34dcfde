"""Numbers the pages show: KPI changes against the previous period, the sentiment index, the
demand index and confidence from stored probabilities."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.stats import MIN_SUPPORT, mean_interval, trend_frequency, welch_p_value, wilson_bounds
from core.tasks.demand import NEED_LABELS
from core.tasks.sentiment import rating_to_sentiment


@dataclass(frozen=True)
class Kpi:
    """One KPI of the period and its change against the previous period."""

    name: str
    value: float | None
    previous: float | None
    kind: str = "count"  # count | percent | money | index

    @property
    def delta(self) -> float | None:
        """Change against the previous period: relative (%) for counts and money, absolute
        percentage points for rates and index points for indexes; ``None`` when either side is
        unknown or a relative change has no base."""
        if self.value is None or self.previous is None:
            return None
        if self.kind in ("percent", "index"):
            return self.value - self.previous
        if self.previous == 0:
            return None
        return (self.value - self.previous) / abs(self.previous)

    def formatted(self) -> str:
        """The value as the merchant reads it."""
        return format_value(self.value, self.kind)

    def formatted_delta(self) -> str | None:
        """The change with its unit (``+12.5%``, ``-1.2 pp``, ``+0.05``) or ``None``."""
        d = self.delta
        if d is None:
            return None
        if self.kind == "percent":
            return f"{d * 100:+.1f} pp"
        if self.kind == "index":
            return f"{d:+.2f}"
        return f"{d * 100:+.1f}%"


def format_value(value: float | None, kind: str) -> str:
    """``1,234`` / ``3.4%`` / ``42.10`` / ``+0.35``; an en dash when unknown."""
    if value is None or pd.isna(value):
        return "–"
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "index":
        return f"{value:+.2f}"
    return f"{value:,.0f}"


def sentiment_index(labels: pd.Series) -> float | None:
    """(positive − negative) / (positive + negative + neutral), in [-1, 1]; ``None`` if empty."""
    counts = labels.value_counts()
    pos, neg, neu = (int(counts.get(k, 0)) for k in ("positive", "negative", "neutral"))
    total = pos + neg + neu
    return (pos - neg) / total if total else None


def demand_index(sentence_labels: pd.DataFrame) -> float | None:
    """Share of reviews with at least one sentence that expresses a need (feature request,
    complaint or question). ``sentence_labels`` has ``review_id`` and ``label``."""
    if sentence_labels.empty:
        return None
    has_need = sentence_labels["label"].isin(NEED_LABELS).groupby(sentence_labels["review_id"])
    return float(has_need.any().mean())


def demand_by_product(per_review: pd.DataFrame, min_reviews: int = MIN_SUPPORT) -> pd.DataFrame:
    """Demand index per product (``per_review``: one row per review with ``title``,
    ``category`` and a boolean ``need``) with its 95 % Wilson bounds, products with at least
    ``min_reviews`` reviews, ordered by the lower bound."""
    grouped = per_review.groupby(["title", "category"])["need"].agg(["sum", "size"]).reset_index()
    grouped = grouped[grouped["size"] >= min_reviews]
    bounds = wilson_bounds(grouped["sum"], grouped["size"])
    out = grouped.assign(demand_index=grouped["sum"] / grouped["size"], low=bounds["low"],
                         high=bounds["high"], reviews=grouped["size"])  # fmt: skip
    out = out.sort_values(["low", "reviews"], ascending=[False, False])
    return out[["title", "category", "demand_index", "low", "high", "reviews"]].reset_index(
        drop=True
    )


def confidence(probs_json: pd.Series) -> pd.Series:
    """The top class probability of each stored ``probs`` JSON object."""

    def top(raw: Any) -> float:
        if raw is None or (isinstance(raw, float) and pd.isna(raw)):
            return float("nan")
        probs = json.loads(raw) if isinstance(raw, str) else raw
        values = [v for v in probs.values() if isinstance(v, int | float)]
        return max(values) if values else float("nan")

    return probs_json.map(top).astype(float)


def class_probability(probs_json: pd.Series, label: str) -> pd.Series:
    """The stored probability of one class in each ``probs`` JSON object (NaN when absent)."""

    def pick(raw: Any) -> float:
        if raw is None or (isinstance(raw, float) and pd.isna(raw)):
            return float("nan")
        probs = json.loads(raw) if isinstance(raw, str) else raw
        return float(probs.get(label, float("nan")))

    return probs_json.map(pick).astype(float)


def index_by(reviews: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sentiment index, its 95 % interval (``low``, ``high``, :func:`core.stats.mean_interval`
    of the review scores +1 / 0 / −1) and review count per group of ``keys`` (reviews have
    ``label``)."""
    columns = [*keys, "sentiment_index", "low", "high", "reviews"]
    if reviews.empty:
        return pd.DataFrame(columns=columns)
    label = reviews["label"]
    counted = label.isin(("positive", "negative", "neutral"))
    score = (label == "positive").astype(int) - (label == "negative").astype(int)
    frame = reviews.loc[counted, keys].assign(_score=score[counted])
    out = frame.groupby(keys, sort=True, dropna=False)["_score"].agg(["mean", "std", "size"])
    out = out.reset_index()
    bounds = mean_interval(out["mean"], out["std"], out["size"])
    out = out.assign(sentiment_index=out["mean"], low=bounds["low"], high=bounds["high"],
                     reviews=out["size"])  # fmt: skip
    return out[columns].reset_index(drop=True)


def worst_products(reviews: pd.DataFrame, min_reviews: int = MIN_SUPPORT) -> pd.DataFrame:
    """Products with at least ``min_reviews`` reviews, worst first by the upper bound of their
    sentiment index (a product is only as good as we can be sure of), then by support."""
    products = index_by(reviews, ["item_id", "title", "category"])
    products = products[products["reviews"] >= min_reviews]
    return products.sort_values(["high", "reviews"], ascending=[True, False]).reset_index(drop=True)


# a period shorter than this is drawn by day even when its lines are thin: by week it would be
# one or two points, no trend at all
WEEKLY_FROM_DAYS = 21


def time_bucket(ts: pd.Series, days_in_period: int, rows_per_day: float | None = None) -> pd.Series:
    """Day for periods up to 31 days whose lines carry enough rows a day
    (:func:`core.stats.trend_frequency`; ``rows_per_day`` None: enough) or that are shorter than
    :data:`WEEKLY_FROM_DAYS`, else the Monday of the week (for trend charts)."""
    ts = pd.to_datetime(ts)
    daily = rows_per_day is None or trend_frequency(rows_per_day) == "D"
    if days_in_period < WEEKLY_FROM_DAYS or (days_in_period <= 31 and daily):
        return ts.dt.floor("D")
    return (ts - pd.to_timedelta(ts.dt.weekday, unit="D")).dt.floor("D")


def counts_over_time(
    df: pd.DataFrame, ts: str, group: str, days_in_period: int, name: str = "count"
) -> pd.DataFrame:
    """Rows per time bucket (:func:`time_bucket`: weekly when lines are thin over 3+ weeks) and
    group, with 0 where a group had none, so
    trend lines drop to zero instead of bridging gaps. Columns: bucket, ``group``, ``name``."""
    if df.empty:
        return pd.DataFrame(columns=["bucket", group, name])
    per_day = len(df) / max(days_in_period, 1) / max(df[group].nunique(), 1)
    bucket = time_bucket(df[ts], days_in_period, per_day)
    counts = df.assign(bucket=bucket).groupby(["bucket", group]).size()
    table = counts.unstack(fill_value=0)
    return table.stack().rename(name).reset_index()


def worsening_products(
    now: pd.DataFrame, before: pd.DataFrame, min_reviews: int = MIN_SUPPORT, limit: int = 10,
    alpha: float = 0.05,
) -> pd.DataFrame:  # fmt: skip
    """Items whose sentiment fell against the previous period significantly: both periods with
    at least ``min_reviews`` reviews and Welch's t-test on the review scores (+1 / 0 / −1) below
    ``alpha``, the largest fall first. Columns: item_id, title, category, before, now, change,
    p_value, reviews."""
    keys = ["item_id", "title", "category"]
    columns = [*keys, "before", "now", "change", "p_value", "reviews"]
    a = index_by(now, keys)
    b = index_by(before, keys)
    merged = a.merge(b, on=keys, suffixes=("_now", "_before"))
    merged = merged[(merged["reviews_now"] >= min_reviews)
                    & (merged["reviews_before"] >= min_reviews)
                    & (merged["sentiment_index_now"] < merged["sentiment_index_before"])]  # fmt: skip
    if merged.empty:
        return pd.DataFrame(columns=columns)
    scores_now, scores_before = _scores(now, keys), _scores(before, keys)
    p_values = [welch_p_value(scores_now.get(k, []), scores_before.get(k, []))
                for k in merged[keys].itertuples(index=False, name=None)]  # fmt: skip
    merged = merged.assign(
        before=merged["sentiment_index_before"],
        now=merged["sentiment_index_now"],
        change=merged["sentiment_index_now"] - merged["sentiment_index_before"],
        p_value=p_values,
        reviews=merged["reviews_now"],
    )
    merged = merged[merged["p_value"] < alpha].sort_values(["change", "item_id"])
    return merged[columns].head(limit).reset_index(drop=True)


def _scores(reviews: pd.DataFrame, keys: list[str]) -> dict[tuple, list[int]]:
    label = reviews["label"]
    score = (label == "positive").astype(int) - (label == "negative").astype(int)
    counted = reviews.assign(_score=score)[label.isin(("positive", "negative", "neutral"))]
    return {k: g.tolist() for k, g in counted.groupby(keys, dropna=False)["_score"]}


def rating_disagreements(reviews: pd.DataFrame) -> pd.DataFrame:
    """Reviews whose predicted sentiment contradicts the stars by two steps or one step with
    confidence >= 0.6 (e.g. 5 stars but predicted negative), the most confident first."""
    if reviews.empty:
        return reviews.assign(from_stars=pd.Series(dtype=str))
    order = {"negative": 0, "neutral": 1, "positive": 2}
    stars = reviews["rating"].map(rating_to_sentiment)
    gap = (stars.map(order) - reviews["label"].map(order)).abs()
    conf = reviews["confidence"] if "confidence" in reviews else confidence(reviews["probs"])
    mask = stars.notna() & ((gap >= 2) | ((gap == 1) & (conf >= 0.6)))
    out = reviews[mask].assign(from_stars=stars[mask], confidence=conf[mask])
    return out.sort_values(["confidence", "review_id"], ascending=[False, True]).reset_index(
        drop=True
    )
