"""The labelling CLI: push, sync and status print what happened, errors exit non-zero."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from labeling.client import LabelStudioClient

pytestmark = pytest.mark.unit


@pytest.fixture
def cli_ls(toy_store, fake_ls, monkeypatch):
    monkeypatch.setattr(LabelStudioClient, "from_settings", classmethod(lambda cls, s: fake_ls))
    return fake_ls


def test_push_sync_status_round_trip(cli_ls, capsys):
    assert main(["label", "push", "toy", "--n", "2", "--json"]) == 0
    pushed = json.loads(capsys.readouterr().out)
    assert pushed["imported"] == 2 and pushed["model_version"] == "v1"
    task_id = next(iter(cli_ls.tasks))
    cli_ls.annotate(task_id, "neutral")
    assert main(["label", "sync", "toy"]) == 0
    assert "1 new" in capsys.readouterr().out
    assert main(["label", "status", "toy", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["queued"], status["human_labels"]) == (1, 1)
    assert status["by_source"] == {"human": 1}


def test_outage_is_a_clear_error(cli_ls, capsys):
    cli_ls.down = True
    assert main(["label", "push", "toy", "--n", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Label Studio is not running") and "pending" in err


def test_labelstudio_status_when_down(shoplens_home, monkeypatch, capsys):
    monkeypatch.setenv("SHOPLENS_LS_PORT", "1")
    assert main(["labelstudio", "status", "--json"]) == 3
    status = json.loads(capsys.readouterr().out)
    assert status["up"] is False and "shoplens labelstudio start" in status["message"]
