"""The whole loop against a real Label Studio: push, annotate, webhook, sync, retrain, faults.

One module-wide home holds a tiny sentiment model (trained once on separable reviews) and its
predictions for three shops, so each test works on its own shop's rows in the shared server.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime

import pytest

from db.store import Store
from labeling import server
from labeling.client import LabelStudioClient, LabelStudioUnavailable
from labeling.projects import project_id
from labeling.routing import push
from labeling.sync import label_status, sync
from labeling.webhook import KEY_HEADER, make_server, register, serve_in_thread, webhook_key
from tests.labeling.conftest import use_live_label_studio

pytestmark = pytest.mark.integration

TINY = {"epochs": 2, "max_length": 16, "batch_size": 8, "learning_rate": 1e-3,
        "check_int8": False, "trainable_layers": 1}  # fmt: skip
GOOD = ["love this dress", "great fit and soft", "perfect and beautiful", "amazing quality"]
BAD = ["awful ripped seams", "terrible cheap fabric", "horrible returned it", "worst ever"]
SHOPS = ("s1", "s2", "s3")


def seed_reviews(store: Store, shop_id: str, n: int = 40) -> None:
    rows = []
    for i in range(n):
        words = GOOD if i % 2 else BAD
        text = f"{words[i % 4]} {words[(i + 1) % 4]} order {i}"
        rows.append((shop_id, f"r{i:03d}", 5 if i % 2 else 1, text, datetime(2024, 1, 1)))
    with store.write() as con:
        con.executemany(
            "INSERT INTO reviews (shop_id, review_id, rating, text, ts) VALUES (?, ?, ?, ?, ?)",
            rows,
        )


@pytest.fixture(scope="module")
def loop(live_label_studio, tmp_path_factory):
    """Settings and store of a home with an active tiny sentiment model and scored rows."""
    from core.inference import score_task
    from core.training import TrainingConfig, train_task

    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("loop-home")
        settings = use_live_label_studio(live_label_studio, home, mp)
        store = Store(settings.store.db_path, lock_timeout_s=30)
        store.init_schema()
        for shop in SHOPS:
            seed_reviews(store, shop)
        result = train_task(store, "sentiment", TrainingConfig(shop_id="s1", **TINY))
        assert result.promoted
        for shop in SHOPS:
            assert score_task(store, "sentiment", shop_id=shop) == 40
        yield settings, store, result.version


def choice(label: str) -> list[dict]:
    return [{"from_name": "label", "to_name": "text", "type": "choices",
             "value": {"choices": [label]}}]  # fmt: skip


def shop_tasks(client: LabelStudioClient, settings, shop: str) -> list[dict]:
    pid = project_id("sentiment", settings)
    return [t for t in client.iter_tasks(pid) if t["data"]["shop_id"] == shop]


def wait_for(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def human_count(store: Store, shop: str) -> int:
    return int(store.query_df(
        "SELECT count(*) AS n FROM labels WHERE shop_id = ? AND source = 'human'", [shop]
    )["n"].iloc[0])  # fmt: skip


def test_push_annotate_webhook_sync_and_status(loop, capsys):
    settings, store, version = loop
    client = LabelStudioClient.from_settings(settings)
    report = push(store, "sentiment", 6, shop_id="s1", settings=settings)
    assert report.imported == 6 and report.model_version == version
    pid = report.project_id
    assert client.get_project(pid)["model_version"] == version
    tasks = shop_tasks(client, settings, "s1")
    assert len(tasks) == 6
    assert all(t["predictions"][0]["model_version"] == version for t in tasks)
    assert all(0 < t["predictions"][0]["score"] <= 1 for t in tasks)

    receiver = make_server(store, port=0, key=webhook_key(settings))
    serve_in_thread(receiver)
    port = receiver.server_address[1]
    register(client, ["sentiment"], port=port, settings=settings)
    try:
        # an annotator answers three tasks; each answer reaches the receiver inside the request
        answers = [client.create_annotation(t["id"], choice("neutral"), lead_time=2.5)
                   for t in tasks[:3]]  # fmt: skip
        assert wait_for(lambda: human_count(store, "s1") == 3)
        # the same delivery twice: still one label per row
        payload = {"action": "ANNOTATION_CREATED", "annotation": answers[0], "task": tasks[0]}
        for _ in range(2):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/", data=json.dumps(payload).encode(),
                headers={KEY_HEADER: webhook_key(settings)}, method="POST",
            )  # fmt: skip
            urllib.request.urlopen(request, timeout=10).read()
        assert human_count(store, "s1") == 3
        # a skip and a deletion
        client.create_annotation(tasks[3]["id"], [], was_cancelled=True)
        client.delete_annotation(answers[2]["id"])
        assert wait_for(lambda: human_count(store, "s1") == 2)
    finally:
        receiver.shutdown()
        receiver.server_close()

    # the receiver is down now (Label Studio does not retry): the next answer arrives by polling,
    # from a freshly started app (new settings, store and client objects)
    client.create_annotation(tasks[4]["id"], choice("positive"), lead_time=1.0)
    from common.settings import load_settings

    fresh = load_settings()
    report = sync(Store(fresh.store.db_path), "sentiment", shop_id="s1", settings=fresh)
    assert report.new == 1 and report.labels_written == 1
    assert sync(store, "sentiment", shop_id="s1", settings=settings).new == 0

    from app.cli import main

    assert main(["label", "status", "sentiment", "--shop", "s1", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["human_labels"] == 3 and status["queued"] == 3 and status["skipped"] == 1
    assert status["by_source"] == {"derived": 37, "human": 3}
    assert 0.0 <= status["agreement"] <= 1.0
    assert status == label_status(store, "sentiment", "s1")


def test_label_studio_down_during_push_and_sync_loses_nothing(loop, live_label_studio, capsys):
    settings, store, _ = loop
    server.stop(live_label_studio.settings)
    try:
        with pytest.raises(LabelStudioUnavailable, match="not running.*labelstudio start"):
            push(store, "sentiment", 4, shop_id="s2", settings=settings)
        queue = store.query_df("SELECT status FROM label_queue WHERE shop_id = 's2'")
        assert queue["status"].tolist() == ["pending"] * 4
        from app.cli import main

        assert main(["label", "sync", "sentiment", "--shop", "s2"]) == 1
        assert "shoplens labelstudio start" in capsys.readouterr().err
    finally:
        server.start(live_label_studio.settings)
    report = push(store, "sentiment", 4, shop_id="s2", settings=settings)
    assert report.resumed == 4 and report.imported == 4
    client = LabelStudioClient.from_settings(settings)
    assert len(shop_tasks(client, settings, "s2")) == 4
    again = push(store, "sentiment", 2, shop_id="s2", settings=settings)
    assert again.selected == 2 and len(shop_tasks(client, settings, "s2")) == 6
    assert sync(store, "sentiment", shop_id="s2", settings=settings).seen == 0


def test_background_retrain_with_human_labels_promotes_and_records(loop):
    from core.registry import active_version
    from labeling.jobs import start_retrain, wait

    settings, store, version = loop
    push(store, "sentiment", 4, shop_id="s3", settings=settings)
    client = LabelStudioClient.from_settings(settings)
    for t in shop_tasks(client, settings, "s3")[:2]:  # two answered, two still open
        true_label = "positive" if int(t["data"]["target_id"][1:]) % 2 else "negative"
        client.create_annotation(t["id"], choice(true_label), lead_time=1.0)
    assert sync(store, "sentiment", shop_id="s3", settings=settings).labels_written == 2
    handle = start_retrain("sentiment", "s3", settings=settings, config_overrides=TINY)
    state = wait(handle.job_id, timeout_s=240, settings=settings)
    assert state["state"] == "finished", state
    result = state["result"]
    assert result["labels_used"] == {"derived": 38, "human": 2}
    assert result["previous_version"] == version
    assert result["promoted"] and active_version("sentiment") == result["new_version"]
    assert result["label_studio_updated"]  # the two open tasks got the new version's guess
    open_tasks = [t for t in shop_tasks(client, settings, "s3") if not t["annotations"]]
    assert {t["predictions"][-1]["model_version"] for t in open_tasks} == {result["new_version"]}
    assert (
        client.get_project(project_id("sentiment", settings))["model_version"]
        == (result["new_version"])
    )
    run = store.query_df(
        "SELECT labels_used, metrics_before, metrics_after, promoted FROM training_runs "
        "WHERE new_version = ?",
        [result["new_version"]],
    ).iloc[0]
    assert json.loads(run["labels_used"]) == {"derived": 38, "human": 2}
    assert "macro_f1" in json.loads(run["metrics_before"])
    assert "macro_f1" in json.loads(run["metrics_after"]) and run["promoted"]


def test_failed_retrain_changes_nothing(loop):
    from core.registry import active_version
    from labeling.jobs import start_retrain, wait

    settings, _, _ = loop
    before = active_version("sentiment")
    handle = start_retrain("sentiment", "empty-shop", settings=settings, config_overrides=TINY)
    state = wait(handle.job_id, timeout_s=120, settings=settings)
    assert state["state"] == "failed" and "labelled rows" in state["error"]
    assert active_version("sentiment") == before


def test_killed_retrain_is_reported_and_changes_nothing(loop):
    import os
    import signal

    from core.registry import active_version, list_versions
    from labeling.jobs import job_status, start_retrain

    settings, store, _ = loop
    before, n_versions = active_version("sentiment"), len(list_versions("sentiment"))
    handle = start_retrain("sentiment", "s1", settings=settings, config_overrides=TINY)
    assert wait_for(lambda: job_status(handle.job_id, settings)["progress"] > 0, timeout_s=120)
    os.killpg(handle.pid, signal.SIGKILL)
    assert wait_for(lambda: job_status(handle.job_id, settings)["state"] == "killed")
    assert active_version("sentiment") == before
    assert len(list_versions("sentiment")) == n_versions
    runs = store.query_df("SELECT status FROM training_runs WHERE status IN ('running', 'killed')")
    assert "running" not in runs["status"].tolist()


def test_deleted_project_loses_no_label_and_push_resends_the_unanswered(loop, capsys):
    """Last in the module: it deletes the project the other tests share."""
    from app.cli import main
    from core.inference import score_task

    settings, store, _ = loop
    client = LabelStudioClient.from_settings(settings)
    score_task(store, "sentiment", shop_id="s2")  # an earlier test may have promoted a new model
    push(store, "sentiment", 3, shop_id="s2", settings=settings)
    tasks = shop_tasks(client, settings, "s2")
    client.create_annotation(tasks[0]["id"], choice("negative"), lead_time=1.0)
    sync(store, "sentiment", shop_id="s2", settings=settings)

    def human() -> set[tuple]:
        rows = store.query_df("SELECT shop_id, target_id, label FROM labels WHERE source='human'")
        return set(rows.itertuples(index=False, name=None))

    labels_before = human()
    open_s2 = set(store.query_df(
        "SELECT target_id FROM label_queue WHERE shop_id = 's2' AND status = 'queued'"
    )["target_id"])  # fmt: skip
    assert len(open_s2) >= 2 and ("s2", tasks[0]["data"]["target_id"], "negative") in labels_before
    old_pid = project_id("sentiment", settings)
    client.sdk.projects.delete(id=old_pid)

    assert main(["label", "sync", "sentiment", "--shop", "s2"]) == 1
    err = capsys.readouterr().err
    assert "no longer has the sentiment project" in err and "label push sentiment" in err
    assert human() == labels_before

    report = push(store, "sentiment", 1, shop_id="s2", settings=settings)
    assert report.project_id != old_pid and report.reopened >= len(open_s2)
    resent = shop_tasks(client, settings, "s2")
    assert {t["data"]["target_id"] for t in resent} == open_s2
    client.create_annotation(resent[0]["id"], choice("positive"), lead_time=1.0)
    assert sync(store, "sentiment", shop_id="s2", settings=settings).new == 1
    assert human() == labels_before | {("s2", resent[0]["data"]["target_id"], "positive")}
