"""A thin wrapper over ``label_studio_sdk`` 2.1.2 that speaks plain dicts and clear errors.

Every call goes through :meth:`LabelStudioClient._call`, which turns a refused connection into
"Label Studio is not running at URL: start it with `shoplens labelstudio start`" and an HTTP error
into a message with the status and the server's answer. Callers (routing, sync, the webhook) can
then record what they have and let the user retry.

    >>> client = LabelStudioClient.from_settings()
    >>> client.create_project(title="ShopLens sentiment", label_config=config)["id"]
    1
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from common.errors import ShopLensError
from common.settings import Settings
from labeling.server import LabelStudioError, load_credentials


class LabelStudioUnavailable(LabelStudioError):
    """The server did not answer (not started, stopped, or crashed)."""


def _as_dict(obj: Any) -> Any:
    if obj is None or isinstance(obj, dict | list | str | int | float | bool):
        return obj
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", exclude_none=False)
    return obj.dict()


class LabelStudioClient:
    """The calls ShopLens makes to Label Studio, each returning JSON-like Python values."""

    def __init__(self, url: str, token: str, timeout_s: float = 30.0):
        self.url = url.rstrip("/")
        self.sdk = LabelStudio(base_url=self.url, api_key=token, timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> LabelStudioClient:
        """A client for the project's own server, with the token stored at its first start."""
        creds = load_credentials(settings)
        if creds is None:
            raise LabelStudioUnavailable(
                f"Label Studio has not been set up in {settings.home} yet: start it once with "
                "`shoplens labelstudio start`."
            )
        return cls(settings.labelstudio.url, creds.token)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except httpx.TransportError as exc:
            raise LabelStudioUnavailable(
                f"Label Studio is not running at {self.url} ({what} failed: "
                f"{type(exc).__name__}): start it with `shoplens labelstudio start`."
            ) from exc
        except ApiError as exc:
            if exc.status_code == 401:
                raise LabelStudioError(
                    f"Label Studio at {self.url} rejected the API token ({what}); the secrets file "
                    "does not match this server's data folder."
                ) from exc
            raise LabelStudioError(
                f"Label Studio answered {exc.status_code} to {what}: {str(exc.body)[:300]}"
            ) from exc

    # projects -------------------------------------------------------------------------------
    def get_project(self, project_id: int) -> dict[str, Any] | None:
        """The project, or None if it no longer exists."""
        try:
            return _as_dict(self._call("get project", self.sdk.projects.get, id=project_id))
        except LabelStudioError as exc:
            if isinstance(exc, LabelStudioUnavailable) or " 404 " not in f" {exc} ":
                raise
            return None

    def create_project(self, **fields: Any) -> dict[str, Any]:
        return _as_dict(self._call("create project", self.sdk.projects.create, **fields))

    def update_project(self, project_id: int, **fields: Any) -> dict[str, Any]:
        return _as_dict(
            self._call("update project", self.sdk.projects.update, id=project_id, **fields)
        )

    # tasks ----------------------------------------------------------------------------------
    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        """Import tasks (each ``{"data": ..., "predictions": [...]}``) in one request."""
        result = self._call(
            "import tasks",
            self.sdk.projects.import_tasks,
            id=project_id,
            request=tasks,
            return_task_ids=True,
        )
        return _as_dict(result)

    def import_predictions(self, project_id: int, predictions: list[dict[str, Any]]) -> Any:
        """Attach predictions (each with ``task``, ``model_version``, ``score``, ``result``)."""
        result = self._call(
            "import predictions",
            self.sdk.projects.import_predictions,
            id=project_id,
            request=predictions,
        )
        return _as_dict(result)

    def iter_tasks(self, project_id: int, page_size: int = 500) -> Iterator[dict[str, Any]]:
        """Every task of a project with its annotations and predictions."""

        def pages() -> Iterator[Any]:
            yield from self.sdk.tasks.list(project=project_id, fields="all", page_size=page_size)

        try:
            for task in pages():
                yield _as_dict(task)
        except (httpx.TransportError, ApiError) as exc:
            self._call("list tasks", _raise, exc)

    def create_annotation(self, task_id: int, result: list[dict[str, Any]], **fields: Any) -> dict:
        """Annotate a task as the token's user would in the labelling UI."""
        return _as_dict(
            self._call(
                "create annotation",
                self.sdk.annotations.create,
                id=task_id,
                result=result,
                **fields,
            )
        )

    def update_annotation(self, annotation_id: int, **fields: Any) -> dict:
        return _as_dict(
            self._call("update annotation", self.sdk.annotations.update, id=annotation_id, **fields)
        )

    def delete_annotation(self, annotation_id: int) -> None:
        self._call("delete annotation", self.sdk.annotations.delete, id=annotation_id)

    # webhooks, views, users -----------------------------------------------------------------
    def list_webhooks(self, project_id: int) -> list[dict[str, Any]]:
        hooks = self._call("list webhooks", self.sdk.webhooks.list, project=str(project_id))
        return [_as_dict(h) for h in hooks]

    def create_webhook(
        self, project_id: int, url: str, actions: list[str], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return _as_dict(
            self._call(
                "create webhook",
                self.sdk.webhooks.create,
                url=url,
                project=project_id,
                actions=actions,
                send_payload=True,
                send_for_all_actions=False,
                is_active=True,
                headers=headers or {},
            )
        )

    def list_views(self, project_id: int) -> list[dict[str, Any]]:
        return [
            _as_dict(v) for v in self._call("list views", self.sdk.views.list, project=project_id)
        ]

    def create_view(self, project_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return _as_dict(
            self._call("create view", self.sdk.views.create, project=project_id, data=data)
        )

    def user_emails(self) -> dict[int, str]:
        """Map of Label Studio user id -> email, to name annotators."""
        users = self._call("list users", self.sdk.users.list)
        return {int(u["id"]): str(u.get("email") or u["id"]) for u in map(_as_dict, users)}

    def whoami(self) -> dict[str, Any]:
        return _as_dict(self._call("who am I", self.sdk.users.whoami))


def _raise(exc: BaseException) -> None:
    raise exc


__all__ = ["LabelStudioClient", "LabelStudioError", "LabelStudioUnavailable", "ShopLensError"]
