"""A generic kill -9 harness: run a ``shoplens`` command in a subprocess, SIGKILL it after a
random delay, then check that the store is consistent and that a rerun completes.

Shared by ``tests/trust/test_faults.py`` (a few trials) and ``bench/bench_fault_kill.py``
(50+ trials per command). A :class:`FaultScenario` says how to prepare a runtime folder, which
command to run, and what "consistent" means for it; the harness does the rest.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common.settings import REPO_ROOT

Check = Callable[[Path], str | None]  # home -> None if consistent, else what is wrong


@dataclass
class FaultScenario:
    """One command under fault injection.

    ``prepare(home)`` builds the starting state once (it is copied for each trial);
    ``args`` are the ``shoplens`` arguments; ``check_after_kill(home)`` and
    ``check_after_rerun(home)`` return None when the state is acceptable, else a description.
    """

    name: str
    prepare: Callable[[Path], None]
    args: list[str]
    check_after_kill: Check
    check_after_rerun: Check
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class TrialResult:
    delay_s: float
    killed: bool  # False when the command finished before the kill
    kill_check: str | None
    rerun_status: int
    rerun_check: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.kill_check is None and self.rerun_status == 0 and self.rerun_check is None


def shoplens_cmd(args: list[str]) -> list[str]:
    """The command line that runs ``shoplens ARGS`` with this interpreter."""
    return [sys.executable, "-m", "app.cli", *args]


def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SHOPLENS_DB", None)
    env.update({"SHOPLENS_HOME": str(home), "PYTHONPATH": str(REPO_ROOT), **extra})
    return env


def run_cli(
    home: Path, args: list[str], extra_env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run ``shoplens ARGS`` to completion with ``home`` as its runtime folder."""
    return subprocess.run(
        shoplens_cmd(args),
        env=_env(home, extra_env or {}),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_and_kill(
    home: Path, args: list[str], delay_s: float, extra_env: dict[str, str] | None = None
) -> bool:
    """Start ``shoplens ARGS`` and SIGKILL its whole process group after ``delay_s`` seconds.
    Returns True if it was still running when killed."""
    proc = subprocess.Popen(
        shoplens_cmd(args),
        env=_env(home, extra_env or {}),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        proc.wait(timeout=delay_s)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group we created: the command and its children
        proc.wait()
        return True


def timed_run(scenario: FaultScenario, base: Path, workdir: Path) -> float:
    """Seconds one uninterrupted run of the scenario takes (from a copy of ``base``)."""
    home = workdir / "timing"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base, home)
    start = time.perf_counter()
    result = run_cli(home, scenario.args, scenario.extra_env)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{scenario.name}: the uninterrupted run failed: {result.stderr[-800:]}")
    problem = scenario.check_after_rerun(home)
    if problem:
        raise RuntimeError(f"{scenario.name}: the uninterrupted run is inconsistent: {problem}")
    shutil.rmtree(home, ignore_errors=True)
    return seconds


def run_trials(
    scenario: FaultScenario,
    workdir: Path,
    n_trials: int,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Prepare once, time one clean run, then ``n_trials`` kill-and-rerun trials with delays
    drawn uniformly from [0, the run's current estimated duration]."""
    rng = random.Random(seed)
    base = workdir / "base"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    scenario.prepare(base)
    clean_s = timed_run(scenario, base, workdir)
    # The machine's load changes, so the kill window adapts: a run that finished before its
    # kill bounds the duration from above, a full rerun measures it again.
    duration_s = clean_s
    trials: list[TrialResult] = []
    for i in range(n_trials):
        home = workdir / f"trial{i}"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(base, home)
        delay = rng.uniform(0, duration_s)
        start = time.perf_counter()
        killed = run_and_kill(home, scenario.args, delay, scenario.extra_env)
        kill_check = scenario.check_after_kill(home)
        rerun_start = time.perf_counter()
        rerun = run_cli(home, scenario.args, scenario.extra_env)
        rerun_s = time.perf_counter() - rerun_start
        duration_s = 0.7 * duration_s + 0.3 * rerun_s if killed else min(duration_s, delay)
        ok = rerun.returncode == 0
        rerun_check = scenario.check_after_rerun(home) if ok else rerun.stderr[-400:]
        trial = TrialResult(
            round(delay, 3),
            killed,
            kill_check,
            rerun.returncode,
            rerun_check,
            round(time.perf_counter() - start, 2),
        )
        trials.append(trial)
        if log:
            log(
                f"  {scenario.name} trial {i + 1}/{n_trials}: delay {delay:.2f}s "
                f"killed={killed} ok={trial.ok} (window {duration_s:.1f}s)"
            )
        shutil.rmtree(home, ignore_errors=True)
    failures = [t.__dict__ for t in trials if not t.ok]
    return {
        "scenario": scenario.name,
        "command": "shoplens " + " ".join(scenario.args),
        "clean_run_seconds": round(clean_s, 2),
        "trials": n_trials,
        "killed_mid_run": sum(t.killed for t in trials),
        "finished_before_kill": sum(not t.killed for t in trials),
        "ok": sum(t.ok for t in trials),
        "failures": failures[:20],
    }
