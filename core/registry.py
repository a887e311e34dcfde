"""The model registry: one folder per version under ``<models_dir>/<task>/<version>/`` and an
``ACTIVE`` file naming the version in use.

A version folder is written under a temporary name and renamed only once complete, and ``ACTIVE``
is replaced atomically (temp file + ``os.replace``), so a training killed at any moment leaves the
active model intact and loadable. ``HISTORY`` lists activations so ``rollback`` can step back.
Versions are mirrored into the store's ``model_versions`` table for the dashboard.

Layout of a version: ``model/`` (encoder weights, tokenizer, config with the label map),
``tfidf.joblib`` (optional blend partner), ``meta.json`` (task, labels, base model, training
config, data fingerprint, training time, blend weight and bias, int8 check) and ``metrics.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from common.errors import InputError, ShopLensError
from common.settings import load_settings
from core.modeling import TextClassifier, load_encoder, pick_device, quantize_int8

if TYPE_CHECKING:
    from db.store import Store


VERSION_NAME = re.compile(r"^v\d{8}-\d{6}-\d{6}$")


def task_dir(task: str) -> Path:
    """The folder holding every version of ``task`` (a registered task name only, so a name can
    never point outside the models folder)."""
    from core.tasks import get_task

    return load_settings().models.models_dir / get_task(task).name


def version_dir(task: str, version: str) -> Path:
    """The folder of one version; the name must look like one this registry made."""
    if not isinstance(version, str) or not VERSION_NAME.match(version):
        raise InputError(
            f"{str(version)[:80]!r} is not a model version name (like v20260101-120000-123456); "
            f"list them with `shoplens models {task}`."
        )
    return task_dir(task) / version


def new_version_name() -> str:
    """A sortable version name from the current UTC time (``v20260101-120000-123456``)."""
    return datetime.now(UTC).strftime("v%Y%m%d-%H%M%S-%f")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def list_versions(task: str) -> list[dict[str, Any]]:
    """Every complete version of ``task``, oldest first, with its meta and metrics and
    whether it is active."""
    folder = task_dir(task)
    if not folder.is_dir():
        return []
    active = active_version(task)
    out = []
    for path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (path / "meta.json").is_file():
            continue
        meta = json.loads((path / "meta.json").read_text())
        metrics_file = path / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        out.append({**meta, "version": path.name, "active": path.name == active,
                    "metrics": metrics})  # fmt: skip
    return out


def active_version(task: str) -> str | None:
    """The active version of ``task``, or None when no model is active."""
    pointer = task_dir(task) / "ACTIVE"
    if not pointer.is_file():
        return None
    name = pointer.read_text().strip()
    return name if name and (task_dir(task) / name / "meta.json").is_file() else None


def save_version(task: str, version: str, writer: Any) -> Path:
    """Create version ``version`` of ``task``: ``writer(tmp_folder)`` fills a temporary folder,
    which is renamed into place only when the writer returns."""
    folder = task_dir(task)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / version
    if final.exists():
        raise ShopLensError(f"model version {task}/{version} already exists")
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".tmp-{version}-"))
    try:
        writer(tmp)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _set_active(task: str, version: str, store: Store | None) -> None:
    history = task_dir(task) / "HISTORY"
    previous = history.read_text().split() if history.is_file() else []
    _write_atomic(history, "\n".join([*previous, version]) + "\n")
    _write_atomic(task_dir(task) / "ACTIVE", version + "\n")
    if store is not None:
        sync_store(store, task)


def promote(task: str, version: str, force: bool = False, store: Store | None = None) -> bool:
    """Make ``version`` active if its test macro-F1 is at least the active one's (or ``force``).
    Returns whether it was promoted."""
    versions = {v["version"]: v for v in list_versions(task)}
    if version not in versions:
        known = ", ".join(versions) or "none"
        raise InputError(f"{task} has no version {version[:80]!r}; versions: {known}")
    current = active_version(task)
    if current == version:
        return True
    if current is not None and not force:
        new_f1 = versions[version]["metrics"].get("model", {}).get("macro_f1", 0.0)
        old_f1 = versions[current]["metrics"].get("model", {}).get("macro_f1", 0.0)
        if new_f1 < old_f1:
            return False
    _set_active(task, version, store)
    return True


def rollback(task: str, store: Store | None = None) -> str:
    """Re-activate the version that was active before the current one; returns its name."""
    history = task_dir(task) / "HISTORY"
    names = history.read_text().split() if history.is_file() else []
    existing = {v["version"] for v in list_versions(task)}
    current = active_version(task)
    while names and (names[-1] == current or names[-1] not in existing):
        names.pop()
    if not names:
        raise InputError(f"{task} has no earlier version to roll back to")
    target = names[-1]
    _write_atomic(history, "\n".join(names) + "\n")
    _write_atomic(task_dir(task) / "ACTIVE", target + "\n")
    if store is not None:
        sync_store(store, task)
    return target


def load_model(task: str, version: str | None = None, device: str | None = None) -> TextClassifier:
    """Load a version (default: the active one) ready to predict."""
    import joblib

    version = version or active_version(task)
    if version is None:
        raise ShopLensError(f"No {task} model yet. Train one first: `shoplens train {task}`.")
    path = version_dir(task, version)
    if not (path / "meta.json").is_file():
        raise InputError(f"{task} has no version {version!r} (see `shoplens models`)")
    meta = json.loads((path / "meta.json").read_text())
    model, tokenizer = load_encoder(path / "model")
    dev = pick_device(device)
    model.to(dev).eval()
    tfidf = joblib.load(path / "tfidf.joblib") if (path / "tfidf.joblib").is_file() else None
    int8 = quantize_int8(model) if dev.type == "cpu" and meta.get("int8_ok") else None
    return TextClassifier(
        task=task, version=version, labels=tuple(meta["labels"]), model=model,
        tokenizer=tokenizer, max_length=int(meta.get("max_length", 128)), tfidf=tfidf,
        ensemble_weight=float(meta.get("ensemble_weight", 1.0)),
        bias=np.asarray(meta.get("bias") or np.zeros(len(meta["labels"])), dtype=np.float64),
        device=dev, int8_model=int8, meta=meta,
    )  # fmt: skip


def sync_store(store: Store, task: str) -> None:
    """Mirror the on-disk versions of ``task`` into the ``model_versions`` table."""
    rows = []
    for v in list_versions(task):
        created = datetime.fromisoformat(v["created_at"]).replace(tzinfo=None)
        rows.append((task, v["version"], v.get("base_model", ""), created,
                     json.dumps(v["metrics"]), v.get("data_fingerprint"),
                     v.get("train_seconds"), v["active"]))  # fmt: skip
    with store.write() as con:
        con.execute("DELETE FROM model_versions WHERE task = ?", [task])
        if rows:
            con.executemany(
                "INSERT INTO model_versions (task, version, base_model, created_at, metrics, "
                "data_fingerprint, train_seconds, is_active) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
