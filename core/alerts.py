"""Business alerts that say why: daily checks of traffic and the funnel steps against their
expected band, each alert naming the category that drives the move.

Checks, for each day checked (by default the last 7 days of events):

- **traffic** (sessions): against the backtested forecast (:func:`core.forecast.best_forecast`)
  fitted on the days before, with a band of ± 3 × the larger of its backtest RMSE and the fit's
  residual spread;
- **view → cart** and **cart → purchase** rates: against the rate of the 28 days before, by a
  quasi-binomial z-test (the binomial variance times the dispersion of the days before; |z| > 3)
  that also needs a relative move of at least 15 % (a huge shop would otherwise alert on a 1 %
  wobble); when the shop as a whole is in its band, each category is tested on its own
  (|z| > 4, a move of 30 % or more), so a break in one category is not averaged away. Each rate
  is tested on the day alone and on the three days to it pooled (against the 28 days before
  them): a sustained drop too small for one day's noise adds up within days.

The **driver** of an alert is the category whose own deviation (observed minus what its own
recent rate or volume predicts) explains most of the shop's deviation in the alert's direction,
with the share it explains. A rise in need sentences also names the **need** (the stored
grouping of the demand model's need sentences) that rose most against its own daily mean, and
carries the reviews behind it; a rise in negative reviews carries its reviews too. An alert carries the day, the metric, observed and expected values,
the direction, the driver and a link (page and filters) to look at.

    >>> alerts = check_days(daily, days=7)
    >>> alerts[0].describe()
    'cart → purchase 3.1 % on 2026-10-24, expected 7.9 % (−61 %); driven by Dresses (84 % of the drop)'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

RATE_Z = 3.0
MIN_RELATIVE = 0.15
MIN_EXPECTED = 10  # a test needs at least this many expected carts (or purchases)
CATEGORY_Z = 4.0  # one test per category and day: a stricter bar against false alarms
CATEGORY_RELATIVE = 0.3
TRAFFIC_K = 3.0
BASELINE_DAYS = 28
RATES = {"view_to_cart": ("views", "carts", "view → cart"),
         "cart_to_purchase": ("carts", "purchases", "cart → purchase")}  # fmt: skip
TEXT_RATES = {"negative_share": ("reviews", "negatives", "negative reviews")}
# shopper segments an alert may name (keys of the dashboard's segment filter)
SEGMENT_NAMES = {"new": "new shoppers", "returning": "returning shoppers"}


@dataclass(frozen=True)
class Alert:
    """One metric out of its band on one day, and what drives it."""

    day: date
    metric: str
    label: str
    observed: float
    expected: float
    low: float
    high: float
    direction: str  # "drop" | "rise"
    driver: str | None
    driver_share: float | None
    page: str
    is_rate: bool
    bad_when: str = "drop"  # the direction that is bad news (more negative reviews: "rise")
    evidence: tuple[str, ...] = ()  # ids of the rows behind it (reviews, where there are)
    need: str | None = None  # the named need whose change explains most of it (need alerts)
    need_share: float | None = None
    segment: str | None = None  # new or returning shoppers, when one explains most of it
    segment_share: float | None = None
    days: int = 1  # the days to ``day`` the check pooled (1: the day alone)

    @property
    def bad(self) -> bool:
        return self.direction == self.bad_when

    def describe(self) -> str:
        fmt = (lambda v: f"{v:.1%}") if self.is_rate else (lambda v: f"{v:,.0f}")  # noqa: E731
        change = (self.observed - self.expected) / self.expected if self.expected else 0.0
        text = (f"{self.label} {fmt(self.observed)} on {self.day}, expected {fmt(self.expected)} "
                f"({change:+.0%})")  # fmt: skip
        if self.driver is not None:
            text += f"; driven by {self.driver} ({self.driver_share:.0%} of the {self.direction})"
        if self.need is not None:
            text += (
                f"; mostly the need “{self.need}” ({self.need_share:.0%} of the {self.direction})"
            )
        if self.segment is not None:
            text += (f"; mostly {SEGMENT_NAMES[self.segment]} ({self.segment_share:.0%} of the "
                     f"{self.direction})")  # fmt: skip
        return text

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = str(self.day)
        out["bad"] = self.bad
        out["evidence"] = list(self.evidence)
        out["summary"] = self.describe()
        # where to look: the page and the dashboard filters that show the move
        out["look_at"] = {"page": self.page, "category": self.driver, "need": self.need,
                          "segment": self.segment,
                          "start": str(self.day - timedelta(days=6)), "end": str(self.day)}  # fmt: skip
        return out


def _driver(per_category: pd.DataFrame, deviation: float) -> tuple[str | None, float | None]:
    """The category with the largest deviation in the direction of ``deviation`` (columns
    ``category``, ``deviation``) and the share of the total it explains."""
    if per_category.empty or deviation == 0:
        return None, None
    same = per_category[np.sign(per_category["deviation"]) == np.sign(deviation)]
    if same.empty:
        return None, None
    top = same.loc[same["deviation"].abs().idxmax()]
    return str(top["category"]), float(min(abs(top["deviation"]) / abs(deviation), 1.0))


def _rate_test(n_days: np.ndarray, k_days: np.ndarray, n: float,
               k: float) -> tuple[float, float, float, float] | None:  # fmt: skip
    """``(observed, expected, z, half-width)`` of a rate (``k`` of ``n``) against the days
    before (per-day counts ``n_days``, ``k_days``), by a quasi-binomial z: the binomial variance
    times the dispersion the days before showed (carts and purchases come in clusters, so
    day-to-day rates wobble more than coin flips)."""
    n0, k0 = float(n_days.sum()), float(k_days.sum())
    if n < 30 or n0 <= 0:
        return None
    p0 = k0 / n0
    if not 0 < p0 < 1 or n * p0 < MIN_EXPECTED:  # too few expected hits to judge
        return None
    keep = n_days >= 10
    ratio = (k_days[keep] - n_days[keep] * p0) ** 2 / (n_days[keep] * p0 * (1 - p0))
    dispersion = max(1.0, float(ratio.mean())) if keep.sum() >= 7 else 2.0
    sd = float(np.sqrt(dispersion * n * p0 * (1 - p0)))
    return k / n, p0, (k - n * p0) / sd, RATE_Z * sd / n


@dataclass
class _Grid:
    """Per-day counts as arrays: ``cat[column]`` is days × categories, ``tot[column]`` days."""

    days: pd.DatetimeIndex
    categories: list[str]
    cat: dict[str, np.ndarray]
    tot: dict[str, np.ndarray]

    @classmethod
    def build(cls, daily: pd.DataFrame, total: pd.DataFrame, columns: list[str]) -> _Grid:
        days = pd.date_range(total["day"].min(), total["day"].max())
        cat, tot = {}, {}
        for column in columns:
            pivot = daily.pivot_table(index="day", columns="category", values=column,
                                      aggfunc="sum", fill_value=0).reindex(days, fill_value=0)  # fmt: skip
            cat[column] = pivot.to_numpy(dtype=float)
            tot[column] = (total.groupby("day")[column].sum().reindex(days, fill_value=0)
                           .to_numpy(dtype=float))  # fmt: skip
        categories = [str(c) for c in pivot.columns] if columns else []
        return cls(days, categories, cat, tot)

    def index(self, day: pd.Timestamp) -> int:
        return int((day - self.days[0]).days)


def _rate_alerts(grid: _Grid, day: pd.Timestamp, span: int = 1,
                 metrics: dict[str, tuple[str, str, str]] | None = None,
                 page: str = "behaviour") -> list[Alert]:  # fmt: skip
    """Rate alerts for the ``span`` days ending on ``day`` against the 28 days before them."""
    out: list[Alert] = []
    end = grid.index(day) + 1
    first = end - span
    lo = max(first - BASELINE_DAYS, 0)
    if first <= 0 or end > len(grid.days) or first - lo < 1:
        return out
    suffix = "" if span == 1 else f" (the {span} days to {day.date()})"
    for metric, (base, hit, label) in (metrics or RATES).items():
        n_tot, k_tot = grid.tot[base], grid.tot[hit]
        test = _rate_test(n_tot[lo:first], k_tot[lo:first], n_tot[first:end].sum(),
                          k_tot[first:end].sum())  # fmt: skip
        n_cat, k_cat = grid.cat[base], grid.cat[hit]
        if test is not None:
            observed, p0, z, half = test
            if abs(z) > RATE_Z and abs(observed - p0) / p0 >= MIN_RELATIVE:
                n_before, k_before = n_cat[lo:first].sum(0), k_cat[lo:first].sum(0)
                rates = np.where(n_before > 0, k_before / np.maximum(n_before, 1), p0)
                now_n, now_k = n_cat[first:end].sum(0), k_cat[first:end].sum(0)
                per_cat = pd.DataFrame({"category": grid.categories,
                                        "deviation": now_k - now_n * rates})  # fmt: skip
                n = float(n_tot[first:end].sum())
                driver, share = _driver(per_cat, (observed - p0) * n)
                out.append(Alert(day.date(), metric, label + suffix, observed, p0,
                                 max(p0 - half, 0.0), min(p0 + half, 1.0),
                                 "drop" if z < 0 else "rise", driver, share, page, True, days=span))  # fmt: skip
                continue
        # the shop as a whole is in its band: a single category may still have broken
        for j, category in enumerate(grid.categories):
            test = _rate_test(n_cat[lo:first, j], k_cat[lo:first, j], n_cat[first:end, j].sum(),
                              k_cat[first:end, j].sum())  # fmt: skip
            if test is None:
                continue
            c_obs, c_p0, c_z, c_half = test
            if abs(c_z) > CATEGORY_Z and abs(c_obs - c_p0) / c_p0 >= CATEGORY_RELATIVE:
                out.append(Alert(day.date(), metric, f"{label} in {category}{suffix}", c_obs, c_p0,
                                 max(c_p0 - c_half, 0.0), min(c_p0 + c_half, 1.0),
                                 "drop" if c_z < 0 else "rise", category, 1.0, page, True, days=span))  # fmt: skip
    return out


def _day_and_pooled(grid: _Grid, day: pd.Timestamp, metrics: dict[str, tuple[str, str, str]],
                    page: str) -> list[Alert]:  # fmt: skip
    """The rate alerts of ``day`` alone, and of the three days to it pooled (a sustained move)
    where the day alone did not already say it for the same metric and scope."""
    single = _rate_alerts(grid, day, 1, metrics, page)
    scope = lambda a: (a.metric, a.driver if " in " in a.label else None)  # noqa: E731
    seen = {scope(a) for a in single}
    return single + [a for a in _rate_alerts(grid, day, 3, metrics, page) if scope(a) not in seen]


def _traffic_alert(daily: pd.DataFrame, total: pd.DataFrame, day: pd.Timestamp) -> Alert | None:
    from core.forecast import best_forecast, forecast_daily

    history = total[total["day"] < day][["day", "sessions"]]
    today = total[total["day"] == day]
    if len(history) < 21 or today.empty:
        return None
    forecast, report, method = best_forecast(history, "sessions", days=1)
    # the trend model's own residual band (it is the forecast already when that model serves)
    fitted = forecast if method == "trend_weekday" else forecast_daily(history, "sessions", days=1)
    expected = float(forecast["forecast"].iloc[0])
    backtest_rmse = report["rmse"] if method == "trend_weekday" else report["rmse_seasonal_naive"]
    residual = float((fitted["upper"] - fitted["lower"]).iloc[0]) / (2 * 1.96)
    spread = max(float(backtest_rmse or 0.0), residual)
    observed = float(today["sessions"].sum())
    low, high = max(expected - TRAFFIC_K * spread, 0.0), expected + TRAFFIC_K * spread
    if low <= observed <= high:
        return None
    # each category against the mean of its same weekday over the four weeks before
    same_weekday = [day - pd.Timedelta(days=7 * w) for w in range(1, 5)]
    usual = daily[daily["day"].isin(same_weekday)].groupby("category")["sessions"].sum() / 4
    now = daily[daily["day"] == day].groupby("category")["sessions"].sum()
    both = pd.concat([now.rename("now"), usual.rename("usual")], axis=1).fillna(0)
    per_cat = pd.DataFrame({"category": both.index, "deviation": both["now"] - both["usual"]})
    driver, share = _driver(per_cat, observed - expected)
    return Alert(day.date(), "traffic", "sessions", observed, expected, low, high,
                 "drop" if observed < expected else "rise", driver, share, "behaviour", False)  # fmt: skip


def check_days(daily: pd.DataFrame, total: pd.DataFrame, days: int = 7,
               until: date | None = None) -> list[Alert]:  # fmt: skip
    """Alerts for each of the last ``days`` days up to ``until`` (default: the last day with
    events). ``daily``: one row per day and category (day, category, sessions, views, carts,
    purchases); ``total``: one row per day over all categories, same columns."""
    if total.empty:
        return []
    daily = daily.assign(
        day=pd.to_datetime(daily["day"]), category=daily["category"].fillna("(none)")
    )
    total = total.assign(day=pd.to_datetime(total["day"])).sort_values("day")
    last = pd.Timestamp(until) if until is not None else total["day"].max()
    grid = _Grid.build(daily, total, ["views", "carts", "purchases"])
    out: list[Alert] = []
    for offset in range(days - 1, -1, -1):
        day = last - timedelta(days=offset)
        out += _day_and_pooled(grid, day, RATES, "behaviour")
        traffic = _traffic_alert(daily, total, day)
        if traffic is not None:
            out.append(traffic)
    return out


def daily_from_events(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(per category, total)`` daily frames from raw events, as
    :func:`db.behaviour_queries.daily_activity` reads them from the store (benchmarks, tests)."""
    ev = events.assign(day=events["ts"].dt.floor("D"),
                       view=events["event_type"].eq("view"), cart=events["event_type"].eq("cart"),
                       buy=events["event_type"].eq("purchase"))  # fmt: skip

    def agg(keys: list[str]) -> pd.DataFrame:
        g = ev.groupby(keys, dropna=False)
        return pd.DataFrame({"sessions": g["session_id"].nunique(), "views": g["view"].sum(),
                             "carts": g["cart"].sum(), "purchases": g["buy"].sum()}).reset_index()  # fmt: skip

    return agg(["day", "category"]), agg(["day"])


def _need_alert(daily: pd.DataFrame, day: pd.Timestamp,
                needs: pd.DataFrame | None = None) -> Alert | None:  # fmt: skip
    """Need sentences of one day against the mean of the 28 days before, with the day-to-day
    spread those days showed (at least Poisson's): more than 3 spreads above is an alert. With
    ``needs`` (per day and named need: day, need_id, name, sentences, review_ids), the alert
    also names the need that rose most against its own mean, and the reviews behind it."""
    per_day = daily.groupby("day")["needs"].sum()
    before = per_day[
        (per_day.index < day) & (per_day.index >= day - pd.Timedelta(days=BASELINE_DAYS))
    ]
    if len(before) < 14 or day not in per_day.index:
        return None
    mean = float(before.mean())
    spread = max(float(before.std()), float(np.sqrt(max(mean, 1.0))))
    observed = float(per_day[day])
    if observed <= mean + TRAFFIC_K * spread or observed < 10:
        return None
    usual = daily[(daily["day"] < day) & (daily["day"] >= day - pd.Timedelta(days=BASELINE_DAYS))]
    usual = usual.groupby("category")["needs"].sum() / len(before)
    now = daily[daily["day"] == day].groupby("category")["needs"].sum()
    both = pd.concat([now.rename("now"), usual.rename("usual")], axis=1).fillna(0)
    per_cat = pd.DataFrame({"category": both.index, "deviation": both["now"] - both["usual"]})
    driver, share = _driver(per_cat, observed - mean)
    need, need_share, evidence = _need_driver(needs, day, len(before), observed - mean)
    return Alert(day.date(), "needs", "need sentences (requests, complaints, questions)", observed,
                 mean, max(mean - TRAFFIC_K * spread, 0.0), mean + TRAFFIC_K * spread, "rise",
                 driver, share, "demand", False, bad_when="rise", evidence=evidence,
                 need=need, need_share=need_share)  # fmt: skip


def _need_driver(needs: pd.DataFrame | None, day: pd.Timestamp, baseline_days: int,
                 deviation: float) -> tuple[str | None, float | None, tuple[str, ...]]:  # fmt: skip
    """The named need (not the other bucket) whose sentences on ``day`` exceed its own daily
    mean of the ``baseline_days`` before by the most, its share of ``deviation``, and the
    reviews behind it that day."""
    if needs is None or needs.empty:
        return None, None, ()
    named = needs[needs["need_id"] > 0]
    window = named[(named["day"] < day)
                   & (named["day"] >= day - pd.Timedelta(days=BASELINE_DAYS))]  # fmt: skip
    usual = window.groupby("name")["sentences"].sum() / max(baseline_days, 1)
    today = named[named["day"] == day]
    now = today.groupby("name")["sentences"].sum()
    both = pd.concat([now.rename("now"), usual.rename("usual")], axis=1).fillna(0)
    per_need = pd.DataFrame({"category": both.index, "deviation": both["now"] - both["usual"]})
    name, share = _driver(per_need, deviation)
    if name is None:
        return None, None, ()
    ids = [str(i) for ids in today.loc[today["name"] == name, "review_ids"] for i in ids]
    return name, share, tuple(ids[:5])


def check_text_days(daily: pd.DataFrame, days: int = 7, until: date | None = None,
                    needs: pd.DataFrame | None = None) -> list[Alert]:  # fmt: skip
    """Alerts on what shoppers write, per day: the share of reviews the sentiment model calls
    negative (the rate test, per category too) and the volume of need sentences. ``daily``: one
    row per day and category (day, category, reviews, negatives, needs); ``needs``: per day and
    named need (:func:`db.behaviour_queries.daily_needs`), to name the need behind a rise."""
    if daily.empty:
        return []
    daily = daily.assign(
        day=pd.to_datetime(daily["day"]), category=daily["category"].fillna("(none)")
    )
    total = daily.groupby("day", as_index=False)[["reviews", "negatives", "needs"]].sum()
    last = pd.Timestamp(until) if until is not None else total["day"].max()
    grid = _Grid.build(daily, total, ["reviews", "negatives"])
    out: list[Alert] = []
    for offset in range(days - 1, -1, -1):
        day = last - timedelta(days=offset)
        out += [replace(a, bad_when="rise")
                for a in _day_and_pooled(grid, day, TEXT_RATES, "sentiment")]  # fmt: skip
        need = _need_alert(daily, day, needs)
        if need is not None:
            out.append(need)
    return out


def segment_driver(alert: Alert, rows: pd.DataFrame) -> Alert:
    """``alert`` (shop-wide traffic or funnel step) with the shopper segment, new or returning,
    whose own deviation explains most of the move, when it explains at least half of it and at
    least 1.5 times its share of the volume (a move spread evenly names no segment).
    ``rows``: :func:`db.behaviour_queries.segment_activity` for the alert's checked days and the
    baseline days before them."""
    if rows.empty or alert.metric not in (*RATES, "traffic"):
        return alert
    before = rows[~rows["checked"]].set_index("segment")
    now = rows[rows["checked"]].set_index("segment")
    if alert.metric == "traffic":
        per_day = before["sessions"] / before["days"].clip(lower=1)
        deviation = now["sessions"] - per_day.reindex(now.index).fillna(0) * now["days"]
        total = alert.observed - alert.expected
        volume = per_day / max(float(per_day.sum()), 1e-9)
    else:
        base, hit, _ = RATES[alert.metric]
        rate = (before[hit] / before[base].clip(lower=1)).reindex(now.index).fillna(alert.expected)
        deviation = now[hit] - now[base] * rate
        total = (alert.observed - alert.expected) * float(now[base].sum())
        volume = now[base] / max(float(now[base].sum()), 1e-9)
    per = pd.DataFrame({"category": deviation.index, "deviation": deviation.to_numpy()})
    name, share = _driver(per, total)
    if name is None or share is None or share < max(0.5, 1.5 * float(volume.get(name, 0.0))):
        return alert
    return replace(alert, segment=name, segment_share=share)


def shop_alerts(store: Any, shop_id: str, days: int = 7, until: date | None = None,
                activity: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> list[Alert]:  # fmt: skip
    """Every alert of the shop's last ``days`` days to ``until`` (at most the last day with
    events): traffic and funnel steps from the events, negative reviews and needs from the
    serving text models' predictions, each text alert with up to five of the reviews behind it
    (masked when shown). ``activity``: :func:`db.behaviour_queries.daily_activity`'s answer when
    the caller has read it already."""
    from core.signals import shopper_signal_spec
    from db.behaviour_queries import (
        daily_activity,
        daily_needs,
        daily_text_signals,
        negative_reviews,
        segment_activity,
    )

    spec = shopper_signal_spec()
    per_category, total = activity if activity is not None else daily_activity(store, shop_id)
    if not total.empty:
        latest = pd.Timestamp(total["day"].max()).date()
        until = latest if until is None else min(until, latest)
    alerts = check_days(per_category, total, days=days, until=until) if not total.empty else []
    for i, alert in enumerate(alerts):  # shop-wide moves: new or returning shoppers?
        if alert.metric in (*RATES, "traffic") and " in " not in alert.label:
            first = alert.day - timedelta(days=alert.days - 1)
            rows = segment_activity(store, shop_id, first - timedelta(days=BASELINE_DAYS), first,
                                    alert.day)  # fmt: skip
            alerts[i] = segment_driver(alert, rows)
    texts = daily_text_signals(store, shop_id, **spec)
    if not texts.empty:
        needs = daily_needs(store, shop_id, **spec)
        needs = needs.assign(day=pd.to_datetime(needs["day"])) if len(needs) else None
        for alert in check_text_days(texts, days=days, until=until, needs=needs):
            if alert.metric == "negative_share":
                ids = negative_reviews(store, shop_id, spec["sentiment_task"], spec["negative_label"],
                                       alert.driver, alert.day - timedelta(days=2), alert.day)  # fmt: skip
                alert = replace(alert, evidence=tuple(ids))
            alerts.append(alert)
    return sorted(alerts, key=lambda a: (a.day, a.metric))
