"""Webhook receiver: deliveries become labels once, found through what ShopLens sent; a wrong
key, a foreign row or a label the task does not offer changes nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from labeling.client import LabelStudioError
from labeling.routing import push
from labeling.webhook import (
    KEY_HEADER,
    RefusedDelivery,
    handle_payload,
    make_server,
    register,
    serve_in_thread,
    webhook_key,
)

pytestmark = pytest.mark.unit


def delivery(fake_ls, target, label, action="ANNOTATION_CREATED"):
    task = next(t for t in fake_ls.tasks.values() if t["data"]["target_id"] == target)
    annotation = fake_ls.annotate(task["id"], label)
    return {"action": action, "annotation": annotation, "task": task,
            "project": {"id": task["project"]}}  # fmt: skip


def post(port, payload, key):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", KEY_HEADER: key}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def human(store):
    return store.query_df("SELECT target_id, label FROM labels WHERE source = 'human'")


def write_secrets(settings, token="tok-123"):
    path = settings.labelstudio.secrets_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"username": "a@b.c", "password": "pw", "token": token}))


def test_same_delivery_twice_gives_one_label(ctx, toy_store, fake_ls):
    push(ctx, "toy", 2, client=fake_ls)
    payload = delivery(fake_ls, "m00", "neutral")
    assert handle_payload(ctx, payload).labels_written == 1
    assert handle_payload(ctx, payload).labels_written == 0
    assert human(toy_store)["label"].tolist() == ["neutral"]
    deleted = {
        "action": "ANNOTATIONS_DELETED",
        "annotations": [{"id": payload["annotation"]["id"]}],
    }
    assert handle_payload(ctx, deleted).labels_removed == 1
    assert human(toy_store).empty
    assert handle_payload(ctx, {"action": "PROJECT_UPDATED"}) is None


def test_a_delivery_cannot_name_its_own_row_or_an_unoffered_label(ctx, toy_store, fake_ls):
    push(ctx, "toy", 2, client=fake_ls)
    forged = delivery(fake_ls, "m00", "neutral")
    forged["task"] = {**forged["task"], "data": {"target_id": "m11", "shop_id": "other"}}
    handle_payload(ctx, forged)
    assert human(toy_store)["target_id"].tolist() == ["m00"]  # the row ShopLens sent as that task
    stranger = delivery(fake_ls, "m01", "neutral")
    stranger["project"] = {"id": 999}
    assert handle_payload(ctx, stranger) is None
    with pytest.raises(RefusedDelivery, match="not one of the toy labels"):
        handle_payload(ctx, delivery(fake_ls, "m01", "<script>"))
    assert human(toy_store)["target_id"].tolist() == ["m00"]


def test_http_receiver_checks_the_key(ctx, toy_store, fake_ls):
    push(ctx, "toy", 2, client=fake_ls)
    server = make_server(ctx, port=0, key="secret-key")
    serve_in_thread(server)
    port = server.server_address[1]
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(port, delivery(fake_ls, "m00", "neutral"), key="wrong")
        assert refused.value.code == 403
        with pytest.raises(urllib.error.HTTPError) as unoffered:
            post(port, delivery(fake_ls, "m00", "furious"), key="secret-key")
        assert unoffered.value.code == 422
        answer = post(port, delivery(fake_ls, "m01", "negative"), key="secret-key")
        assert answer["labels_written"] == 1
    finally:
        server.shutdown()
        server.server_close()
    assert human(toy_store)["target_id"].tolist() == ["m01"]


def test_no_secret_no_receiver(ctx, settings):
    with pytest.raises(LabelStudioError, match="shoplens labelstudio start"):
        make_server(ctx, port=0)
    write_secrets(settings)
    key = webhook_key(settings)
    assert len(key) == 40 and "tok-123" not in key
    write_secrets(settings, token="tok-456")
    assert webhook_key(settings) != key


def test_register_adds_the_webhook_once_per_project(ctx, toy_store, fake_ls, settings):
    write_secrets(settings)
    report = push(ctx, "toy", 1, client=fake_ls)
    assert register(ctx, fake_ls, port=9999) == [report.project_id]
    register(ctx, fake_ls, port=9999)
    assert len(fake_ls.webhooks) == 1
    hook = fake_ls.webhooks[0]
    assert hook["url"] == "http://127.0.0.1:9999/"
    assert "ANNOTATION_CREATED" in hook["actions"]
    assert hook["headers"] == {KEY_HEADER: webhook_key(settings)}
