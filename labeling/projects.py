"""One Label Studio project per ShopLens task, its labelling interface generated from the task.

The interface shows the text to label, its context (product, rating, the whole review around a
demand sentence: whatever the task's ``load_texts`` returns beside ``text``) and short instructions,
with the task's labels as single-choice buttons. The model's guess arrives as a pre-annotation, so
annotators confirm or correct. A Data Manager view sorts tasks by prediction score (least certain
first), and the project's ``model_version`` follows the active model so Label Studio's own
uncertainty sampling uses the current predictions.

Which project belongs to which task is remembered in ``$SHOPLENS_HOME/labeling/projects.json``,
with the project's title and creation time: a project that was deleted, or a Label Studio whose data
folder was reset (ids start again at 1, so another project may now hold the recorded id), is
recognised as *gone* rather than read as an empty project. See :class:`ProjectGone`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import quoteattr

from common.settings import Settings, load_settings
from labeling.client import LabelStudioClient, LabelStudioError, LabelStudioUnavailable

FROM_NAME = "label"  # the Choices control; sync reads labels from it
TO_NAME = "text"
SCORE_VIEW_TITLE = "Least certain first"
# data keys the project itself adds to every task; not shown as context
RESERVED_KEYS = ("text", "target_id", "shop_id", "task", "uncertainty", "model_label")


class TaskLike(Protocol):
    """What this module needs of a ``core.tasks.TaskSpec``."""

    name: str
    labels: Sequence[str]
    description: str


def context_key(column: str) -> str:
    """A safe Label Studio data key for a context column (letters, digits, underscores)."""
    key = re.sub(r"[^0-9a-zA-Z_]", "_", column).strip("_") or "context"
    return f"ctx_{key}"


def instructions(spec: TaskLike) -> str:
    """The short instructions shown above every task."""
    labels = ", ".join(spec.labels)
    return (
        f"{spec.description.strip()} Pick the one label that fits the highlighted text best "
        f"({labels}). The model's guess is pre-selected: keep it if it is right, otherwise click "
        "the right label. Use the context only to understand the text. Skip a text you cannot judge."
    )


def label_config(spec: TaskLike, context_columns: Sequence[str] = ()) -> str:
    """The Label Studio XML interface for ``spec`` with a block per context column."""
    parts = ["<View>", f'  <Header value={quoteattr(instructions(spec))} size="6"/>']
    for column in context_columns:
        title = column.replace("_", " ").capitalize()
        parts.append(f'  <Header value={quoteattr(title)} size="6"/>')
        parts.append(
            f'  <Text name={quoteattr(context_key(column))} value="${context_key(column)}"/>'
        )
    parts.append('  <Header value="Text to label" size="5"/>')
    parts.append(f'  <Text name="{TO_NAME}" value="$text"/>')
    parts.append(
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single-radio" '
        'showInline="true" required="true">'
    )
    parts.extend(f"    <Choice value={quoteattr(label)}/>" for label in spec.labels)
    parts += ["  </Choices>", "</View>"]
    return "\n".join(parts)


def _registry_path(settings: Settings) -> Path:
    return settings.home / "labeling" / "projects.json"


def _read_registry(settings: Settings) -> dict[str, Any]:
    path = _registry_path(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _write_registry(settings: Settings, registry: dict[str, Any]) -> None:
    path = _registry_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(registry, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


class ProjectGone(LabelStudioError):
    """The task's recorded project no longer exists in Label Studio (deleted, or data reset)."""


def _title(task: str) -> str:
    return f"ShopLens {task}"


def _same_project(entry: dict[str, Any], task: str, project: dict[str, Any] | None) -> bool:
    """Whether the server's ``project`` is the one recorded in ``entry`` (not a namesake id)."""
    if project is None:
        return False
    recorded = entry.get("created_at")
    if recorded:  # immutable, unlike the title an admin may edit
        return str(project.get("created_at")) == recorded
    return project.get("title") == _title(task)  # recorded before creation times were kept


def live_project_id(
    client: LabelStudioClient, task: str, settings: Settings | None = None
) -> int | None:
    """The recorded project id of ``task`` if that very project is still in Label Studio.

    None when no project was ever made; :class:`ProjectGone` when the recorded one is missing or
    the id now names another project.
    """
    entry = _read_registry(settings or load_settings()).get(task)
    if not entry:
        return None
    pid = int(entry["project_id"])
    if not _same_project(entry, task, client.get_project(pid)):
        raise ProjectGone(
            f"Label Studio no longer has the {task} project (id {pid}): it was deleted, or "
            "Label Studio's data folder was reset."
        )
    return pid


def project_id(task: str, settings: Settings | None = None) -> int | None:
    """The Label Studio project id recorded for ``task``, if any."""
    entry = _read_registry(settings or load_settings()).get(task)
    return int(entry["project_id"]) if entry else None


def task_for_project(ls_project_id: int, settings: Settings | None = None) -> str | None:
    """The ShopLens task whose project has this id (the webhook's way back)."""
    for task, entry in _read_registry(settings or load_settings()).items():
        if int(entry["project_id"]) == int(ls_project_id):
            return task
    return None


def ensure_project(
    client: LabelStudioClient,
    spec: TaskLike,
    context_columns: Sequence[str] = (),
    model_version: str | None = None,
    settings: Settings | None = None,
    on_gone: Callable[[int], None] | None = None,
) -> int:
    """The task's project id, creating the project (and its score-sorted view) when needed.

    ``model_version`` is set on a new project only: Label Studio accepts a version for an
    existing project once it has predictions of it, so callers follow the model with
    :func:`follow_model_version` after importing them. When the recorded project is gone,
    ``on_gone(old_id)`` runs before the replacement is recorded (the caller retires what the
    store knows of the old project).
    """
    settings = settings or load_settings()
    try:
        pid = live_project_id(client, spec.name, settings)
    except ProjectGone:
        pid = None
        if on_gone is not None:
            on_gone(int(_read_registry(settings)[spec.name]["project_id"]))
    if pid is not None:
        return pid
    fields: dict[str, Any] = {
        "title": _title(spec.name),
        "description": spec.description,
        "label_config": label_config(spec, context_columns),
        "expert_instruction": f"<p>{instructions(spec)}</p>",
        "show_instruction": True,
        "show_skip_button": True,
        "sampling": "Uncertainty sampling",
    }
    if model_version:
        fields["model_version"] = model_version
    project = client.create_project(**fields)
    pid = int(project["id"])
    ensure_score_view(client, pid)
    registry = _read_registry(settings)
    registry[spec.name] = {
        "project_id": pid,
        "title": fields["title"],
        "created_at": str(project.get("created_at")),
        "context_columns": list(context_columns),
    }
    _write_registry(settings, registry)
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


def set_model_version(
    client: LabelStudioClient, task: str, version: str, settings: Settings | None = None
) -> bool:
    """Point the task's project at ``version``; False if it has no project or no predictions
    of that version yet."""
    pid = project_id(task, settings)
    return pid is not None and follow_model_version(client, pid, version)
