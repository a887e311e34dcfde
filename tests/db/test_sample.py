from __future__ import annotations

import pytest

from db.sample import load_sample
from db.store import Store

pytestmark = pytest.mark.integration


def test_bundled_sample_shop_loads_every_set_once(store: Store) -> None:
    reports = load_sample(store)
    added = {r.kind: r.rows_added for r in reports}
    assert added == {
        "items": 1083,
        "events": 250_000,
        "reviews": 18_112,
        "messages": 4_514,
        "sessions": 12_330,
    }
    assert all(r.rows_rejected == 0 for r in reports)
    counts = store.table_counts("sample")
    # the messages' intent labels (derived) and the team's 930 labelled review sentences (human)
    assert counts["labels"] == 4_514 + 930
    team = store.query_df("SELECT count(*) AS n FROM labels WHERE task = 'aspects' "
                          "AND source = 'human' AND annotator = 'shoplens-team'")["n"].iloc[0]  # fmt: skip
    assert team == 930
    settings = store.query_df("SELECT key FROM shop_settings WHERE shop_id = 'sample'")
    assert settings["key"].tolist() == ["intents"]
    # reviews and messages are written by shoppers who also appear in the event log
    linked = store.query_df(
        "SELECT count(*) AS n FROM reviews r JOIN users u USING (shop_id, user_id)"
    )["n"].iloc[0]
    assert linked == 18_112
    again = load_sample(store)
    assert all(r.already_ingested for r in again)
    assert store.table_counts("sample") == counts
