"""Project set-up: interface generated from the task's labels, one project per task."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from labeling.projects import (
    ensure_project,
    label_config,
    project_id,
    set_model_version,
    task_for_project,
)
from tests.labeling.conftest import ToySpec

pytestmark = pytest.mark.unit


def test_label_config_has_every_label_context_and_instructions():
    spec = ToySpec(labels=("a&b", "c"))
    root = ET.fromstring(label_config(spec, ["product", "rating", "whole review"]))
    choices = [c.get("value") for c in root.iter("Choice")]
    assert choices == ["a&b", "c"]
    names = [t.get("name") for t in root.iter("Text")]
    assert names == ["ctx_product", "ctx_rating", "ctx_whole_review", "text"]
    headers = [h.get("value") for h in root.iter("Header")]
    assert "pre-selected" in headers[0] and "Whole review" in headers


def test_one_project_per_task_following_the_model_version(fake_ls, settings):
    spec = ToySpec()
    pid = ensure_project(fake_ls, spec, ["channel"], model_version="v1", settings=settings)
    assert ensure_project(fake_ls, spec, ["channel"], model_version="v2", settings=settings) == pid
    assert fake_ls.projects[pid]["model_version"] == "v1"
    assert set_model_version(fake_ls, "toy", "v2", settings)
    assert len(fake_ls.projects) == 1 and len(fake_ls.views) == 1
    assert fake_ls.projects[pid]["model_version"] == "v2"
    assert fake_ls.projects[pid]["sampling"] == "Uncertainty sampling"
    assert project_id("toy", settings) == pid and task_for_project(pid, settings) == "toy"
    del fake_ls.projects[pid]  # deleted in Label Studio: a new one is made
    assert ensure_project(fake_ls, spec, settings=settings) != pid
