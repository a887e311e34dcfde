"""The Ray engine on a real local cluster (``ray start --head``, 2 CPUs, loopback only, token
authentication): the same predictions as the local engine, a replica killed mid-run loses and
duplicates nothing, clear errors for a wrong address or a missing Ray."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from common.errors import InputError
from tests.core.conftest import seed_reviews, separable_reviews

pytestmark = pytest.mark.integration
# Ray reads these when it is imported: the cluster of this module is loopback-only and asks for
# this token (ray 2.60 turns token authentication on for `ray start`)
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"}  # fmt: skip
os.environ.update(RAY_ENV)
ray = pytest.importorskip("ray", reason='the Ray engine is an extra: pip install -e ".[ray]"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-node cluster on 127.0.0.1 with a fresh token; its address."""
    binary = shutil.which("ray", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.skip("the ray command is not installed")
    port = _free_port()
    os.environ.update(RAY_ENV)
    temp = tmp_path_factory.mktemp("ray")
    subprocess.run(  # noqa: S603 - fixed argument list
        [binary, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temp}"], check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([binary, "stop", "--force"], capture_output=True, timeout=120)  # noqa: S603


@pytest.fixture
def scored_shop(ctx, store):  # noqa: ANN201
    from core.training import TrainingConfig, train_task

    seed_reviews(store, separable_reviews(40)
                 + [(f"x{i:03d}", 3, f"it is okay number {i}, fine") for i in range(300)])  # fmt: skip
    config = TrainingConfig(epochs=1, max_length=16, batch_size=8, trainable_layers=1,
                            check_int8=False)  # fmt: skip
    return train_task(ctx, "sentiment", "sample", config).version


def _predictions(store, version: str):  # noqa: ANN202
    return store.query_df("SELECT target_id, label, probs::VARCHAR AS probs FROM predictions "
                          "WHERE task = 'sentiment' AND model_version = $v ORDER BY target_id",
                          {"v": version})  # fmt: skip


def test_ray_scores_like_the_local_engine_and_survives_a_killed_replica(ray_cluster, ctx, store,
                                                                        scored_shop) -> None:  # fmt: skip
    import json

    from core.engines import LocalEngine, make_engine
    from core.scoring import score_task

    version = scored_shop
    engine = make_engine("ray", ray_cluster)
    engine.rows_per_block = 20  # many small batches: a kill lands mid-run

    killed: list[int] = []

    def replicas() -> list[int]:  # model replica processes ("ray::MapWorker(MapBatches(...))")
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if b"MapWorker" in (entry / "cmdline").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    pass
        return found

    def kill_one_replica() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            alive = replicas()
            if alive:
                time.sleep(1.0)  # let it start on its batches
                os.kill(alive[0], signal.SIGKILL)
                killed.append(alive[0])
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_one_replica, daemon=True)
    killer.start()
    assert score_task(ctx, "sentiment", "sample", engine=engine) == 340
    killer.join(timeout=5)
    assert killed, "no replica was found to kill"
    on_ray = _predictions(store, version)
    assert len(on_ray) == 340 and on_ray["target_id"].is_unique  # nothing lost, nothing twice
    assert not list((ctx.home / "jobs").glob(f"score-sentiment-{version}-*"))  # done: removed

    with store.write() as con:  # the same rows again, in this process
        con.execute("DELETE FROM predictions WHERE task = 'sentiment'")
    assert score_task(ctx, "sentiment", "sample", engine=LocalEngine()) == 340
    local = _predictions(store, version)
    assert (local["label"] == on_ray["label"]).all()
    a = np.array([list(json.loads(p).values()) for p in on_ray["probs"]])
    b = np.array([list(json.loads(p).values()) for p in local["probs"]])
    assert np.abs(a - b).max() < 1e-4


def test_clear_errors_for_the_address() -> None:
    from core.engines import make_engine

    with pytest.raises(InputError, match="needs --address"):
        make_engine("ray")
    with pytest.raises(InputError, match="cannot reach a Ray cluster at 127.0.0.1:1"):
        make_engine("ray", "127.0.0.1:1")
    with pytest.raises(InputError, match="HOST:PORT"):
        make_engine("ray", "nowhere")


def test_predict_a_file_on_ray_matches_the_local_engine(
    ray_cluster, ctx, scored_shop, tmp_path
) -> None:
    import pandas as pd

    from app.cli import main

    src = tmp_path / "in.csv"
    pd.DataFrame({"review": ["love this dress", "awful ripped seams", "", "fine"] * 30}).to_csv(
        src, index=False)  # fmt: skip
    outputs = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.csv"
        args = ["predict", "sentiment", "--input", str(src), "--text-column", "review",
                "--output", str(out), "--engine", engine]  # fmt: skip
        assert main(args + (["--address", ray_cluster] if engine == "ray" else [])) == 0
        outputs[engine] = pd.read_csv(out)
    local, on_ray = outputs["local"], outputs["ray"]
    assert len(on_ray) == 120 and (on_ray["review"].fillna("") == local["review"].fillna("")).all()
    assert (on_ray["label"] == local["label"]).all()
    probs = [c for c in local.columns if c.startswith("prob_")]
    assert np.abs(on_ray[probs].to_numpy() - local[probs].to_numpy()).max() < 1e-4


def test_shopper_table_and_recommendations_on_ray_match_the_local_engine(ray_cluster, ctx,
                                                                          store) -> None:  # fmt: skip
    """Behaviour models score parts of the shop on Ray replicas: a forecast reads each part's
    own shoppers' events, a recommender the whole log; the rows are the local engine's."""
    from core.engines import LocalEngine, make_engine
    from core.scoring import score_task
    from core.training import TrainingConfig, train_task
    from db.repo import recommendations as rec_repo
    from tests.core.conftest import seed_sample_events

    seed_sample_events(store, n_users=300)
    purchase = train_task(ctx, "purchase", "sample", TrainingConfig(horizon_days=7)).version
    recommend = train_task(ctx, "recommend", "sample", TrainingConfig(max_minutes=0.3)).version
    engine = make_engine("ray", ray_cluster)
    query = ("SELECT target_id, label, probs::VARCHAR AS probs, reason FROM predictions "
             "WHERE task = 'purchase' ORDER BY target_id")  # fmt: skip

    assert score_task(ctx, "purchase", "sample", engine=engine) == 300
    assert not list((ctx.home / "jobs").glob(f"score-purchase-{purchase}-*"))  # cleaned up
    on_ray = store.query_df(query)
    with store.write() as con:
        con.execute("DELETE FROM predictions WHERE task = 'purchase'")
    assert score_task(ctx, "purchase", "sample", engine=LocalEngine()) == 300
    local = store.query_df(query)
    assert on_ray["probs"].nunique() > 50  # not one propensity for all
    assert on_ray.equals(local)

    touched = store.query_df("SELECT count(DISTINCT user_id) n FROM events "
                             "WHERE item_id IS NOT NULL")["n"][0]  # fmt: skip
    assert touched == 298  # two only searched
    lists = {}
    for name, eng in (("ray", engine), ("local", LocalEngine())):
        assert score_task(ctx, "recommend", "sample", engine=eng) == touched
        lists[name] = rec_repo.for_shop(store, "sample", recommend).sort_values(
            ["user_id", "rank"], ignore_index=True)  # fmt: skip
    assert len(lists["ray"]) == 10 * touched
    assert lists["ray"][["user_id", "rank", "item_id"]].equals(
        lists["local"][["user_id", "rank", "item_id"]])  # fmt: skip
    assert np.allclose(lists["ray"]["score"], lists["local"]["score"], atol=1e-6)


def test_shoppers_are_split_into_parts_that_keep_every_replica_busy() -> None:
    from core.engines.ray_engine import SHOPPERS_PER_PART, shopper_parts

    users = [f"u{i:06d}" for i in range(300)]
    parts = shopper_parts(users, workers=2)
    assert len(parts) == 8 and sum(parts, []) == users  # four per replica, in order, all once
    assert len(shopper_parts(users[:3], workers=2)) == 3  # never an empty part
    many = [f"u{i:07d}" for i in range(10 * SHOPPERS_PER_PART + 1)]
    parts = shopper_parts(many, workers=2)
    assert len(parts) == 11 and max(map(len, parts)) <= SHOPPERS_PER_PART


def test_a_task_the_engine_cannot_score_says_so(ctx) -> None:
    from core.scoring import score_task

    class Elsewhere:
        name = "ray"

    with pytest.raises(InputError, match="aspects is scored on this machine only.*recommend"):
        score_task(ctx, "aspects", "sample", engine=Elsewhere())  # type: ignore[arg-type]


def test_a_new_job_removes_the_folders_of_jobs_whose_process_died(tmp_path: Path) -> None:
    from core.engines.ray_engine import JOB_OWNER, UNOWNED_GRACE_S, new_job_folder

    jobs = tmp_path / "jobs"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    host = socket.gethostname()
    owners = {"dead": {"host": host, "pid": int(gone.stdout)},
              "alive": {"host": host, "pid": os.getpid()},
              "elsewhere": {"host": host + "-other", "pid": int(gone.stdout)}}  # fmt: skip
    for name, owner in owners.items():
        (jobs / f"score-sentiment-v1-{name}").mkdir(parents=True)
        (jobs / f"score-sentiment-v1-{name}" / JOB_OWNER).write_text(json.dumps(owner))
    (jobs / "score-sentiment-v1-unowned-old").mkdir()
    (jobs / "score-sentiment-v1-unowned-new").mkdir()
    old = time.time() - UNOWNED_GRACE_S - 60
    os.utime(jobs / "score-sentiment-v1-unowned-old", (old, old))
    (jobs / "score-sentiment-v1-dead" / "input.parquet").write_bytes(b"exported rows")
    job = new_job_folder(tmp_path, "sentiment", "v2")
    assert json.loads((job / JOB_OWNER).read_text()) == {"host": host, "pid": os.getpid()}
    left = sorted(p.name for p in jobs.iterdir())
    assert left == sorted([job.name, "score-sentiment-v1-alive", "score-sentiment-v1-elsewhere",
                           "score-sentiment-v1-unowned-new"])  # fmt: skip
