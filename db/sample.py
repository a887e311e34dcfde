"""The bundled sample shop: a clothing retailer built from public data sets (see data/README.md).

``load_sample`` loads every file of ``data/sample/`` through the normal ingestion path into shop
``sample``; loading it again adds nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from common.errors import ShopLensError
from common.settings import DATA_DIR
from db.ingest import IngestReport, ingest_file
from db.repo.labels import add_team_labels
from db.repo.shop_settings import put_setting
from db.store import Store

SAMPLE_SHOP = "sample"
# Order matters: items first so events and reviews find their titles, categories and prices.
SAMPLE_FILES = (
    ("items.parquet", "items"),
    ("events_synthetic.parquet", "events"),
    ("reviews.parquet", "reviews"),
    ("messages.parquet", "messages"),
    ("sessions.parquet", "sessions"),
)


def sample_dir() -> Path:
    return DATA_DIR / "sample"


def load_sample(
    store: Store, folder: Path | None = None, shop_id: str = SAMPLE_SHOP
) -> list[IngestReport]:
    """Load the bundled sample shop into ``store`` and return one report per file."""
    folder = folder or sample_dir()
    missing = [name for name, _ in SAMPLE_FILES if not (folder / name).is_file()]
    if missing:
        raise ShopLensError(
            f"The bundled sample data is incomplete ({', '.join(missing)} missing in {folder}). "
            "Restore data/ from git, or rebuild it with `python scripts/build_sample_data.py`."
        )
    reports = [
        ingest_file(store, folder / name, kind, shop_id=shop_id) for name, kind in SAMPLE_FILES
    ]
    intents = folder / "intents.json"
    if intents.is_file():  # the shop's intent taxonomy (names, categories), checked when read
        put_setting(store, shop_id, "intents", intents.read_text(encoding="utf-8"))
    aspects = folder.parent / "labels" / "aspects_sample_reviews.csv"
    if aspects.is_file():  # the team's labelled review sentences: the aspect model trains on them
        labelled = pd.read_csv(aspects, keep_default_na=False, dtype=str)
        add_team_labels(store, shop_id, "aspects",
                        labelled.rename(columns={"aspects": "label"}), "shoplens-team")  # fmt: skip
    return reports
