"""Projects: one per (shop, task), recorded in the store, following the active version."""

from __future__ import annotations

import pytest

from labeling.projects import (
    ProjectGone,
    ensure_project,
    follow_model_version,
    live_project_id,
    project_id,
)

pytestmark = pytest.mark.unit


def test_one_project_per_shop_and_task_following_the_model_version(store, toy_task, fake_ls):
    pid = ensure_project(fake_ls, store, toy_task, "sample", ["channel"], model_version="v1")
    assert ensure_project(fake_ls, store, toy_task, "sample", ["channel"], "v2") == pid
    assert fake_ls.projects[pid]["model_version"] == "v1"
    assert follow_model_version(fake_ls, pid, "v2")
    assert fake_ls.projects[pid]["model_version"] == "v2"
    assert fake_ls.projects[pid]["sampling"] == "Uncertainty sampling"
    assert len(fake_ls.projects) == 1 and len(fake_ls.views) == 1
    other = ensure_project(fake_ls, store, toy_task, "north", ["channel"], "v1")
    assert other != pid and "north" in fake_ls.projects[other]["title"]
    assert project_id(store, "sample", "toy") == pid and project_id(store, "north", "toy") == other
    assert project_id(store, "south", "toy") is None


def test_a_deleted_or_reset_project_is_gone_and_replaced(store, toy_task, fake_ls):
    pid = ensure_project(fake_ls, store, toy_task, "sample", ["channel"], "v1")
    fake_ls.wipe()  # data folder reset: ids restart, a namesake id may appear
    fake_ls.create_project(title="someone else's")
    with pytest.raises(ProjectGone, match="deleted, or Label Studio's data folder was reset"):
        live_project_id(fake_ls, store, "sample", "toy")
    gone = []
    new = ensure_project(fake_ls, store, toy_task, "sample", ["channel"], "v1", on_gone=gone.append)
    assert gone == [pid] and live_project_id(fake_ls, store, "sample", "toy") == new
