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
