"""One context per process: the settings, the store and the model registry, built once by an
entry point (a CLI command, a dashboard run, a background job, the API server) and passed down.
Nothing below the entry points reads the environment.

    >>> ctx = Context.from_settings(load_settings())
    >>> ctx.registry.active("sample", "sentiment")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.settings import Settings
from db.store import Store


@dataclass
class Context:
    """What every layer below the entry points is handed."""

    settings: Settings
    store: Store
    registry: ModelRegistry

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None = None,
                      migrate: bool = True) -> Context:  # fmt: skip
        """Build the store and registry the settings name. ``migrate`` moves a model folder of an
        earlier ShopLens (one registry for all shops) to the sample shop, once."""
        import core.tasks  # noqa: F401  (registers the built-in tasks)
        from core.hardware import use_cpu_bf16, use_device

        use_cpu_bf16(settings.models.cpu_bf16)
        use_device(settings.models.device)

        store = store or Store.from_settings(settings.store)
        registry = ModelRegistry(settings.models.models_dir, store, settings.models.device)
        if migrate and store.exists():
            if not store.schema_current():
                store.init_schema()
            registry.migrate_legacy_layout()
        return cls(settings, store, registry)

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def base_model(self) -> Path | None:
        return self.settings.models.base_model

    @property
    def device(self) -> str:
        return self.settings.models.device


from core.registry import ModelRegistry  # noqa: E402  (the registry needs the task base first)
