"""Sync: annotations become human labels once, by majority, surviving skips, deletes, restarts."""

from __future__ import annotations

import pytest

from labeling.client import LabelStudioUnavailable
from labeling.projects import ProjectGone, project_id
from labeling.routing import push
from labeling.sync import label_status, majority, sync

pytestmark = pytest.mark.unit


def human_labels(store):
    return store.query_df(
        "SELECT target_id, label, annotator, agreed_with_model, lead_time_s FROM labels "
        "WHERE source = 'human' ORDER BY target_id"
    )


def ls_task(fake_ls, target):
    return next(t["id"] for t in fake_ls.tasks.values() if t["data"]["target_id"] == target)


@pytest.fixture
def pushed(ctx, toy_store, fake_ls):
    push(ctx, "toy", 3, client=fake_ls)
    return toy_store


def test_sync_turns_annotations_into_human_labels_once(ctx, pushed, fake_ls):
    fake_ls.annotate(ls_task(fake_ls, "m00"), "positive", lead_time=4.5)
    fake_ls.annotate(ls_task(fake_ls, "m01"), "negative")
    first = sync(ctx, "toy", client=fake_ls)
    assert (first.new, first.labels_written) == (2, 2)
    again = sync(ctx, "toy", client=fake_ls)
    assert (again.new, again.updated, again.labels_written) == (0, 0, 0)
    labels = human_labels(pushed)
    assert labels["target_id"].tolist() == ["m00", "m01"]
    assert labels["label"].tolist() == ["positive", "negative"]
    assert labels["agreed_with_model"].tolist() == [True, False]  # the model said positive
    assert labels["annotator"].tolist() == ["ann@shop.test"] * 2
    assert labels["lead_time_s"].iloc[0] == pytest.approx(4.5)
    status = label_status(ctx, "toy")
    assert status["queued"] == 1 and status["human_labels"] == 2
    assert status["agreement"] == pytest.approx(0.5)
    assert status["by_source"] == {"human": 2}


def test_several_annotators_give_the_majority_and_agreement(ctx, pushed, fake_ls):
    task_id = ls_task(fake_ls, "m00")
    fake_ls.annotate(task_id, "neutral", user="a@x")
    fake_ls.annotate(task_id, "negative", user="b@x")
    fake_ls.annotate(task_id, "neutral", user="c@x")
    sync(ctx, "toy", client=fake_ls)
    labels = human_labels(pushed)
    assert labels["label"].tolist() == ["neutral"]
    assert labels["annotator"].tolist() == ["a@x,c@x"]
    assert label_status(ctx, "toy")["annotator_agreement"] == pytest.approx(2 / 3, abs=1e-3)


def test_majority_ties_go_to_the_latest_answer():
    assert majority(["a", "b"]) == ("b", 0.5)
    assert majority(["a", "b", "a"]) == ("a", pytest.approx(2 / 3))


def test_skipped_and_deleted_annotations_do_not_vote(ctx, pushed, fake_ls):
    skipped = fake_ls.annotate(ls_task(fake_ls, "m00"), None, cancelled=True)
    kept = fake_ls.annotate(ls_task(fake_ls, "m01"), "neutral")
    sync(ctx, "toy", client=fake_ls)
    assert human_labels(pushed)["target_id"].tolist() == ["m01"]
    assert label_status(ctx, "toy")["skipped"] == 1
    fake_ls.delete(kept["id"])
    report = sync(ctx, "toy", client=fake_ls)
    assert report.deleted == 1 and report.labels_removed == 1
    assert human_labels(pushed).empty
    rows = pushed.query_df("SELECT annotation_id, deleted FROM annotations ORDER BY annotation_id")
    assert rows["deleted"].tolist() == [False, True]
    assert rows["annotation_id"].tolist() == [skipped["id"], kept["id"]]
    status = pushed.query_df("SELECT status FROM label_queue WHERE target_id = 'm01'")
    assert status["status"].tolist() == ["queued"]  # back in the queue for someone to answer


def test_changed_answer_replaces_the_label(ctx, pushed, fake_ls):
    annotation = fake_ls.annotate(ls_task(fake_ls, "m00"), "negative")
    sync(ctx, "toy", client=fake_ls)
    annotation["result"][0]["value"]["choices"] = ["neutral"]
    annotation["updated_at"] = "2099-01-01T00:00:00Z"
    report = sync(ctx, "toy", client=fake_ls)
    assert report.updated == 1
    assert human_labels(pushed)["label"].tolist() == ["neutral"]


def test_outage_during_sync_changes_nothing_and_retry_completes(ctx, pushed, fake_ls):
    fake_ls.annotate(ls_task(fake_ls, "m00"), "negative")
    fake_ls.down = True
    with pytest.raises(LabelStudioUnavailable, match="shoplens labelstudio start.*Nothing was"):
        sync(ctx, "toy", client=fake_ls)
    assert human_labels(pushed).empty
    fake_ls.down = False
    assert sync(ctx, "toy", client=fake_ls).labels_written == 1


def test_sync_after_an_app_restart_uses_the_recorded_project(ctx, pushed, fake_ls):
    """A fresh Store object and settings (a new process) still find the task's project."""
    from common.settings import load_settings
    from core.context import Context

    fake_ls.annotate(ls_task(fake_ls, "m02"), "neutral")
    fresh = Context.from_settings(load_settings())
    report = sync(fresh, "toy", client=fake_ls)
    assert report.labels_written == 1


def test_sync_before_any_push_is_a_no_op(ctx, toy_store, fake_ls):
    assert sync(ctx, "toy", client=fake_ls).seen == 0


def test_deleted_project_keeps_every_label_and_push_resends_the_unanswered(ctx, pushed, fake_ls):
    fake_ls.annotate(ls_task(fake_ls, "m00"), "positive")
    sync(ctx, "toy", client=fake_ls)
    old_pid = project_id(pushed, "sample", "toy")
    fake_ls.delete_project(old_pid)
    with pytest.raises(ProjectGone, match="no longer has.*1 human labels.*label push toy"):
        sync(ctx, "toy", client=fake_ls)
    assert human_labels(pushed)["target_id"].tolist() == ["m00"]
    report = push(ctx, "toy", 1, client=fake_ls)
    assert report.reopened == 2 and report.project_id != old_pid
    sent = sorted(t["data"]["target_id"] for t in fake_ls.tasks.values())
    assert sent == ["m01", "m02"]  # the unanswered rows; m00's answer is already home
    fake_ls.annotate(ls_task(fake_ls, "m01"), "negative")
    assert sync(ctx, "toy", client=fake_ls).new == 1
    labels = human_labels(pushed)
    assert dict(zip(labels["target_id"], labels["label"], strict=True)) == {
        "m00": "positive",
        "m01": "negative",
    }
    status = label_status(ctx, "toy")
    assert (status["human_labels"], status["queued"]) == (2, 1)


def test_reset_label_studio_reusing_ids_loses_and_mixes_no_label(ctx, pushed, fake_ls):
    """A data-folder reset restarts ids: the recorded project id may name another project and
    new annotation ids repeat stored ones. Neither may delete or overwrite a stored answer."""
    first = fake_ls.annotate(ls_task(fake_ls, "m00"), "positive")
    sync(ctx, "toy", client=fake_ls)
    fake_ls.wipe()
    other = fake_ls.create_project(title="Someone else's project")
    assert other["id"] == project_id(
        pushed, "sample", "toy"
    )  # the recorded id, now another project
    with pytest.raises(ProjectGone):
        sync(ctx, "toy", client=fake_ls)
    assert push(ctx, "toy", 1, client=fake_ls).reopened == 2
    reused = fake_ls.annotate(ls_task(fake_ls, "m01"), "negative")
    assert reused["id"] == first["id"]  # the very id m00's answer had
    sync(ctx, "toy", client=fake_ls)
    assert sync(ctx, "toy", client=fake_ls).deleted == 0
    labels = human_labels(pushed)
    assert dict(zip(labels["target_id"], labels["label"], strict=True)) == {
        "m00": "positive",
        "m01": "negative",
    }
    kept = pushed.query_df("SELECT annotation_id, target_id FROM annotations ORDER BY target_id")
    assert kept["target_id"].tolist() == ["m00", "m01"]
    assert kept["annotation_id"].iloc[0] < 0 < kept["annotation_id"].iloc[1]
