"""The DuckDB store and how processes share it.

DuckDB lets one process at a time hold a database file open for writing, and while it does no
other process can open the file at all. ShopLens therefore never keeps the file open: every read
and every write opens a short-lived connection, does its work and closes it. A job that runs for
minutes (scoring, retraining, label sync) computes in memory and writes in short transactions,
so the dashboard and the CLI get their turn in between. A caller that finds the file locked
retries with backoff for ``lock_timeout_s`` seconds and then fails with :class:`StoreBusyError`.

    >>> store = Store(Path("/tmp/shop.duckdb"))
    >>> store.init_schema()
    >>> with store.read() as con:
    ...     con.execute("SELECT count(*) FROM events").fetchone()
    (0,)
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
from sqlalchemy.schema import CreateIndex, CreateSequence, CreateTable
from sqlmodel import SQLModel

from common.errors import InputError, ShopLensError
from common.settings import StoreSettings
from db import rollups
from db import schema as _schema  # noqa: F401  (registers the tables on SQLModel.metadata)
from db.migrate import migrate
from db.migrate import needed as needs_migration

T = TypeVar("T")


class StoreError(ShopLensError):
    """Base class for errors a user of the store can act on."""


class StoreBusyError(StoreError):
    """Another process held the store for longer than the lock timeout."""


class StoreMissingError(StoreError, InputError):
    """The store file does not exist yet (fixed by loading data)."""


_LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "different configuration")

# Connections of one process that share a file must share one configuration; a read-only and a
# read-write connection of the same process would conflict. This lock serialises the switch.
_process_lock = threading.RLock()


def _is_lock_error(exc: Exception) -> bool:
    return any(marker in str(exc) for marker in _LOCK_MARKERS)


def schema_ddl() -> list[str]:
    """The CREATE statements for every table, sequence and index of the SQLModel schema."""
    from duckdb_engine import Dialect

    dialect = Dialect()
    statements: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            seq = getattr(column, "default", None)
            if seq is not None and seq.is_sequence:
                ddl = str(CreateSequence(seq, if_not_exists=True).compile(dialect=dialect))
                statements.append(ddl)
        ddl = str(CreateTable(table, if_not_exists=True).compile(dialect=dialect))
        statements.append(ddl)
        for index in table.indexes:
            statements.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    return statements


class Store:
    """A DuckDB file opened briefly for each read or write (see the module docstring)."""

    def __init__(self, db_path: Path, lock_timeout_s: float = 30.0, threads: int | None = None):
        self.db_path = Path(db_path)
        self.lock_timeout_s = lock_timeout_s
        self.threads = threads

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> Store:
        return cls(settings.db_path, settings.lock_timeout_s)

    def exists(self) -> bool:
        return self.db_path.is_file()

    def require(self) -> None:
        """:class:`StoreMissingError`, saying how to load data, when there is no store yet."""
        if not self.exists():
            raise StoreMissingError(
                f"No store at {self.db_path}. Load data first: `shoplens load-sample` for the "
                "bundled sample shop or `shoplens ingest FILE --kind events|reviews|messages`."
            )

    def _when_free(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it stops failing on another process's lock, with backoff, for
        up to ``lock_timeout_s``; then :class:`StoreBusyError` saying what to do."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.02
        while True:
            try:
                return attempt()
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"The store {self.db_path.name} is busy: another ShopLens process "
                        f"has held it for {self.lock_timeout_s:.0f} s. Wait for the running job "
                        "(ingest, scoring or retrain) to finish and try again, or raise "
                        "SHOPLENS_LOCK_TIMEOUT."
                    ) from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        config: dict[str, Any] = {"threads": self.threads} if self.threads else {}

        def connect() -> duckdb.DuckDBPyConnection:
            con = duckdb.connect(str(self.db_path), read_only=read_only, config=config)
            con.execute("SET enable_progress_bar = false")
            return con

        return self._when_free(connect)

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection, open only for the ``with`` block."""
        self.require()
        with _process_lock:
            con = self._open(read_only=True)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside one transaction: committed at the end of the ``with``
        block, rolled back entirely if it raises (nothing half-written)."""
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with _process_lock:
            con = self._open(read_only=False)
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                con.close()

    @contextmanager
    def attached(self, con: duckdb.DuckDBPyConnection, alias: str = "store") -> Iterator[None]:
        """Attach the store read-write to another connection ``con`` (an in-memory one holding
        checked rows) for one ``with`` block, so bulk rows go straight in without a copy. The
        caller runs its own transaction; the store is detached (and checkpointed) at the end.
        Waits for other processes like :meth:`write`."""
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        target = str(self.db_path).replace("'", "''")
        with _process_lock:
            self._when_free(lambda: con.execute(f"ATTACH '{target}' AS {alias}"))
            try:
                yield
            finally:
                con.execute(f"DETACH {alias}")

    def init_schema(self) -> None:
        """Create every table that does not exist yet (idempotent). A store made before the
        summary tables existed gets them filled from its events (:mod:`db.rollups`)."""
        with self.write() as con:
            before = {
                r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            }
            migrate(con)
            for ddl in schema_ddl():
                con.execute(ddl)
            missing = set(rollups.ROLLUP_TABLES) - before
            if "events" in before and missing:
                rollups.fill_missing(con, missing)

    def schema_current(self) -> bool:
        """True when the store exists with every current table (read-only check)."""
        if not self.exists():
            return False
        with self.read() as con:
            return not needs_migration(con, [t.name for t in SQLModel.metadata.sorted_tables])

    def for_this_read(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``, a fact about the stored data (such as whether the summaries cover a
        shop). A store that serves many reads from one connection (the app's page runs) keeps
        the answer for as long as that connection is open; this one computes it every time."""
        return compute()

    @staticmethod
    def keep_temporary(con: duckdb.DuckDBPyConnection, name: str, sql: str,
                       params: dict[str, Any]) -> None:  # fmt: skip
        """Create temporary table ``name`` of ``con`` holding ``sql``'s answer (what a store that
        serves many reads from one connection keeps, :meth:`kept_for_this_read`)."""
        con.execute(f"CREATE TEMPORARY TABLE {name} AS {sql}", params)

    def kept_for_this_read(self, key: tuple[Any, ...], sql: str,
                           params: dict[str, Any]) -> str | None:  # fmt: skip
        """The name of a temporary table holding ``sql``'s answer, made once per ``key`` by a
        store that serves many reads from one connection (the app's page runs), so that every
        query of the run reads it instead of working it out again. ``None`` here, where each
        read has its own connection: the caller then writes ``sql`` into its queries."""
        return None

    def query_df(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a parameterised read query and return a DataFrame."""
        with self.read() as con:
            return con.execute(sql, params or []).df()

    def table_counts(self, shop_id: str | None = None) -> dict[str, int]:
        """Row count of every table; with ``shop_id``, of every per-shop table for that shop."""
        counts: dict[str, int] = {}
        with self.read() as con:
            for table in SQLModel.metadata.sorted_tables:
                if shop_id is None:
                    sql, params = f'SELECT count(*) FROM "{table.name}"', []
                elif "shop_id" in table.columns:
                    sql, params = (
                        f'SELECT count(*) FROM "{table.name}" WHERE shop_id = ?',
                        [shop_id],
                    )
                else:
                    continue
                row = con.execute(sql, params).fetchone()
                counts[table.name] = int(row[0]) if row else 0
        return counts
