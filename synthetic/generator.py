"""A seeded generator of SYNTHETIC shop event logs, calibrated on a real Taobao slice.

The generator makes behaviour logs (view, cart, fav, purchase, search) for any item catalogue,
from a few thousand events for the bundled sample shop to 100M for scale benchmarks. Its shape
comes from :class:`Calibration`: aggregates measured once on the real Taobao UserBehavior slice
by :func:`calibrate_from_taobao` and stored in ``data/synthetic_calibration.json``, so generation
never needs the research-use data set (no rows of it are stored, only summary numbers).

How one log is built (all vectorised numpy, in chunks of users, one RNG stream per chunk):

1. Users form a steady customer base: each is active for an exponential lifetime (an assumption:
   nine Taobao days say nothing of retention) overlapping the period, at an activity rate drawn
   from Taobao's events-per-user distribution; budgets are rate x active days, rescaled.
2. Each user's events are cut into sessions whose sizes follow Taobao's events-per-session
   distribution (30-minute inactivity rule). Sessions start on days drawn from the user's active
   span, weighted by Taobao's weekday pattern, at hours drawn from Taobao's hourly event shares;
   events inside a session are spaced by Taobao's within-session gaps. Sessions of one user are
   pushed apart so that every gap between them exceeds 30 minutes.
3. Event types follow Taobao's behaviour mix; only "buyer" users purchase, and each buyer seen
   for at least 3 days purchases at least once, so Taobao's share of buyers holds. A ``search_share`` of events (3 % by default; Taobao
   has no search) are searches opening a session, with a query built from the session's category.
4. A session browses one category (70 % of its events; the rest anywhere in the shop); items are
   drawn by popularity (e.g. review counts, Zipf-like). Cart, fav and purchase events act on the
   item last viewed in the session.

    >>> import pandas as pd
    >>> items = pd.DataFrame({"item_id": ["a", "b"], "category": ["Dresses", "Knits"]})
    >>> table = next(generate_events(1000, items, seed=1))
    >>> table.num_rows
    1000

Command line: ``python -m synthetic.generator --events 10000000 --out events.parquet [--seed 7]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common.errors import InputError
from common.settings import DATA_DIR

CALIBRATION_PATH = DATA_DIR / "synthetic_calibration.json"
MIN_BUYER_DAYS = 3.0
SESSION_GAP_S = 1800  # a new session starts after more than 30 minutes of inactivity
DEFAULT_START = datetime(2026, 9, 7)  # a Monday; the bundled sample shop's 8 weeks start here
BEHAVIOURS = ("view", "cart", "fav", "purchase")
EVENT_TYPES = ("view", "cart", "fav", "purchase", "search")
TAOBAO_TO_EVENT = {"pv": "view", "cart": "cart", "fav": "fav", "buy": "purchase"}
# The Taobao slice's official window, 2017-11-25..12-03 Beijing time (UTC+8).
TAOBAO_WINDOW = (1511539200, 1512316799)
TAOBAO_UTC_OFFSET_S = 8 * 3600
EVENT_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("session_id", pa.string()),
        ("item_id", pa.string()),
        ("category", pa.string()),
        ("event_type", pa.string()),
        ("query", pa.string()),
        ("ts", pa.timestamp("us")),
    ]
)


@dataclass
class Calibration:
    """Aggregate behaviour statistics the generator reproduces (no rows of any data set).

    Quantile lists have 101 points (0th..100th percentile). ``weekday_factors`` are Monday..Sunday
    daily volumes relative to their mean; ``hour_shares`` sum to 1 over local hours 0..23.
    ``search_share`` and ``mean_active_days`` are assumptions, not measured (Taobao has neither
    search events nor more than nine days).
    """

    source: str
    rows: int
    users: int
    period_days: int
    behaviour_mix: dict[str, float]
    buyer_share: float
    events_per_user: dict[str, float]
    events_per_user_quantiles: list[float]
    sessions_per_user_mean: float
    session_size_values: list[int]
    session_size_probs: list[float]
    session_size_mean: float
    session_gap_quantiles_s: list[float]
    session_duration_quantiles_s: list[float]
    hour_shares: list[float]
    session_start_hour_shares: list[float]
    weekday_factors: list[float]
    search_share: float = 0.03
    mean_active_days: float = 21.0
    notes: list[str] = field(default_factory=list)

    def to_json(self, path: Path) -> None:
        """Write the calibration as pretty JSON (aggregates only)."""
        fields = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in asdict(self).items()]
        path.write_text("{\n" + ",\n".join(fields) + "\n}\n")

    @classmethod
    def from_json(cls, path: Path) -> Calibration:
        """Read a calibration written by :meth:`to_json`."""
        return cls(**json.loads(Path(path).read_text()))


def load_calibration(path: Path | None = None) -> Calibration:
    """The stored calibration (``data/synthetic_calibration.json`` unless ``path`` is given)."""
    path = Path(path or CALIBRATION_PATH)
    if not path.is_file():
        raise InputError(
            f"{path} is missing: rebuild it with scripts/build_sample_data.py "
            "(it needs the Taobao slice in ../shared/data)"
        )
    return Calibration.from_json(path)


def _quantiles(values: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in np.quantile(values, np.linspace(0, 1, 101))]


def _shares(counts: np.ndarray) -> list[float]:
    return [round(float(c), 5) for c in counts / counts.sum()]


def calibrate_from_taobao(path: Path) -> Calibration:
    """Measure the generator's calibration on the Taobao ``events.csv`` slice.

    Behaviour mix, buyer share and events per user use every row (as the data set's README does);
    sessions (30-minute rule), hours and weekdays use the rows inside the official window, with
    hours and weekdays in Beijing time (the data's calendar). Only aggregates are returned.
    """
    df = pd.read_csv(path, usecols=["user_id", "behavior_type", "timestamp"])
    counts = df["behavior_type"].map(TAOBAO_TO_EVENT).value_counts()
    mix = {b: round(float(counts.get(b, 0) / len(df)), 5) for b in BEHAVIOURS}
    per_user = df.groupby("user_id").size().to_numpy()
    buyers = df.loc[df["behavior_type"] == "buy", "user_id"].nunique()

    lo, hi = TAOBAO_WINDOW
    win = df[(df["timestamp"] >= lo) & (df["timestamp"] <= hi)]
    win = win.sort_values(["user_id", "timestamp"], kind="stable")
    gap = win.groupby("user_id")["timestamp"].diff()
    new_session = (gap.isna() | (gap > SESSION_GAP_S)).to_numpy()
    session = np.cumsum(new_session)
    sessions = (
        win.assign(session=session).groupby("session")["timestamp"].agg(["size", "min", "max"])
    )
    sizes = sessions["size"].to_numpy()
    size_values, size_counts = np.unique(sizes, return_counts=True)
    local = pd.to_datetime(win["timestamp"] + TAOBAO_UTC_OFFSET_S, unit="s")
    start_local = pd.to_datetime(sessions["min"] + TAOBAO_UTC_OFFSET_S, unit="s")
    day_counts = local.dt.normalize().value_counts()
    weekday_mean = day_counts.groupby(day_counts.index.dayofweek).mean().reindex(range(7))
    return Calibration(
        source="Taobao UserBehavior slice (events.csv, 814 users, 2017-11-25..12-03)",
        rows=len(df),
        users=len(per_user),
        period_days=9,
        behaviour_mix=mix,
        buyer_share=round(buyers / len(per_user), 5),
        events_per_user={
            "min": int(per_user.min()),
            "median": float(np.median(per_user)),
            "mean": round(float(per_user.mean()), 3),
            "max": int(per_user.max()),
        },
        events_per_user_quantiles=_quantiles(per_user),
        sessions_per_user_mean=round(len(sizes) / win["user_id"].nunique(), 3),
        session_size_values=[int(v) for v in size_values],
        session_size_probs=_shares(size_counts),
        session_size_mean=round(float(sizes.mean()), 4),
        session_gap_quantiles_s=_quantiles(gap[~new_session].to_numpy()),
        session_duration_quantiles_s=_quantiles((sessions["max"] - sessions["min"]).to_numpy()),
        hour_shares=_shares(np.bincount(local.dt.hour, minlength=24)),
        session_start_hour_shares=_shares(np.bincount(start_local.dt.hour, minlength=24)),
        weekday_factors=[round(float(v), 4) for v in weekday_mean / weekday_mean.mean()],
        notes=[
            "Aggregates only; no rows of the research-use Taobao data are stored.",
            "search_share and mean_active_days are assumptions, not measured.",
            "Hours and weekdays are Beijing time, the data's calendar.",
        ],
    )


# --- search queries ---------------------------------------------------------------------------

_CATEGORY_NOUNS = {
    "Dresses": ("dress", "midi dress", "maxi dress", "wrap dress", "shirt dress"),
    "Knits": ("knit top", "tee", "tank", "long sleeve top"),
    "Blouses": ("blouse", "button down shirt", "tunic"),
    "Sweaters": ("sweater", "cardigan", "pullover"),
    "Fine gauge": ("fine knit sweater", "cashmere sweater", "light cardigan"),
    "Pants": ("pants", "wide leg pants", "trousers", "joggers"),
    "Jeans": ("jeans", "skinny jeans", "bootcut jeans", "boyfriend jeans"),
    "Skirts": ("skirt", "midi skirt", "mini skirt", "pencil skirt"),
    "Jackets": ("jacket", "denim jacket", "blazer"),
    "Outerwear": ("coat", "parka", "vest", "trench coat"),
    "Shorts": ("shorts", "denim shorts"),
    "Swim": ("swimsuit", "bikini", "one piece swimsuit", "cover up"),
    "Lounge": ("lounge pants", "hoodie", "sweatshirt"),
    "Sleep": ("pajamas", "robe", "nightgown"),
    "Legwear": ("leggings", "tights", "socks"),
    "Intimates": ("bra", "bralette", "slip"),
    "Layering": ("camisole", "layering tank"),
    "Trend": ("jumpsuit", "romper", "statement top"),
}
_ADJECTIVES = (
    "black", "white", "navy", "red", "green", "floral", "striped", "linen", "cotton", "silk",
    "petite", "plus size", "cozy", "summer", "winter", "casual", "work", "boho", "vintage", "sale",
)  # fmt: skip


def _query_vocabulary(categories: list[str]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """All queries, grouped by category: (strings, first index per category, count per category)."""
    texts: list[str] = []
    first, count = [], []
    for cat in categories:
        nouns = _CATEGORY_NOUNS.get(cat) or (cat.lower(),)
        queries = list(nouns) + [f"{adj} {noun}" for noun in nouns for adj in _ADJECTIVES]
        first.append(len(texts))
        count.append(len(queries))
        texts.extend(queries)
    return pa.array(texts, pa.string()), np.array(first), np.array(count)


# --- generation --------------------------------------------------------------------------------


def _rng(seed: int, stream: int) -> np.random.Generator:
    """An independent random stream per (seed, stream): chunks never share random numbers."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))


def _from_quantiles(rng: np.random.Generator, quantiles: list[float], n: int) -> np.ndarray:
    """Draw ``n`` values from the distribution given by its 101 percentiles (linear inside)."""
    return np.interp(rng.random(n) * 100.0, np.arange(len(quantiles)), quantiles)


def _catalogue(items: pd.DataFrame) -> tuple[pa.Array, np.ndarray, list[str], np.ndarray]:
    """Items sorted by category: ids, cumulative popularity, category names, category bounds."""
    if items.empty or not {"item_id", "category"} <= set(items.columns):
        raise InputError("items must be a non-empty table with item_id and category columns")
    df = items[["item_id", "category"]].astype(str).copy()
    if "popularity" in items.columns:
        weight = items["popularity"].to_numpy(dtype=float)
    else:  # Zipf over the given order when no popularity is known
        weight = 1.0 / np.arange(1, len(df) + 1)
    df["weight"] = np.clip(weight, 1e-9, None)
    df = df.sort_values(["category", "item_id"], kind="stable").reset_index(drop=True)
    categories = sorted(df["category"].unique())
    cum = np.cumsum(df["weight"].to_numpy())
    bounds = np.searchsorted(df["category"].to_numpy(), categories + [chr(0x10FFFF)], "left")
    return pa.array(df["item_id"], pa.string()), cum, categories, bounds


@dataclass
class UserPlan:
    """Who the synthetic shoppers are: per-user arrays, user ``i`` being ``u{offset + i:07d}``.

    Each user is active from day ``active_from`` to ``active_to`` (fractional days from the
    period start, clipped to the period) and makes ``budget`` events, in proportion to a Taobao
    activity rate times the active days. ``new`` users were acquired inside the period (their
    first session falls on ``active_from``); the others were already customers.
    """

    offset: int
    budget: np.ndarray
    active_from: np.ndarray
    active_to: np.ndarray
    new: np.ndarray
    buyer: np.ndarray
    sure_buyer: np.ndarray

    def slice(self, lo: int, hi: int) -> UserPlan:
        """Users ``lo .. hi-1`` as a plan of their own."""
        return UserPlan(
            self.offset + lo, *(a[lo:hi] for a in (self.budget, self.active_from,
            self.active_to, self.new, self.buyer, self.sure_buyer)),
        )  # fmt: skip


def _lifetimes(rng: np.random.Generator, n: int, days: int, cal: Calibration) -> tuple:
    """Active intervals of a steady customer base: lifetimes ~ exponential, start in
    ``[-lifetime, days)`` so users who began before or end after the period are included."""
    lifetime = rng.exponential(cal.mean_active_days, n) + 1.0
    began = rng.random(n) * (days + lifetime) - lifetime
    return began, np.maximum(began, 0.0), np.minimum(began + lifetime, float(days))


def plan_users(
    n_events: int, days: int, seed: int, calibration: Calibration, n_users: int | None = None
) -> UserPlan:
    """Draw the users of a log of exactly ``n_events`` events over ``days`` days.

    Per-user activity rates follow Taobao's events-per-user distribution over its nine days;
    a user's budget is rate times active days, rescaled so that budgets sum to ``n_events``
    (each at least 1). ``n_users`` defaults to what gives Taobao's rate on average.
    """
    cal = calibration
    rng = _rng(seed, 0)
    if n_users is None:
        _, lo, hi = _lifetimes(_rng(seed, 10**6), 10_000, days, cal)
        per_user = cal.events_per_user["mean"] / cal.period_days * float(np.mean(hi - lo))
        n_users = max(1, round(n_events / per_user))
    n_users = max(1, min(n_users, n_events))
    rate = np.maximum(_from_quantiles(rng, cal.events_per_user_quantiles, n_users), 1.0)
    began, lo, hi = _lifetimes(rng, n_users, days, cal)
    weight = rate * (hi - lo)
    budget = np.maximum(np.floor(weight * n_events / weight.sum()), 1).astype(np.int64)
    diff = n_events - int(budget.sum())
    order = np.argsort(-budget, kind="stable")
    while diff != 0:  # spread the rounding remainder over the heaviest users
        step = int(np.sign(diff))
        take = order[: min(abs(diff), n_users)]
        take = take[budget[take] + step >= 1]
        budget[take] += step
        diff -= step * len(take)
    # Each buyer purchases at least once where the period shows at least MIN_BUYER_DAYS of them
    # (slivers at the period's edges would otherwise pile purchases there), so the buyer flag
    # is drawn a little more often to keep Taobao's share of users with a purchase.
    long_enough = (hi - lo) >= MIN_BUYER_DAYS
    share = min(1.0, cal.buyer_share / max(float(long_enough.mean()), 1e-9))
    buyer = rng.random(n_users) < share
    return UserPlan(0, budget, lo, hi, began >= 0, buyer, buyer & long_enough & (budget >= 1))


def generate_events(
    n_events: int,
    items: pd.DataFrame,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    days: int = 56,
    calibration: Calibration | None = None,
    n_users: int | None = None,
    chunk_events: int = 2_000_000,
) -> Iterator[pa.Table]:
    """Yield a synthetic event log of exactly ``n_events`` rows as Arrow tables (one per chunk).

    ``items`` needs ``item_id`` and ``category`` (``popularity`` optional, e.g. review counts).
    Events cover ``days`` days from ``start`` (naive UTC); see :func:`plan_users` for
    ``n_users``. The same arguments give the same tables. Columns: user_id, session_id,
    item_id (null for searches), category, event_type, query (only for searches), ts.
    """
    if n_events < 1 or days < 1:
        raise InputError("n_events and days must be at least 1")
    cal = calibration or load_calibration()
    plan = plan_users(n_events, days, seed, cal, n_users)
    catalogue = _catalogue(items)
    queries = _query_vocabulary(catalogue[2])
    ends = np.cumsum(plan.budget)
    cuts = np.searchsorted(ends, np.arange(chunk_events, n_events, chunk_events), "left") + 1
    user_bounds = [0, *sorted(set(cuts.tolist()) - {len(ends)}), len(ends)]
    session_offset = 0
    for index, (lo, hi) in enumerate(itertools.pairwise(user_bounds)):
        rng = _rng(seed, index + 1)
        users = plan.slice(lo, hi)
        table, n_sessions = _chunk(rng, users, session_offset, start, days, cal, catalogue, queries)
        session_offset += n_sessions
        yield table


def _thin_by_weekday(
    rng: np.random.Generator, draw: Callable[[np.ndarray], np.ndarray], n: int,
    start: datetime, cal: Calibration,
) -> np.ndarray:  # fmt: skip
    """Days from ``draw(rows)`` (day offsets for those rows), thinned by the weekday pattern."""
    factors = np.asarray(cal.weekday_factors)
    accept_p = factors / factors.max()
    day = np.zeros(n, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(40):
        d = draw(todo)
        ok = rng.random(len(todo)) < accept_p[(d + start.weekday()) % 7]
        day[todo] = d  # the last draw stands for rows never accepted (vanishingly rare)
        todo = todo[~ok]
        if not len(todo):
            break
    return day


def _grouped_cummax(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` restarting at each new ``group`` (groups contiguous, sorted)."""
    big = 2.0 * (np.abs(values).max() + 1.0)
    lifted = values + group * big
    return np.maximum.accumulate(lifted) - group * big


def _session_sizes(rng: np.random.Generator, total: int, cal: Calibration) -> np.ndarray:
    """Session end positions (exclusive cumulative sizes) covering ``total`` events."""
    values = np.asarray(cal.session_size_values)
    probs = np.asarray(cal.session_size_probs) / np.sum(cal.session_size_probs)
    ends = np.empty(0, dtype=np.int64)
    while not len(ends) or ends[-1] < total:
        n = int(total / cal.session_size_mean * 1.1) + 16
        more = np.cumsum(rng.choice(values, n, p=probs)) + (ends[-1] if len(ends) else 0)
        ends = np.concatenate([ends, more])
    return ends[ends < total]


def _chunk(
    rng: np.random.Generator, users: UserPlan, session_offset: int, start: datetime, days: int,
    cal: Calibration, catalogue: tuple, queries: tuple,
) -> tuple[pa.Table, int]:  # fmt: skip
    """Generate the events of one chunk of users; return the table and its number of sessions."""
    budget = users.budget
    n_users, total = len(budget), int(budget.sum())
    user_end = np.cumsum(budget)
    user_start = user_end - budget

    # Sessions: Taobao-sized pieces of the event line, also cut at every user boundary.
    cuts = np.union1d(_session_sizes(rng, total, cal), user_end[:-1])
    seg_start = np.concatenate([[0], cuts]).astype(np.int64)
    seg_len = np.diff(np.concatenate([seg_start, [total]]))
    n_sessions = len(seg_start)
    s_user = np.searchsorted(user_end, seg_start, "right")
    e_session = np.repeat(np.arange(n_sessions), seg_len)
    e_pos = np.arange(total) - seg_start[e_session]

    # When: a day in the user's active interval (weekday-weighted), an hour, then the gaps.
    lo, hi = users.active_from[s_user], users.active_to[s_user]

    def draw(rows: np.ndarray) -> np.ndarray:
        return np.floor(lo[rows] + rng.random(len(rows)) * (hi[rows] - lo[rows])).astype(np.int64)

    day = np.minimum(_thin_by_weekday(rng, draw, n_sessions, start, cal), days - 1)
    opening = (seg_start == user_start[s_user]) & users.new[s_user]
    day[opening] = np.floor(lo[opening]).astype(np.int64)
    # Sessions start by the hours of *events*: the hourly traffic a merchant sees then matches
    # Taobao's (its evening sessions are longer rather than more numerous; we keep one size law).
    hours = np.asarray(cal.hour_shares)
    hour = rng.choice(24, n_sessions, p=hours / hours.sum())
    s_start = day * 86400.0 + hour * 3600.0 + np.floor(rng.random(n_sessions) * 3600.0)
    s_start = s_start[np.lexsort((s_start, s_user))]  # a user's sessions in time order
    # at least 1 s apart, so no two events of a session are identical (the store dedups them)
    gap = np.maximum(np.rint(_from_quantiles(rng, cal.session_gap_quantiles_s, total)), 1.0)
    gap[e_pos == 0] = 0.0
    within = np.cumsum(gap)
    within -= within[seg_start][e_session]
    duration = within[seg_start + seg_len - 1]

    # Keep more than 30 minutes between a user's sessions, then keep them inside the period.
    step = duration + SESSION_GAP_S + 1.0
    before = np.cumsum(step) - step
    before -= before[np.searchsorted(s_user, s_user, "left")]
    s_start = before + _grouped_cummax(s_start - before, s_user)
    last_end = np.maximum.reduceat(s_start + duration, np.searchsorted(s_user, np.arange(n_users)))
    overflow = np.maximum(last_end - (days * 86400.0 - 1.0), 0.0)
    s_start = np.maximum(s_start - overflow[s_user], 0.0)
    e_seconds = (s_start[e_session] + within).astype(np.int64)

    # What: behaviour mix (only users allowed to buy purchase), searches open sessions.
    e_user = s_user[e_session]
    mix = cal.behaviour_mix
    buyer_events = int(budget[users.buyer].sum())
    n_sure = int(users.sure_buyer.sum())
    p_buy = max(0.0, mix["purchase"] * total - n_sure) / max(buyer_events, 1)
    p_purchase = np.where(users.buyer, min(p_buy, 0.5), 0.0)[e_user]
    u = rng.random(total)
    code = np.zeros(total, dtype=np.int8)
    code[u < p_purchase + mix["cart"] + mix["fav"]] = 2
    code[u < p_purchase + mix["cart"]] = 1
    code[u < p_purchase] = 3
    sure = user_start + np.floor(rng.random(n_users) * budget).astype(np.int64)
    code[sure[users.sure_buyer]] = 3
    p_search = min(1.0, cal.search_share * total / n_sessions)
    is_search = (e_pos == 0) & (rng.random(total) < p_search)
    code[is_search] = 4

    # Which item: the session's category most of the time, by popularity; cart, fav and
    # purchase act on the item last viewed in the session.
    item_ids, cum, categories, bounds = catalogue
    cat_hi = cum[bounds[1:] - 1]
    cat_lo = np.concatenate([[0.0], cat_hi[:-1]])
    s_cat = rng.choice(len(categories), n_sessions, p=(cat_hi - cat_lo) / cum[-1])
    e_cat = s_cat[e_session]
    in_cat = rng.random(total) < 0.7
    u = rng.random(total)
    target = np.where(in_cat, cat_lo[e_cat] + u * (cat_hi[e_cat] - cat_lo[e_cat]), u * cum[-1])
    item = np.minimum(np.searchsorted(cum, target, "right"), len(cum) - 1)
    last_view = np.maximum.accumulate(np.where(code == 0, np.arange(total), -1))
    follow = (code >= 1) & (code <= 3) & (last_view >= seg_start[e_session])
    item[follow] = item[last_view[follow]]
    item_cat = np.searchsorted(bounds, item, "right") - 1
    e_category = np.where(is_search, e_cat, item_cat)
    q_texts, q_first, q_count = queries
    q_index = q_first[e_cat] + (rng.random(total) ** 2 * q_count[e_cat]).astype(np.int64)

    user_ids = _ids("u", users.offset, n_users, 7)
    table = pa.table(
        {
            "user_id": user_ids.take(pa.array(e_user)),
            "session_id": _ids("s", session_offset, n_sessions, 9).take(pa.array(e_session)),
            "item_id": item_ids.take(pa.array(item, mask=is_search)),
            "category": pa.array(categories, pa.string()).take(pa.array(e_category)),
            "event_type": pa.array(EVENT_TYPES, pa.string()).take(pa.array(code)),
            "query": q_texts.take(pa.array(q_index, mask=~is_search)),
            "ts": pa.array(
                np.datetime64(start, "s") + e_seconds.astype("timedelta64[s]"),
                pa.timestamp("s"),
            ).cast(pa.timestamp("us")),
        },
        schema=EVENT_SCHEMA,
    )
    return table, n_sessions


def _ids(prefix: str, offset: int, n: int, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers ``offset .. offset+n-1`` as an Arrow string array."""
    numbers = pc.cast(pa.array(np.arange(offset, offset + n)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


# --- writers, sample catalogue and command line ---------------------------------------------


def sample_items() -> pd.DataFrame:
    """The bundled sample shop's items with ``popularity`` = their number of reviews."""
    items = pd.read_parquet(DATA_DIR / "sample" / "items.parquet")
    reviews = pd.read_parquet(DATA_DIR / "sample" / "reviews.parquet", columns=["item_id"])
    counts = reviews["item_id"].value_counts()
    return items.assign(popularity=items["item_id"].map(counts).fillna(1).to_numpy())


def write_events(path: Path, n_events: int, items: pd.DataFrame | None = None, **kwargs) -> int:
    """Generate ``n_events`` synthetic events into a Parquet (zstd) or CSV file; return rows.

    The format follows the suffix (``.parquet`` or ``.csv``); other keyword arguments go to
    :func:`generate_events`. Memory stays bounded by one chunk, so 100M events are fine.
    """
    path = Path(path)
    items = sample_items() if items is None else items
    chunks = generate_events(n_events, items, **kwargs)
    rows = 0
    if path.suffix == ".parquet":
        with pq.ParquetWriter(path, EVENT_SCHEMA, compression="zstd") as writer:
            for table in chunks:
                writer.write_table(table, row_group_size=1_000_000)
                rows += table.num_rows
    elif path.suffix == ".csv":
        schema = EVENT_SCHEMA.set(6, pa.field("ts", pa.timestamp("s")))  # whole seconds in text
        with pacsv.CSVWriter(path, schema) as writer:
            for table in chunks:
                writer.write_table(table.cast(schema))
                rows += table.num_rows
    else:
        raise InputError(f"{path}: write events to a .parquet or .csv file")
    return rows


def write_events_parquet(path: Path, n_events: int, **kwargs) -> int:
    """Generate ``n_events`` synthetic events into a zstd Parquet file; return the row count."""
    path = Path(path)
    if path.suffix != ".parquet":
        raise InputError(f"{path}: the file name must end in .parquet")
    return write_events(path, n_events, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """``python -m synthetic.generator --events N --out FILE [--seed S] [--days D] [--users U]``."""
    parser = argparse.ArgumentParser(
        prog="python -m synthetic.generator", description="Write a synthetic shop event log."
    )
    parser.add_argument("--events", type=int, required=True, help="number of events to make")
    parser.add_argument("--out", type=Path, required=True, help="a .parquet or .csv file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=56, help="length of the period (default 56)")
    parser.add_argument("--start", type=datetime.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--users", type=int, default=None, help="default: Taobao's rate")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        rows = write_events(
            args.out, args.events, seed=args.seed, start=args.start, days=args.days,
            n_users=args.users,
        )  # fmt: skip
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - began
    print(f"{rows:,} synthetic events -> {args.out} in {seconds:.1f}s ({rows / seconds:,.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
