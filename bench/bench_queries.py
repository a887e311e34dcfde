"""Analytics query speed at 10M synthetic events: DuckDB (``db.queries``) against pandas.

Builds a store holding one seeded synthetic log (10M events; ``--quick``: 500k) and times
``funnel``, ``daily_active_users`` and ``cohort_retention(weeks=8)`` — best of 3 warm runs, plus
the first (cold) run — then computes the same three results with pandas in the same process on
the same data, checks they agree, and reports the ratio pandas seconds / DuckDB seconds.
Goal (issue 2): <= 1 s per query on 2 cores.

The store is filled by one bulk ``INSERT ... FROM read_parquet`` through ``store.write()``, not by
``ingest_file``: this benchmark measures queries, and validation of 10M rows would dominate its
run time (``bench_ingest`` measures ingestion).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from bench.common import best_of, timer, usable_cores
from db import queries
from db.store import Store
from synthetic.generator import sample_items, write_events

FULL_EVENTS = 10_000_000
QUICK_EVENTS = 500_000
SHOP = "bench"
GOAL_S = 1.0
COLUMNS = ["user_id", "session_id", "category", "event_type", "ts"]


def _fill_store(store: Store, parquet: Path) -> None:
    store.init_schema()
    with store.write() as con:
        con.execute(
            "INSERT INTO shops (shop_id, name, created_at) VALUES (?, ?, now()::TIMESTAMP)",
            [SHOP, SHOP],
        )
        con.execute(
            "INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, category, "
            "event_type, query, ts) SELECT (hash(user_id, session_id, item_id, event_type, ts) // 2)::BIGINT, ?, "
            "user_id, session_id, item_id, category, event_type, query, ts FROM read_parquet(?)",
            [SHOP, str(parquet)],
        )


# --- the same three results in pandas ---------------------------------------------------------

STAGE = {"search": 0, "view": 1, "fav": 1, "cart": 2, "purchase": 3}


def pandas_funnel(events: pd.DataFrame) -> pd.DataFrame:
    """Sessions reaching view / cart / purchase per category, and overall (as ``queries.funnel``)."""
    stage = events["event_type"].map(STAGE)
    frame = pd.DataFrame(
        {"category": events["category"].fillna("(none)"), "session_id": events["session_id"]}
    )
    per = frame.assign(stage=stage).groupby(["category", "session_id"], sort=False)["stage"].max()
    per = per.reset_index()
    by_cat = per.groupby("category").agg(
        viewed=("stage", lambda s: (s >= 1).sum()),
        carted=("stage", lambda s: (s >= 2).sum()),
        purchased=("stage", lambda s: (s >= 3).sum()),
    )
    overall = per.groupby("session_id")["stage"].max()
    by_cat.loc["All"] = [(overall >= k).sum() for k in (1, 2, 3)]
    return by_cat.sort_values("viewed", ascending=False)


def pandas_dau(events: pd.DataFrame) -> pd.DataFrame:
    """Per day: distinct users, sessions, events and buyers (as ``queries.daily_active_users``)."""
    day = events["ts"].dt.floor("D")
    frame = events[["user_id", "session_id"]].assign(day=day)
    out = frame.groupby("day").agg(
        users=("user_id", "nunique"), sessions=("session_id", "nunique"), events=("user_id", "size")
    )
    buyers = frame[events["event_type"] == "purchase"].groupby("day")["user_id"].nunique()
    return out.assign(buyers=buyers.reindex(out.index, fill_value=0))


def pandas_retention(events: pd.DataFrame, weeks: int = 8) -> pd.DataFrame:
    """Weekly cohorts by first active week, users active per later week (as ``cohort_retention``)."""
    week = events["ts"].dt.to_period("W-SUN").dt.start_time
    activity = pd.DataFrame({"user_id": events["user_id"], "week": week}).drop_duplicates()
    cohort = activity.groupby("user_id")["week"].transform("min")
    activity = activity.assign(cohort_week=cohort, n=(activity["week"] - cohort).dt.days // 7)
    table = activity[activity["n"] < weeks].groupby(["cohort_week", "n"]).size()
    table = table.rename("users").reset_index()
    size = table[table["n"] == 0].set_index("cohort_week")["users"]
    return table.assign(retention=table["users"] / table["cohort_week"].map(size))


def _check_same(duck: dict, panda: dict) -> dict:
    """Compare the two engines' answers on their headline numbers."""
    f_duck = duck["funnel"].set_index("category")
    f_pd = panda["funnel"]
    funnel_ok = bool(
        (f_duck.loc["All", ["viewed", "carted", "purchased"]].to_numpy()
         == f_pd.loc["All", ["viewed", "carted", "purchased"]].to_numpy()).all()
    )  # fmt: skip
    dau_ok = bool(
        (duck["dau"]["users"].to_numpy() == panda["dau"]["users"].to_numpy()).all()
        and (duck["dau"]["buyers"].to_numpy() == panda["dau"]["buyers"].to_numpy()).all()
    )
    retention_ok = bool(
        sorted(duck["retention"]["users"].tolist()) == sorted(panda["retention"]["users"].tolist())
    )
    return {"funnel": funnel_ok, "daily_active_users": dau_ok, "cohort_retention": retention_ok}


def main(quick: bool = False) -> dict:
    """Build the store, time both engines, print and return the figures."""
    n_events = QUICK_EVENTS if quick else FULL_EVENTS
    result: dict = {"n_events": n_events, "goal_seconds": GOAL_S}
    with tempfile.TemporaryDirectory(prefix="shoplens-bench-") as tmp:
        parquet = Path(tmp) / "events.parquet"
        with timer() as t:
            write_events(parquet, n_events, items=sample_items(), seed=2)
        result["generate_seconds"] = round(t.seconds, 2)
        store = Store(Path(tmp) / "bench.duckdb", threads=usable_cores())
        with timer() as t:
            _fill_store(store, parquet)
        result["bulk_load_seconds"] = round(t.seconds, 2)

        calls = {
            "funnel": lambda: queries.funnel(store, SHOP),
            "daily_active_users": lambda: queries.daily_active_users(store, SHOP),
            "cohort_retention": lambda: queries.cohort_retention(store, SHOP, weeks=8),
        }
        duck, duck_answers = {}, {}
        for name, call in calls.items():
            with timer() as cold:
                call()
            warm, answer = best_of(call, repeat=3)
            duck[name] = {"cold_s": round(cold.seconds, 3), "best_s": round(warm, 3)}
            duck_answers[name] = answer

        with timer() as t:
            events = pd.read_parquet(parquet, columns=COLUMNS)
        result["pandas_load_seconds"] = round(t.seconds, 2)
        pandas_calls = {
            "funnel": pandas_funnel,
            "daily_active_users": pandas_dau,
            "cohort_retention": pandas_retention,
        }
        panda, panda_answers = {}, {}
        for name, fn in pandas_calls.items():
            seconds, answer = best_of(lambda fn=fn: fn(events), repeat=1 if not quick else 3)
            panda[name] = round(seconds, 3)
            panda_answers[name] = answer

    result["same_answers"] = _check_same(
        {"funnel": duck_answers["funnel"], "dau": duck_answers["daily_active_users"],
         "retention": duck_answers["cohort_retention"]},
        {"funnel": panda_answers["funnel"], "dau": panda_answers["daily_active_users"],
         "retention": panda_answers["cohort_retention"]},
    )  # fmt: skip
    result["queries"] = {}
    for name in calls:
        ratio = panda[name] / max(duck[name]["best_s"], 1e-6)
        result["queries"][name] = {
            "duckdb_best_s": duck[name]["best_s"],
            "duckdb_cold_s": duck[name]["cold_s"],
            "pandas_s": panda[name],
            "pandas_over_duckdb": round(ratio, 1),
            "meets_goal": duck[name]["best_s"] <= GOAL_S,
        }
        result[f"{name}_s"] = duck[name]["best_s"]
        print(
            f"  {name:20s} duckdb {duck[name]['best_s']:6.3f}s (cold {duck[name]['cold_s']:.3f}s)"
            f"  pandas {panda[name]:7.3f}s  ratio {ratio:5.1f}x  "
            f"{'<= 1 s' if duck[name]['best_s'] <= GOAL_S else '> 1 s (goal missed)'}"
            f"  same answer: {result['same_answers'][name]}",
            flush=True,
        )
    return result
