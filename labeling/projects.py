"""One Label Studio project per shop and task, its interface generated from the task.

The project shows the task's annotation template (:mod:`labeling.templates`) with the labels as
buttons and the model's guess pre-selected. A Data Manager view sorts tasks by prediction score
(least certain first), and the project's ``model_version`` follows the active model so Label
Studio's own uncertainty sampling uses the current predictions.

Which project belongs to which (shop, task) is recorded in the store (``label_projects``), with
the project's creation time: a project that was deleted, or a Label Studio whose data folder was
reset (ids start again at 1, so another project may now hold the recorded id), is recognised as
*gone* rather than read as an empty project (:class:`ProjectGone`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.kinds.base import LabellingSpec, Task
from db.repo import labelling as repo
from db.repo.labelling import ProjectRow
from db.store import Store
from labeling.client import LabelStudioClient, LabelStudioError, LabelStudioUnavailable
from labeling.templates import instructions, label_config

SCORE_VIEW_TITLE = "Least certain first"


class ProjectGone(LabelStudioError):
    """The recorded project no longer exists in Label Studio (deleted, or data reset)."""


def title(shop_id: str, task: str) -> str:
    return f"ShopLens {shop_id} · {task}"


def _same_project(entry: ProjectRow, project: dict[str, Any] | None) -> bool:
    """Whether the server's ``project`` is the recorded one (not a namesake id)."""
    if project is None:
        return False
    if entry.ls_created_at:  # immutable, unlike the title an admin may edit
        return str(project.get("created_at")) == entry.ls_created_at
    return project.get("title") == entry.title


def project_id(store: Store, shop_id: str, task: str) -> int | None:
    """The Label Studio project id recorded for the shop's task, if any."""
    entry = repo.get_project(store, shop_id, task)
    return entry.project_id if entry else None


def live_project_id(client: LabelStudioClient, store: Store, shop_id: str, task: str) -> int | None:
    """The recorded project id if that very project is still in Label Studio; None when none
    was ever made; :class:`ProjectGone` when the recorded one is missing or replaced."""
    entry = repo.get_project(store, shop_id, task)
    if entry is None:
        return None
    if not _same_project(entry, client.get_project(entry.project_id)):
        raise ProjectGone(
            f"Label Studio no longer has the {task} project of shop {shop_id!r} (id "
            f"{entry.project_id}): it was deleted, or Label Studio's data folder was reset."
        )
    return entry.project_id


def ensure_project(client: LabelStudioClient, store: Store, spec: Task, shop_id: str,
                   context_columns: Sequence[str] = (), model_version: str | None = None,
                   on_gone: Callable[[int], object] | None = None,
                   labelling: LabellingSpec | None = None) -> int:  # fmt: skip
    """The shop's task project id, creating the project (and its score-sorted view) when needed.

    ``model_version`` is set on a new project only: Label Studio accepts a version for an
    existing project once it has predictions of it (see :func:`follow_model_version`). When the
    recorded project is gone, ``on_gone(old_id)`` runs before the replacement is recorded.
    """
    labelling = labelling or spec.labelling
    if labelling is None:
        raise LabelStudioError(f"{spec.name} rows are not sent to annotators.")
    try:
        pid = live_project_id(client, store, shop_id, spec.name)
    except ProjectGone:
        pid = None
        old = repo.get_project(store, shop_id, spec.name)
        if on_gone is not None and old is not None:
            on_gone(old.project_id)
    if pid is not None:
        return pid
    fields: dict[str, Any] = {
        "title": title(shop_id, spec.name),
        "description": spec.description,
        "label_config": label_config(labelling, context_columns),
        "expert_instruction": f"<p>{instructions(labelling)}</p>",
        "show_instruction": True,
        "show_skip_button": True,
        "sampling": "Uncertainty sampling",
    }
    if model_version:
        fields["model_version"] = model_version
    project = client.create_project(**fields)
    pid = int(project["id"])
    ensure_score_view(client, pid)
    repo.save_project(store, ProjectRow(shop_id, spec.name, pid, fields["title"],
                                        str(project.get("created_at")), list(context_columns)))  # fmt: skip
    return pid


def follow_model_version(client: LabelStudioClient, ls_project_id: int, version: str) -> bool:
    """Make ``version`` the project's model version (its uncertainty sampling and score view
    then use that model's predictions). False if the project holds no prediction of it yet."""
    try:
        client.update_project(ls_project_id, model_version=version)
    except LabelStudioError as exc:
        if isinstance(exc, LabelStudioUnavailable) or "model_version" not in str(exc):
            raise
        return False
    return True


def ensure_score_view(client: LabelStudioClient, ls_project_id: int) -> None:
    """A Data Manager tab that lists tasks by prediction score, least certain first."""
    for view in client.list_views(ls_project_id):
        if (view.get("data") or {}).get("title") == SCORE_VIEW_TITLE:
            return
    client.create_view(
        ls_project_id,
        {"title": SCORE_VIEW_TITLE, "ordering": ["tasks:predictions_score"]},
    )


def migrate_legacy_registry(store: Store, home: Path) -> int:
    """Projects recorded by an earlier ShopLens in ``<home>/labeling/projects.json`` (one per
    task, shared by every shop) move to the store: one row per shop that has rows in the
    project (the sample shop when none). Returns how many rows were recorded."""
    path = home / "labeling" / "projects.json"
    if not path.is_file() or not store.exists():
        return 0
    entries = json.loads(path.read_text(encoding="utf-8"))
    added = 0
    for task, entry in entries.items():
        pid = int(entry["project_id"])
        for shop_id in repo.queue_shops_of_project(store, task, pid) or ["sample"]:
            if repo.get_project(store, shop_id, task) is None:
                repo.save_project(store, ProjectRow(
                    shop_id, task, pid, str(entry.get("title") or f"ShopLens {task}"),
                    entry.get("created_at"), list(entry.get("context_columns") or [])))  # fmt: skip
                added += 1
    path.rename(path.with_name("projects.json.migrated"))
    return added
