"""The scoring API's shopper and item endpoints (propensity, churn, risk, recommendations, "also
viewed"), in process: each token reads its own shop only, bad input gets a clear 4xx."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from accounts.api_tokens import create_token
from app.api import create_app
from core.scoring import score_task
from core.training import TrainingConfig, train_task
from tests.core.conftest import seed_sample_events

pytestmark = pytest.mark.integration


@pytest.fixture
def client_and_tokens(ctx, store, settings):  # noqa: ANN201
    seed_sample_events(store, n_users=300)
    seed_sample_events(store, n_users=50, shop_id="other")  # the same shoppers, another shop
    for task in ("purchase", "churn", "recommend", "risk"):
        # a short budget keeps the sequential recommender to a few seconds
        train_task(
            ctx, task, "sample", TrainingConfig(max_minutes=0.5 if task == "recommend" else None)
        )
        score_task(ctx, task, "sample")
    tokens = {shop: create_token(store, shop, "crm") for shop in ("sample", "other")}
    return TestClient(create_app(settings, ctx)), tokens


def _get(client: TestClient, path: str, token: str | None):  # noqa: ANN202
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers)


def test_a_shoppers_forecasts_and_lists(client_and_tokens) -> None:
    client, tokens = client_and_tokens
    user = "u0000000"
    answer = _get(client, f"/v1/shoppers/{user}?k=3", tokens["sample"])
    assert answer.status_code == 200
    body = answer.json()
    assert body["shop"] == "sample" and body["user_id"] == user
    assert 0 <= body["purchase"]["probability"] <= 1 and body["purchase"]["horizon_days"] == 7
    assert body["churn"]["horizon_days"] == 19 and body["churn"]["model_version"].startswith("v")
    assert 0 <= body["risk"]["probability"] <= 1
    assert [r["rank"] for r in body["recommendations"]] == [1, 2, 3]
    recs = _get(client, f"/v1/shoppers/{user}/recommendations?k=10", tokens["sample"]).json()
    assert len(recs["items"]) == 10 and recs["items"][0] == {**body["recommendations"][0]}
    item = recs["items"][0]["item_id"]
    also = _get(client, f"/v1/items/{item}/also?event_type=purchase&k=5", tokens["sample"])
    assert also.status_code == 200 and len(also.json()["items"]) <= 5
    assert all(0 < i["share"] <= 1 for i in also.json()["items"])
    whole = _get(client, f"/v1/items/{item}/also?k=50", tokens["sample"]).json()
    week = _get(client, f"/v1/items/{item}/also?k=50&start=2026-10-26&end=2026-11-01",
                tokens["sample"]).json()  # fmt: skip
    assert week["start"] == "2026-10-26" and whole["start"] is None
    assert whole["sampled_one_in"] == 1  # exact unless asked
    sampled = _get(client, f"/v1/items/{item}/also?k=50&sample_above=10", tokens["sample"]).json()
    assert sampled["sampled_one_in"] > 1
    assert len(sampled["items"]) > 0 and all(0 < i["share"] <= 1 for i in sampled["items"])
    assert _get(client, f"/v1/items/{item}/also?sample_above=0",
                tokens["sample"]).status_code == 422  # fmt: skip
    assert sum(i["shoppers"] for i in week["items"]) < sum(i["shoppers"] for i in whole["items"])
    backwards = _get(client, f"/v1/items/{item}/also?start=2026-11-01&end=2026-10-26",
                     tokens["sample"])  # fmt: skip
    assert backwards.status_code == 422 and "start <= end" in backwards.text


def test_tokens_read_their_own_shop_only_and_bad_input_is_a_clear_4xx(client_and_tokens) -> None:
    client, tokens = client_and_tokens
    user = "u0000000"  # a shopper of both shops: the other shop has no models
    other = _get(client, f"/v1/shoppers/{user}", tokens["other"]).json()
    assert other["shop"] == "other" and other["purchase"] is None and other["recommendations"] == []
    assert _get(client, f"/v1/shoppers/{user}/recommendations", tokens["other"]).status_code == 409
    only_sample = "u0000299"  # in sample's first 300 shoppers, not in other's 50
    for path in (f"/v1/shoppers/{only_sample}", f"/v1/shoppers/{only_sample}/recommendations"):
        assert _get(client, path, tokens["other"]).status_code == 404
        assert _get(client, path, None).status_code == 401
        assert _get(client, path, "sl_00000000_" + "x" * 43).status_code == 401
    assert _get(client, "/v1/items/no-such-item/also", tokens["sample"]).status_code == 404
    assert _get(client, f"/v1/shoppers/{user}?k=0", tokens["sample"]).status_code == 422
    assert _get(client, "/v1/items/1/also?event_type=drop", tokens["sample"]).status_code == 422
    assert _get(client, "/v1/shoppers/" + "u" * 300, tokens["sample"]).status_code == 422
