"""The ``api_tokens`` table: hashed scoring-API tokens, one shop each."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from db.store import Store


def add(store: Store, token_id: str, token_hash: str, shop_id: str, name: str,
        created_at: datetime) -> None:  # fmt: skip
    with store.write() as con:
        con.execute(
            "INSERT INTO api_tokens (token_id, token_hash, shop_id, name, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [token_id, token_hash, shop_id, name, created_at],
        )


def valid(store: Store) -> dict[str, tuple[str, str]]:
    """token_id -> (token_hash, shop_id) of every token not revoked."""
    if not store.exists():
        return {}
    with store.read() as con:
        rows = con.execute(
            "SELECT token_id, token_hash, shop_id FROM api_tokens WHERE revoked_at IS NULL"
        ).fetchall()
    return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}


def revoke(store: Store, token_id: str, when: datetime) -> bool:
    """Revoke a token; False when there is no such valid token."""
    with store.write() as con:
        row = con.execute(
            "SELECT count(*) FROM api_tokens WHERE token_id = ? AND revoked_at IS NULL", [token_id]
        ).fetchone()
        if not row or not row[0]:
            return False
        con.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?", [when, token_id])
    return True


def listing(store: Store) -> pd.DataFrame:
    """Every token without its hash: token_id, shop_id, name, created_at, revoked_at."""
    return store.query_df(
        "SELECT token_id, shop_id, name, created_at, revoked_at FROM api_tokens ORDER BY created_at"
    )
