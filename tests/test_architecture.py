"""The layers of docs/architecture.md hold: imports only point down, SQL text stays in db/,
settings are read in one place, and no module outside a task's own names it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from common.settings import REPO_ROOT

pytestmark = pytest.mark.unit

# package -> the project packages it may import (docs/architecture.md, "Layers")
ALLOWED = {
    "common": set(),
    "privacy": {"common"},
    "db": {"common"},
    "synthetic": {"common"},
    "accounts": {"common", "db"},
    "core": {"common", "db"},
    "labeling": {"common", "privacy", "db", "core"},
    "app": {"common", "privacy", "db", "core", "labeling", "accounts"},
}
SQL = re.compile(r"execute\(|SELECT |INSERT |UPDATE |DELETE ")


def _modules(package: str) -> list[Path]:
    return sorted((REPO_ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_only_point_down(package: str) -> None:
    wrong = {
        f"{path.relative_to(REPO_ROOT)} imports {name}"
        for path in _modules(package)
        for name in _imports(path) & set(ALLOWED)
        if name != package and name not in ALLOWED[package]
    }
    assert not wrong, sorted(wrong)


def test_no_sql_text_outside_db() -> None:
    found = [
        f"{path.relative_to(REPO_ROOT)}:{n}"
        for package in ("core", "labeling", "app", "accounts", "privacy")
        for path in _modules(package)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SQL.search(line)
    ]
    assert not found, found


def test_settings_are_read_in_one_place() -> None:
    readers = [
        str(path.relative_to(REPO_ROOT))
        for package in ALLOWED
        for path in _modules(package)
        if re.search(
            r"os\.getenv|os\.environ\b(?!\.items\(\)|\.setdefault)", path.read_text("utf-8")
        )
    ]
    # jobs.py hands the whole environment on to a job's child process; it reads no setting
    assert readers == ["common/settings.py", "labeling/jobs.py"], readers


def test_no_task_is_special_cased_outside_its_module() -> None:
    """``if task == "demand"`` and the like: what a task does lives in core/tasks/<task>.py."""
    pattern = re.compile(
        r"""(task|name)\s*(==|!=|in)\s*\(?["'](sentiment|intent|demand|purchase|risk|churn|recommend|aspects)"""
    )
    found = [
        f"{path.relative_to(REPO_ROOT)}:{n}"
        for package in ("core", "labeling", "app", "db")
        for path in _modules(package)
        if not path.is_relative_to(REPO_ROOT / "core" / "tasks")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found
