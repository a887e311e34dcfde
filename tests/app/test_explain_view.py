"""Shopper text on the Explain page: masked before it is shown (even in the text box), and shown
as text, never read as Markdown or HTML (a planted image would be a tracking pixel)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from db.store import Store
from tests.app.dashboard_seed import SHOP

pytestmark = pytest.mark.integration

PLANTED = (
    "Write to jane.doe@example.com or call +44 20 7946 0958 ![x](http://tracker.test/p.png) "
    "[click](javascript:alert(1)) <img src=x onerror=alert(1)> **bold**"
)


def add_review(store: Store, review_id: str = "r-planted") -> None:
    with store.write() as con:
        con.execute(
            "INSERT INTO reviews (shop_id, review_id, rating, text, ts) VALUES (?, ?, 1, ?, ?)",
            [SHOP, review_id, PLANTED, datetime(2024, 3, 10)],
        )
        con.execute(
            "INSERT INTO predictions (shop_id, task, target_id, model_version, label, probs, "
            "entropy, margin, created_at) VALUES (?, 'sentiment', ?, 'v-demo-1', 'negative', ?, "
            "0.5, 0.5, now()::TIMESTAMP)",
            [SHOP, review_id, json.dumps({"negative": 0.8, "neutral": 0.1, "positive": 0.1})],
        )


def test_a_picked_review_is_masked_and_shown_as_text(seeded_store: Store, open_page) -> None:
    add_review(seeded_store)
    at = open_page("explain", state={"explain_pick": "r-planted", "explain_why": False})
    assert not at.exception
    box = at.text_area[0].value
    assert "jane.doe@example.com" not in box and "7946" not in box and "[EMAIL]" in box
    quotes = [h.proto.body for h in at.get("html")]
    shown = next(q for q in quotes if "tracker.test" in q)
    assert "<img" not in shown.replace("&lt;img", "") and "&lt;img src=x" in shown
    assert "![x](http://tracker.test/p.png)" in shown  # the Markdown stays literal text
    assert all("tracker.test" not in m.value for m in at.markdown)
    assert all("jane.doe" not in q for q in quotes)
