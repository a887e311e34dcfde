"""What the store holds, per shop: row counts and each task's active model version."""

from __future__ import annotations

from typing import Any

from db.repo.models import active_versions
from db.store import Store


def store_status(store: Store) -> dict[str, Any]:
    """Row counts per table and the active version per task, for every shop. Label Studio's
    state is added by the CLI (a layer above)."""
    status: dict[str, Any] = {
        "store": {"path": str(store.db_path), "exists": store.exists()},
        "shops": {},
        "labelstudio": {},
    }
    if not store.exists():
        return status
    with store.read() as con:
        shops = [row[0] for row in con.execute("SELECT shop_id FROM shops ORDER BY 1").fetchall()]
    active = active_versions(store)
    for shop in sorted(set(shops) | {s for s, _task in active}):
        status["shops"][shop] = {
            "rows": store.table_counts(shop),
            "models": {task: version for (s, task), version in active.items() if s == shop},
        }
    return status
