"""``shoplens alerts`` through the real entry point."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from tests.core.conftest import seed_sample_events

pytestmark = pytest.mark.integration


def test_alerts_json_and_clear_errors(store, capsys) -> None:
    assert main(["alerts", "--json"]) == 2  # no events yet
    assert "no events to check" in capsys.readouterr().err
    seed_sample_events(store, n_users=600)
    assert main(["alerts", "--json", "--days", "14"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["shop"] == "sample" and report["last_day"] == "2026-11-01"
    for alert in report["alerts"]:
        assert alert["metric"] in {"traffic", "view_to_cart", "cart_to_purchase"}
        assert not alert["low"] <= alert["observed"] <= alert["high"]  # out of its band
        assert alert["summary"].startswith(alert["label"])
    assert main(["alerts", "--days", "0"]) == 2
    assert "--days must be 1 to 90" in capsys.readouterr().err
