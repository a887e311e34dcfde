"""Scoring on Ray against the local engine, on the same machine, model and texts, in one run.

A sentiment version (the encoder blend, trained briefly on the bundled reviews) scores N review
texts three ways: the local engine (one process, PyTorch's threads over the machine's cores), and
the Ray engine with 1 and with 2 single-CPU model replicas on a local cluster started here
(``ray start --head``, loopback, token authentication). Reported: texts/s end to end (model loading
and, for Ray, actor start-up included) and the ratios to the local engine. On a 2-core machine the
local engine already uses both cores, so Ray can only add its overhead there; what Ray buys is
more machines (docs/scaling.md).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from bench.common import machine_info, timer
from bench.core_data import isolated_home, load_reviews


def _cluster(port: int) -> tuple[str, Any]:
    os.environ.update({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token",
                       "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"})  # fmt: skip
    binary = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    temp = tempfile.mkdtemp(prefix="bench-ray-")
    subprocess.run([binary, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                    "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                    f"--temp-dir={temp}"], check=True, capture_output=True, timeout=120)  # fmt: skip

    def stop() -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([binary, "stop", "--force"], capture_output=True, timeout=120)

    return f"127.0.0.1:{port}", stop


def main(quick: bool = False) -> dict[str, Any]:
    from core.context import Context
    from core.engines import LocalEngine
    from core.engines.ray_engine import RayEngine
    from core.training import TrainingConfig, train_task
    from db.store import Store

    n = 400 if quick else 2000
    isolated_home("ray")
    ctx = Context.from_settings(__import__("common.settings", fromlist=["x"]).load_settings())
    store: Store = ctx.store
    store.init_schema()
    reviews = load_reviews().dropna(subset=["text"]).head(1200 + n)
    with store.write() as con:
        con.register("r", reviews.assign(shop_id="sample"))
        con.execute("INSERT INTO reviews (shop_id, review_id, rating, title, text) "
                    "SELECT shop_id, review_id, rating, title, text FROM r")  # fmt: skip
    # forced: the encoder blend is what is measured, even where the TF-IDF baseline would serve
    result = train_task(ctx, "sentiment", "sample", TrainingConfig(
        epochs=1, max_train_examples=300, max_eval_examples=200, check_int8=False),
        force_promote=True)  # fmt: skip
    version = result.version
    rows = pd.DataFrame({"target_id": reviews["review_id"].astype(str).tail(n).tolist(),
                         "text": reviews["text"].astype(str).tail(n).tolist()})  # fmt: skip
    out: dict[str, Any] = {"benchmark": "ray", "machine": machine_info(), "quick": quick,
                           "texts": n, "model": "sentiment encoder blend (all-MiniLM-L6-v2)",
                           "baseline": "local engine, same machine",
                           "served_model_type": result.model_type}  # fmt: skip

    def run(engine: Any) -> float:
        with timer() as t:
            got = sum(len(ids) for ids, _ in engine.predict_texts(ctx, "sample", "sentiment",
                                                                  version, rows))  # fmt: skip
        assert got == n
        return n / t.seconds

    out["local_texts_per_s"] = round(run(LocalEngine()), 1)
    address, stop = _cluster(6400 + os.getpid() % 1000)
    try:
        for workers in (1, 2):
            speed = run(RayEngine(address, workers=workers, rows_per_block=64))
            out[f"ray_{workers}_workers_texts_per_s"] = round(speed, 1)
            out[f"ray_{workers}_workers_vs_local"] = round(speed / out["local_texts_per_s"], 3)
    finally:
        stop()
    return out
