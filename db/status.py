"""What the store holds, per shop: row counts and the active model versions it records."""

from __future__ import annotations

from common.settings import Settings
from db.store import Store


def store_status(settings: Settings) -> dict:
    """Row counts per table for every shop, and the active model version per task as recorded in
    the store. Label Studio's state is added by the CLI (a layer above)."""
    store = Store(settings.store.db_path, settings.store.lock_timeout_s)
    status: dict = {
        "store": {"path": str(store.db_path), "exists": store.exists()},
        "shops": {},
        "models": {},
        "labelstudio": {},
    }
    if not store.exists():
        return status
    with store.read() as con:
        shops = [row[0] for row in con.execute("SELECT shop_id FROM shops ORDER BY 1").fetchall()]
        active = con.execute(
            "SELECT task, version FROM model_versions WHERE is_active ORDER BY task"
        ).fetchall()
    for shop in shops:
        status["shops"][shop] = {"rows": store.table_counts(shop)}
    status["models"] = dict(active)
    return status
