"""The benchmark runner: discovery, result files and failure reporting."""

from __future__ import annotations

import json
import sys
import types

import pytest

import bench.__main__ as runner
from bench.common import machine_info, timer, write_result

pytestmark = pytest.mark.unit


def test_machine_info_names_cores_cpu_and_versions():
    info = machine_info()
    assert info["cores"] >= 1
    assert info["cpu_model"]
    assert info["duckdb"] and info["pandas"]
    assert info["date"].startswith("20")


def test_write_result_is_pretty_json_with_machine(tmp_path):
    path = write_result("demo", {"events_per_s": 1.5e6}, results_dir=tmp_path)
    assert path == tmp_path / "demo.json"
    text = path.read_text()
    assert "\n  " in text  # indented
    doc = json.loads(text)
    assert doc["benchmark"] == "demo"
    assert doc["events_per_s"] == 1.5e6
    assert doc["machine"]["cores"] >= 1


def test_timer_measures_block():
    with timer() as t:
        sum(range(10_000))
    assert 0 < t.seconds < 5


def test_run_writes_result_and_counts_failures(tmp_path, monkeypatch, capsys):
    good = types.ModuleType("bench.bench_good")
    good.main = lambda quick=False: {"value": 3 if quick else 30}
    bad = types.ModuleType("bench.bench_bad")

    def explode(quick=False):
        raise RuntimeError("boom")

    bad.main = explode
    monkeypatch.setitem(sys.modules, "bench.bench_good", good)
    monkeypatch.setitem(sys.modules, "bench.bench_bad", bad)
    monkeypatch.setattr(runner, "discover", lambda: ["bad", "good"])
    monkeypatch.setattr(
        runner, "write_result", lambda name, payload: write_result(name, payload, tmp_path)
    )

    assert runner.run([], quick=True) == 1
    doc = json.loads((tmp_path / "good.quick.json").read_text())
    assert doc["value"] == 3 and doc["quick"] is True
    out = capsys.readouterr().out
    assert "FAILED bad" in out and "ok good" in out


def test_tag_and_note_go_into_the_result(tmp_path, monkeypatch):
    good = types.ModuleType("bench.bench_good")
    good.main = lambda quick=False: {"value": 1}
    monkeypatch.setitem(sys.modules, "bench.bench_good", good)
    monkeypatch.setattr(runner, "discover", lambda: ["good"])
    monkeypatch.setattr(
        runner, "write_result", lambda name, payload: write_result(name, payload, tmp_path)
    )
    assert runner.run(["good"], tag="shared-vm", note="busy machine") == 0
    doc = json.loads((tmp_path / "good.shared-vm.json").read_text())
    assert doc["note"] == "busy machine" and doc["value"] == 1


def test_unknown_name_is_an_error(monkeypatch, capsys):
    monkeypatch.setattr(runner, "discover", lambda: ["ingest"])
    assert runner.main(["nope"]) == 1
    assert "unknown benchmark" in capsys.readouterr().err
