"""kill -9 during ``shoplens label sync`` against the real Label Studio, a few trials (the soak is
``python -m bench.bench_fault_kill --scenario label_sync``)."""

from __future__ import annotations

import pytest

from tests.trust.fault_harness import run_cli, run_trials
from tests.trust.fault_scenarios import KILL_SHOP, label_sync_scenario

pytestmark = pytest.mark.integration


def test_kill_during_sync_stores_all_answers_or_none(live_label_studio, tmp_path):
    scenario = label_sync_scenario(live_label_studio.settings, n_annotations=60)
    result = run_trials(scenario, tmp_path, 3, seed=4)
    assert result["failures"] == [], result["failures"]
    assert result["ok"] == 3


def test_sync_check_reports_a_half_pulled_project(live_label_studio, tmp_path):
    """The check is not vacuous: answers stored without their human labels are reported."""
    scenario = label_sync_scenario(live_label_studio.settings, n_annotations=20)
    home = tmp_path / "home"
    scenario.prepare(home)
    assert run_cli(home, scenario.args, scenario.extra_env).returncode == 0
    assert scenario.check_after_kill(home) is None
    from db.store import Store

    with Store(home / "shoplens.duckdb").write() as con:
        con.execute("DELETE FROM labels WHERE shop_id = ? AND target_id > 'r0010'", [KILL_SHOP])
    assert "partial sync" in scenario.check_after_kill(home)
