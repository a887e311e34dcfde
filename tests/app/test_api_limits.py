"""The scoring API's body limit, in process: a body over the limit is refused with 413 whether
its size is declared (Content-Length) or not (a chunked body), before the app reads it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from accounts.api_tokens import create_token
from app.api import MAX_BODY_BYTES, create_app

pytestmark = pytest.mark.integration  # a real store holds the token

JSON = {"Content-Type": "application/json"}


def _chunked(total: int, end: bytes = b'"]}', piece: int = 100_000) -> Iterator[bytes]:
    """A JSON body of about ``total`` bytes in pieces, sent without a Content-Length."""
    yield b'{"texts": ["'
    for start in range(0, total, piece):
        yield b"x" * min(piece, total - start)
    yield end


def test_a_body_over_the_limit_is_refused_declared_or_chunked(ctx, settings, store) -> None:
    client = TestClient(create_app(settings, ctx))
    url = "/v1/sentiment/predict"
    big = client.post(url, content=_chunked(3 * MAX_BODY_BYTES), headers=JSON)
    assert big.status_code == 413 and str(MAX_BODY_BYTES) in big.json()["detail"]
    declared = b'{"texts": ["' + b"x" * (MAX_BODY_BYTES + 1) + b'"]}'
    assert client.post(url, content=declared, headers=JSON).status_code == 413
    # within the limit, chunked or not, the request goes on to the app (no token here: 401)
    small = client.post(url, content=_chunked(1_000), headers=JSON)
    assert small.status_code == 401 and "Bearer" in small.json()["detail"]
    assert client.post(url, json={"texts": ["x"]}).status_code == 401
    assert client.get("/v1/health").json() == {"status": "ok"}
    # a chunked body within the limit reaches the app whole: read (the shop has no model yet)
    auth = {**JSON, "Authorization": f"Bearer {create_token(store, 'sample', 'crm')}"}
    read = client.post(url, content=_chunked(5_000, piece=1_000), headers=auth)
    assert read.status_code == 409 and "no sentiment model" in read.json()["detail"]
    assert (
        client.post(url, content=_chunked(5_000, end=b'"', piece=1_000), headers=auth).status_code
        == 422
    )
