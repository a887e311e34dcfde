"""kill -9 soak: ``shoplens ingest``, ``train``, ``score`` and ``label sync`` SIGKILLed at random
moments, then checked for consistency and rerun.

For each scenario of ``tests/trust/fault_scenarios.py``: prepare a runtime folder once, time one
clean run, then per trial copy the folder, start the command, SIGKILL its process group after a
delay drawn uniformly from [0, the run's estimated duration], check the store (no partial batch,
other shops untouched, the active model loads and scores) and rerun to completion (no rows
duplicated or lost). The training and scoring scenarios start from a small shop with a quickly
trained sentiment model (built here unless ``--trained-home`` names one); the label-sync scenario
starts its own Label Studio (``make labelstudio-install`` first) holding 300 answers to pull.

    python -m bench fault_kill                  # all four scenarios, 50 trials each (~2 h, 2 cores)
    python -m bench fault_kill --quick          # 3 trials each
    python -m bench.bench_fault_kill --scenario train --trials 50
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import machine_info, write_result
from tests.trust.fault_harness import run_trials
from tests.trust.fault_scenarios import (
    MINI_SHOP,
    MINI_TRAIN_ARGS,
    build_trained_home,
    ingest_scenario,
    label_sync_scenario,
    score_scenario,
    train_scenario,
)

SCENARIOS = ("ingest", "train", "score", "label_sync")
FULL_TRIALS = 50
QUICK_TRIALS = 3
INGEST_ROWS = 50_000
SYNC_ANNOTATIONS = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def label_studio(workdir: Path) -> Iterator[Any]:
    """A Label Studio of its own (fresh data folder, free loopback port) for the sync scenario."""
    import os

    from common.settings import load_settings
    from labeling import server

    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPLENS_")}
    home = workdir / "labelstudio-home"
    settings = load_settings(
        {**env, "SHOPLENS_HOME": str(home), "SHOPLENS_LS_PORT": str(_free_port())}
    )
    if not (settings.labelstudio.venv_dir / "bin" / "label-studio").is_file():
        raise SystemExit(
            "the label_sync scenario needs Label Studio: run `make labelstudio-install`"
        )
    server.start(settings, timeout_s=600)
    try:
        yield settings
    finally:
        server.stop(settings)


def run_scenario(
    name: str,
    trials: int,
    trained_home: Path | None = None,
    shop: str = MINI_SHOP,
    log: Any = print,
) -> dict:
    """Run ``trials`` kill-and-rerun trials of one scenario in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix=f"shoplens-kill-{name}-") as tmp:
        workdir = Path(tmp)

        def go(scenario: Any) -> dict:
            return run_trials(scenario, workdir, trials, log=lambda line: log(line, flush=True))

        if name == "ingest":
            return go(ingest_scenario(workdir / "inputs", n_rows=INGEST_ROWS))
        if name == "label_sync":
            with label_studio(workdir) as ls_settings:
                return go(label_sync_scenario(ls_settings, SYNC_ANNOTATIONS))
        if trained_home is None:
            log("  building a trained mini shop (one quick training run) ...", flush=True)
            trained_home = build_trained_home(workdir / "trained")
        if name == "score":
            return go(score_scenario(trained_home, shop=shop))
        return go(train_scenario(trained_home, shop=shop, extra=MINI_TRAIN_ARGS))


def main(quick: bool = False, names: tuple[str, ...] = SCENARIOS) -> dict:
    """Every scenario; each also writes ``bench/results/fault_kill_<name>.json``."""
    results: dict[str, dict] = {}
    for name in names:
        outcome = run_scenario(name, QUICK_TRIALS if quick else FULL_TRIALS)
        outcome["machine"] = machine_info()
        suffix = ".quick" if quick else ""
        write_result(f"fault_kill_{name}{suffix}", outcome)
        print(json.dumps({k: v for k, v in outcome.items() if k != "machine"}, indent=1))
        results[name] = {k: v for k, v in outcome.items() if k != "machine"}
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="ingest")
    parser.add_argument("--trials", type=int, default=FULL_TRIALS)
    parser.add_argument("--trained-home", type=Path, help="reuse a home with an active model")
    parser.add_argument("--shop", default=MINI_SHOP, help="shop to score or train on")
    options = parser.parse_args()
    outcome = run_scenario(options.scenario, options.trials, options.trained_home, options.shop)
    outcome["machine"] = machine_info()
    print(write_result(f"fault_kill_{options.scenario}", outcome))
    print(json.dumps({k: v for k, v in outcome.items() if k != "machine"}, indent=1))
    from app.cli import exit_quietly

    exit_quietly(0)
