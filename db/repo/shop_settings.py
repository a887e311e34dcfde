"""A shop's own configuration per concern (``shop_settings``): stored JSON text, checked by the
code that owns the key before it is written."""

from __future__ import annotations

from datetime import UTC, datetime

from db.store import Store


def get_setting(store: Store, shop_id: str, key: str) -> str | None:
    """The stored JSON text of ``key`` for the shop, or None (the built-in default applies)."""
    df = store.query_df("SELECT value FROM shop_settings WHERE shop_id = $shop AND key = $key",
                        {"shop": shop_id, "key": key})  # fmt: skip
    return None if df.empty else str(df.iloc[0]["value"])


def put_setting(store: Store, shop_id: str, key: str, value: str) -> None:
    """Store (or replace) ``key`` for the shop in one transaction."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.write() as con:
        con.execute("DELETE FROM shop_settings WHERE shop_id = $shop AND key = $key",
                    {"shop": shop_id, "key": key})  # fmt: skip
        con.execute("INSERT INTO shop_settings (shop_id, key, value, updated_at) "
                    "VALUES ($shop, $key, $value, $now)",
                    {"shop": shop_id, "key": key, "value": value, "now": now})  # fmt: skip


def delete_setting(store: Store, shop_id: str, key: str) -> bool:
    """Remove the shop's own ``key`` (back to the default); whether there was one."""
    had = get_setting(store, shop_id, key) is not None
    with store.write() as con:
        con.execute("DELETE FROM shop_settings WHERE shop_id = $shop AND key = $key",
                    {"shop": shop_id, "key": key})  # fmt: skip
    return had
