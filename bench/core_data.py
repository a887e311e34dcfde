"""Data loading shared by the core benchmarks (scoring, training, quality).

Reviews come from ``data/sample/reviews.parquet`` (the bundled shop) or, failing that, the public
CSV beside the checkout; research-use sets are read from ``../shared/data`` only, never copied.
``BENCH_DATA_DIR`` overrides where the shared data sets are read from (for a machine where the
checkout has no ``../shared``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from common.settings import DATA_DIR, REPO_ROOT


def shared_data_dir() -> Path:
    """Where the public data sets live (``../shared/data`` beside the checkout by default)."""
    return Path(os.environ.get("BENCH_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")


def load_reviews() -> pd.DataFrame:
    """The 18k clothing reviews as review_id, title, text, rating."""
    parquet = DATA_DIR / "sample" / "reviews.parquet"
    if parquet.is_file():
        df = pd.read_parquet(parquet)
        return df[["review_id", "title", "text", "rating"]].reset_index(drop=True)
    csv = (
        shared_data_dir()
        / "womens_ecommerce_clothing_reviews"
        / "womens_clothing_reviews_train80.csv"
    )
    df = pd.read_csv(csv)
    return pd.DataFrame(
        {
            "review_id": "wc-" + df["orig_index"].astype(str),
            "title": df["Title"],
            "text": df["Review Text"],
            "rating": df["Rating"],
        }
    )


def sentiment_frame(reviews: pd.DataFrame) -> pd.DataFrame:
    """target_id, text (title + text), label from the star rating."""
    from core.tasks.sentiment import rating_to_sentiment

    title = reviews["title"].fillna("").astype(str).str.strip()
    text = title.where(title == "", title + ". ") + reviews["text"].fillna("").astype(str)
    return pd.DataFrame(
        {
            "target_id": reviews["review_id"].astype(str),
            "text": text,
            "label": reviews["rating"].map(rating_to_sentiment),
        }
    ).dropna()


def with_split(data: pd.DataFrame, seed: int = 42) -> pd.DataFrame:
    """The same stratified seeded 70/15/15 split the store would assign."""
    from core.training import assign_splits

    split = assign_splits(data["target_id"], data["label"], (0.7, 0.15, 0.15), seed)
    return data.assign(split=data["target_id"].map(split.to_dict()))


def isolated_home(name: str) -> Path:
    """A scratch ``SHOPLENS_HOME`` for a benchmark's model versions (under /tmp)."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix=f"shoplens-bench-{name}-"))
    os.environ["SHOPLENS_HOME"] = str(home)
    return home


def taobao_events() -> pd.DataFrame:
    """The Taobao UserBehavior slice (research use, read from ``../shared/data``) as ShopLens
    events: view / cart / fav / purchase, China time, the days Nov 25 – Dec 3, 2017."""
    raw = pd.read_csv(shared_data_dir() / "taobao_user_behavior_sample" / "events.csv")
    events = pd.DataFrame({
        "user_id": raw["user_id"].astype(str), "item_id": raw["item_id"].astype(str),
        "category": raw["category_id"].astype(str),
        "event_type": raw["behavior_type"].map({"pv": "view", "buy": "purchase", "cart": "cart",
                                                "fav": "fav"}),
        "ts": pd.to_datetime(raw["timestamp"], unit="s") + pd.Timedelta(hours=8),
    })  # fmt: skip
    return events[events["ts"] >= "2017-11-25"].reset_index(drop=True)
