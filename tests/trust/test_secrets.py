"""Secrets: generated per install, mode 600, never committed, never printed by listings."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from common.settings import REPO_ROOT, load_settings

pytestmark = pytest.mark.unit


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_secret_locations_are_git_ignored():
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in (".streamlit/secrets.toml", "var/secrets/admin_password", "var/shoplens.duckdb"):
        assert _git("check-ignore", path).strip() == path


def test_no_secret_files_are_tracked():
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = _git("ls-files").splitlines()
    assert ".streamlit/secrets.toml" not in tracked
    assert not [p for p in tracked if p.startswith("var/") or "/secrets/" in p]
    assert not [p for p in tracked if p.endswith((".duckdb", ".pem", ".key"))]


def test_label_studio_credentials_are_generated_with_mode_600(shoplens_home):
    from labeling.server import _create_credentials, load_credentials

    settings = load_settings()
    first = _create_credentials(settings)
    path = settings.labelstudio.secrets_file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert load_credentials(settings) == first
    other_home = shoplens_home.parent / "other"
    second = _create_credentials(load_settings({"SHOPLENS_HOME": str(other_home)}))
    assert second.token != first.token and second.password != first.password  # per install
