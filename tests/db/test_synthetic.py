"""The synthetic event generator: determinism, schema, calibration fidelity, session rules."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.errors import InputError
from synthetic.generator import (
    EVENT_SCHEMA,
    EVENT_TYPES,
    SESSION_GAP_S,
    Calibration,
    calibrate_from_taobao,
    generate_events,
    load_calibration,
    main,
    plan_users,
    sample_items,
    write_events,
)

START = datetime(2026, 9, 7)


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    categories = ["Dresses", "Knits", "Blouses", "Jeans", "Swim"]
    n = 200
    return pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n)],
            "category": [categories[i % 5] for i in range(n)],
            "popularity": 500.0 / np.arange(1, n + 1),
        }
    )


@pytest.fixture(scope="module")
def cal() -> Calibration:
    return load_calibration()


@pytest.fixture(scope="module")
def log(items, cal) -> pd.DataFrame:
    tables = generate_events(200_000, items, seed=3, start=START, days=28, calibration=cal)
    return pa.concat_tables(list(tables)).to_pandas()


@pytest.mark.unit
def test_same_seed_same_events_other_seed_differs(items):
    first = pa.concat_tables(list(generate_events(20_000, items, seed=11)))
    again = pa.concat_tables(list(generate_events(20_000, items, seed=11)))
    other = pa.concat_tables(list(generate_events(20_000, items, seed=12)))
    assert first.equals(again)
    assert not first.equals(other)


@pytest.mark.unit
def test_exact_count_schema_and_valid_values(log, items):
    assert len(log) == 200_000
    table = next(generate_events(1_000, items, seed=1))
    assert table.schema == EVENT_SCHEMA
    assert set(log["event_type"].unique()) == set(EVENT_TYPES)
    search = log["event_type"] == "search"
    assert log.loc[search, "query"].notna().all() and log.loc[search, "item_id"].isna().all()
    assert log.loc[~search, "query"].isna().all() and log.loc[~search, "item_id"].notna().all()
    assert log.loc[~search, "item_id"].isin(items["item_id"]).all()
    # an item's category is the catalogue's
    catalogue = dict(zip(items["item_id"], items["category"], strict=True))
    assert (log.loc[~search, "item_id"].map(catalogue) == log.loc[~search, "category"]).all()
    assert log["ts"].min() >= pd.Timestamp(START)
    assert log["ts"].max() < pd.Timestamp(START + timedelta(days=28))


@pytest.mark.unit
def test_behaviour_mix_and_buyers_match_calibration(log, cal):
    shares = log["event_type"].value_counts(normalize=True)
    assert shares["search"] == pytest.approx(cal.search_share, abs=0.005)
    for behaviour, share in cal.behaviour_mix.items():
        assert shares[behaviour] / (1 - shares["search"]) == pytest.approx(share, rel=0.08)
    buyers = log.loc[log["event_type"] == "purchase", "user_id"].nunique()
    assert buyers / log["user_id"].nunique() == pytest.approx(cal.buyer_share, abs=0.04)


@pytest.mark.unit
def test_per_user_activity_follows_taobao_shape(cal):
    plan = plan_users(500_000, 56, seed=5, calibration=cal)
    assert plan.budget.sum() == 500_000 and plan.budget.min() >= 1
    days = plan.active_to - plan.active_from
    rate = plan.budget[days >= 7] / days[days >= 7]
    taobao = cal.events_per_user["median"] / cal.events_per_user["mean"]
    assert np.median(rate) / rate.mean() == pytest.approx(taobao, abs=0.05)
    # the default user count gives Taobao's mean rate over a user's active days
    per_nine_days = plan.budget.sum() / days.sum() * cal.period_days
    assert per_nine_days == pytest.approx(cal.events_per_user["mean"], rel=0.15)


@pytest.mark.unit
def test_sessions_follow_the_30_minute_rule_and_taobao_sizes(log, cal):
    log = log.sort_values(["user_id", "ts"], kind="stable")
    gap = log.groupby("user_id")["ts"].diff().dt.total_seconds()
    same_session = log["session_id"].eq(log["session_id"].shift())
    assert (gap[same_session] <= SESSION_GAP_S).all()
    assert (gap[same_session] >= 1).all()  # no two identical events
    assert (gap[~same_session].dropna() > SESSION_GAP_S).all()
    # a session belongs to one user, and sessions are contiguous in time per user
    assert log.groupby("session_id")["user_id"].nunique().max() == 1
    sizes = log.groupby("session_id").size()
    assert sizes.mean() == pytest.approx(cal.session_size_mean, rel=0.12)
    assert sizes.median() == pytest.approx(3, abs=1)


@pytest.mark.unit
def test_daily_pattern_follows_hours_and_weekends(log, cal):
    hours = log["ts"].dt.hour.value_counts(normalize=True).sort_index()
    # evenings busy, small hours quiet, as in the calibration
    assert hours.loc[19:22].sum() > 2.5 * hours.loc[2:5].sum()
    weekday = log["ts"].dt.day_of_week < 5
    per_day = log.groupby(weekday)["ts"].size() / np.array([8, 20])  # 28 days from a Monday
    assert per_day[False] > per_day[True]  # weekends busier, as Taobao's


@pytest.mark.unit
def test_chunked_generation_keeps_ids_unique(items, cal):
    tables = list(generate_events(30_000, items, seed=2, calibration=cal, chunk_events=7_000))
    assert len(tables) >= 4
    log = pa.concat_tables(tables).to_pandas()
    assert len(log) == 30_000
    assert log.groupby("session_id")["user_id"].nunique().max() == 1
    firsts = [t.column("user_id")[0].as_py() for t in tables]
    assert len(set(firsts)) == len(firsts)


@pytest.mark.unit
def test_write_parquet_and_csv_round_trip(tmp_path, items):
    parquet, csv = tmp_path / "e.parquet", tmp_path / "e.csv"
    assert write_events(parquet, 5_000, items=items, seed=4) == 5_000
    assert write_events(csv, 5_000, items=items, seed=4) == 5_000
    from_parquet = pq.read_table(parquet).to_pandas()
    from_csv = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert list(from_csv.columns) == EVENT_SCHEMA.names
    assert (from_csv["user_id"] == from_parquet["user_id"]).all()
    assert from_csv["ts"][0].count(":") == 2 and "." not in from_csv["ts"][0]  # whole seconds
    assert (pd.to_datetime(from_csv["ts"]) == from_parquet["ts"]).all()
    with pytest.raises(InputError, match="parquet or .csv"):
        write_events(tmp_path / "e.txt", 10, items=items)


@pytest.mark.unit
def test_bad_arguments_are_input_errors(items):
    with pytest.raises(InputError):
        next(generate_events(0, items))
    with pytest.raises(InputError, match="item_id and category"):
        next(generate_events(10, pd.DataFrame({"item_id": ["a"]})))


@pytest.mark.unit
def test_command_line_writes_a_file(tmp_path, capsys):
    out = tmp_path / "events.parquet"
    assert main(["--events", "2000", "--out", str(out), "--seed", "1"]) == 0
    assert pq.read_metadata(out).num_rows == 2000
    assert "2,000 synthetic events" in capsys.readouterr().out


@pytest.mark.unit
def test_sample_items_carry_review_popularity():
    items = sample_items()
    assert {"item_id", "category", "price", "popularity"} <= set(items.columns)
    assert items["popularity"].min() >= 1 and items["popularity"].max() > 100


@pytest.mark.unit
def test_stored_calibration_matches_the_taobao_slice(shared_data, cal):
    path = shared_data / "taobao_user_behavior_sample" / "events.csv"
    if not path.is_file():
        pytest.skip("Taobao slice not present")
    measured = calibrate_from_taobao(path)
    assert measured == cal
    assert measured.rows == 84_287 and measured.users == 814
    assert measured.behaviour_mix["view"] == pytest.approx(0.898, abs=0.001)
    assert measured.buyer_share == pytest.approx(0.686, abs=0.001)
    assert measured.events_per_user == {"min": 4, "median": 78.0, "mean": 103.547, "max": 539}


@pytest.mark.integration
def test_sample_shop_rebuilds_identically(shared_data, tmp_path):
    """scripts/build_sample_data.py remakes the committed data/sample/ files, row for row."""
    import importlib.util

    from common.settings import DATA_DIR, REPO_ROOT

    spec = importlib.util.spec_from_file_location(
        "build_sample_data", REPO_ROOT / "scripts" / "build_sample_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--shared", str(shared_data), "--out", str(tmp_path)]) == 0
    for name in ("items", "events_synthetic", "reviews", "messages", "sessions"):
        rebuilt = pd.read_parquet(tmp_path / f"{name}.parquet")
        committed = pd.read_parquet(DATA_DIR / "sample" / f"{name}.parquet")
        pd.testing.assert_frame_equal(rebuilt, committed, check_dtype=False)
