"""What every page needs: the context (settings, store, model registry), the viewer, the
sidebar filters and cached queries.

The app process builds its :class:`core.context.Context` once (:func:`get_context`, reading the
settings in this one place); ``app/main.py`` resolves the viewer and filters once per run and
keeps them in ``st.session_state``; a page calls :func:`page_context` and gets them back, or a
clear message (what is missing and the command that fixes it) and ``st.stop()``.
"""

from __future__ import annotations

import importlib
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

import streamlit as st

from app.ui.i18n import N_, t
from app.ui.nav import page_keys
from common.settings import load_settings
from core.context import Context
from db.store import Store

T = TypeVar("T")

LOAD_HINT = N_(
    "`shoplens load-sample` (the bundled sample shop) or `shoplens ingest FILE --kind events`"
)


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices, shared by every page."""

    shop_id: str
    start: date
    end: date
    category: str | None = None
    segment: str = "all"


@dataclass(frozen=True)
class PageContext:
    ctx: Context
    viewer: Any
    filters: Filters | None

    @property
    def store(self) -> Store:
        return self.ctx.store


@dataclass(frozen=True)
class ShopPage:
    """What a page that shows a shop's data gets: the context, the viewer and the chosen
    filters (never None: :func:`page_context` stops the page before)."""

    ctx: Context
    viewer: Any
    filters: Filters

    @property
    def store(self) -> Store:
        return self.ctx.store


class _Run(threading.local):
    """One thread's page run: whether one is open, its connection and what was learnt through
    it. Each browser session runs its pages in a thread of its own."""

    def __init__(self) -> None:
        self.active = False
        self.shared: Any = None  # (context manager, connection) of the run's read
        self.facts: dict[tuple[Any, ...], Any] = {}  # for_this_read's answers, while it is open


class PageStore(Store):
    """A store that, inside :meth:`page_run`, serves every read of one page run from a single
    read-only connection.

    Opening a DuckDB file costs about 0.1 s on a busy 2-core machine and a page runs 5-15
    queries, so sharing one connection for the run (about a second) roughly halves a cold page.
    Outside a page run (and for every write) it behaves like :class:`Store`; a write first
    closes the run's connection, because one process cannot hold the file read-only and
    read-write at once (a write waits, as with any reader, for other sessions' runs to end).
    The app process has one PageStore; each thread (browser session) has its own page run, so
    one session's run ending never closes another's connection or its temporary tables.
    """

    def __init__(self, db_path: Path, lock_timeout_s: float = 30.0):
        super().__init__(db_path, lock_timeout_s)
        self._run = _Run()
        self._names = itertools.count()  # of the temporary tables kept_for_this_read makes

    @contextmanager
    def page_run(self) -> Iterator[None]:
        """Share one read connection until the block ends (the page run), then close it."""
        self._run.active = True
        try:
            yield
        finally:
            self._run.active = False
            self.close()

    def close(self) -> None:
        """Close this thread's run connection, if open (and forget what was learnt through it)."""
        run = self._run
        run.facts.clear()
        if run.shared is not None:
            manager, _ = run.shared
            run.shared = None
            manager.__exit__(None, None, None)

    @contextmanager
    def read(self) -> Iterator[Any]:
        run = self._run
        if not run.active:
            with super().read() as con:
                yield con
            return
        if run.shared is None:
            manager = super().read()
            run.shared = (manager, manager.__enter__())
        yield run.shared[1]

    def for_this_read(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """Within a page run, ``compute()`` once per ``key`` (nothing can write the file while
        the run's connection holds it); outside one, every time. A page at 100M events asked
        whether the summaries cover the shop 3-8 times, 20-60 ms each."""
        run = self._run
        if not run.active:
            return compute()
        if key not in run.facts:
            run.facts[key] = compute()
        return cast(T, run.facts[key])

    def kept_for_this_read(self, key: tuple[Any, ...], sql: str,
                           params: dict[str, Any]) -> str | None:  # fmt: skip
        """Within a page run, ``sql``'s answer as a temporary table of the run's connection,
        made once per ``key`` (it goes with the connection: at the end of the run or at a
        write); outside one, ``None``. A segment's shoppers at 100M events took 0.2-0.4 s
        to work out, in each of a page's four or five queries."""
        if not self._run.active:
            return None

        def make() -> str:
            name = f"kept_{next(self._names)}"
            with self.read() as con:
                self.keep_temporary(con, name, sql, params)
            return name

        return self.for_this_read(("kept", *key), make)

    @contextmanager
    def write(self) -> Iterator[Any]:
        self.close()
        with super().write() as con:
            yield con


def get_context() -> Context:
    """The app process's context: the settings (``$SHOPLENS_HOME``), a :class:`PageStore` that
    holds no connection until a page run asks for one, and the model registry; built once per
    settings (the settings are read here, the app's one place)."""
    settings = load_settings()
    return _context(str(settings.home), str(settings.store.db_path), settings)


def _private(settings: Any) -> None:
    from common.files import make_private

    make_private(settings.home, also=[settings.store.db_path])


@st.cache_resource(show_spinner=False, max_entries=8)
def _context(home: str, db_path: str, _settings: Any) -> Context:
    # keyed by the folders the settings name; ``_settings`` itself is not hashed
    settings = _settings
    from labeling.projects import migrate_legacy_registry

    _private(settings)  # once per app process: the runtime folder is owner-only
    store = PageStore(settings.store.db_path, settings.store.lock_timeout_s)
    ctx = Context.from_settings(settings, store=store)
    migrate_legacy_registry(store, ctx.home)
    return ctx


def data_version(store: Store) -> float:
    """A number that changes whenever the store file changes (its mtime): cached query results
    are keyed by it, so new data shows up without restarting the app."""
    paths = [store.db_path, store.db_path.with_name(store.db_path.name + ".wal")]
    return max((p.stat().st_mtime_ns for p in paths if p.exists()), default=0) / 1e9


@st.cache_data(show_spinner=False, max_entries=512, ttl=3600)
def _cached_call(fn_ref: str, db_path: str, version: float, kwargs: tuple, _store: Store) -> Any:
    # `_store` is not part of the cache key (leading underscore); db_path and version are
    module_name, fn_name = fn_ref.split(":")
    fn = getattr(importlib.import_module(module_name), fn_name)
    return fn(_store, **dict(kwargs))


def cached(fn: Callable[..., Any], store: Store, **kwargs: Any) -> Any:
    """Call ``fn(store, **kwargs)`` through ``st.cache_data``, keyed by the store file's version.

    ``fn`` must be a module-level function taking the store first and hashable keyword arguments.
    """
    ref = f"{fn.__module__}:{fn.__name__}"
    key = tuple(sorted(kwargs.items()))
    return _cached_call(ref, str(store.db_path), data_version(store), key, store)


def missing(what: str, command: str | None = None) -> None:
    """Show what is missing and, when there is one, the command that fixes it."""
    text = f"**{what}**"
    if command:
        text += "  \n" + (t("Run {command}", command=command) if command.startswith("`")
                          else command)  # fmt: skip
    st.info(text, icon=":material/info:")


def page_context() -> ShopPage:
    """The context, viewer and filters set by ``app/main.py``; stops the page with a message
    when there is no shop data yet."""
    page = st.session_state.get("_ctx")
    if page is None:  # the page was run on its own, without app/main.py
        page = PageContext(get_context(), st.session_state.get("viewer"), None)
    if page.filters is None:
        if getattr(page.viewer, "shop_ids", None) == ():
            name = getattr(page.viewer, "username", "NAME")
            missing(t("No shops are assigned to you yet."),
                    t("Ask an admin to run `shoplens users assign {name} --shop SHOP`.",
                      name=name))  # fmt: skip
        else:
            missing(t("No shop data yet."), t(LOAD_HINT))
        st.stop()
    return ShopPage(page.ctx, page.viewer, page.filters)


def allowed_pages(viewer: Any) -> set[str]:
    """The page keys a viewer may open (``Viewer.pages_allowed`` may be a property or method)."""
    allowed: Any = getattr(viewer, "pages_allowed", set())
    if callable(allowed):
        allowed = allowed()
    return {key for key in allowed if key in page_keys()}


def can_see_shop(viewer: Any, shop_id: str) -> bool:
    """Whether the viewer may see a shop's data."""
    return bool(viewer.can_see_shop(shop_id))
