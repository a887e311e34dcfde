from __future__ import annotations

import pytest

from db.schema import TABLES
from db.store import Store, StoreMissingError

pytestmark = pytest.mark.integration


def test_init_schema_creates_every_table_and_is_idempotent(store: Store) -> None:
    store.init_schema()
    counts = store.table_counts()
    assert set(counts) == set(TABLES)
    assert {"events", "reviews", "messages", "labels", "predictions"} <= set(counts)
    assert all(n == 0 for n in counts.values())


def test_write_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as con:
        con.execute("INSERT INTO shops VALUES ('s1', 'Shop', now())")
        raise RuntimeError("boom")
    assert store.table_counts()["shops"] == 0


def test_read_of_missing_store_says_how_to_fix(tmp_path) -> None:
    store = Store(tmp_path / "none.duckdb")
    with pytest.raises(StoreMissingError, match="shoplens load-sample"), store.read():
        pass
