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
   job that dies leaves every merged chunk in place: the rerun scores only the rest. A job that
   completes removes its folder; the next job removes the folders of jobs whose process died
   (each folder names its owner, :func:`new_job_folder`).

A replica that dies mid-run is restarted by Ray and its batches are retried. The cluster must
reach the job folder and the model folder at the same paths (one machine, or a shared file
system; docs/scaling.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from common.errors import InputError

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ShopperFn
    from core.kinds.base import Progress

CHUNK_ROWS = 512
SHOPPERS_PER_PART = 20_000  # at most; and at least four parts per replica, so that all are busy


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


JOB_OWNER = "owner.json"  # in a job folder: the host and process id of the job's driver
UNOWNED_GRACE_S = 24 * 3600  # a job folder without an owner file is left alone this long


def new_job_folder(home: Path, task: str, version: str) -> Path:
    """A fresh folder under ``home/jobs`` for one Ray job, owned by this process (its host and
    pid in :data:`JOB_OWNER`). The folders of jobs whose process has died are removed first:
    they hold rows exported from the store (review texts, shoppers' events)."""
    jobs = home / "jobs"
    prune_dead_jobs(jobs)
    job = jobs / f"score-{task}-{version}-{uuid.uuid4().hex[:8]}"
    job.mkdir(parents=True)
    owner = {"host": socket.gethostname(), "pid": os.getpid()}
    (job / JOB_OWNER).write_text(json.dumps(owner), encoding="utf-8")
    return job


def prune_dead_jobs(jobs: Path) -> list[Path]:
    """Remove the job folders under ``jobs`` whose driver process (on this host) has died, and
    folders without an owner untouched for a day; returns the removed folders. A job of another
    host, or of a live process, is kept."""
    removed: list[Path] = []
    if not jobs.is_dir():
        return removed
    for job in sorted(jobs.glob("score-*")):
        if job.is_dir() and not _owner_alive(job):
            shutil.rmtree(job, ignore_errors=True)
            removed.append(job)
    return removed


def _owner_alive(job: Path) -> bool:
    try:
        owner = json.loads((job / JOB_OWNER).read_text(encoding="utf-8"))
        host, pid = str(owner["host"]), int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        # made before owners were written, or being made right now
        try:
            return time.time() - job.stat().st_mtime < UNOWNED_GRACE_S
        except OSError:
            return True
    if host != socket.gethostname():
        return True  # not this machine's process to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True


def shopper_parts(users: list[str], workers: int) -> list[list[str]]:
    """``users`` in consecutive parts of at most :data:`SHOPPERS_PER_PART`, and at least four
    per worker (so that every replica stays busy) when there are shoppers enough."""
    n_parts = min(len(users), max(workers * 4, -(-len(users) // SHOPPERS_PER_PART)))
    return [part.tolist() for part in np.array_split(np.asarray(users, dtype=object), n_parts)]


class _ShopperReplica:
    """One behaviour-model replica: loads the version once, then computes the rows of one part
    of the shoppers per call from that part's shoppers and events in the job folder. For a
    model that reads the whole log it also reads the job's event file once: a
    :class:`~core.engines.WholeLogPredictor` (a recommender) works out what it needs from it
    there and then, and each part is scored from its own events with those statistics; any
    other gets the whole log."""

    def __init__(self, task: str, folder: str, meta: dict[str, Any], job: str, whole_log: bool,
                 fn: ShopperFn) -> None:  # fmt: skip
        from core.engines import WholeLogPredictor
        from core.tasks import get_task

        self.predictor = get_task(task).load_predictor(Path(folder), meta, "cpu")
        self.job = Path(job)
        self.events: pd.DataFrame | None = None
        self.stats: Any = None
        if whole_log:
            events = pd.read_parquet(self.job / "events.parquet")
            if isinstance(self.predictor, WholeLogPredictor):
                self.stats = self.predictor.shop_stats(events)
            else:
                self.events = events
        self.fn = fn

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        frames = []
        for part in batch["part"].tolist():
            users = pd.read_parquet(self.job / f"users-{part:05d}.parquet")["user_id"].tolist()
            events = (self.events if self.events is not None
                      else pd.read_parquet(self.job / f"events-{part:05d}.parquet"))  # fmt: skip
            if self.stats is None:
                frames.append(self.fn(self.predictor, events, users))
            else:
                scored: Callable[..., pd.DataFrame] = self.fn  # it takes the statistics too
                frames.append(scored(self.predictor, events, users, stats=self.stats))
        return pd.concat(frames, ignore_index=True)


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
        job = new_job_folder(ctx.home, task, version)
        (job / "out").mkdir()
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
        # every chunk was taken (and merged by the caller): the job's files are not needed again
        shutil.rmtree(job, ignore_errors=True)

    def score_shoppers(self, ctx: Context, shop_id: str, task: str, version: str,
                       events: pd.DataFrame, fn: ShopperFn, whole_log: bool,
                       progress: Progress | None = None) -> pd.DataFrame:  # fmt: skip
        """The shoppers, in parts of at most :data:`SHOPPERS_PER_PART`, go to an actor pool of
        replicas; each part's shoppers and their events (and, with ``whole_log``, the whole log
        once) are written to the job folder, so a retried part reads the same input."""
        import ray.data

        from core.engines import shoppers_of

        users = shoppers_of(events)
        if not users:
            return pd.DataFrame()
        resources = self._connect()
        workers = self.workers or max(1, int(resources.get("CPU", 1)))
        parts = shopper_parts(users, workers)
        n_parts = len(parts)
        job = new_job_folder(ctx.home, task, version)
        for i, part in enumerate(parts):
            pd.DataFrame({"user_id": part}).to_parquet(job / f"users-{i:05d}.parquet", index=False)
        if whole_log:
            events.to_parquet(job / "events.parquet", index=False)
        part_of = pd.Series(np.repeat(np.arange(n_parts), [len(p) for p in parts]), index=users)
        which = events["user_id"].astype(str).map(part_of)
        for i, rows in events.groupby(which.to_numpy(), sort=True):
            rows.to_parquet(job / f"events-{int(i):05d}.parquet", index=False)
        folder = ctx.registry.folder(shop_id, task, version)
        meta = ctx.registry.meta(shop_id, task, version)
        dataset = ray.data.from_pandas(
            [pd.DataFrame({"part": [i]}) for i in range(n_parts)]
        ).map_batches(
            _ShopperReplica,
            fn_constructor_args=(task, str(folder), meta, str(job), whole_log, fn),
            batch_format="pandas", batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(workers, n_parts)),
            num_cpus=1, max_restarts=-1, max_task_retries=-1,
        )  # fmt: skip
        frames, done = [], 0
        for batch in dataset.iter_batches(batch_size=None, batch_format="pandas"):
            frames.append(pd.DataFrame(batch))
            done += frames[-1]["user_id"].nunique() if "user_id" in frames[-1] else 0
            if progress:
                progress(min(1.0, done / len(users)),
                         f"{done} of {len(users)} shoppers scored on Ray")  # fmt: skip
        # the rows are back; the parts (the whole log, for a recommender) are not needed again
        shutil.rmtree(job, ignore_errors=True)
        return pd.concat(frames, ignore_index=True)
