"""Fault scenarios for :mod:`tests.trust.fault_harness`: ingest, scoring, training, label sync.

Each scenario prepares a runtime folder once, names the ``shoplens`` command to kill, and says
what a consistent store looks like after the kill and after a rerun.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from db.store import Store
from tests.trust.fault_harness import FaultScenario, run_cli

KILL_SHOP = "killshop"


def _store(home: Path) -> Store:
    return Store(home / "shoplens.duckdb", lock_timeout_s=60)


def _ctx(home: Path):  # noqa: ANN202
    """The context a ``shoplens`` process started on ``home`` builds."""
    from common.settings import load_settings
    from core.context import Context

    settings = load_settings({**_plain_env(), "SHOPLENS_HOME": str(home)})
    return Context.from_settings(settings, store=_store(home), migrate=False)


def _counts(home: Path) -> dict[str, dict[str, int]]:
    store = _store(home)
    with store.read() as con:
        shops = [r[0] for r in con.execute("SELECT shop_id FROM shops").fetchall()]
    return {shop: store.table_counts(shop) for shop in shops}


def write_events_file(path: Path, n_rows: int, seed: int = 0) -> Path:
    """A Parquet events file of ``n_rows`` distinct events (large enough to take seconds)."""
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        np.sort(rng.integers(0, 60 * 86400, n_rows)), unit="s"
    )
    frame = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in rng.integers(0, n_rows // 20 + 1, n_rows)],
            "event_type": rng.choice(["view", "cart", "fav", "purchase"], n_rows),
            "ts": ts,
            "item_id": [f"i{i}" for i in range(n_rows)],  # distinct: every row is one event
            "category": rng.choice(["Dresses", "Knits", "Shoes"], n_rows),
        }
    )
    frame.to_parquet(path, index=False)
    return path


def ingest_scenario(inputs: Path, n_rows: int = 200_000) -> FaultScenario:
    """kill -9 during ``shoplens ingest``: afterwards the shop has none or all of the file's
    events (never part), other shops are untouched, and a rerun loads exactly ``n_rows``."""
    inputs.mkdir(parents=True, exist_ok=True)
    events_file = inputs / "events_kill.parquet"
    base_file = inputs / "events_base.parquet"

    def prepare(home: Path) -> None:
        if not events_file.exists():
            write_events_file(events_file, n_rows, seed=1)
            write_events_file(base_file, 2_000, seed=2)
        result = run_cli(home, ["ingest", str(base_file), "--kind", "events", "--shop", "base"])
        if result.returncode != 0:
            raise RuntimeError(result.stderr)
        (home / "baseline.json").write_text(json.dumps(_counts(home)))

    def check_after_kill(home: Path) -> str | None:
        baseline = json.loads((home / "baseline.json").read_text())
        counts = _counts(home)
        if counts.get("base") != baseline["base"]:
            return f"the other shop changed: {counts.get('base')} != {baseline['base']}"
        mine = counts.get(KILL_SHOP, {"events": 0, "ingest_runs": 0, "users": 0})
        if mine["events"] not in (0, n_rows):
            return f"partial batch: {mine['events']} of {n_rows} events"
        if (mine["events"] == n_rows) != (mine["ingest_runs"] == 1):
            return f"events {mine['events']} but ingest_runs {mine['ingest_runs']}"
        if mine["events"] == 0 and mine["users"] != 0:
            return f"users written without their events: {mine['users']}"
        from db.rollups import covers_events

        with _store(home).read() as con:
            for shop in (KILL_SHOP, "base"):
                if not covers_events(con, shop):
                    return f"the summary tables of shop {shop} do not match its events"
        return None

    def check_after_rerun(home: Path) -> str | None:
        problem = check_after_kill(home)
        if problem:
            return problem
        store = _store(home)
        n, distinct, runs = (
            store.query_df(
                "SELECT count(*) AS n, count(DISTINCT event_key) AS d, "
                "(SELECT count(*) FROM ingest_runs WHERE shop_id = ?) AS r "
                "FROM events WHERE shop_id = ?",
                [KILL_SHOP, KILL_SHOP],
            )
            .iloc[0]
            .tolist()
        )
        if n != n_rows or distinct != n_rows or runs != 1:
            return f"after rerun: {n} events ({distinct} distinct, {runs} runs), expected {n_rows}"
        return None

    return FaultScenario(
        name="ingest",
        prepare=prepare,
        args=["ingest", str(events_file), "--kind", "events", "--shop", KILL_SHOP],
        check_after_kill=check_after_kill,
        check_after_rerun=check_after_rerun,
    )


def _model_check(home: Path, task: str, shop: str) -> str | None:
    """The shop's active model of ``task`` (if any) loads and scores a text, in a fresh
    process."""
    code = (
        "import sys\n"
        "from common.settings import load_settings\n"
        "from core.context import Context\n"
        "from core.scoring import predict_texts\n"
        "ctx = Context.from_settings(load_settings())\n"
        f"if ctx.registry.active({shop!r}, {task!r}) is None: sys.exit(0)\n"
        f"df = predict_texts(ctx, {task!r}, {shop!r}, ['great shoes, fast', 'arrived broken'])\n"
        "assert len(df) == 2, df\n"
    )
    import subprocess
    import sys

    from tests.trust.fault_harness import _env

    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(home, {}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        return f"active {task} model does not load and score: {result.stderr[-400:]}"
    return None


def score_scenario(
    trained_home: Path, task: str = "sentiment", shop: str = "sample"
) -> FaultScenario:
    """kill -9 during ``shoplens score TASK``: predictions are whole rows of the active version
    (scoring writes in short transactions, so any number of finished batches may be there), the
    active model still loads and scores, and a rerun scores every row exactly once."""

    def prepare(home: Path) -> None:
        shutil.copytree(trained_home, home, dirs_exist_ok=True)
        from core.tasks import get_task

        texts = get_task(task).load_texts(_ctx(home), shop)
        (home / "expected_predictions.json").write_text(json.dumps(len(texts)))

    def _predictions(home: Path) -> tuple[int, int, int]:
        row = (
            _store(home)
            .query_df(
                "SELECT count(*) AS n, count(DISTINCT target_id) AS d, "
                "count(*) FILTER (WHERE probs IS NULL OR label IS NULL) AS bad "
                "FROM predictions WHERE shop_id = ? AND task = ?",
                [shop, task],
            )
            .iloc[0]
        )
        return int(row["n"]), int(row["d"]), int(row["bad"])

    def check_after_kill(home: Path) -> str | None:
        n, distinct, bad = _predictions(home)
        if bad:
            return f"{bad} half-written predictions"
        if n != distinct:
            return f"duplicated predictions: {n} rows for {distinct} targets"
        return _model_check(home, task, shop)

    def check_after_rerun(home: Path) -> str | None:
        problem = check_after_kill(home)
        if problem:
            return problem
        n, _, _ = _predictions(home)
        expected = json.loads((home / "expected_predictions.json").read_text())
        return None if n == expected else f"after rerun {n} predictions, expected {expected}"

    return FaultScenario(
        name=f"score-{task}",
        prepare=prepare,
        args=["score", task, "--shop", shop],
        check_after_kill=check_after_kill,
        check_after_rerun=check_after_rerun,
    )


def train_scenario(
    trained_home: Path, task: str = "sentiment", shop: str = "mini", extra: list[str] | None = None
) -> FaultScenario:
    """kill -9 during ``shoplens train TASK``: the previously active version stays active (or a
    complete new one is), still loads and scores; a rerun finishes."""

    def prepare(home: Path) -> None:
        shutil.copytree(trained_home, home, dirs_exist_ok=True)

    def check(home: Path) -> str | None:
        registry = _ctx(home).registry
        version = registry.active(shop, task)
        if version is None:
            return "no active model after the kill"
        if not (registry.folder(shop, task, version) / "meta.json").is_file():
            return f"the active pointer names {version!r}, which is not a complete version folder"
        return _model_check(home, task, shop)

    return FaultScenario(
        name=f"train-{task}",
        prepare=prepare,
        args=["train", task, "--shop", shop, *(extra or [])],
        check_after_kill=check,
        check_after_rerun=check,
    )


MINI_SHOP = "mini"
MINI_TRAIN_ARGS = ["--epochs", "1", "--max-train-examples", "64"]


def build_trained_home(home: Path, n_reviews: int = 400) -> Path:
    """A runtime folder with shop ``mini`` (the first ``n_reviews`` bundled reviews) and an
    active sentiment model trained on it with one quick epoch: the starting state of the
    training and scoring scenarios. About half a minute on two cores."""
    from common.settings import REPO_ROOT

    home.mkdir(parents=True, exist_ok=True)
    reviews = home.parent / f"{home.name}-reviews.parquet"
    pd.read_parquet(REPO_ROOT / "data" / "sample" / "reviews.parquet").head(n_reviews).to_parquet(
        reviews, index=False
    )
    steps = [
        ["ingest", str(reviews), "--kind", "reviews", "--shop", MINI_SHOP],
        ["train", "sentiment", "--shop", MINI_SHOP, *MINI_TRAIN_ARGS],
    ]
    for args in steps:
        result = run_cli(home, args)
        if result.returncode != 0:
            raise RuntimeError(f"shoplens {' '.join(args)} failed: {result.stderr[-800:]}")
    return home


def label_sync_scenario(
    ls_settings, n_annotations: int = 300, task: str = "sentiment"
) -> FaultScenario:
    """kill -9 during ``shoplens label sync``: the ``n_annotations`` answers waiting in a real
    Label Studio arrive all or not at all (annotations and human labels agree, none doubled),
    and a rerun stores each exactly once.

    ``ls_settings`` are the settings of a running server's own home; each trial's home gets its
    secrets and port. Every tenth answer is a skip, which stores an annotation but no label.
    """
    from common.settings import load_settings
    from core.tasks import get_task
    from db.repo import labelling as queue
    from labeling.client import LabelStudioClient
    from labeling.projects import ensure_project

    port = str(ls_settings.labelstudio.port)
    env = {"SHOPLENS_LS_PORT": port}
    labels = get_task(task).labels
    n_skipped = len(range(0, n_annotations, 10))

    def prepare(home: Path) -> None:
        settings = load_settings({**_plain_env(), "SHOPLENS_HOME": str(home), **env})
        settings.labelstudio.secrets_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ls_settings.labelstudio.secrets_file, settings.labelstudio.secrets_file)
        store = _store(home)
        store.init_schema()
        client = LabelStudioClient.from_settings(settings)
        pid = ensure_project(client, store, get_task(task), KILL_SHOP)
        targets = [f"r{i:04d}" for i in range(n_annotations)]
        # as a push records them: the queue knows which task is which row
        queue.add_pending(store, KILL_SHOP, task, "v-kill", "entropy",
                          pd.DataFrame({"target_id": targets, "uncertainty": 0.5}))  # fmt: skip
        answer = client.import_tasks(
            pid,
            [
                {
                    "text": f"review {i}: fits well, colour as shown",
                    "target_id": f"r{i:04d}",
                    "shop_id": KILL_SHOP,
                    "task": task,
                }
                for i in range(n_annotations)
            ],  # fmt: skip
        )
        queue.mark_queued(store, KILL_SHOP, task, pid,
                          dict(zip(targets, map(int, answer["task_ids"]), strict=True)))  # fmt: skip
        for i, task_id in enumerate(answer["task_ids"]):
            label = labels[i % len(labels)]
            result = [{"from_name": "label", "to_name": "text", "type": "choices",
                       "value": {"choices": [label]}}]  # fmt: skip
            if i % 10 == 0:
                client.create_annotation(task_id, [], was_cancelled=True)
            else:
                client.create_annotation(task_id, result, lead_time=2.0)

    def _stored(home: Path) -> tuple[int, int, int]:
        row = _store(home).query_df(
            "SELECT (SELECT count(*) FROM annotations WHERE shop_id = ?) AS a, "
            "(SELECT count(DISTINCT annotation_id) FROM annotations WHERE shop_id = ?) AS d, "
            "(SELECT count(*) FROM labels WHERE shop_id = ? AND source = 'human') AS h",
            [KILL_SHOP] * 3,
        )
        return tuple(int(v) for v in row.iloc[0])

    def check_after_kill(home: Path) -> str | None:
        answers, distinct, human = _stored(home)
        if answers != distinct:
            return f"duplicated annotations: {answers} rows, {distinct} ids"
        if (answers, human) not in ((0, 0), (n_annotations, n_annotations - n_skipped)):
            return f"partial sync: {answers} annotations and {human} human labels"
        return None

    def check_after_rerun(home: Path) -> str | None:
        problem = check_after_kill(home)
        if problem:
            return problem
        answers, _, _ = _stored(home)
        return None if answers == n_annotations else f"after rerun {answers} annotations"

    return FaultScenario(
        name=f"label-sync-{task}",
        prepare=prepare,
        args=["label", "sync", task, "--shop", KILL_SHOP],
        check_after_kill=check_after_kill,
        check_after_rerun=check_after_rerun,
        extra_env=env,
    )


def _plain_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("SHOPLENS_")}
