"""Scoring API latency and throughput on 2 cores, next to the batch scorer in the same run.

A sentiment model is trained quickly on bundled reviews of the sample shop (whatever the promotion
rule picks, often the TF-IDF baseline on so few rows) and the fine-tuned encoder blend is forced
in as a second version; each is measured while serving. ``shoplens serve`` runs as its own process
on 127.0.0.1. Measured per version: the latency of one text and of a batch of 32 (p50, p95 over
sequential requests), the throughput under a bounded concurrent load (4 clients sending batches
of 32), and, as the named baseline, the batch scorer's texts/s (the same version's
``predict_proba`` over 1,024 texts in this process, as ``shoplens score`` runs it).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from bench.core_data import isolated_home
from common.settings import DATA_DIR, REPO_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, token: str, texts: list[str]) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps({"texts": texts}).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _percentiles(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "n": len(ordered)}  # fmt: skip


def main(quick: bool = False) -> dict:
    import pandas as pd

    from accounts.api_tokens import create_token
    from common.settings import load_settings
    from core.context import Context
    from core.training import TrainingConfig, train_task
    from db.ingest import ingest_file

    home = isolated_home("api")
    settings = load_settings()
    ctx = Context.from_settings(settings)
    ctx.store.init_schema()
    reviews = pd.read_parquet(DATA_DIR / "sample" / "reviews.parquet").head(1500 if quick else 4000)
    path = home / "reviews.parquet"
    reviews.to_parquet(path, index=False)
    ingest_file(ctx.store, path, "reviews", shop_id="sample")
    config = TrainingConfig(epochs=1, trainable_layers=2, max_train_examples=300 if quick else 1000,
                            max_eval_examples=200, device="cpu")  # fmt: skip
    trained = train_task(ctx, "sentiment", "sample", config)
    texts = reviews["text"].fillna("").astype(str).tolist()
    token = create_token(ctx.store, "sample", "bench")

    forced = train_task(ctx, "sentiment", "sample", config, force_promote=True)
    versions = {trained.model_type: trained.version}
    versions[f"{forced.model_type} (forced)"] = forced.version

    port = _free_port()
    log = (home / "api.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - fixed argument list
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=REPO_ROOT,
        env={**os.environ, "SHOPLENS_HOME": str(home)}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1/sentiment/predict"
    results = {}
    try:
        for name, version in versions.items():
            ctx.registry.activate("sample", "sentiment", version, "promote", forced=True)
            results[name] = _measure(ctx, url, token, texts, version, quick)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    return {"threads": os.cpu_count(), "n_texts_in_shop": len(texts), "served": results}


def _measure(ctx, url: str, token: str, texts: list[str], version: str, quick: bool) -> dict:
    predictor = ctx.registry.load("sample", "sentiment", version)
    batch_texts = (texts * 2)[:1024]
    predictor.predict_proba(batch_texts[:32])  # warm-up
    start = time.perf_counter()
    predictor.predict_proba(batch_texts)
    batch_tps = len(batch_texts) / (time.perf_counter() - start)
    deadline = time.monotonic() + 60
    while True:  # the server picks the new active version up within 5 s
        try:
            if _post(url, token, ["warm up"])["model_version"] == version:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not serve the version")
        time.sleep(0.5)
    n = 20 if quick else 100
    one, many = [], []
    for i in range(n):
        t0 = time.perf_counter()
        _post(url, token, [texts[i % len(texts)]])
        one.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _post(url, token, texts[i * 32 % 1000 : i * 32 % 1000 + 32])
        many.append(time.perf_counter() - t0)
    done, stop, errors = [0], time.monotonic() + (10 if quick else 30), [0]

    def client(seed: int) -> None:
        i = seed
        while time.monotonic() < stop:
            try:
                _post(url, token, texts[i * 32 % 1000 : i * 32 % 1000 + 32])
                done[0] += 32
            except OSError:
                errors[0] += 1
            i += 4

    started = time.perf_counter()
    clients = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    api_tps = done[0] / (time.perf_counter() - started)
    return {
        "model_version": version,
        "one_text": _percentiles(one),
        "batch_of_32": _percentiles(many),
        "concurrent_4_clients_batch_32": {"texts_per_s": round(api_tps, 1), "errors": errors[0]},
        "baseline_batch_scorer_texts_per_s": round(batch_tps, 1),
        "api_throughput_vs_batch_scorer": round(api_tps / batch_tps, 3),
    }
