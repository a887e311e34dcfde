"""Background jobs (retrain) in their own process, with progress in a JSON state file.

The dashboard's Retrain button calls :func:`start_retrain`, which starts
``python -m labeling.jobs JOB_ID`` in a new session and returns at once; the app stays usable while
the child trains. The child writes ``$SHOPLENS_HOME/jobs/<job_id>.json`` (atomically) from the
training progress callback: ``state`` running | finished | failed | killed, ``progress`` 0..1,
``message``, ``pid``, and ``result`` or ``error`` at the end. :func:`job_status` notices a child
that died without a word (SIGKILL, out of memory) and reports it as ``killed``.

    >>> handle = start_retrain("sentiment")
    >>> job_status(handle.job_id)["state"]
    'running'
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.errors import InputError, ShopLensError
from common.settings import REPO_ROOT, Settings, load_settings

RUNNING, FINISHED, FAILED, KILLED = "running", "finished", "failed", "killed"
_CHILDREN: dict[int, subprocess.Popen] = {}  # started here: poll() reaps them when they exit


@dataclass(frozen=True)
class JobHandle:
    """A started job: its id, process id and state file."""

    job_id: str
    pid: int
    state_file: Path


def jobs_dir(settings: Settings) -> Path:
    return settings.home / "jobs"


def _state_path(job_id: str, settings: Settings) -> Path:
    if not job_id or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-_" for c in job_id):
        raise InputError(f"not a job id: {job_id!r}")
    return jobs_dir(settings) / f"{job_id}.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_state(job_id: str, settings: Settings, /, **values: Any) -> dict[str, Any]:
    """Merge ``values`` into the job's state file (write to a temp file, then rename)."""
    path = _state_path(job_id, settings)
    state = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    state.update(values, updated_at=_now())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return state


def _proc_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if fields[0] != "Z" else None  # field 22 of the file; zombies count as gone


def _alive(pid: int, started: str | None) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = _proc_start_time(pid)
    if Path("/proc").is_dir():
        return now is not None and (started is None or now == started)  # pid reused otherwise
    return True


def job_status(job_id: str, settings: Settings) -> dict[str, Any]:
    """The job's state; a running job whose process is gone becomes ``killed``."""
    path = _state_path(job_id, settings)
    if not path.is_file():
        raise InputError(f"no job {job_id!r} in {jobs_dir(settings)}")
    state = json.loads(path.read_text(encoding="utf-8"))
    pid = state.get("pid")
    if state.get("state") == RUNNING and pid and not _alive(int(pid), state.get("proc_start")):
        state = write_state(
            job_id, settings, state=KILLED,
            message="the job's process ended without finishing (killed); nothing was changed",
        )  # fmt: skip
        _mark_runs_killed(state, settings)
    return state


def _mark_runs_killed(state: dict[str, Any], settings: Settings) -> None:
    """Close the training-run record a killed retrain left as running."""
    from db.repo.runs import mark_killed
    from db.store import Store

    if state.get("kind") != "retrain":
        return
    store = Store.from_settings(settings.store)
    if not store.exists():
        return
    started = datetime.fromisoformat(state["started_at"]).replace(tzinfo=None)
    mark_killed(store, state["task"], started, state.get("shop_id"))


def list_jobs(
    settings: Settings, task: str | None = None, shop_id: str | None = None
) -> list[dict[str, Any]]:
    """Every job's state, newest first (optionally for one task)."""
    folder = jobs_dir(settings)
    if not folder.is_dir():
        return []
    states = [job_status(p.stem, settings) for p in folder.glob("*.json")]
    states = [
        s
        for s in states
        if (task is None or s.get("task") == task)
        and (shop_id is None or s.get("shop_id") == shop_id)
    ]
    return sorted(states, key=lambda s: s.get("started_at", ""), reverse=True)


def start_retrain(
    settings: Settings, task: str, shop_id: str = "sample", max_minutes: float | None = None,
    config_overrides: dict[str, Any] | None = None,
) -> JobHandle:  # fmt: skip
    """Start a retrain of ``task`` in a background process and return its handle at once.

    ``config_overrides`` are ``core.training.TrainingConfig`` fields (JSON-serialisable)."""
    from core.tasks import check_target

    check_target(task, shop_id)  # an unknown task or shop fails here, not in the child
    busy = [j for j in list_jobs(settings, task, shop_id) if j.get("state") == RUNNING]
    if busy:
        raise ShopLensError(
            f"A retrain of {task} for shop {shop_id!r} is already running (job "
            f"{busy[0]['job_id']}); wait for it."
        )
    job_id = f"retrain-{task}-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    write_state(
        job_id, settings, job_id=job_id, kind="retrain", task=task, shop_id=shop_id,
        max_minutes=max_minutes, config_overrides=config_overrides or {}, state=RUNNING,
        progress=0.0, message="starting",
        started_at=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    log_dir = settings.logs_dir / "jobs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SHOPLENS_HOME": str(settings.home)}
    with (log_dir / f"{job_id}.log").open("ab") as log:
        child = subprocess.Popen(  # noqa: S603 - fixed argument list
            [sys.executable, "-m", "labeling.jobs", job_id],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    _CHILDREN[child.pid] = child
    write_state(job_id, settings, pid=child.pid, proc_start=_proc_start_time(child.pid))
    return JobHandle(job_id, child.pid, _state_path(job_id, settings))


def wait(job_id: str, settings: Settings, timeout_s: float = 600.0) -> dict:
    """Block until the job leaves ``running`` (tests, scripts); returns its final state."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = job_status(job_id, settings)
        if state["state"] != RUNNING or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def run_job(job_id: str) -> int:
    """The child's side: run the job and record its progress and outcome."""
    from core.context import Context
    from labeling.retrain import retrain

    settings = load_settings()  # this child process's entry point
    state = write_state(job_id, settings, pid=os.getpid(), proc_start=_proc_start_time(os.getpid()))
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        if time.monotonic() - last[0] >= 0.5 or fraction >= 1.0:  # at most two writes a second
            last[0] = time.monotonic()
            write_state(job_id, settings, progress=round(float(fraction), 4), message=message)

    try:
        report = retrain(
            Context.from_settings(settings), state["task"], shop_id=state["shop_id"],
            progress=progress, max_minutes=state.get("max_minutes"),
            config_overrides=state.get("config_overrides") or None,
        )  # fmt: skip
    except Exception as exc:  # the state file is how the app learns of the failure
        write_state(job_id, settings, state=FAILED, error=f"{type(exc).__name__}: {exc}",
                    message=f"failed: {exc}")  # fmt: skip
        return 1
    write_state(job_id, settings, state=FINISHED, progress=1.0, result=report.to_dict(),
                message=f"finished: {report.new_version}" + (" promoted" if report.promoted else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1]))
