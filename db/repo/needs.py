"""Stored needs (``need_groups``, ``need_members``): the grouping of a demand version's need
sentences, kept per version so a page reads it instead of clustering on every visit, and a
rollback shows the rolled-back-to version's needs at once.
"""

from __future__ import annotations

import pandas as pd

from db.store import Store

GROUP_COLUMNS = ["shop_id", "model_version", "need_id", "name", "sentences", "created_at"]
MEMBER_COLUMNS = ["shop_id", "model_version", "target_id", "need_id", "similarity",
                  "informative"]  # fmt: skip


def replace(store: Store, shop_id: str, version: str, needs: pd.DataFrame,
            members: pd.DataFrame) -> int:  # fmt: skip
    """Replace the version's needs (``need_id, name, sentences``) and their members
    (``target_id, need_id, similarity, informative``) in one transaction: a reader sees the old
    grouping or the new one, never a mix. Returns the number of needs stored."""
    now = pd.Timestamp.now("UTC").tz_localize(None)
    groups = needs.assign(shop_id=shop_id, model_version=version, created_at=now)[GROUP_COLUMNS]
    rows = members.assign(shop_id=shop_id, model_version=version)[MEMBER_COLUMNS]
    with store.write() as con:
        for table in ("need_members", "need_groups"):
            con.execute(f"DELETE FROM {table} WHERE shop_id = $shop AND model_version = $version",
                        {"shop": shop_id, "version": version})  # fmt: skip
        for table, frame, columns in (("need_groups", groups, GROUP_COLUMNS),
                                      ("need_members", rows, MEMBER_COLUMNS)):  # fmt: skip
            con.register("new_rows", frame)
            con.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                        f"SELECT {', '.join(columns)} FROM new_rows")  # fmt: skip
            con.unregister("new_rows")
    return len(groups)


def grouped(store: Store, shop_id: str, version: str) -> bool:
    """Whether the version's need sentences have been grouped."""
    with store.read() as con:
        row = con.execute(
            "SELECT count(*) FROM need_groups WHERE shop_id = $shop AND model_version = $version",
            {"shop": shop_id, "version": version},
        ).fetchone()
    return bool(row and row[0])
