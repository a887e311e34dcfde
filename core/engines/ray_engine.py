"""The Ray engine: scoring on a Ray cluster (``shoplens score TASK --engine ray --address ADDR``).

The only module of ShopLens that imports Ray (an optional extra: ``pip install -e ".[ray]"``).
How a job runs:

1. The rows to score (those the version has not scored yet) are exported from the store as one
   Parquet file in a job folder under ``$SHOPLENS_HOME/jobs/``.
2. Its blocks go into the cluster's object store and Ray Data maps them, in batches, over an
   actor pool of model replicas (one CPU
   each; one GPU each, in bf16 where the model supports it, when the cluster has GPUs). Each
   replica loads the saved version from its folder once.
3. Results stream back to this process as they complete; each chunk is written to the job
   folder as Parquet and merged into the store by its single writer (an upsert on
   the prediction's key), so a retried batch or a rerun never duplicates a prediction, and a
   job that dies leaves every merged chunk in place: the rerun scores only the rest.

A replica that dies mid-run is restarted by Ray and its batches are retried. The cluster must
reach the job folder and the model folder at the same paths (one machine, or a shared file
system; docs/scaling.md).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from common.errors import InputError

if TYPE_CHECKING:
    from core.context import Context
    from core.kinds.base import Progress

CHUNK_ROWS = 512


def _reachable(address: str, timeout_s: float = 3.0) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--address {address[:80]!r}: give HOST:PORT of the Ray head (e.g. "
                         "127.0.0.1:6379)")  # fmt: skip
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise InputError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}. Start "
                         "one with `ray start --head` (docs/scaling.md) or fix --address.") from None  # fmt: skip


class _Replica:
    """One model replica inside the cluster: loads the version once, scores batches."""

    def __init__(self, task: str, folder: str, meta: dict[str, Any], device: str,
                 batch_size: int) -> None:  # fmt: skip
        from core.tasks import get_task

        self.predictor = get_task(task).load_predictor(Path(folder), meta, device)
        self.batch_size = batch_size

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        texts = batch["text"].fillna("").astype(str).tolist()
        probs = np.asarray(self.predictor.predict_proba(texts, self.batch_size), dtype=np.float64)
        out = pd.DataFrame(probs, columns=[f"p{i}" for i in range(probs.shape[1])])
        out.insert(0, "target_id", batch["target_id"].astype(str).to_numpy())
        return out


class RayEngine:
    """Scores on the Ray cluster at ``address`` with ``workers`` model replicas (default: one
    per CPU the cluster has, GPUs used when it has them)."""

    name = "ray"

    def __init__(self, address: str, workers: int | None = None, batch_size: int = 16,
                 rows_per_block: int = 256) -> None:  # fmt: skip
        try:
            import ray  # noqa: F401
        except ImportError:
            raise InputError('the Ray engine needs Ray: pip install -e ".[ray]"') from None
        _reachable(address)
        self.address = address
        self.workers = workers
        self.batch_size = batch_size
        self.rows_per_block = rows_per_block

    def _connect(self) -> dict[str, float]:
        import ray

        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(address=self.address, logging_level=logging.ERROR, log_to_driver=False,
                     configure_logging=False)  # fmt: skip
        return {k: float(v) for k, v in ray.cluster_resources().items()}

    def predict_texts(self, ctx: Context, shop_id: str, task: str, version: str,
                      rows: pd.DataFrame, progress: Progress | None = None,
                      ) -> Iterator[tuple[list[str], np.ndarray]]:  # fmt: skip
        if rows.empty:
            return
        import ray
        import ray.data

        resources = self._connect()
        gpus = int(resources.get("GPU", 0))
        workers = self.workers or max(1, gpus or int(resources.get("CPU", 1)))
        job = ctx.home / "jobs" / f"score-{task}-{version}-{uuid.uuid4().hex[:8]}"
        (job / "out").mkdir(parents=True, exist_ok=True)
        source = job / "input.parquet"
        rows[["target_id", "text"]].astype({"target_id": str}).to_parquet(source, index=False)
        folder = ctx.registry.folder(shop_id, task, version)
        meta = ctx.registry.meta(shop_id, task, version)
        # the exported file goes into the object store from here: a read task would need a CPU
        # slot of its own, and with every CPU holding a replica it would wait for ever
        exported = pd.read_parquet(source)
        parts = [exported.iloc[i : i + self.rows_per_block]
                 for i in range(0, len(exported), self.rows_per_block)]  # fmt: skip
        workers = min(workers, len(parts))  # no replica without a block to score
        dataset = ray.data.from_pandas(parts).map_batches(
            _Replica,
            fn_constructor_args=(task, str(folder), meta, "cuda" if gpus else "cpu",
                                 self.batch_size),  # fmt: skip
            batch_format="pandas", batch_size=self.rows_per_block,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=0 if gpus else 1, num_gpus=1 if gpus else 0,
            max_restarts=-1, max_task_retries=-1,
        )  # fmt: skip
        done, total = 0, len(rows)
        batches = dataset.iter_batches(batch_size=CHUNK_ROWS, batch_format="pandas")
        for n, batch in enumerate(batches):
            chunk = pd.DataFrame(batch)
            chunk.to_parquet(job / "out" / f"part-{n:05d}.parquet", index=False)
            probs = chunk.drop(columns="target_id").to_numpy(dtype=np.float64)
            yield chunk["target_id"].astype(str).tolist(), probs
            done += len(chunk)
            if progress:
                progress(done / total, f"{done} of {total} scored on Ray ({workers} replicas)")
