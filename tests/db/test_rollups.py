"""The summary tables (db/rollups.py): kept exact by ingestion, used only when they cover the log,
and giving the dashboard the same answers as the raw events."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from db import behaviour_queries as bq
from db import dashboard_queries as dq
from db import rollups
from db.ingest import ingest_file
from db.store import Store
from synthetic.generator import write_events

pytestmark = pytest.mark.integration

SHOP = "acme"
START = datetime(2024, 3, 4)  # a Monday


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """A synthetic log of 20k events over three weeks, in user order (as many exports are)."""
    path = tmp_path_factory.mktemp("log") / "events.parquet"
    write_events(path, 20_000, seed=3, start=START, days=21, n_users=400)
    return pd.read_parquet(path)


def _split_ingest(store: Store, log: pd.DataFrame, tmp_path: Path) -> None:
    """The log in two files that overlap by four days (the overlap's rows are in both)."""
    day = log["ts"].dt.normalize()
    first = log[day < pd.Timestamp(2024, 3, 18)]
    second = log[day >= pd.Timestamp(2024, 3, 14)]
    for name, part in (("a.parquet", first), ("b.parquet", second)):
        part.to_parquet(tmp_path / name)
        ingest_file(store, tmp_path / name, "events", shop_id=SHOP)


def _expected_daily(events: pd.DataFrame) -> pd.DataFrame:
    """activity_daily computed with pandas from the raw rows (the oracle)."""
    e = events.assign(day=events["ts"].dt.date, bought=events["event_type"] == "purchase")
    out = []
    for total, keys in ((False, ["day", "category"]), (True, ["day"])):
        g = e.groupby(keys, dropna=False)
        frame = pd.DataFrame({
            "events": g.size(), "sessions": g["session_id"].nunique(),
            "shoppers": g["user_id"].nunique(),
            "buyers": e[e["bought"]].groupby(keys, dropna=False)["user_id"].nunique(),
            "views": g["event_type"].apply(lambda s: (s == "view").sum()),
            "carts": g["event_type"].apply(lambda s: (s == "cart").sum()),
            "purchases": g["bought"].sum(),
        }).fillna({"buyers": 0}).reset_index()  # fmt: skip
        if total:
            frame["category"] = None
        frame["total"] = total
        out.append(frame)
    columns = ["day", "category", "total", "events", "sessions", "shoppers", "buyers", "views",
               "carts", "purchases"]  # fmt: skip
    both = pd.concat(out, ignore_index=True)[columns]
    both[columns[3:]] = both[columns[3:]].astype("int64")
    both["category"] = both["category"].astype(object).where(both["category"].notna(), None)
    return both.sort_values(["total", "day", "category"], na_position="first", ignore_index=True)


def _stored_daily(store: Store) -> pd.DataFrame:
    df = store.query_df(
        "SELECT day, category, total, events, sessions, shoppers, buyers, views, carts, purchases "
        "FROM activity_daily WHERE shop_id = ? ORDER BY total, day, category NULLS FIRST",
        [SHOP],
    )
    df["day"] = pd.to_datetime(df["day"]).dt.date
    df["category"] = df["category"].astype(object).where(df["category"].notna(), None)
    return df.astype({c: "int64" for c in df.columns[3:]})


def test_ingest_keeps_the_summaries_exact_across_overlapping_files(
    store: Store, log: pd.DataFrame, tmp_path: Path
) -> None:
    _split_ingest(store, log, tmp_path)
    events = store.query_df("SELECT * FROM events WHERE shop_id = ?", [SHOP])
    assert len(events) == len(log.drop_duplicates())
    with store.read() as con:
        assert rollups.covers_events(con, SHOP)
    pd.testing.assert_frame_equal(_stored_daily(store), _expected_daily(events), check_dtype=False)
    weeks = store.query_df(
        "SELECT user_id, week, first_ts, events FROM user_weeks WHERE shop_id = ? "
        "ORDER BY user_id, week",
        [SHOP],
    )
    e = events.assign(week=events["ts"].dt.to_period("W-SUN").dt.start_time)
    expected = (
        e.groupby(["user_id", "week"])
        .agg(first_ts=("ts", "min"), events=("ts", "size"))
        .reset_index()
    )
    assert len(weeks) == len(expected)
    assert (pd.to_datetime(weeks["week"]) == expected["week"]).all()
    assert (weeks["first_ts"] == expected["first_ts"]).all()
    assert (weeks["events"] == expected["events"]).all()
    # a full rebuild gives the same rows as the two incremental refreshes
    before = _stored_daily(store)
    with store.write() as con:
        rollups.rebuild(con, SHOP)
    pd.testing.assert_frame_equal(_stored_daily(store), before)


def test_events_are_stored_in_time_order(store: Store, log: pd.DataFrame, tmp_path: Path) -> None:
    assert not log["ts"].is_monotonic_increasing  # the file is in user order
    log.to_parquet(tmp_path / "e.parquet")
    ingest_file(store, tmp_path / "e.parquet", "events", shop_id=SHOP)
    stored = store.query_df("SELECT ts FROM events ORDER BY rowid")
    assert stored["ts"].is_monotonic_increasing


def _answers(store: Store) -> dict[str, object]:
    """Every dashboard answer the summaries can stand in for."""
    lo, hi = date(2024, 3, 14), date(2024, 3, 20)
    out: dict[str, object] = {
        "span": dq.data_span(store, SHOP),
        "cohorts": dq.cohort_weeks(store, SHOP),
        "traffic": dq.daily_traffic(store, SHOP, date(2024, 3, 1), date(2024, 3, 30)),
        "traffic_category": dq.daily_traffic(store, SHOP, lo, hi, category="Dresses"),
    }
    for segment in ("new", "returning"):
        out[f"kpis_{segment}"] = dq.period_kpis(store, SHOP, lo, hi, segment=segment)
    out["recommended_users"] = bq.recommended_users(store, SHOP, "v1", limit=50)
    return out


def _assert_same(a: dict[str, object], b: dict[str, object]) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, b[key], check_dtype=False, obj=key)
        else:
            assert value == b[key], key


def test_queries_answer_the_same_with_and_without_summaries(
    store: Store, log: pd.DataFrame, tmp_path: Path
) -> None:
    _split_ingest(store, log, tmp_path)
    with store.write() as con:  # a one-item list for every shopper
        con.execute("INSERT INTO recommendations (shop_id, model_version, user_id, rank, item_id, "
                    "score, created_at) SELECT DISTINCT shop_id, 'v1', user_id, 1, 'i', 1.0, "
                    "now()::TIMESTAMP FROM events")  # fmt: skip
    assert dq.summaries_cover(store, SHOP)
    with_summaries = _answers(store)
    most = store.query_df(
        "SELECT user_id FROM events GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 50"
    )
    assert with_summaries["recommended_users"] == most["user_id"].tolist()
    assert with_summaries["traffic"]["sessions"].sum() > 0
    assert with_summaries["traffic_category"]["sessions"].sum() > 0
    assert len(with_summaries["cohorts"]) > 3
    assert 0 < with_summaries["kpis_new"]["sessions"] < with_summaries["kpis_returning"]["sessions"]
    with store.write() as con:
        con.execute("DELETE FROM activity_daily")
        con.execute("DELETE FROM user_weeks")
    assert not dq.summaries_cover(store, SHOP)
    _assert_same(with_summaries, _answers(store))


def test_a_row_added_by_hand_makes_readers_fall_back_to_the_log(
    store: Store, log: pd.DataFrame, tmp_path: Path
) -> None:
    _split_ingest(store, log, tmp_path)
    day = date(2024, 3, 20)
    before = dq.daily_traffic(store, SHOP, day, day)["sessions"].iloc[0]
    with store.write() as con:
        con.execute(
            "INSERT INTO events (event_key, shop_id, user_id, session_id, event_type, ts) "
            "VALUES (1, ?, 'hand', 'hand-s', 'view', ?)",
            [SHOP, datetime(2024, 3, 20, 9)],
        )
    assert not dq.summaries_cover(store, SHOP)
    assert dq.daily_traffic(store, SHOP, day, day)["sessions"].iloc[0] == before + 1
    with store.write() as con:
        rollups.rebuild(con, SHOP)
    assert dq.summaries_cover(store, SHOP)
    assert dq.daily_traffic(store, SHOP, day, day)["sessions"].iloc[0] == before + 1


def test_a_store_from_before_the_summaries_gets_them_on_schema_init(
    store: Store, log: pd.DataFrame, tmp_path: Path
) -> None:
    _split_ingest(store, log, tmp_path)
    expected = _stored_daily(store)
    cohorts = dq.cohort_weeks(store, SHOP)
    with store.write() as con:
        con.execute("DROP TABLE activity_daily")
        con.execute("DROP TABLE user_weeks")
    # the dashboard opens such a store read-only: its queries read the events instead
    assert not dq.summaries_cover(store, SHOP)
    pd.testing.assert_frame_equal(dq.cohort_weeks(store, SHOP), cohorts, check_dtype=False)
    assert dq.daily_traffic(store, SHOP, date(2024, 3, 4), date(2024, 3, 24))["sessions"].sum() > 0
    store.init_schema()
    assert dq.summaries_cover(store, SHOP)
    pd.testing.assert_frame_equal(_stored_daily(store), expected)


def test_rebuild_of_every_shop_drops_rows_of_shops_without_events(store: Store) -> None:
    with store.write() as con:
        con.execute(
            "INSERT INTO activity_daily VALUES ('gone', DATE '2024-01-01', NULL, TRUE, 1, 1, 1, "
            "0, 1, 0, 0)"
        )
        rollups.rebuild(con)
        assert con.execute("SELECT count(*) FROM activity_daily").fetchone()[0] == 0
