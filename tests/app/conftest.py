"""Fixtures for the dashboard tests: a seeded or empty store and an AppTest runner per page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest, app_test

from app.auth import Viewer
from db.store import Store
from tests.app.dashboard_seed import SHOP, seed_shop

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def make_viewer(role: str = "admin", shop_ids: tuple[str, ...] | None = None) -> object:
    """A viewer as ``app.auth`` makes them after a login (a merchant or annotator of the seeded
    shop unless told otherwise)."""
    if shop_ids is None and role != "admin":
        shop_ids = (SHOP,)
    return Viewer(username=f"test-{role}", role=role, shop_ids=shop_ids)


@pytest.fixture
def seeded_store(store: Store) -> Store:
    seed_shop(store)
    return store


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    """``open_page("overview", viewer=None, state=None)``: run the app, switch to the page and
    return the AppTest after the page has rendered."""

    def run(
        key: str, viewer: object | None = None, state: dict | None = None, timeout: float = 60
    ) -> AppTest:
        at = AppTest.from_file(MAIN, default_timeout=timeout)
        at.session_state["viewer"] = viewer or make_viewer()
        for name, value in (state or {}).items():
            at.session_state[name] = value
        at.run()
        if key != "overview":
            at.switch_page(f"views/{key}.py")
            at.run()
        return at

    return run


@pytest.fixture
def media_files(monkeypatch: pytest.MonkeyPatch) -> list:
    """Keeps the media file managers of AppTest runs so a download can be read back."""
    managers: list = []
    base = app_test.MediaFileManager

    class Recording(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", Recording)
    return managers


def download(at: AppTest, key: str, managers: list) -> bytes:
    """The file a click on the download button gives (built on click, as in the browser)."""
    button = next(b for b in at.get("download_button") if b.key == key)
    manager = managers[-1]
    url = manager.execute_deferred(button.proto.deferred_file_id)
    file_id = url.rsplit("/", 1)[-1].split(".")[0]
    return bytes(manager._storage.get_file(file_id).content)


__all__ = ["SHOP"]
