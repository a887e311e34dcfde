"""Fixtures for labeling/: the toy task's store with predictions, an in-memory Label Studio and
the real Label Studio server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from db.store import Store
from labeling.client import LabelStudioUnavailable

TOY_LABELS = ("negative", "neutral", "positive")
_CREATED = count(1)


def seed_predictions(store: Store, task: str, version: str, probs: dict[str, list[float]],
                     shop_id: str = "sample") -> None:  # fmt: skip
    """Insert one prediction per target from a {target_id: [p_neg, p_neu, p_pos]} map."""
    now = datetime(2024, 1, 1)
    rows = []
    for target, p in probs.items():
        as_dict = dict(zip(TOY_LABELS, p, strict=True))
        label = max(as_dict, key=as_dict.get)
        rows.append([shop_id, task, target, version, label, json.dumps(as_dict), 0.0, 0.0, now])
    with store.write() as con:
        con.executemany(
            "INSERT INTO predictions (shop_id, task, target_id, model_version, label, probs, "
            "entropy, margin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


class FakeLabelStudio:
    """An in-memory Label Studio with the calls ``LabelStudioClient`` offers.

    ``down = True`` makes every call fail as a refused connection would; ``lose_next_import``
    imports the tasks and then fails, as if the answer had been lost on the way back.
    """

    url = "http://127.0.0.1:1"

    def __init__(self) -> None:
        self.projects: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.views: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []
        self.ids = count(1)
        self.down = False
        self.lose_next_import = False
        self.import_calls = 0

    def _check(self) -> None:
        if self.down:
            raise LabelStudioUnavailable(
                f"Label Studio is not running at {self.url}: start it with "
                "`shoplens labelstudio start`."
            )

    def get_project(self, project_id: int) -> dict | None:
        self._check()
        return self.projects.get(project_id)

    def create_project(self, **fields: Any) -> dict:
        self._check()
        pid = next(self.ids)
        created = f"2026-01-01T00:00:00.{next(_CREATED):06d}Z"  # distinct even across wipes
        self.projects[pid] = {"id": pid, "created_at": created, **fields}
        return self.projects[pid]

    def delete_project(self, project_id: int) -> None:
        """What an admin deleting the project in the UI does: it and its tasks are gone."""
        del self.projects[project_id]
        self.tasks = {i: t for i, t in self.tasks.items() if t["project"] != project_id}

    def wipe(self) -> None:
        """A restart on a reset data folder: nothing left, and ids start again at 1."""
        self.projects, self.tasks, self.views, self.webhooks = {}, {}, [], []
        self.ids = count(1)

    def update_project(self, project_id: int, **fields: Any) -> dict:
        self._check()
        self.projects[project_id].update(fields)
        return self.projects[project_id]

    def import_tasks(self, project_id: int, tasks: list[dict]) -> dict:
        self._check()
        self.import_calls += 1
        ids = []
        for task in tasks:
            tid = next(self.ids)
            self.tasks[tid] = {"id": tid, "project": project_id, "annotations": [], **task}
            ids.append(tid)
        if self.lose_next_import:
            self.lose_next_import = False
            raise LabelStudioUnavailable(f"Label Studio is not running at {self.url} (lost).")
        return {"task_count": len(ids), "task_ids": ids}

    def import_predictions(self, project_id: int, predictions: list[dict]) -> dict:
        self._check()
        for prediction in predictions:
            self.tasks[prediction["task"]]["predictions"].append(prediction)
        return {"created": len(predictions)}

    def iter_tasks(self, project_id: int, page_size: int = 500):
        self._check()
        return iter([t for t in self.tasks.values() if t["project"] == project_id])

    def list_views(self, project_id: int) -> list[dict]:
        self._check()
        return [v for v in self.views if v["project"] == project_id]

    def create_view(self, project_id: int, data: dict) -> dict:
        self._check()
        self.views.append({"project": project_id, "data": data})
        return self.views[-1]

    def list_webhooks(self, project_id: int) -> list[dict]:
        self._check()
        return [h for h in self.webhooks if h["project"] == project_id]

    def create_webhook(self, project_id: int, url: str, actions: list[str], headers=None) -> dict:
        self._check()
        self.webhooks.append({"project": project_id, "url": url, "actions": actions,
                              "headers": headers})  # fmt: skip
        return self.webhooks[-1]

    # what an annotator does in the UI
    def annotate(self, task_id: int, label: str | None, user: str = "ann@shop.test",
                 cancelled: bool = False, lead_time: float = 3.0) -> dict:  # fmt: skip
        aid = next(self.ids)
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        result = [] if label is None else [
            {"from_name": "label", "to_name": "text", "type": "choices",
             "value": {"choices": [label]}}
        ]  # fmt: skip
        annotation = {"id": aid, "task": task_id, "result": result, "was_cancelled": cancelled,
                      "lead_time": lead_time, "completed_by": 1,
                      "created_username": f" {user}, 1", "created_at": stamp,
                      "updated_at": stamp}  # fmt: skip
        self.tasks[task_id]["annotations"].append(annotation)
        return annotation

    def delete(self, annotation_id: int) -> None:
        for task in self.tasks.values():
            task["annotations"] = [a for a in task["annotations"] if a["id"] != annotation_id]


@pytest.fixture
def fake_ls() -> FakeLabelStudio:
    return FakeLabelStudio()


TOY_TEXTS = {f"m{i:02d}": f"message number {i} about order {i % 4}" for i in range(12)}
TOY_TEXTS["m03"] = "Mail me at jane.doe@example.com about my refund"


@pytest.fixture
def toy_store(store: Store, toy_task) -> Store:  # noqa: ANN001
    """A store with 12 toy messages, an active toy model ``v1`` and its predictions: m00 most
    uncertain, m11 most certain."""
    from tests.conftest import seed_active_version, seed_messages

    seed_messages(store, TOY_TEXTS)
    probs = {}
    for i in range(12):
        top = 0.34 + 0.05 * i  # m00 is nearly uniform, m11 is confident
        rest = (1 - top) / 2
        probs[f"m{i:02d}"] = [rest, rest, top]
    seed_predictions(store, "toy", "v1", probs)
    seed_active_version(store, "toy", "v1")
    return store


# --- the real Label Studio server (integration tier) -------------------------------------------


@dataclass(frozen=True)
class LiveLabelStudio:
    """The session's Label Studio: where it listens and the home whose secrets match it."""

    settings: Any  # common.settings.Settings of the server's own home
    port: int
    start_seconds: float


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_label_studio(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A real Label Studio on a free loopback port, for the whole session.

    The data folder is initialised once (about a minute) into pytest's cache folder and copied for
    each session, so later runs start in seconds. A missing ``.venv-ls`` fails the tests: the
    integration tier must not pass without the server it is about.
    """
    import os
    import shutil
    import time

    from common.settings import load_settings
    from labeling import server

    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPLENS_LS_")}
    probe = load_settings({**env, "SHOPLENS_HOME": str(tmp_path_factory.mktemp("probe"))})
    if not (probe.labelstudio.venv_dir / "bin" / "label-studio").is_file():
        pytest.fail(
            f"Label Studio is not installed in {probe.labelstudio.venv_dir}: run "
            "`make labelstudio-install` (`make test` does it) before the integration tier."
        )
    cache = getattr(request.config, "cache", None)
    template = (
        Path(cache.mkdir("shoplens-labelstudio-1.23.2"))
        if cache is not None
        else tmp_path_factory.mktemp("ls-template")
    )
    template_settings = load_settings({**env, "SHOPLENS_HOME": str(template)})
    if not server.is_initialised(template_settings):
        server.initialise(template_settings)
    home = tmp_path_factory.mktemp("ls-home")
    shutil.copytree(template / "labelstudio", home / "labelstudio")
    shutil.copytree(template / "secrets", home / "secrets")
    port = _free_port()
    settings = load_settings({**env, "SHOPLENS_HOME": str(home), "SHOPLENS_LS_PORT": str(port)})
    started = time.monotonic()
    server.start(settings, timeout_s=240)
    live = LiveLabelStudio(settings, port, time.monotonic() - started)
    yield live
    server.stop(settings)


def use_live_label_studio(live: LiveLabelStudio, home: Path, monkeypatch: pytest.MonkeyPatch):
    """Point ``home`` (a test's SHOPLENS_HOME) at the live server: its port and its secrets."""
    import shutil

    from common.settings import load_settings

    monkeypatch.setenv("SHOPLENS_HOME", str(home))
    monkeypatch.setenv("SHOPLENS_LS_PORT", str(live.port))
    settings = load_settings()
    settings.labelstudio.secrets_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(live.settings.labelstudio.secrets_file, settings.labelstudio.secrets_file)
    return settings
