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


def _bot_session(start: datetime) -> pd.DataFrame:
    """40 views in 39 seconds by one session, from ``start`` (across midnight when it is 23:59:40):
    risky only when both days' events are counted together."""
    ts = pd.date_range(start, periods=40, freq="s")
    return pd.DataFrame({
        "user_id": "bot", "session_id": "bot-1", "item_id": [str(900 + i % 7) for i in range(40)],
        "category": ["Dresses", "Knits"] * 20, "event_type": "view", "query": None, "ts": ts,
    })  # fmt: skip


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """A synthetic log of 20k events over three weeks, in user order (as many exports are), and a
    bot's session across midnight."""
    path = tmp_path_factory.mktemp("log") / "events.parquet"
    write_events(path, 20_000, seed=3, start=START, days=21, n_users=400)
    bot = _bot_session(datetime(2024, 3, 15, 23, 59, 40))
    return pd.concat([pd.read_parquet(path), bot], ignore_index=True)


def _split_ingest(store: Store, log: pd.DataFrame, tmp_path: Path) -> None:
    """The log in two files that overlap by four days (the
    overlap's rows are in both)."""
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


def _expected_session_days(events: pd.DataFrame) -> pd.DataFrame:
    """session_days computed with pandas from the raw rows (the oracle)."""
    e = events.assign(
        day=events["ts"].dt.date,
        view=events["event_type"] == "view", cart=events["event_type"] == "cart",
        purchase=events["event_type"] == "purchase",
    )  # fmt: skip
    out = []
    for total in (False, True):
        keys = ["day", "session_id", "user_id"] + ([] if total else ["category"])
        g = e.groupby(keys, dropna=False)
        frame = g.agg(events=("ts", "size"), views=("view", "sum"), carts=("cart", "sum"),
                      purchases=("purchase", "sum"), first_ts=("ts", "min"),
                      last_ts=("ts", "max")).reset_index()  # fmt: skip
        if total:
            frame["category"] = None
        frame["total"] = total
        out.append(frame)
    frame = pd.concat(out, ignore_index=True)
    totals = frame[frame["total"]].groupby("session_id").size()
    frame["split"] = frame["session_id"].map(totals > 1)
    return _session_days_frame(frame)


def _session_days_frame(df: pd.DataFrame) -> pd.DataFrame:
    columns = ["day", "session_id", "user_id", "category", "total", "split", "events", "views",
               "carts", "purchases", "first_ts", "last_ts"]  # fmt: skip
    df = df[columns].copy()
    df["day"] = pd.to_datetime(df["day"]).dt.date
    df["category"] = df["category"].astype(object).where(df["category"].notna(), None)
    df["split"] = df["split"].astype(bool)
    df[columns[6:10]] = df[columns[6:10]].astype("int64")
    df[columns[10:]] = df[columns[10:]].astype("datetime64[us]")
    return df.sort_values(["total", "day", "session_id", "category"], na_position="first",
                          ignore_index=True)  # fmt: skip


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
    firsts = store.query_df(
        "SELECT user_id, first_ts, events FROM user_firsts WHERE shop_id = ? ORDER BY user_id",
        [SHOP],
    )
    expected = (
        events.groupby("user_id").agg(first_ts=("ts", "min"), events=("ts", "size")).reset_index()
    )
    pd.testing.assert_frame_equal(firsts, expected, check_dtype=False)
    sessions = store.query_df("SELECT * FROM session_days WHERE shop_id = ?", [SHOP])
    pd.testing.assert_frame_equal(
        _session_days_frame(sessions), _expected_session_days(events), check_dtype=False
    )
    bot = sessions.query("session_id == 'bot-1' and total")
    assert bot["day"].astype(str).tolist() == ["2024-03-15", "2024-03-16"]
    assert bot["split"].all()  # marked although the files brought its two days apart
    assert 0 < sessions["split"].mean() < 0.2
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
    for segment in ("all", "new", "returning", "buyers", "cart_abandoners"):
        out[f"kpis_{segment}"] = dq.period_kpis(store, SHOP, lo, hi, segment=segment)
        out[f"kpis_{segment}_dresses"] = dq.period_kpis(
            store, SHOP, lo, hi, category="Dresses", segment=segment
        )
        out[f"promotions_{segment}"] = bq.segment_promotions(store, SHOP, lo, hi, segment, "v1")
        out[f"promotions_{segment}_dresses"] = bq.segment_promotions(
            store, SHOP, lo, hi, segment, "v1", category="Dresses"
        )
        out[f"top_items_{segment}"] = dq.top_items_period(store, SHOP, lo, hi, segment=segment)
        out[f"traffic_{segment}_dresses"] = dq.daily_traffic(
            store, SHOP, lo, hi, category="Dresses", segment=segment
        )
        for by in ("category", "total"):
            out[f"funnel_{by}_{segment}"] = dq.funnel_by(
                store, SHOP, lo, hi, by=by, segment=segment
            )
            out[f"funnel_{by}_{segment}_dresses"] = dq.funnel_by(
                store, SHOP, lo, hi, by=by, category="Dresses", segment=segment
            )
    out["risky"] = dq.risky_sessions(store, SHOP, lo, hi)
    out["signals"] = dq.user_signals(
        store, SHOP, lo, hi, purchase_task="p", purchase_label="yes", churn_task="c",
        churn_label="yes", risk_task="r", risk_label="yes", recommend_task="rec",
        sentiment_task="s", negative_label="neg", intent_task="i", demand_task="d",
        need_labels=("need",),
    )  # fmt: skip
    out["shopper_table"] = dq.shopper_table(
        store, SHOP, purchase_task="p", purchase_label="yes", churn_task="c", churn_label="yes",
        risk_task="r", risk_label="yes", recommend_task="rec",
    )  # fmt: skip
    out["catalogue"] = bq.catalogue_texts(store, SHOP)
    out["shops"] = dq.shops(store)
    out["categories"] = dq.categories(store, SHOP)
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
    kpis, dresses = with_summaries["kpis_all"], with_summaries["kpis_all_dresses"]
    assert 0 < dresses["sessions"] < kpis["sessions"] and kpis["orders"] > 0
    funnel = with_summaries["funnel_category_all"]
    assert isinstance(funnel, pd.DataFrame) and "Dresses" in set(funnel["group"])
    risky = with_summaries["risky"]  # the bot's session, counted across midnight
    assert isinstance(risky, pd.DataFrame)
    assert risky.set_index("session_id").loc["bot-1", "events"] == 40
    promoted = with_summaries["promotions_buyers"]
    assert isinstance(promoted, pd.DataFrame) and promoted["shoppers"].iloc[0] > 0
    top = with_summaries["top_items_cart_abandoners"]
    assert isinstance(top, pd.DataFrame) and top["purchases"].sum() == 0 < top["carts"].sum()
    table = with_summaries["shopper_table"]
    assert isinstance(table, pd.DataFrame)
    assert table.set_index("user_id").loc["bot", ["sessions", "events"]].tolist() == [1, 40]
    assert table["sessions"].sum() == log["session_id"].nunique()
    assert "Dresses" in with_summaries["catalogue"]  # type: ignore[operator]
    assert with_summaries["shops"] == [SHOP] and "Dresses" in with_summaries["categories"]
    with store.write() as con:
        for table in rollups.ROLLUP_TABLES:
            con.execute(f"DELETE FROM {table}")
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
        con.execute("DROP TABLE user_firsts")  # a store from before the per-shopper summary
        assert not rollups.covers_events(con, SHOP)
        con.execute("DROP TABLE session_days")  # a store from before the session summary
        con.execute("DROP TABLE activity_daily")
        con.execute("DROP TABLE user_weeks")
    # the dashboard opens such a store read-only: its queries read the events instead
    assert not dq.summaries_cover(store, SHOP)
    pd.testing.assert_frame_equal(dq.cohort_weeks(store, SHOP), cohorts, check_dtype=False)
    assert dq.daily_traffic(store, SHOP, date(2024, 3, 4), date(2024, 3, 24))["sessions"].sum() > 0
    store.init_schema()
    assert dq.summaries_cover(store, SHOP)
    pd.testing.assert_frame_equal(_stored_daily(store), expected)
    assert store.query_df("SELECT count(*) AS n FROM session_days")["n"].iloc[0] > 0
    assert store.query_df("SELECT count(*) AS n FROM user_firsts")["n"].iloc[0] == len(
        store.query_df("SELECT DISTINCT user_id FROM events WHERE shop_id = ?", [SHOP])
    )


def test_a_store_without_the_newer_summaries_gets_them_without_a_rebuild(
    store: Store, log: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _split_ingest(store, log, tmp_path)
    firsts = "SELECT * FROM user_firsts ORDER BY shop_id, user_id"
    purchases = "SELECT * FROM purchase_events ORDER BY shop_id, ts, user_id, item_id"
    expected, bought = store.query_df(firsts), store.query_df(purchases)
    assert len(bought) == (log["event_type"] == "purchase").sum() > 0
    with store.write() as con:  # every other item priced: revenue reads the purchases
        con.execute("INSERT INTO items (shop_id, item_id, price) SELECT DISTINCT shop_id, "
                    "item_id, 10 + length(item_id) FROM events WHERE hash(item_id) % 2 = 0 "
                    "ON CONFLICT DO UPDATE SET price = excluded.price")  # fmt: skip
    lo, hi = date(2024, 3, 14), date(2024, 3, 20)
    kpis = dq.period_kpis(store, SHOP, lo, hi, segment="buyers")
    assert kpis["revenue"] and 0 < kpis["aov"] < 100
    with store.write() as con:
        con.execute("DROP TABLE user_firsts")
        con.execute("DROP TABLE purchase_events")
    assert not dq.summaries_cover(store, SHOP)
    assert dq.period_kpis(store, SHOP, lo, hi, segment="buyers") == pytest.approx(kpis)
    monkeypatch.setattr(rollups, "rebuild", lambda *a, **k: pytest.fail("rebuilt everything"))
    store.init_schema()
    assert dq.summaries_cover(store, SHOP)
    pd.testing.assert_frame_equal(store.query_df(firsts), expected)
    pd.testing.assert_frame_equal(store.query_df(purchases), bought)


def test_summaries_missing_a_purchase_are_not_trusted(
    store: Store, log: pd.DataFrame, tmp_path: Path
) -> None:
    _split_ingest(store, log, tmp_path)
    with store.write() as con:
        con.execute("DELETE FROM purchase_events WHERE rowid = 0")
        assert not rollups.covers_events(con, SHOP)
        rollups.rebuild(con, SHOP)
        assert rollups.covers_events(con, SHOP)


def test_rebuild_of_every_shop_drops_rows_of_shops_without_events(store: Store) -> None:
    with store.write() as con:
        con.execute(
            "INSERT INTO activity_daily VALUES ('gone', DATE '2024-01-01', NULL, TRUE, 1, 1, 1, "
            "0, 1, 0, 0)"
        )
        rollups.rebuild(con)
        assert con.execute("SELECT count(*) FROM activity_daily").fetchone()[0] == 0


def test_a_session_continued_by_a_later_file_is_marked_split_on_both_days(
    store: Store, tmp_path: Path
) -> None:
    bot = _bot_session(datetime(2024, 3, 15, 23, 59, 40))
    day = bot["ts"].dt.day
    for name, part in (("a.parquet", bot[day == 15]), ("b.parquet", bot[day == 16])):
        part.to_parquet(tmp_path / name)
        ingest_file(store, tmp_path / name, "events", shop_id=SHOP)
    rows = store.query_df("SELECT day, split FROM session_days WHERE total ORDER BY day")
    assert rows["day"].astype(str).tolist() == ["2024-03-15", "2024-03-16"]
    assert rows["split"].all()
    kpis = dq.period_kpis(store, SHOP, date(2024, 3, 15), date(2024, 3, 16))
    assert kpis["sessions"] == 1
    assert dq.risky_sessions(store, SHOP, date(2024, 3, 15), date(2024, 3, 16))[
        "events"
    ].tolist() == [40]
