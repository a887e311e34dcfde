"""The ``shoplens`` command: a thin layer over ``db/``, ``core/`` and ``labeling/``.

Each area registers its sub-commands from its own module (one ``register(subparsers)`` each), so a
new command is one function plus one line in ``COMMAND_MODULES``. This is the process's entry
point: it reads the settings once and hands every handler a :class:`Runtime`, whose context
(store and model registry) is built on first use.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from common.errors import ShopLensError

if TYPE_CHECKING:
    from common.settings import Settings
    from core.context import Context
    from db.store import Store

COMMAND_MODULES = [
    "app.cli.data_cmds",
    "app.cli.model_cmds",
    "app.cli.label_cmds",
    "app.cli.user_cmds",
    "app.cli.api_cmds",
    "app.cli.text_cmds",
    "app.cli.shopper_cmds",
    "app.cli.monitor_cmds",
]


MAX_MESSAGE_CHARS = 2000


class Runtime:
    """What a command runs with: the settings (read once, here) and, on first use, the context
    (store and model registry) built from them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ctx: Context | None = None

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            from core.context import Context
            from labeling.projects import migrate_legacy_registry

            self._ctx = Context.from_settings(self.settings)
            migrate_legacy_registry(self._ctx.store, self._ctx.home)
        return self._ctx

    @property
    def store(self) -> Store:
        from db.store import Store

        return self._ctx.store if self._ctx else Store.from_settings(self.settings.store)


def clip(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message cut to ``limit`` characters: a huge argument is never echoed back whole."""
    if len(message) <= limit:
        return message
    half = limit // 2
    return f"{message[:half]} … [{len(message) - limit:,} characters cut] … {message[-half:]}"


class _Parser(argparse.ArgumentParser):
    """argparse, with error messages (which quote the bad argument) clipped."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {clip(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    parser = _Parser(
        prog="shoplens",
        description="ShopLens: understand your shoppers from their behaviour and their words.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # an area that has no commands yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors print a message and return a non-zero status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from common.files import make_private
        from common.settings import load_settings

        settings = load_settings()
        make_private(settings.home, also=[settings.store.db_path])  # owner-only, every run
        result = args.handler(args, Runtime(settings))
    except BrokenPipeError:  # the reader stopped listening (`| head`): not an error
        _silence_stdout()
        return 0
    except ShopLensError as exc:
        print(f"error: {clip(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the file system refused: a path too long, no permission, disk full
        where = f" ({clip(str(exc.filename), 200)})" if exc.filename else ""
        print(
            f"error: {exc.strerror or exc}{where}. Check the path and try again.", file=sys.stderr
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush to a closed pipe is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def exit_quietly(code: int) -> None:
    """Exit with ``code`` without interpreter teardown, where duckdb 2.0's bindings print harmless
    "nanobind: leaked ..." lines that would confuse users."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    sys.stderr.flush()
    os._exit(code)


def run() -> None:
    """Console entry point: run ``main`` and exit quietly (see :func:`exit_quietly`)."""
    exit_quietly(main())


if __name__ == "__main__":
    run()
