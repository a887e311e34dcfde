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


# s3's shoppers write in words no other shop uses: a model copied from s1 cannot read them, so
# a model trained on s3's own labels beats it on s3's test split.
GOOD_S3 = ["zorp blick", "blick vanto", "zorp zorp", "vanto blick"]
BAD_S3 = ["quax flem", "flem drogo", "quax quax", "drogo flem"]


def seed_reviews(store: Store, shop_id: str, n: int = 40) -> None:
    rows = []
    good, bad = (GOOD_S3, BAD_S3) if shop_id == "s3" else (GOOD, BAD)
    orders = 5000 if shop_id == "s3" else 0  # s3's order numbers are its own too
    for i in range(n):
        words = good if i % 2 else bad
        text = f"{words[i % 4]} {words[(i + 1) % 4]} order {orders + i}"
        rows.append((shop_id, f"r{i:03d}", 5 if i % 2 else 1, text, datetime(2024, 1, 1)))
    with store.write() as con:
        con.executemany(
            "INSERT INTO reviews (shop_id, review_id, rating, text, ts) VALUES (?, ?, ?, ?, ?)",
            rows,
        )


@pytest.fixture(scope="module")
def loop(live_label_studio, tmp_path_factory):
    """Context of a home where s1 trained a tiny sentiment model and the operator copied it to
    s2 and s3 (explicitly: models are per shop); every shop's rows are scored."""
    from core.context import Context
    from core.scoring import score_task
    from core.training import TrainingConfig, train_task

    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("loop-home")
        settings = use_live_label_studio(live_label_studio, home, mp)
        ctx = Context.from_settings(settings)
        ctx.store.init_schema()
        for shop in SHOPS:
            seed_reviews(ctx.store, shop)
        result = train_task(ctx, "sentiment", "s1", TrainingConfig(**TINY))
        assert result.promoted
        for shop in SHOPS[1:]:
            copy = ctx.registry.copy("sentiment", result.version, "s1", shop)
            ctx.registry.activate(shop, "sentiment", copy, "copy")
        for shop in SHOPS:
            assert score_task(ctx, "sentiment", shop) == 40
        yield ctx


def choice(label: str) -> list[dict]:
    return [{"from_name": "label", "to_name": "text", "type": "choices",
             "value": {"choices": [label]}}]  # fmt: skip


def shop_tasks(client: LabelStudioClient, ctx, shop: str) -> list[dict]:
    pid = project_id(ctx.store, shop, "sentiment")
    return list(client.iter_tasks(pid))


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
    ctx = loop
    store = ctx.store
    version = ctx.registry.active("s1", "sentiment")
    client = LabelStudioClient.from_settings(ctx.settings)
    report = push(ctx, "sentiment", 6, shop_id="s1")
    assert report.imported == 6 and report.model_version == version
    pid = report.project_id
    assert client.get_project(pid)["model_version"] == version
    tasks = shop_tasks(client, ctx, "s1")
    assert len(tasks) == 6
    assert all(t["predictions"][0]["model_version"] == version for t in tasks)
    assert all(0 < t["predictions"][0]["score"] <= 1 for t in tasks)

    receiver = make_server(ctx, port=0, key=webhook_key(ctx.settings))
    serve_in_thread(receiver)
    port = receiver.server_address[1]
    register(ctx, client, port=port)
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
                headers={KEY_HEADER: webhook_key(ctx.settings)}, method="POST",
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
    from core.context import Context

    report = sync(Context.from_settings(load_settings()), "sentiment", shop_id="s1")
    assert report.new == 1 and report.labels_written == 1
    assert sync(ctx, "sentiment", shop_id="s1").new == 0

    from app.cli import main

    assert main(["label", "status", "sentiment", "--shop", "s1", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["human_labels"] == 3 and status["queued"] == 3 and status["skipped"] == 1
    assert status["by_source"] == {"derived": 37, "human": 3}
    assert 0.0 <= status["agreement"] <= 1.0
    assert status == label_status(ctx, "sentiment", "s1")


def test_label_studio_down_during_push_and_sync_loses_nothing(loop, live_label_studio, capsys):
    ctx = loop
    store = ctx.store
    server.stop(live_label_studio.settings)
    try:
        with pytest.raises(LabelStudioUnavailable, match="not running.*labelstudio start"):
            push(ctx, "sentiment", 4, shop_id="s2")
        queue = store.query_df("SELECT status FROM label_queue WHERE shop_id = 's2'")
        assert queue["status"].tolist() == ["pending"] * 4
        from app.cli import main

        assert main(["label", "sync", "sentiment", "--shop", "s2"]) == 0
        assert "Nothing to sync: no sentiment rows of shop s2" in capsys.readouterr().out
        assert main(["label", "sync", "sentiment", "--shop", "s1"]) == 1  # s1 has a project
        assert "shoplens labelstudio start" in capsys.readouterr().err
    finally:
        server.start(live_label_studio.settings)
    report = push(ctx, "sentiment", 4, shop_id="s2")
    assert report.resumed == 4 and report.imported == 4
    client = LabelStudioClient.from_settings(ctx.settings)
    assert len(shop_tasks(client, ctx, "s2")) == 4
    again = push(ctx, "sentiment", 2, shop_id="s2")
    assert again.selected == 2 and len(shop_tasks(client, ctx, "s2")) == 6
    assert sync(ctx, "sentiment", shop_id="s2").seen == 0


def test_background_retrain_with_human_labels_promotes_and_records(loop):
    from labeling.jobs import start_retrain, wait

    ctx = loop
    store = ctx.store
    version = ctx.registry.active("s3", "sentiment")
    push(ctx, "sentiment", 4, shop_id="s3")
    client = LabelStudioClient.from_settings(ctx.settings)
    for t in shop_tasks(client, ctx, "s3")[:2]:  # two answered, two still open
        true_label = "positive" if int(t["data"]["target_id"][1:]) % 2 else "negative"
        client.create_annotation(t["id"], choice(true_label), lead_time=1.0)
    assert sync(ctx, "sentiment", shop_id="s3").labels_written == 2
    handle = start_retrain(ctx.settings, "sentiment", "s3", config_overrides=TINY)
    state = wait(handle.job_id, ctx.settings, timeout_s=240)
    assert state["state"] == "finished", state
    result = state["result"]
    assert result["labels_used"] == {"derived": 38, "human": 2}
    assert result["previous_version"] == version
    assert result["promoted"], result["decision"]  # s1's words do not read s3's shoppers
    assert ctx.registry.active("s3", "sentiment") == result["new_version"]
    assert ctx.registry.active("s1", "sentiment") != result["new_version"]  # one shop's retrain
    assert result["label_studio_updated"]  # the two open tasks got the new version's guess
    open_tasks = [t for t in shop_tasks(client, ctx, "s3") if not t["annotations"]]
    assert {t["predictions"][-1]["model_version"] for t in open_tasks} == {result["new_version"]}
    assert (
        client.get_project(project_id(store, "s3", "sentiment"))["model_version"]
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
    from labeling.jobs import start_retrain, wait

    ctx = loop
    handle = start_retrain(ctx.settings, "sentiment", "empty-shop", config_overrides=TINY)
    state = wait(handle.job_id, ctx.settings, timeout_s=120)
    assert state["state"] == "failed" and "labelled rows" in state["error"]
    assert ctx.registry.active("empty-shop", "sentiment") is None
    assert ctx.registry.versions("empty-shop", "sentiment") == []


def test_killed_retrain_is_reported_and_changes_nothing(loop):
    import os
    import signal

    from labeling.jobs import job_status, start_retrain

    ctx = loop
    store = ctx.store
    before = ctx.registry.active("s1", "sentiment")
    n_versions = len(ctx.registry.versions("s1", "sentiment"))
    handle = start_retrain(ctx.settings, "sentiment", "s1", config_overrides=TINY)
    assert wait_for(lambda: job_status(handle.job_id, ctx.settings)["progress"] > 0, timeout_s=120)
    os.killpg(handle.pid, signal.SIGKILL)
    assert wait_for(lambda: job_status(handle.job_id, ctx.settings)["state"] == "killed")
    assert ctx.registry.active("s1", "sentiment") == before
    assert len(ctx.registry.versions("s1", "sentiment")) == n_versions
    runs = store.query_df("SELECT status FROM training_runs WHERE status IN ('running', 'killed')")
    assert "running" not in runs["status"].tolist()


def test_deleted_project_loses_no_label_and_push_resends_the_unanswered(loop, capsys):
    """Last in the module: it deletes the project the other tests share."""
    from app.cli import main
    from core.scoring import score_task

    ctx = loop
    store = ctx.store
    client = LabelStudioClient.from_settings(ctx.settings)
    score_task(ctx, "sentiment", "s2")  # an earlier test may have promoted a new model
    push(ctx, "sentiment", 3, shop_id="s2")
    tasks = shop_tasks(client, ctx, "s2")
    client.create_annotation(tasks[0]["id"], choice("negative"), lead_time=1.0)
    sync(ctx, "sentiment", shop_id="s2")

    def human() -> set[tuple]:
        rows = store.query_df("SELECT shop_id, target_id, label FROM labels WHERE source='human'")
        return set(rows.itertuples(index=False, name=None))

    labels_before = human()
    open_s2 = set(store.query_df(
        "SELECT target_id FROM label_queue WHERE shop_id = 's2' AND status = 'queued'"
    )["target_id"])  # fmt: skip
    assert len(open_s2) >= 2 and ("s2", tasks[0]["data"]["target_id"], "negative") in labels_before
    old_pid = project_id(store, "s2", "sentiment")
    client.sdk.projects.delete(id=old_pid)

    assert main(["label", "sync", "sentiment", "--shop", "s2"]) == 1
    err = capsys.readouterr().err
    assert "no longer has the sentiment project" in err and "label push sentiment" in err
    assert human() == labels_before

    report = push(ctx, "sentiment", 1, shop_id="s2")
    assert report.project_id != old_pid and report.reopened >= len(open_s2)
    resent = shop_tasks(client, ctx, "s2")
    assert {t["data"]["target_id"] for t in resent} == open_s2
    client.create_annotation(resent[0]["id"], choice("positive"), lead_time=1.0)
    assert sync(ctx, "sentiment", shop_id="s2").new == 1
    assert human() == labels_before | {("s2", resent[0]["data"]["target_id"], "positive")}


def test_aspects_round_trip_through_a_real_label_studio(loop):
    """The aspects template is accepted by Label Studio, carries the rules' guesses, and an
    annotator's per-aspect answers come back as one canonical label per sentence."""
    from core.scoring import score_task
    from core.training import TrainingConfig, train_task
    from db.repo.labels import best_labels

    ctx, shop = loop, "s4"
    texts = ["It runs small. Love the colour!", "The fabric pilled. Great price."]
    with ctx.store.write() as con:
        con.executemany(
            "INSERT INTO reviews (shop_id, review_id, rating, text, ts) VALUES (?, ?, ?, ?, ?)",
            [(shop, f"a{i}", 3, texts[i % 2], datetime(2024, 1, 1)) for i in range(4)],
        )
    assert train_task(ctx, "aspects", shop, TrainingConfig()).model_type == "aspect_rules"
    assert score_task(ctx, "aspects", shop) == 8
    client = LabelStudioClient.from_settings(ctx.settings)
    report = push(ctx, "aspects", 3, shop_id=shop)
    assert report.imported == 3
    pid = project_id(ctx.store, shop, "aspects")
    config = client.get_project(pid)["label_config"]
    assert 'name="aspect_size_fit"' in config and 'name="aspect_service"' in config
    tasks = list(client.iter_tasks(pid))
    guesses = {t["data"]["target_id"]: t["predictions"][0]["result"] for t in tasks}
    assert all(isinstance(g, list) for g in guesses.values())
    answer = [{"from_name": "aspect_size_fit", "to_name": "text", "type": "choices",
               "value": {"choices": ["negative"]}},
              {"from_name": "aspect_colour", "to_name": "text", "type": "choices",
               "value": {"choices": ["neutral"]}}]  # fmt: skip
    client.create_annotation(tasks[0]["id"], answer, lead_time=3.0)
    client.create_annotation(tasks[1]["id"], [], lead_time=1.0)  # no aspect in the sentence
    sync(ctx, "aspects", shop_id=shop)
    labels = best_labels(ctx.store, shop, "aspects").set_index("target_id")["label"]
    assert labels[tasks[0]["data"]["target_id"]] == "colour:neutral;size_fit:negative"
    assert labels[tasks[1]["data"]["target_id"]] == "none"


def test_label_studio_accepts_an_open_template_and_returns_the_typed_label(loop):
    from core.kinds.base import LabellingSpec
    from labeling.templates import label_config, parse_result

    client = LabelStudioClient.from_settings(loop.settings)
    spec = LabellingSpec("choices", ("track_order", "get_refund"), "Pick the intent.", open=True)
    project = client.create_project(title="open template check", label_config=label_config(spec))
    answer = client.import_tasks(int(project["id"]), [{"data": {"text": "is it true to size?"}}])
    task_id = int(answer["task_ids"][0])
    typed = [{"from_name": "new_label", "to_name": "text", "type": "textarea",
              "value": {"text": ["Size question"]}}]  # fmt: skip
    client.create_annotation(task_id, typed)
    (stored,) = [a for t in client.iter_tasks(int(project["id"])) for a in t["annotations"]]
    assert parse_result(spec, stored["result"]) == "size_question"
