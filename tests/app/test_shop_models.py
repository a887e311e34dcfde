"""Models are per shop: two shops trained independently keep their own active versions, and
promoting or rolling back in one leaves the other's predictions, pages and ``status --json``
exactly as they were. The pages always show the active version's predictions."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from app.cli import main
from db import prediction_queries as pq
from db.store import Store
from tests.app.conftest import make_viewer
from tests.app.test_dashboard_pages import _problems
from tests.trust.test_dashboard_isolation import _all_text

pytestmark = pytest.mark.integration

GOOD = ["love this dress", "great fit and soft", "perfect and beautiful", "amazing quality"]
BAD = ["awful ripped seams", "terrible cheap fabric", "horrible returned it", "worst ever"]
TRAIN = ["train", "sentiment", "--epochs", "1", "--trainable-layers", "1"]


def seed_shop(store: Store, shop: str, n: int = 48) -> None:
    start = datetime(2024, 3, 1, 9)
    rows = []
    for i in range(n):
        words = GOOD if i % 2 else BAD
        text = f"{words[i % 4]}, {words[(i + 1) % 4]} ({shop} order {i})"
        rows.append((shop, f"{shop}-r{i:03d}", 5 if i % 2 else 1, text, start + timedelta(hours=i)))
    with store.write() as con:
        con.execute("INSERT INTO shops VALUES (?, ?, ?)", [shop, shop, start])
        con.executemany(
            "INSERT INTO reviews (shop_id, review_id, rating, text, ts) VALUES (?, ?, ?, ?, ?)",
            rows,
        )


def cli(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def snapshot(store: Store, shop: str, open_page, capsys) -> dict:
    """What a merchant of ``shop`` and an operator can see of its models."""
    predictions = pq.review_predictions(store, shop)
    status = json.loads(cli(capsys, "status", "--json"))["shops"][shop]["models"]
    viewer = make_viewer("admin")
    pages = {}
    for page in ("sentiment", "models"):
        at = open_page(page, viewer=viewer, state={"f_shop": shop, "models_task": "sentiment"})
        assert not _problems(at), _problems(at)
        pages[page] = _all_text(at)
    return {"predictions": predictions.sort_values("review_id").to_dict("records"),
            "status": status, "pages": pages}  # fmt: skip


def test_promote_and_rollback_in_one_shop_leave_the_other_unchanged(store, open_page, capsys):
    for shop in ("north", "south"):
        seed_shop(store, shop)
        cli(capsys, *TRAIN, "--shop", shop)
        cli(capsys, "score", "sentiment", "--shop", shop)
    from common.settings import load_settings
    from core.context import Context

    registry = Context.from_settings(load_settings()).registry
    north_first, south_first = (
        registry.active("north", "sentiment"),
        registry.active("south", "sentiment"),
    )
    assert north_first and south_first and north_first != south_first
    assert {v.version for v in registry.versions("north", "sentiment")}.isdisjoint(
        {v.version for v in registry.versions("south", "sentiment")}
    )
    south_before = snapshot(store, "south", open_page, capsys)
    north_before = snapshot(store, "north", open_page, capsys)
    assert south_before["status"] == {"sentiment": south_first}
    assert len(south_before["predictions"]) == 48

    # north gets a new version (forced in), its rows are scored, then it is rolled back
    cli(capsys, *TRAIN, "--shop", "north", "--force-promote")
    north_second = registry.active("north", "sentiment")
    assert north_second != north_first
    cli(capsys, "score", "sentiment", "--shop", "north")
    assert set(pq.review_predictions(store, "north")["model_version"]) == {north_second}
    assert snapshot(store, "south", open_page, capsys) == south_before
    north_forced = snapshot(store, "north", open_page, capsys)
    assert north_forced["status"] == {"sentiment": north_second}
    assert "was forced in" in north_forced["pages"]["models"]  # the check can fail

    cli(capsys, "rollback", "sentiment", "--shop", "north")
    assert registry.active("north", "sentiment") == north_first
    north = pq.review_predictions(store, "north")
    assert len(north) == 48 and set(north["model_version"]) == {north_first}  # no re-scoring
    assert snapshot(store, "south", open_page, capsys) == south_before
    north_after = snapshot(store, "north", open_page, capsys)
    assert north_after["predictions"] == north_before["predictions"]  # the first version's, again
    assert north_after["pages"]["sentiment"] == north_before["pages"]["sentiment"]
    assert json.loads(cli(capsys, "status", "--json"))["shops"]["north"]["models"] == {
        "sentiment": north_first
    }
