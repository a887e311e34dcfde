"""The tasks ShopLens trains, one module each in this folder, found by scanning it.

Adding a task is one module here (or anywhere, imported before use) that builds the task and
calls :func:`core.kinds.base.register_task`; nothing else lists tasks. Importing this package
registers every built-in task.

    >>> sorted(t.name for t in all_tasks())
    ['aspects', 'churn', 'demand', 'intent', 'purchase', 'risk', 'sentiment', 'session_purchase']
"""

from __future__ import annotations

import importlib
import pkgutil

from core.kinds.base import (
    TASKS,
    Task,
    all_tasks,
    get_task,
    labelled_tasks,
    register_task,
    tasks_on_page,
    unregister_task,
)
from db.shops import check_shop_id

__all__ = ["TASKS", "Task", "all_tasks", "check_target", "get_task", "labelled_tasks",
           "register_task", "tasks_on_page", "unregister_task"]  # fmt: skip


def _discover() -> None:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def check_target(task: str, shop_id: str) -> Task:
    """Validate a task name and a shop id given by a user; returns the task."""
    check_shop_id(shop_id)
    return get_task(task)


_discover()
