"""Scoring engines: where a model version's predictions are computed.

An engine takes the rows to score (``target_id`` and the model's input), computes them with the
saved version, and yields results in chunks that the task writes through the store's single
writer (an idempotent upsert, so a rerun or a retried chunk never duplicates a prediction).

- :class:`LocalEngine` (the default) loads the version in this process.
- :class:`core.engines.ray_engine.RayEngine` scores on a Ray cluster (an optional extra), the
  one module that imports Ray, behind :func:`make_engine`.

    >>> for ids, probs in LocalEngine().predict_texts(ctx, "acme", "sentiment", version, rows):
    ...     write(ids, probs)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from common.errors import InputError

if TYPE_CHECKING:
    from core.context import Context
    from core.kinds.base import Progress

CHUNK_ROWS = 512  # rows per write: short transactions keep the store free for the dashboard

# What a behaviour model computes for some shoppers: ``fn(predictor, events, users)`` returns a
# frame of rows for ``users`` only (a shopper's rows must not depend on which others are asked).
# A module-level function (or a partial of one), so that a distributed engine can ship it.
ShopperFn = Callable[[Any, pd.DataFrame, list[str]], pd.DataFrame]


@runtime_checkable
class WholeLogPredictor(Protocol):
    """A behaviour model whose rows read the whole log (a recommender): it works out what it
    needs of the whole log once (``shop_stats``), and its :data:`ShopperFn` then also takes
    ``stats=`` and reads only the asked shoppers' own events."""

    def shop_stats(self, events: pd.DataFrame) -> Any:
        """What the rows of any shopper need from every event of the shop."""
        ...


class ScoringEngine(Protocol):
    """What a scoring engine offers the tasks."""

    name: str

    def predict_texts(self, ctx: Context, shop_id: str, task: str, version: str,
                      rows: pd.DataFrame, progress: Progress | None = None,
                      ) -> Iterator[tuple[list[str], np.ndarray]]:  # fmt: skip
        """Class probabilities of ``rows`` (``target_id``, ``text``) by the version, in chunks
        of (target ids, probability matrix)."""
        ...

    def score_shoppers(self, ctx: Context, shop_id: str, task: str, version: str,
                       events: pd.DataFrame, fn: ShopperFn, whole_log: bool,
                       progress: Progress | None = None) -> pd.DataFrame:  # fmt: skip
        """``fn``'s rows for every shopper of ``events`` (column ``user_id``), the shoppers split
        among workers. ``whole_log``: ``fn`` reads every event for any shopper's rows (a
        recommender's co-visitation and popularity); otherwise only that shopper's events. A
        distributed engine that splits a whole-log job asks a :class:`WholeLogPredictor` for
        them once per replica and calls ``fn(predictor, part_events, users, stats=...)``."""
        ...


class LocalEngine:
    """Scores in this process with the version loaded once."""

    name = "local"

    def __init__(self, batch_size: int = 16, chunk_rows: int = CHUNK_ROWS) -> None:
        self.batch_size = batch_size
        self.chunk_rows = chunk_rows

    def predict_texts(self, ctx: Context, shop_id: str, task: str, version: str,
                      rows: pd.DataFrame, progress: Progress | None = None,
                      ) -> Iterator[tuple[list[str], np.ndarray]]:  # fmt: skip
        if rows.empty:
            return
        predictor = ctx.registry.load(shop_id, task, version)
        total = len(rows)
        for start in range(0, total, self.chunk_rows):
            chunk = rows.iloc[start : start + self.chunk_rows]
            texts = chunk["text"].fillna("").astype(str).tolist()
            yield (
                chunk["target_id"].astype(str).tolist(),
                predictor.predict_proba(texts, self.batch_size),
            )
            if progress:
                done = min(total, start + self.chunk_rows)
                progress(done / total, f"{done} of {total} scored")

    def score_shoppers(self, ctx: Context, shop_id: str, task: str, version: str,
                       events: pd.DataFrame, fn: ShopperFn, whole_log: bool,
                       progress: Progress | None = None) -> pd.DataFrame:  # fmt: skip
        predictor = ctx.registry.load(shop_id, task, version)
        users = shoppers_of(events)
        out = fn(predictor, events, users)
        if progress:
            progress(1.0, f"{len(users)} shoppers scored")
        return out


def shoppers_of(events: pd.DataFrame) -> list[str]:
    """The distinct shoppers of ``events``, as sorted strings."""
    return sorted(events["user_id"].dropna().astype(str).unique().tolist())


ENGINES = ("local", "ray")


def make_engine(name: str = "local", address: str | None = None) -> ScoringEngine:
    """The engine called ``name`` (``address``: a cluster's, for a distributed engine)."""
    if name == "local":
        if address:
            raise InputError("--address is for a distributed engine, not the local one")
        return LocalEngine()
    if name == "ray":
        if not address:
            raise InputError("the Ray engine needs --address HOST:PORT of the Ray head")
        from core.engines.ray_engine import RayEngine  # the one module that imports Ray

        return RayEngine(address)
    raise InputError(f"unknown engine {str(name)[:40]!r}; choose one of: {', '.join(ENGINES)}")
