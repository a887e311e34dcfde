"""Rebuild the bundled sample shop in ``data/sample/`` from the public data sets.

    python scripts/build_sample_data.py [--shared PATH] [--out DIR] [--events N] [--seed S]

Reads ``../shared/data`` (beside the checkout) and writes zstd Parquet files: items, reviews
(Women's E-Commerce Clothing Reviews, CC0), messages (Bitext customer support, CDLA-Sharing-1.0),
sessions (UCI Online Shoppers, CC BY 4.0) and a SYNTHETIC event log made by ``synthetic.generator``.
Prices, shopper ids and the timestamps of reviews and messages are synthetic too (seeded), so
that texts join behaviour. Only redistributable sets are used; the Taobao slice (research use)
is read for the calibration aggregates alone (``--recalibrate``), never copied. Same inputs and
seed give the same files. See data/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from synthetic.generator import (  # noqa: E402
    CALIBRATION_PATH,
    DEFAULT_START,
    calibrate_from_taobao,
    generate_events,
    load_calibration,
)

REVIEWS_CSV = "womens_ecommerce_clothing_reviews/womens_clothing_reviews_train80.csv"
BITEXT_CSV = "bitext_customer_support_intents/bitext_customer_support_training_4514.csv"
UCI_CSV = "online_shoppers_purchasing_intention/online_shoppers_intention.csv"
TAOBAO_CSV = "taobao_user_behavior_sample/events.csv"
SAMPLE_DAYS = 56
SAMPLE_EVENTS = 250_000
SAMPLE_USERS = 3_000
# SYNTHETIC prices: a seeded uniform draw per item inside its class's range (USD, x.99 / x.00).
PRICE_RANGES = {
    "Dresses": (58, 228), "Knits": (28, 98), "Blouses": (39, 128), "Sweaters": (58, 198),
    "Fine gauge": (48, 148), "Pants": (48, 148), "Jeans": (68, 198), "Skirts": (44, 148),
    "Jackets": (78, 298), "Outerwear": (98, 398), "Shorts": (34, 88), "Swim": (38, 128),
    "Lounge": (28, 98), "Sleep": (28, 98), "Legwear": (14, 48), "Intimates": (18, 68),
    "Layering": (18, 58), "Trend": (68, 248), "Casual bottoms": (38, 98), "Chemises": (38, 98),
    "Other": (20, 120),
}  # fmt: skip
UCI_COLUMNS = {
    "Administrative": "administrative",
    "Administrative_Duration": "administrative_duration",
    "Informational": "informational",
    "Informational_Duration": "informational_duration",
    "ProductRelated": "product_related",
    "ProductRelated_Duration": "product_related_duration",
    "BounceRates": "bounce_rates",
    "ExitRates": "exit_rates",
    "PageValues": "page_values",
    "SpecialDay": "special_day",
    "Month": "month",
    "OperatingSystems": "operating_systems",
    "Browser": "browser",
    "Region": "region",
    "TrafficType": "traffic_type",
    "VisitorType": "visitor_type",
    "Weekend": "weekend",
    "Revenue": "revenue",
}


def _mode(values: pd.Series) -> str:
    counts = values.dropna().value_counts()
    return str(counts.index[0]) if len(counts) else "Other"


def build_items(reviews: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One item per Clothing ID: its most common class as category, a title, a synthetic price,
    and ``popularity`` (its number of reviews; used by the generator, not written)."""
    rng = np.random.default_rng([seed, 1])
    division = reviews["Division Name"].replace({"Initmates": "Intimates"})
    grouped = reviews.assign(division=division).groupby("Clothing ID", sort=True)
    items = pd.DataFrame(
        {
            "category": grouped["Class Name"].agg(_mode),
            "division": grouped["division"].agg(_mode),
            "popularity": grouped.size(),
        }
    ).reset_index(names="clothing_id")
    items["item_id"] = items["clothing_id"].astype(str)
    items["division"] = items["division"].replace({"Other": "General"})
    items["title"] = items["division"] + " · " + items["category"] + " · " + items["item_id"]
    lo, hi = zip(
        *(PRICE_RANGES.get(c, PRICE_RANGES["Other"]) for c in items["category"]), strict=True
    )
    dollars = np.floor(np.asarray(lo) + rng.random(len(items)) * (np.asarray(hi) - np.asarray(lo)))
    items["price"] = dollars + np.where(rng.random(len(items)) < 0.7, 0.99, 0.0)
    return items[["item_id", "title", "category", "price", "popularity"]]


def _attach_shoppers(
    texts: pd.DataFrame, events: pd.DataFrame, rng: np.random.Generator, by_item: bool
) -> pd.DataFrame:
    """Give each text row a synthetic ``user_id`` and ``ts`` taken from the event log.

    With ``by_item``, a review goes first to a shopper who bought that item (written 1-14 days
    after the purchase), then to one who viewed it; otherwise, and for the rest, to the shopper
    of a random event, a few minutes after it. Timestamps stay inside the period.
    """
    texts = texts.copy()
    texts["user_id"] = None
    texts["ts"] = pd.NaT
    end = events["ts"].max()
    if by_item:
        shuffled = texts.assign(order=rng.permutation(len(texts))).sort_values("order")
        texts["rank"] = shuffled.groupby("item_id").cumcount()  # aligned on the index
        for kind, delay_days in (("purchase", (1, 14)), ("view", (0, 3))):
            pool = events[events["event_type"] == kind].drop_duplicates(["user_id", "item_id"])
            pool = pool.sample(frac=1.0, random_state=rng.integers(2**31))
            pool = pool.assign(rank=pool.groupby("item_id").cumcount())
            todo = texts["user_id"].isna()
            hit = (
                texts.loc[todo, ["item_id", "rank"]]
                .reset_index()
                .merge(pool, on=["item_id", "rank"])
            )
            delay = rng.uniform(*delay_days, len(hit)) * 86400
            texts.loc[hit["index"], "user_id"] = hit["user_id"].to_numpy()
            texts.loc[hit["index"], "ts"] = (
                hit["ts"] + pd.to_timedelta(delay, unit="s")
            ).to_numpy()
        texts = texts.drop(columns="rank")
    todo = texts["user_id"].isna().to_numpy()
    picks = events.iloc[rng.integers(0, len(events), int(todo.sum()))]
    texts.loc[todo, "user_id"] = picks["user_id"].to_numpy()
    minutes = rng.uniform(1, 30, len(picks))
    texts.loc[todo, "ts"] = (picks["ts"] + pd.to_timedelta(minutes, unit="m")).to_numpy()
    texts["ts"] = pd.to_datetime(texts["ts"]).clip(upper=end).dt.floor("s")
    return texts


NOTICES = {
    "items.parquet": "Item ids and classes from Women's E-Commerce Clothing Reviews (nicapotato, "
    "Kaggle, CC0 1.0); titles derived and prices SYNTHETIC by ShopLens. See data/README.md.",
    "events_synthetic.parquet": "SYNTHETIC event log made by ShopLens synthetic/generator.py; no real "
    "behaviour. See data/README.md.",
    "reviews.parquet": "Women's E-Commerce Clothing Reviews (nicapotato, Kaggle, CC0 1.0), changed "
    "by ShopLens: renamed columns, SYNTHETIC user_id and ts. See data/README.md.",
    "messages.parquet": "Changed by ShopLens from Bitext Customer Service Tagged Training Dataset "
    "(Bitext Innovations International, S.L.; github.com/bitext/customer-support-llm-chatbot-"
    "training-dataset); licensed under CDLA-Sharing-1.0 (data/LICENSES/CDLA-Sharing-1.0.txt). "
    "Columns selected and renamed; user_id and ts are SYNTHETIC.",
    "sessions.parquet": "Online Shoppers Purchasing Intention Dataset (Sakar et al. 2019, UCI 468, "
    "DOI 10.24432/C5F88Q), CC BY 4.0; changed by ShopLens: snake_case columns, booleans, "
    "session_id added. See data/LICENSES/CC-BY-4.0-UCI-online-shoppers.md.",
}


def _write(df: pd.DataFrame, path: Path) -> None:
    """Write zstd Parquet with a provenance/licence notice in the file's metadata."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({"shoplens_notice": NOTICES[path.name]})
    if "ts" in df.columns:
        table = table.set_column(
            table.schema.get_field_index("ts"), "ts", table.column("ts").cast(pa.timestamp("us"))
        )
    pq.write_table(table, path, compression="zstd", compression_level=9)
    print(f"  {path.name}: {len(df):,} rows, {path.stat().st_size / 1e6:.2f} MB")


def build(shared: Path, out: Path, n_events: int, seed: int, recalibrate: bool) -> None:
    """Write every file of the sample shop into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    if recalibrate:
        calibrate_from_taobao(shared / TAOBAO_CSV).to_json(CALIBRATION_PATH)
        print(f"  calibration -> {CALIBRATION_PATH.name}")
    calibration = load_calibration()
    rng = np.random.default_rng([seed, 2])

    raw = pd.read_csv(shared / REVIEWS_CSV)
    items = build_items(raw, seed)
    _write(items.drop(columns="popularity"), out / "items.parquet")

    tables = generate_events(
        n_events, items, seed=seed, start=DEFAULT_START, days=SAMPLE_DAYS,
        calibration=calibration, n_users=SAMPLE_USERS,
    )  # fmt: skip
    events = pa.concat_tables(list(tables)).to_pandas()
    _write(events, out / "events_synthetic.parquet")
    events = events[events["event_type"] != "search"]

    reviews = pd.DataFrame(
        {
            "review_id": raw["orig_index"].astype(str),
            "item_id": raw["Clothing ID"].astype(str),
            "rating": raw["Rating"].astype("int64"),
            "title": raw["Title"].where(raw["Title"].notna(), None),
            "text": raw["Review Text"],
            "language": "en",
        }
    )
    reviews = _attach_shoppers(reviews, events, rng, by_item=True)
    cols = ["review_id", "item_id", "user_id", "rating", "title", "text", "ts", "language"]
    _write(reviews[cols], out / "reviews.parquet")

    bitext = pd.read_csv(shared / BITEXT_CSV)
    messages = pd.DataFrame(
        {
            "message_id": [f"bitext-{i:04d}" for i in range(len(bitext))],
            "channel": "support",
            "text": bitext["instruction"],
            "language": "en",
            "label_intent": bitext["intent"],
        }
    )
    messages = _attach_shoppers(messages, events, rng, by_item=False)
    cols = ["message_id", "user_id", "channel", "text", "ts", "language", "label_intent"]
    _write(messages[cols], out / "messages.parquet")

    uci = pd.read_csv(shared / UCI_CSV).rename(columns=UCI_COLUMNS)
    for flag in ("weekend", "revenue"):
        uci[flag] = uci[flag].astype(str).str.upper().eq("TRUE")
    uci.insert(0, "session_id", [f"uci-{i}" for i in range(len(uci))])
    _write(uci[["session_id", *UCI_COLUMNS.values()]], out / "sessions.parquet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "sample")
    parser.add_argument("--events", type=int, default=SAMPLE_EVENTS)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--recalibrate", action="store_true",
        help="re-measure data/synthetic_calibration.json on the Taobao slice first",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not args.shared.is_dir():
        print(f"error: {args.shared} not found; pass --shared PATH", file=sys.stderr)
        return 2
    print(f"building the sample shop in {args.out} (period starts {DEFAULT_START:%Y-%m-%d})")
    build(args.shared, args.out, args.events, args.seed, args.recalibrate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
