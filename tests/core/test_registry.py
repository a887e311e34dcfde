"""Tests for core/registry.py: versions per shop, atomic saves, the one active pointer, copies,
kills mid-training, and stores from before per-shop models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.errors import InputError
from common.settings import REPO_ROOT
from core.kinds.base import Candidate
from core.registry import NoModelError
from core.training import TrainingConfig, train_task
from tests.core.conftest import synonym_reviews

pytestmark = pytest.mark.integration

TINY = TrainingConfig(epochs=3, max_length=16, batch_size=8, learning_rate=1e-3, check_int8=False,
                      trainable_layers=1)  # fmt: skip

KILLED_TRAINING = """
import sys, time
from pathlib import Path
from common.settings import load_settings
from core.context import Context
from core.training import TrainingConfig, train_task
marker = Path(sys.argv[1])
def progress(fraction, message):
    if message.startswith("epoch"):
        marker.write_text("training")
        time.sleep(120)
config = TrainingConfig(epochs=50, max_length=16, batch_size=8, check_int8=False, trainable_layers=1,
                        patience=100)
train_task(Context.from_settings(load_settings()), "sentiment", "sample", config, progress=progress)
"""

KILLED_SAVE = """
import sys, time
from pathlib import Path
from common.settings import load_settings
from core.context import Context
from core.kinds.base import Candidate
def writer(tmp):
    Path(sys.argv[1]).write_text("writing")
    time.sleep(120)
ctx = Context.from_settings(load_settings())
ctx.registry.save("sample", "sentiment", Candidate("x", {}, {}, writer), test_fingerprint="")
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


def test_killed_training_and_killed_save_leave_the_active_model_intact(ctx, store, tmp_path):
    synonym_reviews(store)
    first = train_task(ctx, "sentiment", "sample", TINY)
    before = ctx.registry.load("sample", "sentiment").predict_proba(["love this dress"])
    _run_and_kill(KILLED_TRAINING, tmp_path / "m1")
    _run_and_kill(KILLED_SAVE, tmp_path / "m2")
    assert ctx.registry.active("sample", "sentiment") == first.version
    assert [v.version for v in ctx.registry.versions("sample", "sentiment")] == [first.version]
    after = ctx.registry.load("sample", "sentiment").predict_proba(["love this dress"])
    assert (after == before).all()
    leftovers = [p.name for p in ctx.registry.task_dir("sample", "sentiment").iterdir()
                 if p.name != first.version and not p.name.startswith(".tmp-")]  # fmt: skip
    assert leftovers == []


@pytest.mark.unit
def test_save_failure_leaves_no_folder_and_no_row(ctx):
    def broken(tmp):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        ctx.registry.save(
            "sample", "sentiment", Candidate("x", {}, {}, broken), test_fingerprint=""
        )
    assert list(ctx.registry.task_dir("sample", "sentiment").iterdir()) == []
    assert ctx.registry.versions("sample", "sentiment") == []


@pytest.mark.unit
def test_missing_versions_shops_and_models_are_clear_errors(ctx):
    with pytest.raises(InputError, match="no version"):
        ctx.registry.version("sample", "sentiment", "v20260101-000000-000000")
    with pytest.raises(InputError, match="not a model version name"):
        ctx.registry.folder("sample", "sentiment", "../../etc")
    with pytest.raises(InputError, match="not a valid shop id"):
        ctx.registry.active("../x", "sentiment")
    with pytest.raises(InputError, match="roll back"):
        ctx.registry.rollback("sample", "sentiment")
    with pytest.raises(NoModelError, match="no sentiment model of its own yet.*shoplens train"):
        ctx.registry.load("sample", "sentiment")


def test_copy_from_another_shop_is_explicit_and_independent(ctx, store):
    synonym_reviews(store, shop_id="a")
    trained = train_task(ctx, "sentiment", "a", TINY)
    with pytest.raises(NoModelError, match="--copy-from a --shop b"):
        ctx.registry.require_active("b", "sentiment")
    copy = ctx.registry.copy("sentiment", trained.version, "a", "b")
    assert ctx.registry.active("b", "sentiment") is None  # copying does not activate
    ctx.registry.activate("b", "sentiment", copy, action="copy")
    row = ctx.registry.version("b", "sentiment", copy)
    assert row.copied_from == f"a/{trained.version}" and row.active
    probs_a = ctx.registry.load("a", "sentiment").predict_proba(["wonderful"])
    probs_b = ctx.registry.load("b", "sentiment").predict_proba(["wonderful"])
    assert (probs_a == probs_b).all()
    assert ctx.registry.folder("b", "sentiment", copy).is_dir()


@pytest.mark.unit
def test_a_store_from_before_per_shop_models_keeps_its_models(settings, store):
    """An old registry (models/<task>/<version>, ACTIVE, HISTORY) becomes the sample shop's."""
    from core.context import Context

    old = settings.models.models_dir / "sentiment"
    for name in ("v20260101-000000-000001", "v20260102-000000-000001"):
        (old / name).mkdir(parents=True)
        (old / name / "meta.json").write_text(json.dumps(
            {"task": "sentiment", "labels": ["negative", "neutral", "positive"],
             "created_at": "2026-01-01T00:00:00+00:00"}))  # fmt: skip
        (old / name / "metrics.json").write_text(json.dumps({"model": {"macro_f1": 0.6}}))
    (old / "ACTIVE").write_text("v20260102-000000-000001\n")
    (old / "HISTORY").write_text("v20260101-000000-000001\nv20260102-000000-000001\n")
    ctx = Context.from_settings(settings, store=store)
    assert ctx.registry.active("sample", "sentiment") == "v20260102-000000-000001"
    assert [v.version for v in ctx.registry.versions("sample", "sentiment")] == [
        "v20260101-000000-000001", "v20260102-000000-000001"]  # fmt: skip
    assert not old.exists()
    assert ctx.registry.rollback("sample", "sentiment") == "v20260101-000000-000001"
    assert Context.from_settings(settings, store=store).registry.active(
        "sample", "sentiment") == "v20260101-000000-000001"  # fmt: skip
