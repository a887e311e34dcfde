"""Tests for core/registry.py: atomic versions, the ACTIVE pointer, kills mid-training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.errors import InputError
from common.settings import REPO_ROOT
from core import registry
from core.training import TrainingConfig, train_task

pytestmark = pytest.mark.integration

TINY = TrainingConfig(epochs=1, max_length=16, batch_size=8, learning_rate=1e-3, check_int8=False,
                      trainable_layers=1)  # fmt: skip

KILLED_TRAINING = """
import sys, time
from pathlib import Path
from core.training import TrainingConfig, train_task
from db.store import Store
marker = Path(sys.argv[1])
def progress(fraction, message):
    if message.startswith("epoch"):
        marker.write_text("training")
        time.sleep(120)
config = TrainingConfig(epochs=50, max_length=16, batch_size=8, check_int8=False, trainable_layers=1)
train_task(Store.from_settings(), "sentiment", config, progress=progress)
"""

KILLED_SAVE = """
import sys, time
from pathlib import Path
from core import registry
def writer(tmp):
    (tmp / "meta.json").write_text("{}")
    Path(sys.argv[1]).write_text("writing")
    time.sleep(120)
registry.save_version("sentiment", "v-killed", writer)
"""


def _run_and_kill(script: str, marker: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script, str(marker)], env=env, cwd=REPO_ROOT)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, "the child process ended before reaching the kill point"
        assert time.monotonic() < deadline, "the child never reached the kill point"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_killed_training_and_killed_save_leave_the_active_model_intact(sentiment_store, tmp_path):
    first = train_task(sentiment_store, "sentiment", TINY)
    before = registry.load_model("sentiment").predict_proba(["love this dress"])
    _run_and_kill(KILLED_TRAINING, tmp_path / "m1")
    _run_and_kill(KILLED_SAVE, tmp_path / "m2")
    assert registry.active_version("sentiment") == first.version
    assert [v["version"] for v in registry.list_versions("sentiment")] == [first.version]
    after = registry.load_model("sentiment").predict_proba(["love this dress"])
    assert (after == before).all()


@pytest.mark.unit
def test_save_version_failure_leaves_no_folder(shoplens_home):
    def broken(tmp):
        (tmp / "meta.json").write_text("{}")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        registry.save_version("sentiment", "v1", broken)
    assert list(registry.task_dir("sentiment").iterdir()) == []
    assert registry.active_version("sentiment") is None


@pytest.mark.unit
def test_promote_unknown_and_rollback_without_history(shoplens_home):
    with pytest.raises(InputError, match="no version"):
        registry.promote("sentiment", "nope")
    with pytest.raises(InputError, match="roll back"):
        registry.rollback("sentiment")
