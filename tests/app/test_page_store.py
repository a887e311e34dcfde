"""The app's PageStore: one read connection per page run, and facts about the data learnt once
per run (a 100M-event page asked whether the summaries cover the shop up to eight times; who is
in a shopper segment, 0.2-0.4 s there, was worked out by each of four or five queries)."""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from app.ui.context import PageStore
from db import behaviour_queries as bq
from db import dashboard_queries as dq
from db import rollups
from db.ingest import ingest_file
from db.store import Store
from synthetic.generator import write_events

pytestmark = pytest.mark.integration


def test_a_fact_is_computed_once_per_page_run_and_again_after_a_write(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = PageStore(store.db_path)
    checks: list[str] = []
    real = rollups.covers_events

    def counted(con: object, shop_id: str) -> bool:
        checks.append(shop_id)
        return real(con, shop_id)  # type: ignore[arg-type]

    monkeypatch.setattr(rollups, "covers_events", counted)
    with page.page_run():
        assert dq.summaries_cover(page, "a") and dq.summaries_cover(page, "a")
        dq.summaries_cover(page, "b")
        assert checks == ["a", "b"]
        with page.write() as con:  # a write ends what the run knew
            con.execute("SELECT 1")
        dq.summaries_cover(page, "a")
        assert checks == ["a", "b", "a"]
    dq.summaries_cover(page, "a")  # outside a run: every time
    dq.summaries_cover(page, "a")
    assert checks == ["a", "b", "a", "a", "a"]


SEGMENTED = ("new", "buyers", "cart_abandoners")


def _segment_answers(store: Store, lo: date, hi: date) -> dict[str, object]:
    """Every query that narrows a period to a shopper segment, for three segments, with and
    without a category."""
    out: dict[str, object] = {}
    for segment in SEGMENTED:
        for category in (None, "Dresses"):
            key = f"{segment}/{category}"
            out[f"kpis {key}"] = dq.period_kpis(store, "acme", lo, hi, category, segment)
            out[f"traffic {key}"] = dq.daily_traffic(store, "acme", lo, hi, category, segment)
            for by in ("category", "total"):
                out[f"funnel {by} {key}"] = dq.funnel_by(
                    store, "acme", lo, hi, by=by, category=category, segment=segment
                )
            out[f"top {key}"] = dq.top_items_period(store, "acme", lo, hi, category, segment)
            out[f"promotions {key}"] = bq.segment_promotions(
                store, "acme", lo, hi, segment, "v1", category=category
            )
    return out


def _shop_with_lists(store: Store, tmp_path: Path) -> None:
    """Two weeks of shop "acme" (6,000 synthetic events, 150 shoppers) and a one-item list
    for every shopper who viewed something (model version "v1")."""
    path = tmp_path / "events.parquet"
    write_events(path, 6_000, seed=5, start=datetime(2024, 3, 4), days=14, n_users=150)
    ingest_file(store, path, "events", shop_id="acme")
    with store.write() as con:
        con.execute("INSERT INTO recommendations (shop_id, model_version, user_id, rank, item_id, "
                    "score, created_at) SELECT shop_id, 'v1', user_id, 1, min(item_id), 1.0, "
                    "now()::TIMESTAMP FROM events WHERE event_type = 'view' GROUP BY 1, 3")  # fmt: skip


@pytest.mark.parametrize("summaries", [True, False], ids=["summaries", "events"])
def test_a_segment_is_worked_out_once_per_page_run_with_the_same_answers(
    store: Store, tmp_path: Path, summaries: bool
) -> None:
    _shop_with_lists(store, tmp_path)
    if not summaries:
        with store.write() as con:
            for table in rollups.ROLLUP_TABLES:
                con.execute(f"DELETE FROM {table}")
    assert dq.summaries_cover(store, "acme") is summaries
    lo, hi = date(2024, 3, 11), date(2024, 3, 17)
    each_query_alone = _segment_answers(store, lo, hi)
    page = PageStore(store.db_path)
    with page.page_run():
        in_a_run = _segment_answers(page, lo, hi)
        with page.read() as con:
            kept = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()
    assert kept == (len(SEGMENTED) * 2,)  # one table per segment and category, for all queries
    assert each_query_alone.keys() == in_a_run.keys()
    for key, alone in each_query_alone.items():
        if isinstance(alone, pd.DataFrame):
            pd.testing.assert_frame_equal(alone, in_a_run[key], obj=key)
        else:
            assert alone == pytest.approx(in_a_run[key]), key
    new, buyers = in_a_run["kpis new/None"], in_a_run["kpis buyers/None"]
    assert isinstance(new, dict) and isinstance(buyers, dict)
    assert 0 < new["shoppers"] < buyers["shoppers"] == buyers["buyers"]
    with page.page_run(), page.read() as con:  # the tables went with the run's connection
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (
            0,
        )


def test_one_sessions_page_run_ending_leaves_another_sessions_run_open(
    store: Store, tmp_path: Path
) -> None:
    _shop_with_lists(store, tmp_path)
    page = PageStore(store.db_path)  # one per app process, shared by every browser session
    lo, hi = date(2024, 3, 11), date(2024, 3, 17)
    alone = dq.daily_traffic(store, "acme", lo, hi, segment="new")
    kept, other_ended = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def first_session() -> None:
        with page.page_run():
            dq.daily_traffic(page, "acme", lo, hi, segment="new")  # keeps who is new
            kept.set()
            other_ended.wait(30)
            with page.read() as con:
                seen["temporary tables"] = con.execute(
                    "SELECT count(*) FROM duckdb_tables() WHERE temporary"
                ).fetchone()
            seen["first"] = dq.daily_traffic(page, "acme", lo, hi, segment="new")

    def second_session() -> None:
        kept.wait(30)
        with page.page_run():
            seen["second"] = dq.daily_traffic(page, "acme", lo, hi, segment="new")
        other_ended.set()

    threads = [threading.Thread(target=first_session), threading.Thread(target=second_session)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert seen["temporary tables"] == (1,)  # the first run's connection, still open
    pd.testing.assert_frame_equal(seen["first"], alone)
    pd.testing.assert_frame_equal(seen["second"], alone)
