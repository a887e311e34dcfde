"""The ``shoplens`` command: a thin layer over ``db/``, ``core/`` and ``labeling/``.

Each area registers its sub-commands from its own module (one ``register(subparsers)`` each), so a
new command is one function plus one line in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from db.errors import ShopLensError

COMMAND_MODULES = [
    "app.cli.data_cmds",
    "app.cli.model_cmds",
    "app.cli.label_cmds",
    "app.cli.user_cmds",
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
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
        result = args.handler(args)
    except ShopLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


def run() -> None:
    """Console entry point: run ``main`` and exit without interpreter teardown, where duckdb 2.0's
    bindings print harmless "nanobind: leaked ..." lines that would confuse users."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
