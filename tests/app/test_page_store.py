"""The app's PageStore: one read connection per page run, and facts about the data learnt once
per run (a 100M-event page asked whether the summaries cover the shop up to eight times)."""

from __future__ import annotations

import pytest

from app.ui.context import PageStore
from db import dashboard_queries as dq
from db import rollups
from db.store import Store

pytestmark = pytest.mark.integration


def test_a_fact_is_computed_once_per_page_run_and_again_after_a_write(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = PageStore(store.db_path)
    checks: list[str] = []
    real = rollups.covers_events

    def counted(con: object, shop_id: str) -> bool:
        checks.append(shop_id)
        return real(con, shop_id)  # type: ignore[arg-type]

    monkeypatch.setattr(rollups, "covers_events", counted)
    with page.page_run():
        assert dq.summaries_cover(page, "a") and dq.summaries_cover(page, "a")
        dq.summaries_cover(page, "b")
        assert checks == ["a", "b"]
        with page.write() as con:  # a write ends what the run knew
            con.execute("SELECT 1")
        dq.summaries_cover(page, "a")
        assert checks == ["a", "b", "a"]
    dq.summaries_cover(page, "a")  # outside a run: every time
    dq.summaries_cover(page, "a")
    assert checks == ["a", "b", "a", "a", "a"]
