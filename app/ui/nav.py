"""The dashboard's pages, found by scanning ``app/views/``: each page file declares itself with a
literal ``PAGE = {"title": ..., "icon": ..., "order": ..., "roles": (...)}`` near its top, read
here without running the page. A new page is one new file; ``app/main.py`` and the roles table
both read this list, so nothing keeps a second copy.

    >>> [p.key for p in discover_pages()][:2]
    ['overview', 'behaviour']
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent.parent / "views"
ROLES = ("merchant", "annotator", "admin")


@dataclass(frozen=True)
class PageInfo:
    """One page: its key (the file name and URL path), title, icon, order and the roles that
    may open it."""

    key: str
    title: str
    icon: str
    order: int
    roles: tuple[str, ...]

    @property
    def path(self) -> Path:
        return PAGES_DIR / f"{self.key}.py"


def _declaration(path: Path) -> dict[str, object] | None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PAGE" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            if not isinstance(value, dict):
                raise ValueError(f"{path.name}: PAGE must be a dict literal")
            return value
    return None


@functools.cache
def discover_pages(folder: Path = PAGES_DIR) -> tuple[PageInfo, ...]:
    """Every page file that declares ``PAGE``, in order."""
    pages = []
    for path in sorted(folder.glob("*.py")):
        decl = _declaration(path)
        if decl is None:
            continue
        declared = decl.get("roles", ROLES)
        roles = tuple(str(r) for r in declared) if isinstance(declared, list | tuple) else ()
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"{path.name}: unknown roles {sorted(unknown)}")
        pages.append(PageInfo(path.stem, str(decl["title"]), str(decl.get("icon", "")),
                              int(decl.get("order", 100)), roles))  # type: ignore[call-overload]  # fmt: skip
    return tuple(sorted(pages, key=lambda p: (p.order, p.key)))


def page_keys() -> tuple[str, ...]:
    return tuple(p.key for p in discover_pages())


def role_pages(role: str) -> frozenset[str]:
    """The page keys a role may open."""
    return frozenset(p.key for p in discover_pages() if role in p.roles)
