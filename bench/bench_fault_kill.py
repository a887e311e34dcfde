"""kill -9 soak: ``shoplens ingest`` (and ``score`` / ``train`` given a trained runtime folder)
SIGKILLed at random moments, then checked for consistency and rerun.

For each scenario of ``tests/trust/fault_scenarios.py``: prepare a runtime folder once, time one
clean run, then per trial copy the folder, start the command, SIGKILL its process group after a
delay drawn uniformly from [0, 1.1 x clean run], check the store (no partial batch, other shops
untouched, the active model loads and scores) and rerun to completion (no rows duplicated or lost).

    python -m bench fault_kill                  # ingest, 50 trials
    python -m bench fault_kill --quick          # ingest, 5 trials
    python -m bench.bench_fault_kill --scenario score --trained-home DIR --trials 50
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.common import machine_info, write_result
from tests.trust.fault_harness import run_trials
from tests.trust.fault_scenarios import ingest_scenario, score_scenario, train_scenario

FULL_TRIALS = 50
QUICK_TRIALS = 5
INGEST_ROWS = 50_000


def run_scenario(
    name: str,
    trials: int,
    trained_home: Path | None = None,
    train_args: list[str] | None = None,
    shop: str = "sample",
) -> dict:
    """Run ``trials`` kill-and-rerun trials of one scenario in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix=f"shoplens-kill-{name}-") as tmp:
        workdir = Path(tmp)
        if name == "ingest":
            scenario = ingest_scenario(workdir / "inputs", n_rows=INGEST_ROWS)
        elif trained_home is None:
            raise SystemExit(
                f"--scenario {name} needs --trained-home (a folder with a store "
                "and an active model, e.g. after `shoplens load-sample` and "
                "`shoplens train sentiment`)"
            )
        elif name == "score":
            scenario = score_scenario(trained_home, shop=shop)
        else:
            scenario = train_scenario(trained_home, extra=[*(train_args or []), "--shop", shop])
        return run_trials(scenario, workdir, trials, log=lambda line: print(line, flush=True))


def main(quick: bool = False) -> dict:
    """The ingest scenario (the one that needs no trained model)."""
    result = run_scenario("ingest", QUICK_TRIALS if quick else FULL_TRIALS)
    result["machine"] = machine_info()
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    return {"ingest": result}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["ingest", "score", "train"], default="ingest")
    parser.add_argument("--trials", type=int, default=FULL_TRIALS)
    parser.add_argument("--trained-home", type=Path)
    parser.add_argument("--shop", default="sample", help="shop to score or train on")
    parser.add_argument(
        "--train-args",
        default="--epochs 1 --max-train-examples 64",
        help="extra arguments of `shoplens train` for the train scenario",
    )
    options = parser.parse_args()
    outcome = run_scenario(
        options.scenario,
        options.trials,
        options.trained_home,
        options.train_args.split(),
        shop=options.shop,
    )
    outcome["machine"] = machine_info()
    print(write_result(f"fault_kill_{options.scenario}", outcome))
    print(json.dumps({k: v for k, v in outcome.items() if k != "machine"}, indent=1))
