"""Faults, a few trials each (the soaks are bench/bench_fault_kill.py and
bench/bench_fault_concurrency.py): kill -9 during ingest leaves no partial batch and a rerun
loads every row once; the dashboard's queries keep answering while another process writes."""

from __future__ import annotations

import pytest

from tests.trust.fault_harness import run_cli, run_trials
from tests.trust.fault_scenarios import KILL_SHOP, ingest_scenario, write_events_file
from tests.trust.responsiveness import measure_while_jobs_run

pytestmark = pytest.mark.integration


def test_kill_during_ingest_keeps_the_store_consistent(tmp_path):
    result = run_trials(ingest_scenario(tmp_path / "inputs", n_rows=20_000), tmp_path, 3, seed=1)
    assert result["failures"] == [], result["failures"]
    assert result["ok"] == 3


def test_a_check_that_can_fail(tmp_path):
    """The consistency check is not vacuous: a store holding half a file is reported."""
    scenario = ingest_scenario(tmp_path / "inputs", n_rows=1_000)
    home = tmp_path / "home"
    home.mkdir()
    scenario.prepare(home)
    half = tmp_path / "half.parquet"
    write_events_file(half, 500, seed=1)  # the first 500 of the same generator's events
    assert (
        run_cli(home, ["ingest", str(half), "--kind", "events", "--shop", KILL_SHOP]).returncode
        == 0
    )
    assert "partial batch" in scenario.check_after_kill(home)


def test_dashboard_answers_while_another_process_ingests(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    base = write_events_file(tmp_path / "base.parquet", 5_000, seed=3)
    assert (
        run_cli(home, ["ingest", str(base), "--kind", "events", "--shop", "demo"]).returncode == 0
    )
    big = write_events_file(tmp_path / "big.parquet", 100_000, seed=4)
    result = measure_while_jobs_run(
        home, [["ingest", str(big), "--kind", "events", "--shop", "other"]], "demo", max_s=300
    )
    assert result["job_results"][0]["returncode"] == 0, result
    assert result["errors"] == [], result["errors"]
    assert result["rounds"] >= 3
