"""Background jobs: state files, and a job whose process was killed is reported as killed."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from common.errors import InputError
from labeling import jobs

pytestmark = pytest.mark.unit


def test_killed_job_is_detected(settings):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    jobs.write_state("retrain-toy-1", settings, job_id="retrain-toy-1", kind="other",
                     task="toy", state="running", progress=0.3, pid=child.pid,
                     proc_start=jobs._proc_start_time(child.pid),
                     started_at="2024-01-01T00:00:00+00:00")  # fmt: skip
    assert jobs.job_status("retrain-toy-1", settings)["state"] == "running"
    child.send_signal(signal.SIGKILL)
    child.wait()
    state = jobs.job_status("retrain-toy-1", settings)
    assert state["state"] == "killed" and "nothing was changed" in state["message"]
    assert [j["job_id"] for j in jobs.list_jobs(settings)] == ["retrain-toy-1"]


def test_bad_job_ids_are_refused(settings):
    with pytest.raises(InputError):
        jobs.job_status("../etc/passwd", settings)
    with pytest.raises(InputError, match="no job"):
        jobs.job_status("retrain-none", settings)
