"""Server control without starting a server: errors that say what to do, secrets, environment."""

from __future__ import annotations

import socket
import stat

import pytest

from common.settings import load_settings
from labeling import server
from labeling.server import LabelStudioError

pytestmark = pytest.mark.unit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ls_settings(shoplens_home, monkeypatch, tmp_path):
    monkeypatch.setenv("SHOPLENS_LS_PORT", str(free_port()))
    venv = tmp_path / "venv-ls"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "label-studio").write_text("#!/bin/sh\nexit 1\n")
    (venv / "bin" / "label-studio").chmod(0o755)
    monkeypatch.setenv("SHOPLENS_LS_VENV", str(venv))
    monkeypatch.delenv("SHOPLENS_LS_TOKEN", raising=False)
    return load_settings()


def test_missing_install_says_how_to_install(ls_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("SHOPLENS_LS_VENV", str(tmp_path / "nowhere"))
    with pytest.raises(LabelStudioError, match="make labelstudio-install"):
        server.start(load_settings())


def test_busy_port_is_an_error_naming_the_port(ls_settings):
    port = ls_settings.labelstudio.port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        with pytest.raises(LabelStudioError, match=f"Port {port}.*SHOPLENS_LS_PORT"):
            server.start(ls_settings)


def test_status_when_down_says_how_to_start(ls_settings):
    status = server.status(ls_settings)
    assert not status.up and status.pid is None
    assert "shoplens labelstudio start" in status.message
    assert ls_settings.labelstudio.url in status.message
    assert not server.stop(ls_settings).up


def test_failed_init_reports_the_log(ls_settings):
    with pytest.raises(LabelStudioError, match="init.*failed"):
        server.start(ls_settings)


def test_credentials_are_private_and_use_the_given_token(ls_settings, monkeypatch):
    monkeypatch.setenv("SHOPLENS_LS_TOKEN", "operator-token-123")
    settings = load_settings()
    creds = server._create_credentials(settings)
    assert creds.token == "operator-token-123" and len(creds.password) >= 20
    path = settings.labelstudio.secrets_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert server.load_credentials(settings) == creds


def test_generated_token_and_offline_environment(ls_settings, monkeypatch):
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "8080")
    creds = server._create_credentials(ls_settings)
    assert len(creds.token) == 40
    env = server.server_environment(ls_settings, creds)
    assert "HOST" not in env and "PORT" not in env
    assert env["LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN"] == "true"
    assert env["LABEL_STUDIO_COLLECT_ANALYTICS"] == "false"
    assert env["LABEL_STUDIO_LATEST_VERSION_CHECK"] == "false"
    assert env["LABEL_STUDIO_SENTRY_DSN"] == "" and env["LABEL_STUDIO_FRONTEND_SENTRY_DSN"] == ""
    assert env["LABEL_STUDIO_USE_DEFAULT_BANNED_SUBNETS"] == "false"
    assert env["LABEL_STUDIO_HOST"] == ls_settings.labelstudio.url
    assert env["LABEL_STUDIO_BASE_DATA_DIR"] == str(ls_settings.labelstudio.data_dir)
