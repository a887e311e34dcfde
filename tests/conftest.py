"""Shared fixtures: every test gets its own runtime folder and store."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import REPO_ROOT, Settings, load_settings
from db.store import Store

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def shoplens_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``$SHOPLENS_HOME`` for one test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SHOPLENS_HOME", str(home))
    monkeypatch.delenv("SHOPLENS_DB", raising=False)
    return home


@pytest.fixture
def settings(shoplens_home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def store(settings: Settings) -> Store:
    """An empty store with the schema created."""
    s = Store(settings.store.db_path, lock_timeout_s=10)
    s.init_schema()
    return s


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data sets beside the checkout (research-use ones are read, never copied)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present beside the checkout")
    return SHARED_DATA


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter teardown, where duckdb 2.0's bindings print pages of harmless
    "nanobind: leaked ..." lines that bury the test summary."""
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)


@pytest.fixture
def ctx(settings: Settings, store: Store):  # noqa: ANN201
    """The process context (settings, store, model registry) over the test's store."""
    from core.context import Context

    return Context.from_settings(settings, store=store)


@pytest.fixture
def toy_task():  # noqa: ANN201
    """The toy task of ``tests/toy_task.py``, registered for one test only."""
    import importlib
    import sys

    from core.kinds.base import unregister_task

    sys.modules.pop("tests.toy_task", None)
    module = importlib.import_module("tests.toy_task")
    yield module.TOY
    unregister_task("toy")
    sys.modules.pop("tests.toy_task", None)


def seed_messages(store: Store, texts: dict[str, str], shop_id: str = "sample") -> None:
    """Insert messages as {message_id: text} (and the shop, if new)."""
    with store.write() as con:
        con.execute("INSERT INTO shops SELECT ?, ?, now()::TIMESTAMP WHERE NOT EXISTS "
                    "(SELECT 1 FROM shops WHERE shop_id = ?)", [shop_id, shop_id, shop_id])  # fmt: skip
        con.executemany(
            "INSERT INTO messages (shop_id, message_id, channel, text) VALUES (?, ?, 'support', ?)",
            [(shop_id, m, t) for m, t in texts.items()],
        )


def seed_active_version(store: Store, task: str, version: str, shop_id: str = "sample",
                        kind: str = "text_classification") -> None:  # fmt: skip
    """Register a version (no files) and make it active: for tests of what reads the pointer."""
    from datetime import datetime

    from db.repo.models import VersionRow, register_version, set_active

    register_version(store, VersionRow(shop_id, task, version, kind, "encoder_blend",
                                       datetime(2024, 1, 1)))  # fmt: skip
    set_active(store, shop_id, task, version)
