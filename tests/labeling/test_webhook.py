"""Webhook receiver: deliveries become labels once; a wrong key is refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from labeling.routing import push
from labeling.webhook import KEY_HEADER, handle_payload, make_server, register, serve_in_thread

pytestmark = pytest.mark.unit


def delivery(fake_ls, target, label, action="ANNOTATION_CREATED"):
    task = next(t for t in fake_ls.tasks.values() if t["data"]["target_id"] == target)
    annotation = fake_ls.annotate(task["id"], label)
    return {"action": action, "annotation": annotation, "task": task, "project": {"id": 1}}


def post(port, payload, key):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", KEY_HEADER: key}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_same_delivery_twice_gives_one_label(toy_store, fake_ls, settings):
    push(toy_store, "toy", 2, client=fake_ls, settings=settings)
    payload = delivery(fake_ls, "m00", "neutral")
    assert handle_payload(toy_store, payload).labels_written == 1
    assert handle_payload(toy_store, payload).labels_written == 0
    rows = toy_store.query_df("SELECT label FROM labels WHERE source = 'human'")
    assert rows["label"].tolist() == ["neutral"]
    deleted = {
        "action": "ANNOTATIONS_DELETED",
        "annotations": [{"id": payload["annotation"]["id"]}],
    }
    assert handle_payload(toy_store, deleted).labels_removed == 1
    assert toy_store.query_df("SELECT * FROM labels WHERE source = 'human'").empty
    assert handle_payload(toy_store, {"action": "PROJECT_UPDATED"}) is None


def test_http_receiver_checks_the_key(toy_store, fake_ls, settings):
    push(toy_store, "toy", 2, client=fake_ls, settings=settings)
    server = make_server(toy_store, port=0, key="secret-key")
    serve_in_thread(server)
    port = server.server_address[1]
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(port, delivery(fake_ls, "m00", "neutral"), key="wrong")
        assert refused.value.code == 403
        answer = post(port, delivery(fake_ls, "m01", "negative"), key="secret-key")
        assert answer["labels_written"] == 1
    finally:
        server.shutdown()
        server.server_close()
    labels = toy_store.query_df("SELECT target_id FROM labels WHERE source = 'human'")
    assert labels["target_id"].tolist() == ["m01"]


def test_register_adds_the_webhook_once(toy_store, fake_ls, settings):
    push(toy_store, "toy", 1, client=fake_ls, settings=settings)
    assert register(fake_ls, ["toy", "unknown"], port=9999, settings=settings) == [1]
    register(fake_ls, ["toy"], port=9999, settings=settings)
    assert len(fake_ls.webhooks) == 1
    hook = fake_ls.webhooks[0]
    assert hook["url"] == "http://127.0.0.1:9999/"
    assert "ANNOTATION_CREATED" in hook["actions"] and KEY_HEADER in hook["headers"]
