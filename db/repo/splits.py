"""The fixed train / validation / test assignment of each shop's task rows (``data_splits``)."""

from __future__ import annotations

import pandas as pd

from db.store import Store


def stored_splits(store: Store, shop_id: str, task: str) -> dict[str, str]:
    """``target_id -> split`` of every row assigned so far."""
    df = store.query_df(
        "SELECT target_id, split FROM data_splits WHERE shop_id = $shop AND task = $task",
        {"shop": shop_id, "task": task},
    )
    return dict(zip(df["target_id"], df["split"], strict=True))


def add_splits(store: Store, shop_id: str, task: str, splits: pd.Series) -> None:
    """Record the split of rows not assigned before (``splits``: index target_id)."""
    if splits.empty:
        return
    rows = pd.DataFrame({"shop_id": shop_id, "task": task, "target_id": splits.index,
                         "split": splits.to_numpy()})  # fmt: skip
    with store.write() as con:
        con.register("new_splits", rows)
        con.execute(
            "INSERT OR IGNORE INTO data_splits (shop_id, task, target_id, split) "
            "SELECT shop_id, task, target_id, split FROM new_splits"
        )
