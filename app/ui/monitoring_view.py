"""What the Monitoring page caches: one task's monitoring report per store version."""

from __future__ import annotations

from typing import Any

from db.store import Store


def task_report(store: Store, shop_id: str, task: str) -> dict[str, Any]:
    """One task's monitoring report (it reads every prediction of the serving version, so the
    page caches it until the store changes)."""
    from app.ui.context import get_context
    from core.monitoring import monitor_task

    return monitor_task(get_context(), shop_id, task)
