"""The model registry: every version of every shop's task, on disk and in the store.

A version's files live in ``<models_dir>/<shop>/<task>/<version>/`` (whatever the task's kind
writes, plus ``meta.json`` and ``metrics.json``); the store lists the versions
(``model_versions``) and holds the **one** active pointer per (shop, task) (``active_models``),
which scoring, the CLI, the dashboard's queries and labelling all read.

A version folder is written under a temporary name and renamed only once complete, then
registered in the store; the active pointer changes in one transaction. A training killed at any
moment therefore leaves the active version intact and loadable. Which version *may* become
active is :mod:`core.promotion`'s rule, not the registry's.

    >>> registry = ModelRegistry(models_dir, store)
    >>> registry.active("acme", "sentiment")
    'v20260101-120000-000001'
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.errors import InputError, ShopLensError
from core.kinds.base import Candidate, get_task
from db.repo import models as repo
from db.repo.models import VersionRow
from db.shops import check_shop_id
from db.store import Store

VERSION_NAME = re.compile(r"^v\d{8}-\d{6}-\d{6}$")


def new_version_name() -> str:
    """A sortable version name from the current UTC time (``v20260101-120000-123456``)."""
    return datetime.now(UTC).strftime("v%Y%m%d-%H%M%S-%f")


def check_version_name(version: str, task: str = "TASK") -> str:
    """``version`` if it looks like a name this registry made (never a path)."""
    if not isinstance(version, str) or not VERSION_NAME.match(version):
        raise InputError(
            f"{str(version)[:80]!r} is not a model version name (like v20260101-120000-123456); "
            f"list them with `shoplens models {task}`."
        )
    return version


class NoModelError(ShopLensError):
    """The shop's task has no active model; the message says how to get one."""


def _created_at(meta: dict[str, Any], version: str) -> datetime:
    """When a version was made: its meta's ``created_at``, else the time its name encodes
    (``vYYYYMMDD-HHMMSS-ffffff``; an earlier ShopLens did not always record it)."""
    try:
        return datetime.fromisoformat(str(meta["created_at"])).replace(tzinfo=None)
    except (KeyError, ValueError):
        pass
    try:
        return datetime.strptime(version[1:], "%Y%m%d-%H%M%S-%f")
    except ValueError:
        return datetime(1970, 1, 1)


class ModelRegistry:
    """Versions per (shop, task): folders under ``models_dir``, rows and pointer in ``store``."""

    def __init__(self, models_dir: Path, store: Store, device: str = "auto") -> None:
        self.models_dir = Path(models_dir)
        self.store = store
        self.device = device

    # --- where things are --------------------------------------------------------------------
    def task_dir(self, shop_id: str, task: str) -> Path:
        """The folder of one shop's task (validated names only: never outside models_dir)."""
        return self.models_dir / check_shop_id(shop_id) / get_task(task).name

    def folder(self, shop_id: str, task: str, version: str) -> Path:
        return self.task_dir(shop_id, task) / check_version_name(version, task)

    # --- reading -----------------------------------------------------------------------------
    def versions(self, shop_id: str, task: str) -> list[VersionRow]:
        """The shop's versions of ``task``, oldest first."""
        return repo.list_versions(self.store, check_shop_id(shop_id), get_task(task).name)

    def version(self, shop_id: str, task: str, version: str) -> VersionRow:
        for row in self.versions(shop_id, task):
            if row.version == version:
                return row
        known = ", ".join(r.version for r in self.versions(shop_id, task)) or "none"
        raise InputError(
            f"{task} of shop {shop_id!r} has no version {str(version)[:80]!r}; versions: {known}"
        )

    def active(self, shop_id: str, task: str) -> str | None:
        """The version the shop's task serves (None: the shop has no model of its own)."""
        return repo.active_version(self.store, check_shop_id(shop_id), get_task(task).name)

    def require_active(self, shop_id: str, task: str) -> str:
        """The active version, or :class:`NoModelError` saying how to get one."""
        version = self.active(shop_id, task)
        if version is None:
            others = [s for s in repo.shops_with_models(self.store) if s != shop_id
                      and repo.active_version(self.store, s, task)]  # fmt: skip
            hint = (
                f" or copy another shop's: `shoplens models {task} --copy-from {others[0]} "
                f"--shop {shop_id}`"
                if others
                else ""
            )
            raise NoModelError(
                f"Shop {shop_id!r} has no {task} model of its own yet. Train one: "
                f"`shoplens train {task} --shop {shop_id}`{hint}."
            )
        return version

    def meta(self, shop_id: str, task: str, version: str) -> dict[str, Any]:
        path = self.folder(shop_id, task, version) / "meta.json"
        if not path.is_file():
            raise ShopLensError(
                f"model {shop_id}/{task}/{version} has no files in the model folder: train a new "
                f"version (`shoplens train {task} --shop {shop_id}`) or roll back to one that has "
                f"(`shoplens rollback {task} --shop {shop_id}`)."
            )
        return json.loads(path.read_text())

    def load(self, shop_id: str, task: str, version: str | None = None) -> Any:
        """A version (default: the active one) ready to predict."""
        version = version or self.require_active(shop_id, task)
        meta = self.meta(shop_id, task, version)
        predictor = get_task(task).load_predictor(
            self.folder(shop_id, task, version), meta, self.device
        )
        predictor.version = version
        return predictor

    # --- writing -----------------------------------------------------------------------------
    def save(self, shop_id: str, task: str, candidate: Candidate, *, test_fingerprint: str,
             data_fingerprint: str | None = None, train_seconds: float | None = None,
             version: str | None = None) -> str:  # fmt: skip
        """Write ``candidate`` as a new version (folder complete before it is registered)."""
        spec = get_task(task)
        version = version or new_version_name()
        folder = self.task_dir(shop_id, task)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / version
        if final.exists():
            raise ShopLensError(f"model version {shop_id}/{task}/{version} already exists")
        meta = {**candidate.meta, "task": spec.name, "kind": spec.kind, "shop_id": shop_id,
                "model_type": candidate.model_type, "is_baseline": candidate.is_baseline,
                "created_at": datetime.now(UTC).isoformat(), "test_fingerprint": test_fingerprint,
                "data_fingerprint": data_fingerprint, "train_seconds": train_seconds}  # fmt: skip
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".tmp-{version}-"))
        try:
            candidate.write(tmp)
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
            (tmp / "metrics.json").write_text(json.dumps(candidate.metrics, indent=2, default=str))
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        repo.register_version(self.store, self._row(shop_id, spec.name, version, meta,
                                                    candidate.metrics))  # fmt: skip
        return version

    @staticmethod
    def _row(shop_id: str, task: str, version: str, meta: dict[str, Any],
             metrics: dict[str, Any], copied_from: str | None = None) -> VersionRow:  # fmt: skip
        created = _created_at(meta, version)
        return VersionRow(
            shop_id=shop_id, task=task, version=version, kind=str(meta.get("kind", "")),
            model_type=str(meta.get("model_type", "")), created_at=created, metrics=metrics,
            base_model=meta.get("base_model"), data_fingerprint=meta.get("data_fingerprint"),
            test_fingerprint=meta.get("test_fingerprint"), train_seconds=meta.get("train_seconds"),
            copied_from=copied_from,
        )  # fmt: skip

    def activate(self, shop_id: str, task: str, version: str, action: str = "promote",
                 forced: bool = False) -> None:  # fmt: skip
        """Point the shop's task at ``version`` (the promotion rule is the caller's)."""
        self.version(shop_id, task, version)  # must exist
        repo.set_active(self.store, shop_id, task, version, action, forced)

    def rollback(self, shop_id: str, task: str) -> str:
        """Re-activate the version that was active before the current one; returns its name."""
        history = repo.activation_history(self.store, check_shop_id(shop_id), get_task(task).name)
        existing = {v.version for v in self.versions(shop_id, task)}
        current = self.active(shop_id, task)
        # step back past the current version (and any repeats of it)
        while history and (history[-1] == current or history[-1] not in existing):
            history.pop()
        if not history:
            raise InputError(f"{task} of shop {shop_id!r} has no earlier version to roll back to")
        target = history[-1]
        repo.set_active(self.store, shop_id, task, target, "rollback", False)
        return target

    def copy(self, task: str, version: str, from_shop: str, to_shop: str) -> str:
        """Copy a version of another shop into ``to_shop`` (an operator's explicit choice); the
        copy keeps the source's metrics, which were measured on the source shop's test split."""
        source = self.version(from_shop, task, version)
        new = new_version_name()
        target_dir = self.task_dir(to_shop, task)
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target_dir, prefix=f".tmp-{new}-"))
        try:
            shutil.copytree(self.folder(from_shop, task, version), tmp, dirs_exist_ok=True)
            meta = json.loads((tmp / "meta.json").read_text())
            meta.update(shop_id=to_shop, copied_from=f"{from_shop}/{version}",
                        created_at=datetime.now(UTC).isoformat())  # fmt: skip
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
            os.replace(tmp, target_dir / new)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        repo.register_version(self.store, self._row(to_shop, task, new, meta, source.metrics,
                                                    f"{from_shop}/{version}"))  # fmt: skip
        return new

    # --- stores from before per-shop models -------------------------------------------------
    def migrate_legacy_layout(self, shop_id: str = "sample") -> list[str]:
        """Move ``<models_dir>/<task>/<version>/`` folders (one registry for every shop, with
        ``ACTIVE`` and ``HISTORY`` files) to ``<models_dir>/<shop_id>/<task>/`` and register them
        in the store, active pointer and history included. Returns the tasks migrated."""
        if not self.models_dir.is_dir() or not self.store.exists():
            return []
        migrated = []
        for old in sorted(p for p in self.models_dir.iterdir() if p.is_dir()):
            versions = [v for v in old.iterdir() if v.is_dir() and VERSION_NAME.match(v.name)
                        and (v / "meta.json").is_file()]  # fmt: skip
            if not versions and not (old / "ACTIVE").is_file():
                continue  # a shop folder of the current layout
            task = old.name
            target = self.models_dir / shop_id / task
            target.mkdir(parents=True, exist_ok=True)
            rows = []
            for v in sorted(versions):
                meta = json.loads((v / "meta.json").read_text())
                metrics_file = v / "metrics.json"
                metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
                meta.setdefault("kind", "text_classification")
                meta.setdefault(
                    "model_type", "encoder_blend" if (v / "model").is_dir() else "tfidf_lr"
                )
                meta["shop_id"] = shop_id
                (v / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
                os.replace(v, target / v.name)
                rows.append(self._row(shop_id, task, v.name, meta, metrics))
            active = (old / "ACTIVE").read_text().strip() if (old / "ACTIVE").is_file() else None
            history = (old / "HISTORY").read_text().split() if (old / "HISTORY").is_file() else []
            repo.import_legacy(self.store, rows, active, history)
            shutil.rmtree(old, ignore_errors=True)
            migrated.append(task)
        return migrated
