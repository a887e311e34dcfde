"""Routing: the least certain rows go to Label Studio once, masked, and survive outages."""

from __future__ import annotations

import pytest

from common.errors import InputError, ShopLensError
from labeling.client import LabelStudioUnavailable
from labeling.routing import push
from tests.labeling.conftest import seed_predictions

pytestmark = pytest.mark.unit


def queue(store):
    return store.query_df(
        "SELECT target_id, status, ls_task_id, strategy FROM label_queue ORDER BY target_id"
    )


def test_push_sends_the_least_certain_rows_with_pre_annotations(ctx, toy_store, fake_ls):
    report = push(ctx, "toy", 3, client=fake_ls)
    assert report.imported == 3 and report.selected == 3
    sent = sorted(t["data"]["target_id"] for t in fake_ls.tasks.values())
    assert sent == ["m00", "m01", "m02"]  # the three most uncertain
    task = next(t for t in fake_ls.tasks.values() if t["data"]["target_id"] == "m00")
    prediction = task["predictions"][0]
    assert prediction["model_version"] == "v1"
    assert prediction["score"] == pytest.approx(0.34)
    assert prediction["result"][0]["value"]["choices"] == ["positive"]
    assert task["data"]["ctx_channel"] == "support"
    q = queue(toy_store)
    assert q["status"].tolist() == ["queued"] * 3
    assert q["ls_task_id"].notna().all()
    project = fake_ls.projects[report.project_id]
    assert project["model_version"] == "v1"
    assert '<Choice value="neutral"/>' in project["label_config"]
    assert fake_ls.views[0]["data"]["ordering"] == ["tasks:predictions_score"]


def test_push_never_resends_queued_or_human_labelled_rows(ctx, toy_store, fake_ls):
    from tests.core.conftest import seed_labels

    seed_labels(toy_store, "toy", [("m03", "negative", "human")])
    push(ctx, "toy", 3, client=fake_ls)
    push(ctx, "toy", 3, client=fake_ls)
    sent = sorted(t["data"]["target_id"] for t in fake_ls.tasks.values())
    assert sent == ["m00", "m01", "m02", "m04", "m05", "m06"]
    assert len(fake_ls.projects) == 1


def test_texts_are_pii_masked_before_leaving_the_store(ctx, toy_store, fake_ls):
    push(ctx, "toy", 12, client=fake_ls)
    texts = {t["data"]["target_id"]: t["data"]["text"] for t in fake_ls.tasks.values()}
    assert "jane.doe@example.com" not in texts["m03"]
    assert "[EMAIL]" in texts["m03"]


def test_outage_mid_push_keeps_rows_pending_and_retry_completes(ctx, toy_store, fake_ls):
    fake_ls.down = True
    with pytest.raises(LabelStudioUnavailable, match="not running.*pending"):
        push(ctx, "toy", 4, client=fake_ls)
    q = queue(toy_store)
    assert q["status"].tolist() == ["pending"] * 4
    fake_ls.down = False
    report = push(ctx, "toy", 4, client=fake_ls)
    assert report.resumed == 4 and report.selected == 0 and report.imported == 4
    assert queue(toy_store)["status"].tolist() == ["queued"] * 4
    assert sorted(t["data"]["target_id"] for t in fake_ls.tasks.values()) == [
        "m00", "m01", "m02", "m03"
    ]  # fmt: skip


def test_lost_import_answer_does_not_duplicate_tasks_on_retry(ctx, toy_store, fake_ls):
    fake_ls.lose_next_import = True
    with pytest.raises(LabelStudioUnavailable):
        push(ctx, "toy", 3, client=fake_ls)
    assert len(fake_ls.tasks) == 3  # they did arrive
    report = push(ctx, "toy", 3, client=fake_ls)
    assert report.already_in_label_studio == 3 and report.imported == 0
    assert len(fake_ls.tasks) == 3
    assert queue(toy_store)["status"].tolist() == ["queued"] * 3


def test_strategies_and_errors(ctx, toy_store, fake_ls):
    report = push(ctx, "toy", 2, strategy="random", client=fake_ls)
    assert report.imported == 2 and queue(toy_store)["strategy"].tolist() == ["random"] * 2
    with pytest.raises(InputError, match="unknown strategy"):
        push(ctx, "toy", 2, strategy="coin", client=fake_ls)
    with pytest.raises(InputError):
        push(ctx, "toy", 0, client=fake_ls)
    with pytest.raises(ShopLensError, match="shoplens train toy --shop other"):
        push(ctx, "toy", 2, shop_id="other", client=fake_ls)


def test_push_without_predictions_says_to_score(ctx, store, toy_task, fake_ls):
    with pytest.raises(ShopLensError, match="shoplens score toy"):
        push(ctx, "toy", 2, client=fake_ls)
    from tests.conftest import seed_active_version

    seed_active_version(store, "toy", "v1")
    seed_predictions(store, "toy", "v0", {"m00": [0.2, 0.3, 0.5]})
    with pytest.raises(ShopLensError, match="v1"):
        push(ctx, "toy", 2, client=fake_ls)


def test_diverse_push_sends_one_row_per_cluster(ctx, toy_store, fake_ls):
    report = push(ctx, "toy", 4, diverse=True, client=fake_ls)
    assert report.imported == 4
    assert queue(toy_store)["strategy"].unique().tolist() == ["entropy+diverse"]


def test_refresh_gives_open_tasks_the_new_versions_guess(ctx, toy_store, fake_ls):
    from labeling.routing import refresh_open_tasks

    report = push(ctx, "toy", 2, client=fake_ls)
    seed_predictions(toy_store, "toy", "v2", {"m00": [0.8, 0.1, 0.1], "m01": [0.1, 0.8, 0.1]})
    assert refresh_open_tasks(ctx, "toy", "sample", "v2", fake_ls) == (2, True)
    task = next(t for t in fake_ls.tasks.values() if t["data"]["target_id"] == "m00")
    assert task["predictions"][-1]["model_version"] == "v2"
    assert task["predictions"][-1]["result"][0]["value"]["choices"] == ["negative"]
    assert fake_ls.projects[report.project_id]["model_version"] == "v2"
