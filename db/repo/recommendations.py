"""The recommendations table: a recommender version's ranked items per shopper."""

from __future__ import annotations

import pandas as pd

from db.store import Store

COLUMNS = ["shop_id", "model_version", "user_id", "rank", "item_id", "category", "score",
           "created_at"]  # fmt: skip


def replace(store: Store, shop_id: str, version: str, rows: pd.DataFrame) -> int:
    """Replace the version's lists for the shoppers in ``rows`` (``user_id, rank, item_id,
    category, score``) in one transaction: a rerun never duplicates, a shopper's old list
    never mixes with the new one."""
    if rows.empty:
        return 0
    frame = rows.assign(shop_id=shop_id, model_version=version,
                        created_at=pd.Timestamp.now("UTC").tz_localize(None))[COLUMNS]  # fmt: skip
    with store.write() as con:
        con.register("new_recs", frame)
        con.execute(
            "DELETE FROM recommendations WHERE shop_id = $shop AND model_version = $version "
            "AND user_id IN (SELECT DISTINCT user_id FROM new_recs)",
            {"shop": shop_id, "version": version},
        )
        con.execute(f"INSERT INTO recommendations ({', '.join(COLUMNS)}) "
                    f"SELECT {', '.join(COLUMNS)} FROM new_recs")  # fmt: skip
        con.unregister("new_recs")
    return int(frame["user_id"].nunique())


def for_shop(store: Store, shop_id: str, version: str, user_id: str | None = None,
             k: int = 10) -> pd.DataFrame:  # fmt: skip
    """``user_id, rank, item_id, category, score`` of the version's top ``k`` per shopper (one
    shopper with ``user_id``), by shopper then rank."""
    where = "AND user_id = $user" if user_id is not None else ""
    return store.query_df(
        f"SELECT user_id, rank, item_id, category, score FROM recommendations "
        f"WHERE shop_id = $shop AND model_version = $version AND rank <= $k {where} "
        f"ORDER BY user_id, rank",
        {"shop": shop_id, "version": version, "k": k,
         **({"user": user_id} if user_id is not None else {})},
    )  # fmt: skip
