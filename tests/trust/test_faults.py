"""Faults, a few trials each (the soaks are bench/bench_fault_kill.py and
bench/bench_fault_concurrency.py): kill -9 during ingest leaves no partial batch and a rerun
loads every row once; kill -9 during training or scoring leaves the active model loading and
scoring, no half-written prediction, and a rerun finishes; the dashboard's queries keep answering
while another process writes. (kill -9 during label sync: tests/labeling/test_loop_integration.py,
which has the real Label Studio.)"""

from __future__ import annotations

import pytest

from tests.trust.fault_harness import run_cli, run_trials
from tests.trust.fault_scenarios import (
    KILL_SHOP,
    MINI_SHOP,
    MINI_TRAIN_ARGS,
    build_trained_home,
    ingest_scenario,
    score_scenario,
    train_scenario,
    write_events_file,
)
from tests.trust.responsiveness import measure_while_jobs_run

pytestmark = pytest.mark.integration


def test_kill_during_ingest_keeps_the_store_consistent(tmp_path):
    result = run_trials(ingest_scenario(tmp_path / "inputs", n_rows=20_000), tmp_path, 3, seed=1)
    assert result["failures"] == [], result["failures"]
    assert result["ok"] == 3


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory):
    """Shop ``mini`` (100 bundled reviews) with a quickly trained active sentiment model."""
    return build_trained_home(tmp_path_factory.mktemp("kill") / "trained", n_reviews=100)


def test_kill_during_training_keeps_the_active_model(trained_home, tmp_path):
    scenario = train_scenario(trained_home, shop=MINI_SHOP, extra=MINI_TRAIN_ARGS)
    result = run_trials(scenario, tmp_path, 2, seed=2)
    assert result["failures"] == [], result["failures"]
    assert result["ok"] == 2


def test_kill_during_scoring_leaves_whole_predictions(trained_home, tmp_path):
    result = run_trials(score_scenario(trained_home, shop=MINI_SHOP), tmp_path, 2, seed=3)
    assert result["failures"] == [], result["failures"]
    assert result["ok"] == 2


def test_training_check_reports_a_broken_active_model(trained_home, tmp_path):
    """The model check is not vacuous: an active pointer naming a version without files is
    reported."""
    import shutil

    from tests.trust.fault_scenarios import _ctx

    scenario = train_scenario(trained_home, shop=MINI_SHOP)
    home = tmp_path / "home"
    scenario.prepare(home)
    registry = _ctx(home).registry
    shutil.rmtree(registry.folder(MINI_SHOP, "sentiment", registry.active(MINI_SHOP, "sentiment")))
    assert "not a complete version folder" in scenario.check_after_kill(home)


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
