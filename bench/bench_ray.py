"""Scoring on Ray against the local engine, on the same machine, model and texts, in one run.

A sentiment version (the encoder blend, trained briefly on the bundled reviews) scores N review
texts three ways: the local engine (one process, PyTorch's threads over the machine's cores), and
the Ray engine with 1 and with 2 single-CPU model replicas on a local cluster started here
(``ray start --head``, loopback, token authentication). Reported: texts/s end to end (model loading
and, for Ray, actor start-up included) and the ratios to the local engine. On a 2-core machine the
local engine already uses both cores, so Ray can only add its overhead there; what Ray buys is
more machines (docs/scaling.md).

The behaviour models go the same three ways on the bundled shop's events (``--quick``: its first
1,500 shoppers): the shopper table (a purchase forecast per shopper; each part reads its own
shoppers' events) and the recommendation lists (each replica reads the whole log), in shoppers/s,
each checked equal to the local engine's rows.
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


def _seed_events(store: Any, n_users: int | None) -> int:
    """The bundled shop's events (its first ``n_users`` shoppers) into shop ``sample``."""
    import numpy as np

    from common.settings import DATA_DIR

    events = pd.read_parquet(DATA_DIR / "sample" / "events_synthetic.parquet")
    if n_users is not None:
        events = events[events["user_id"].isin(sorted(events["user_id"].unique())[:n_users])]
    events = events.assign(shop_id="sample", event_key=np.arange(len(events)))
    with store.write() as con:
        con.register("e", events)
        con.execute("INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, "
                    "category, event_type, query, ts) SELECT event_key, shop_id, user_id, "
                    "session_id, item_id, category, event_type, query, ts FROM e")  # fmt: skip
    return int(events["user_id"].nunique())


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """The same values, column by column (numbers to 1e-6; a Parquet round trip may change a
    column's dtype, not its values)."""
    import numpy as np

    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for column in a.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            if not np.allclose(x.to_numpy(float), y.to_numpy(float), atol=1e-6, equal_nan=True):
                return False
        elif not (x.astype(object).fillna("").astype(str).to_numpy()
                  == y.astype(object).fillna("").astype(str).to_numpy()).all():  # fmt: skip
            return False
    return True


def _behaviour(ctx: Any, address: str, quick: bool) -> dict[str, Any]:
    """Shoppers/s of the shopper table and the recommendation lists, local and on Ray."""
    from functools import partial

    from core.engines import LocalEngine
    from core.engines.ray_engine import RayEngine
    from core.kinds.recommendation import Recommender
    from core.shopper_forecast import score_shoppers, scoring_cutoff
    from core.training import TrainingConfig, train_task
    from db.repo import texts as text_repo

    shoppers = _seed_events(ctx.store, 1500 if quick else None)
    events = text_repo.events(ctx.store, "sample")
    out: dict[str, Any] = {"shoppers": shoppers, "events": len(events)}
    jobs = {
        "shopper_table": ("purchase", TrainingConfig(horizon_days=7),
                          partial(score_shoppers, cutoff=scoring_cutoff(events)), False),
        "recommendations": ("recommend", TrainingConfig(max_minutes=1 if quick else 3),
                            Recommender.recommend, True),
    }  # fmt: skip
    for name, (task, config, fn, whole_log) in jobs.items():
        version = train_task(ctx, task, "sample", config, force_promote=True).version
        row: dict[str, Any] = {"task": task}
        engines: dict[str, Any] = {"local": LocalEngine(),
                                   "ray_1_workers": RayEngine(address, workers=1),
                                   "ray_2_workers": RayEngine(address, workers=2)}  # fmt: skip
        rows = {}
        for label, engine in engines.items():
            with timer() as t:
                got = engine.score_shoppers(ctx, "sample", task, version, events, fn, whole_log)
            key = [c for c in ("user_id", "rank") if c in got]
            rows[label] = got.sort_values(key, ignore_index=True)
            row[f"{label}_shoppers_per_s"] = round(got["user_id"].nunique() / t.seconds, 1)
            if label != "local":
                row[f"{label}_vs_local"] = round(
                    row[f"{label}_shoppers_per_s"] / row["local_shoppers_per_s"], 3)  # fmt: skip
                row[f"{label}_same_rows_as_local"] = _same_rows(rows[label], rows["local"])
        out[name] = row
    return out


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
        out["behaviour"] = _behaviour(ctx, address, quick)
    finally:
        stop()
    return out
