"""The scoring API as other systems see it: a real ``shoplens serve`` process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from common.settings import REPO_ROOT
from tests.core.conftest import sentiment_store  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

TRAIN = ["train", "sentiment", "--epochs", "1", "--trainable-layers", "1"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, token: str | None = None, body: object = None,
         raw: bytes | Iterator[bytes] | None = None):  # fmt: skip
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, headers=headers,
                                     method="POST" if data is not None else "GET")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def token_for(capsys, shop: str) -> str:
    assert main(["api-token", "create", "--shop", shop, "--name", "crm"]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.fixture
def server(sentiment_store, shoplens_home: Path, tmp_path: Path):  # noqa: F811
    port = _free_port()
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - fixed argument list
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=REPO_ROOT,
        env={**os.environ, "SHOPLENS_HOME": str(shoplens_home)}, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if call(f"{url}/v1/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        raise TimeoutError((tmp_path / "api.log").read_text())
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def test_predictions_per_shop_with_tokens_limits_and_a_promotion_under_it(server, capsys):
    assert main(TRAIN) == 0
    capsys.readouterr()
    mine, other = token_for(capsys, "sample"), token_for(capsys, "north")
    assert re.fullmatch(r"sl_[a-z0-9]{8}_[A-Za-z0-9_\-]{43}", mine)
    predict = f"{server}/v1/sentiment/predict"

    status, answer = call(predict, mine, {"texts": ["love this dress", "awful ripped seams"]})
    assert status == 200 and answer["shop"] == "sample" and answer["model_version"].startswith("v")
    assert [p["label"] for p in answer["predictions"]] == ["positive", "negative"]
    assert sum(answer["predictions"][0]["probabilities"].values()) == pytest.approx(1, abs=1e-4)
    first = answer["model_version"]

    # another shop's token never reads this shop's model
    status, answer = call(predict, other, {"texts": ["love this dress"]})
    assert status == 409 and "shop north has no sentiment model" in answer["detail"]
    assert call(f"{server}/v1/tasks", other)[1]["shop"] == "north"
    # no token, a wrong one, a forged one
    for token in (None, "nope", mine[:-1] + ("A" if mine[-1] != "A" else "B")):
        status, answer = call(predict, token, {"texts": ["x"]})
        assert status == 401 and "Traceback" not in json.dumps(answer)
    # bad input: clear errors, no stack traces
    assert call(predict, mine, {"texts": []})[0] == 422
    assert call(predict, mine, {"text": "x"})[0] == 422
    assert call(predict, mine, raw=b"{not json")[0] == 422
    assert call(predict, mine, {"texts": ["x"] * 65})[0] == 413
    assert call(predict, mine, {"texts": ["x" * 10_001]})[0] == 422
    try:  # the server answers 413 from the Content-Length alone, without reading the body
        assert call(predict, mine, raw=b'{"texts": ["' + b"x" * 1_100_000 + b'"]}')[0] == 413
    except urllib.error.URLError as exc:  # or the client notices the closed socket first
        assert isinstance(exc.reason, BrokenPipeError | ConnectionResetError)
    # a body without a Content-Length (chunked): read whole within the limit, refused past it
    pieces = [b'{"texts": ["love ', b"this ", b'dress", "awful ripped seams"]}']
    status, answer = call(predict, mine, raw=iter(pieces))
    assert status == 200 and [p["label"] for p in answer["predictions"]] == ["positive", "negative"]
    try:
        endless = iter([b'{"texts": ["', *[b"x" * 100_000] * 15, b'"]}'])
        assert call(predict, mine, raw=endless)[0] == 413
    except urllib.error.URLError as exc:  # or the client notices the closed socket first
        assert isinstance(exc.reason, BrokenPipeError | ConnectionResetError)
    assert call(f"{server}/v1/nosuch/predict", mine, {"texts": ["x"]})[0] == 404
    assert call(f"{server}/v1/risk/predict", mine, {"texts": ["x"]})[0] == 404

    # a new version promoted while the server runs: served once it is active
    assert main([*TRAIN, "--force-promote"]) == 0
    capsys.readouterr()
    time.sleep(5.5)
    status, answer = call(predict, mine, {"texts": ["love this dress"]})
    assert status == 200 and answer["model_version"] != first

    # a revoked token is refused within seconds
    token_id = mine.split("_")[1]
    assert main(["api-token", "revoke", token_id]) == 0
    assert main(["api-token", "list"]) == 0
    assert f"{token_id}  sample" in capsys.readouterr().out
    time.sleep(5.5)
    assert call(predict, mine, {"texts": ["x"]})[0] == 401


def test_aspect_mentions_per_shop_with_its_own_aspect_set(server, capsys, tmp_path):
    mine, other = token_for(capsys, "sample"), token_for(capsys, "north")
    own = tmp_path / "aspects.json"
    own.write_text(
        '{"aspects": [{"name": "battery", "terms": ["battery"], "negative": ["drains fast"]}]}'
    )
    assert main(["aspect-set", "--shop", "north", "--file", str(own)]) == 0
    texts = ["Runs small. Love the colour!", "The battery drains fast.", ""]
    status, answer = call(f"{server}/v1/aspects/mentions", mine, {"texts": texts})
    assert status == 200 and answer["model_version"] is None  # no model yet: the rules serve
    first = [(m["sentence"], m["aspect"], m["polarity"]) for m in answer["texts"][0]]
    assert first == [
        ("Runs small.", "size_fit", "negative"),
        ("Love the colour!", "colour", "positive"),
    ]
    assert answer["texts"][0][0]["triggers"] == ["Runs small"]
    assert answer["texts"][1] == [] and answer["texts"][2] == []  # apparel has no battery
    status, answer = call(f"{server}/v1/aspects/mentions", other, {"texts": texts})
    assert [[m["aspect"] for m in t] for t in answer["texts"]] == [[], ["battery"], []]
    assert call(f"{server}/v1/sentiment/mentions", mine, {"texts": ["x"]})[0] == 404
    assert call(f"{server}/v1/aspects/mentions", None, {"texts": ["x"]})[0] == 401
    assert call(f"{server}/v1/aspects/mentions", mine, {"texts": []})[0] == 422
    assert call(f"{server}/v1/aspects/mentions", mine, {"texts": ["x"] * 10_000})[0] == 413
    # each text may come with its review's rating: one per text, 1-5 stars or null
    rated = {"texts": texts, "ratings": [2, None, 5]}
    status, answer = call(f"{server}/v1/aspects/mentions", mine, rated)
    assert status == 200 and [m["aspect"] for m in answer["texts"][0]] == ["size_fit", "colour"]
    status, answer = call(f"{server}/v1/aspects/mentions", mine, {"texts": texts, "ratings": [2]})
    assert status == 422 and "one rating per text (3)" in answer["detail"]
    status, answer = call(f"{server}/v1/aspects/mentions", mine,
                          {"texts": ["x"], "ratings": [9]})  # fmt: skip
    assert status == 422 and answer["detail"].startswith("ratings[0] (9) is not between 1 and 5")
