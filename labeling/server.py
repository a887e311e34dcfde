"""The project's own Label Studio server: initialise, start, stop and report on it.

The server runs from its own virtual environment (``.venv-ls``, made by ``make
labelstudio-install``; its pins clash with the app's), on 127.0.0.1 only, as a detached background
process in its own session, with its data inside ``$SHOPLENS_HOME`` and its log in the logs folder.
Every switch that would make it reach the network (analytics, version check, Sentry) is off.

On the first start the data folder is initialised with an admin user and an API token that this
module generates (or ``SHOPLENS_LS_TOKEN``) and stores with the admin password in
``settings.labelstudio.secrets_file`` (mode 600). A busy port is an error, never a silent move.

    >>> status().up
    False
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from common.errors import ShopLensError
from common.files import make_private
from common.settings import Settings

HEALTH_TIMEOUT_S = 180.0  # a cold start under load takes ~100 s (init) + a few seconds
INIT_TIMEOUT_S = 600.0
# Django falls back to these bare names when the LABEL_STUDIO_ ones are unset.
_BARE_NAMES = ("HOST", "PORT", "DEBUG", "USERNAME", "PASSWORD", "SENTRY_DSN")


class LabelStudioError(ShopLensError):
    """Label Studio could not be installed, started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class Credentials:
    """The admin login and API token of the project's Label Studio (kept in the secrets file)."""

    username: str
    password: str
    token: str


@dataclass(frozen=True)
class ServerStatus:
    """Whether the server answers, where, under which process, and what to do next."""

    up: bool
    url: str
    pid: int | None
    message: str
    log_file: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _pid_file(settings: Settings) -> Path:
    return settings.home / "labelstudio.pid"


def _log_file(settings: Settings) -> Path:
    return settings.logs_dir / "labelstudio.log"


def _executable(settings: Settings) -> Path:
    exe = settings.labelstudio.venv_dir / "bin" / "label-studio"
    if not exe.is_file():
        raise LabelStudioError(
            f"Label Studio is not installed (no {exe.name} in {settings.labelstudio.venv_dir}). "
            "Install it into its own environment with `make labelstudio-install`."
        )
    return exe


def load_credentials(settings: Settings) -> Credentials | None:
    """The stored admin credentials, or None before the first start."""
    path = settings.labelstudio.secrets_file
    if not path.is_file():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Credentials(
        username=raw["username"],
        password=raw["password"],
        token=raw["token"],
    )


def _create_credentials(settings: Settings) -> Credentials:
    token = settings.labelstudio.token or secrets.token_hex(20)  # 40 chars, the server's maximum
    if not 6 <= len(token) <= 40:
        raise LabelStudioError("SHOPLENS_LS_TOKEN must be 6 to 40 characters long.")
    creds = Credentials(
        settings.labelstudio.username,
        secrets.token_urlsafe(18),
        token,
    )
    path = settings.labelstudio.secrets_file
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    # Created with mode 600 from the start: the secret is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(creds), fh)
    os.chmod(path, 0o600)
    return creds


def server_environment(settings: Settings, creds: Credentials) -> dict[str, str]:
    """The child's environment: loopback, offline, legacy tokens on, secrets passed by env."""
    ls = settings.labelstudio
    env = {k: v for k, v in os.environ.items() if k not in _BARE_NAMES}
    env.update(
        {
            "LABEL_STUDIO_BASE_DATA_DIR": str(ls.data_dir),
            "LABEL_STUDIO_HOST": ls.url,
            "LABEL_STUDIO_PORT": str(ls.port),
            "LABEL_STUDIO_DEBUG": "false",
            "LABEL_STUDIO_USERNAME": creds.username,
            "LABEL_STUDIO_PASSWORD": creds.password,
            "LABEL_STUDIO_USER_TOKEN": creds.token,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "LABEL_STUDIO_SENTRY_DSN": "",
            "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "",
            # the webhook receiver listens on 127.0.0.1, which the default banned subnets block
            "LABEL_STUDIO_USE_DEFAULT_BANNED_SUBNETS": "false",
        }
    )
    return env


def is_initialised(settings: Settings) -> bool:
    """True once the data folder holds a database and the secrets file exists."""
    db_file = settings.labelstudio.data_dir / "label_studio.sqlite3"
    return db_file.is_file() and settings.labelstudio.secrets_file.is_file()


def initialise(settings: Settings) -> Credentials:
    """Create the data folder, admin user and API token (``label-studio init``); ~50-100 s."""
    make_private(settings.home)  # Label Studio's database holds the API token in plain text
    exe = _executable(settings)
    creds = load_credentials(settings) or _create_credentials(settings)
    ls = settings.labelstudio
    ls.data_dir.mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    with _log_file(settings).open("ab") as log:
        result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [str(exe), "init", "-q", "--data-dir", str(ls.data_dir), "--no-browser"],
            env=server_environment(settings, creds),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=INIT_TIMEOUT_S,
            check=False,
        )
    if result.returncode != 0 or not (ls.data_dir / "label_studio.sqlite3").is_file():
        raise LabelStudioError(
            f"`label-studio init` failed (exit {result.returncode}); see {_log_file(settings)}."
        )
    return creds


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def health(url: str, timeout_s: float = 2.0) -> bool:
    """True if ``GET {url}/health`` answers ``{"status": "UP"}``."""
    try:
        response = requests.get(f"{url}/health", timeout=timeout_s)
        return response.ok and response.json().get("status") == "UP"
    except (requests.RequestException, ValueError):
        return False


def _read_pid(settings: Settings) -> dict[str, Any] | None:
    """The pid file's record, or None when there is none or it is unreadable."""
    path = _pid_file(settings)
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
        return None
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a child of this process that has exited is a zombie until it is reaped
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    except ChildProcessError:
        pass
    try:  # an orphan's zombie lingers until the container's init reaps it: it is gone too
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def status(settings: Settings) -> ServerStatus:
    """Report whether the server is up, where, and what to do next."""
    url = settings.labelstudio.url
    info = _read_pid(settings)
    pid = int(info["pid"]) if info else None
    log = str(_log_file(settings))
    if pid is not None and not _alive(pid):
        _pid_file(settings).unlink(missing_ok=True)
        pid = None
    if health(url):
        if pid is None:
            msg = f"Label Studio answers at {url}, but was not started by this ShopLens home."
        else:
            msg = f"Label Studio is running at {url} (pid {pid}); stop it with `shoplens labelstudio stop`."
        return ServerStatus(True, url, pid, msg, log)
    if pid is not None:
        msg = (
            f"Label Studio (pid {pid}) is starting or not answering at {url}; wait a few seconds "
            f"or see {log}."
        )
        return ServerStatus(False, url, pid, msg, log)
    msg = f"Label Studio is not running at {url}: start it with `shoplens labelstudio start`."
    return ServerStatus(False, url, None, msg, log)


def _tail(path: Path, lines: int = 15) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def start(settings: Settings, timeout_s: float = HEALTH_TIMEOUT_S) -> ServerStatus:
    """Start the server in the background (initialising it on first use) and wait for /health."""
    make_private(settings.home)  # and the server inherits the owner-only umask
    ls = settings.labelstudio
    current = status(settings)
    if current.up and current.pid is not None:
        return current
    if current.pid is not None:
        raise LabelStudioError(current.message)
    if _port_in_use(ls.host, ls.port):
        raise LabelStudioError(
            f"Port {ls.port} on {ls.host} is already in use by another program. Stop it, or "
            f"choose another port: SHOPLENS_LS_PORT=8090 shoplens labelstudio start."
        )
    exe = _executable(settings)
    creds = load_credentials(settings) if is_initialised(settings) else None
    creds = creds or initialise(settings)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = _log_file(settings)
    cmd = [str(exe), "start", "--no-browser", "--internal-host", ls.host, "--port", str(ls.port)]
    cmd += ["--data-dir", str(ls.data_dir)]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            cmd,
            env=server_environment(settings, creds),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    record = {"pid": proc.pid, "port": ls.port, "url": ls.url, "started_at": time.time()}
    _pid_file(settings).write_text(json.dumps(record), encoding="utf-8")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _pid_file(settings).unlink(missing_ok=True)
            raise LabelStudioError(
                f"Label Studio exited (status {proc.returncode}) while starting; last lines of "
                f"{log_path}:\n{_tail(log_path)}"
            )
        if health(ls.url, timeout_s=1.0):
            return ServerStatus(
                True, ls.url, proc.pid, f"Label Studio is running at {ls.url}.", str(log_path)
            )
        time.sleep(0.5)
    stop(settings)
    raise LabelStudioError(
        f"Label Studio did not answer at {ls.url}/health within {timeout_s:.0f} s; see {log_path}."
    )


def stop(settings: Settings, timeout_s: float = 10.0) -> ServerStatus:
    """Stop the server this home started (SIGTERM to its process group, SIGKILL if it lingers)."""
    info = _read_pid(settings)
    url = settings.labelstudio.url
    if not info or not _alive(int(info["pid"])):
        _pid_file(settings).unlink(missing_ok=True)
        return ServerStatus(False, url, None, f"Label Studio was not running at {url}.")
    pid = int(info["pid"])
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    _pid_file(settings).unlink(missing_ok=True)
    return ServerStatus(False, url, None, f"Label Studio (pid {pid}) stopped.")


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # the server runs in its own session: its pid is its group id
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)
