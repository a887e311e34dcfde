"""Dashboard page render time (Streamlit AppTest) on the bundled shop and at 10M events
(``BENCH_PAGES_EVENTS``: another size, e.g. 100M; ``BENCH_PAGES_STORES``: a folder where the
stores are kept after the run and reused by the next, since a 100M build takes minutes).

Two stores, each in a temporary ``SHOPLENS_HOME``:

- ``sample``: the bundled sample shop (``db.sample.load_sample``: 250k events, 18k reviews,
  4.5k messages);
- ``synthetic``: the same reviews, messages and items, and 10M seeded synthetic events
  (``synthetic.generator``; ``--quick``: 500k) instead of the sample's events.

Both get one prediction per row for every task (sentiment from the stars, intent from the
messages' own labels, demand from the labelling rules, purchase and risk at random) written as
one model version, so the text pages render their full content without training a model here;
the demand version's need sentences are then grouped into needs as the scoring job does (timed:
``needs_grouping_s``).

Each page is rendered with AppTest as an admin: one warm-up run (imports), then ``repeat`` pairs
of timed runs: *cold* (``st.cache_data`` cleared first: every query runs, as on a first visit or
after new data) and *warm* (the same run again: cached queries). Figures are medians. On the
synthetic store, the pages that follow the shopper segment and category filters are also timed
cold under several filter combinations (:data:`FILTERS`).
The process's peak resident memory while the pages render is reported too
(``pages_peak_memory_gb``, Linux; goal at 100M events: under 16 GB).
Goal (issue 5): <= 1.5 s per page on 2 cores.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bench.common import timer

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest
from common.settings import REPO_ROOT
from db.store import Store

PAGES = [
    "overview", "behaviour", "search", "recommendations", "sentiment", "intent", "demand",
    "segments", "explain", "labelling", "models", "monitoring",
]  # fmt: skip
# the synthetic store's size: 10M, or BENCH_PAGES_EVENTS (the 100M run: BENCH_PAGES_EVENTS=100000000)
FULL_EVENTS = int(os.environ.get("BENCH_PAGES_EVENTS", "10000000"))
FILE_ROWS = 25_000_000
QUICK_EVENTS = 500_000
GOAL_S = 1.5
SHOP = "sample"
VERSION = "bench-fake"


def _prediction_frame(task: str, ids: pd.Series, labels: pd.Series, label_set: tuple[str, ...],
                      rng: np.random.Generator) -> pd.DataFrame:  # fmt: skip
    """Rows as scoring writes them: the label is the most probable class, entropy and margin
    follow from the probabilities."""
    n, k = len(ids), len(label_set)
    chosen = labels.map({label: i for i, label in enumerate(label_set)}).to_numpy()
    top = rng.uniform(max(0.4, 1 / k + 0.01), 0.99, n)
    probs = np.repeat(((1 - top) / (k - 1))[:, None], k, axis=1)
    probs[np.arange(n), chosen] = top
    ordered = np.sort(probs, axis=1)
    return pd.DataFrame({
        "shop_id": SHOP, "task": task, "target_id": ids.astype(str).to_numpy(),
        "model_version": VERSION, "label": labels.to_numpy(),
        "probs": [json.dumps(dict(zip(label_set, row.tolist(), strict=True))) for row in probs],
        "entropy": -(probs * np.log(probs)).sum(axis=1), "margin": ordered[:, -1] - ordered[:, -2],
    })  # fmt: skip


ASPECT_LABELS = ("none", "none", "size_fit:negative", "size_fit:positive", "colour:positive",
                 "fabric:positive", "fabric:negative;size_fit:neutral", "style:positive",
                 "quality:negative", "comfort:positive;fabric:positive")  # fmt: skip


def _aspect_frame(ids: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Aspect predictions as the aspects task writes them (label: the encoded mentions, probs:
    confidence per aspect)."""
    labels = rng.choice(ASPECT_LABELS, len(ids))
    confidence = rng.uniform(0.5, 0.99, len(ids))
    probs = [json.dumps({part.split(":")[0]: round(float(c), 3) for part in label.split(";")
                         if part != "none"}) for label, c in zip(labels, confidence, strict=True)]  # fmt: skip
    return pd.DataFrame({"shop_id": SHOP, "task": "aspects", "target_id": ids.astype(str).to_numpy(),
                         "model_version": VERSION, "label": labels, "probs": probs,
                         "entropy": 1 - confidence, "margin": 2 * confidence - 1})  # fmt: skip


def add_predictions(store: Store, seed: int = 0) -> int:
    """One prediction per row for every task, as one fake model version that every task of the
    shop serves (the active pointer); returns the count."""
    from common.settings import load_settings
    from core.context import Context
    from core.tasks import get_task
    from core.tasks.sentiment import rating_to_sentiment
    from db.repo.models import VersionRow, register_version, set_active
    from db.repo.predictions import keep_spreads

    ctx = Context.from_settings(load_settings(), store=store)
    rng = np.random.default_rng(seed)
    reviews = store.query_df("SELECT review_id, rating FROM reviews WHERE shop_id = ?", [SHOP])
    sentiment = reviews["rating"].map(rating_to_sentiment).fillna("neutral")
    intent_spec, demand_spec = get_task("intent"), get_task("demand")
    intents = intent_spec.load_labels(ctx, SHOP)
    demand_spec.rows_to_score(ctx, SHOP, VERSION)  # stores the sentences, as scoring does
    demand = demand_spec.load_labels(ctx, SHOP)
    sessions = store.query_df("SELECT DISTINCT session_id FROM events WHERE shop_id = ?", [SHOP])
    bought = pd.Series(np.where(rng.random(len(sessions)) < 0.2, "purchase", "no_purchase"))
    users = store.query_df("SELECT DISTINCT user_id FROM events WHERE shop_id = ?", [SHOP])
    buyers = pd.Series(np.where(rng.random(len(users)) < 0.1, "purchase", "no_purchase"))
    leaving = pd.Series(np.where(rng.random(len(users)) < 0.3, "churns", "stays"))
    risky = pd.Series(np.where(rng.random(len(users)) < 0.01, "anomalous", "normal"))
    frames = [
        _prediction_frame("sentiment", reviews["review_id"], sentiment,
                          ("negative", "neutral", "positive"), rng),
        _prediction_frame("intent", intents["target_id"], intents["label"],
                          intent_spec.label_set(ctx, SHOP), rng),
        _prediction_frame("demand", demand["target_id"], demand["label"], demand_spec.labels, rng),
        _prediction_frame("session_purchase", sessions["session_id"], bought,
                          ("no_purchase", "purchase"), rng),
        _prediction_frame("purchase", users["user_id"], buyers, ("no_purchase", "purchase"), rng),
        _prediction_frame("churn", users["user_id"], leaving, ("stays", "churns"), rng),
        _prediction_frame("risk", users["user_id"], risky, ("normal", "anomalous"), rng),
        _aspect_frame(demand["target_id"], rng),
    ]  # fmt: skip
    predictions = pd.concat(frames, ignore_index=True)
    predictions["reason"] = np.where(predictions["label"] == "anomalous",
                                     "many views in a short time (benchmark data)", None)  # fmt: skip
    with store.write() as con:
        con.register("fake_predictions", predictions)
        con.execute(
            "INSERT INTO predictions (shop_id, task, target_id, model_version, label, probs, "
            "entropy, margin, reason, created_at) SELECT shop_id, task, target_id, model_version, "
            "label, probs::JSON, entropy, margin, reason, now()::TIMESTAMP FROM fake_predictions"
        )
        con.unregister("fake_predictions")
        # each shopper's list: the shop's ten most viewed items (what matters here is the pages'
        # speed over a realistic number of rows, not the lists)
        con.execute(
            "INSERT INTO recommendations (shop_id, model_version, user_id, rank, item_id, "
            "category, score, created_at) "
            "WITH top AS (SELECT item_id, any_value(category) AS category, count(*) AS n, "
            "row_number() OVER (ORDER BY count(*) DESC, item_id) AS rank FROM events "
            "WHERE shop_id = $shop AND item_id IS NOT NULL GROUP BY item_id "
            "ORDER BY n DESC, item_id LIMIT 10), "
            "u AS (SELECT DISTINCT user_id FROM events WHERE shop_id = $shop) "
            "SELECT $shop, $version, u.user_id, top.rank, top.item_id, top.category, "
            "1.0 / top.rank, now()::TIMESTAMP FROM u CROSS JOIN top",
            {"shop": SHOP, "version": VERSION},
        )
    forecast = {"horizon_days": 7, "model": {"roc_auc": 0.9, "mean_predicted": 0.1,
                                             "observed_rate": 0.1}, "baseline": {"roc_auc": 0.88}}  # fmt: skip
    for task in ("sentiment", "aspects", "intent", "demand", "purchase", "session_purchase",
                 "churn", "recommend", "risk"):  # fmt: skip
        kind = get_task(task).kind
        metrics = forecast if kind == "shopper_forecast" else {}
        register_version(store, VersionRow(SHOP, task, VERSION, kind, "benchmark",
                                           pd.Timestamp.now().to_pydatetime(), metrics=metrics))  # fmt: skip
        set_active(store, SHOP, task, VERSION)
        if get_task(task).spread_kept:  # as scoring keeps them
            keep_spreads(store, SHOP, task, VERSION, get_task(task).labels)
    return len(predictions)


def build_sample_store(home: Path) -> Store:
    """The bundled sample shop plus fake predictions."""
    from db.sample import load_sample

    store = Store(home / "shoplens.duckdb")
    store.init_schema()
    load_sample(store)
    add_predictions(store)
    return store


def build_synthetic_store(home: Path, n_events: int) -> Store:
    """The sample's reviews, messages and items with ``n_events`` synthetic events, ingested
    as a user would (``ingest_file``: time-ordered rows, summary tables)."""
    from db import rollups
    from db.ingest import ingest_file
    from db.sample import load_sample
    from synthetic.generator import write_events

    store = Store(home / "shoplens.duckdb")
    store.init_schema()
    load_sample(store)
    parquet = home / "events.parquet"
    write_events(parquet, n_events)
    with store.write() as con:
        con.execute("DELETE FROM events WHERE shop_id = ?", [SHOP])
        rollups.rebuild(con, SHOP)
    for part in _split(parquet, FILE_ROWS):  # one file may hold at most 50M rows
        ingest_file(store, part, "events", shop_id=SHOP)
        part.unlink()
    add_predictions(store)
    return store


def _split(parquet: Path, rows: int) -> list[Path]:
    """``parquet`` as files of about ``rows`` rows each (the file itself when it is no larger),
    in its order; the original is removed."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(parquet)
    if source.metadata.num_rows <= rows:
        return [parquet]
    parts: list[Path] = []
    writer, written = None, 0
    for batch in source.iter_batches(batch_size=1_000_000):
        if writer is None:
            parts.append(parquet.with_name(f"{parquet.stem}-{len(parts)}.parquet"))
            writer = pq.ParquetWriter(parts[-1], source.schema_arrow, compression="zstd")
        writer.write_batch(batch, row_group_size=1_000_000)
        written += batch.num_rows
        if written >= rows:
            writer.close()
            writer, written = None, 0
    if writer is not None:
        writer.close()
    parquet.unlink()
    return parts


def _open(home: Path, page: str, segment: str = "all", category: str | None = None) -> AppTest:
    """An AppTest of the app on ``home`` (admin viewer) showing ``page`` with the sidebar filters
    set, after one render that imports the page's modules."""
    from streamlit.testing.v1 import AppTest

    from app.auth import Viewer

    os.environ["SHOPLENS_HOME"] = str(home)
    at = AppTest.from_file(str(REPO_ROOT / "app" / "main.py"), default_timeout=300)
    at.session_state["viewer"] = Viewer("bench", "admin", None)
    at.run()  # the entry point and the default page
    if segment != "all" or category:
        at.selectbox(key="f_segment").set_value(segment)
        if category:
            at.selectbox(key="f_category").set_value(category)
        at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py")
        at.run()
    return at


def _render(at: AppTest, label: str, clear_cache: bool) -> float:
    """Seconds of one rerun of the shown page; with ``clear_cache`` the query cache is emptied
    first (a first visit or new data)."""
    import streamlit as st

    if clear_cache:
        st.cache_data.clear()
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{label}: {at.exception[0].value}")
    return seconds


def time_pages(home: Path, repeat: int = 3) -> dict[str, dict[str, float]]:
    """Render seconds of every page (AppTest, admin viewer): ``cold_s`` with the query cache
    cleared before the run (a first visit or new data), ``warm_s`` right after it (the same
    filters again: cached queries); medians of ``repeat`` runs."""
    results: dict[str, dict[str, float]] = {}
    for page in PAGES:
        at = _open(home, page)
        cold, warm = [], []
        for _ in range(repeat):
            cold.append(_render(at, page, clear_cache=True))
            warm.append(_render(at, page, clear_cache=False))
        results[page] = {"cold_s": round(statistics.median(cold), 3),
                         "warm_s": round(statistics.median(warm), 3)}  # fmt: skip
        print(
            f"  {page:<10} cold {results[page]['cold_s']:.2f} s, warm {results[page]['warm_s']:.2f} s"
        )
    return results


FILTERED_PAGES = ("overview", "behaviour", "search", "recommendations", "segments")
FILTERS = (("all", None), ("new", None), ("buyers", None), ("all", "Dresses"),
           ("returning", "Dresses"))  # fmt: skip


def time_filtered(home: Path, repeat: int = 3) -> dict[str, dict[str, float]]:
    """Cold render seconds (median of ``repeat``) of the pages whose numbers follow the shopper
    segment and category filters, for each combination in :data:`FILTERS`."""
    out: dict[str, dict[str, float]] = {}
    for segment, category in FILTERS:
        key = f"{segment}/{category or 'all categories'}"
        out[key] = {}
        for page in FILTERED_PAGES:
            at = _open(home, page, segment, category)
            cold = [_render(at, f"{page} ({key})", clear_cache=True) for _ in range(repeat)]
            out[key][page] = round(statistics.median(cold), 3)
        print(f"  {key:<28} " + ", ".join(f"{p} {t:.2f} s" for p, t in out[key].items()))
    return out


def _reset_peak_memory() -> None:
    """Start this process's peak resident memory afresh (Linux), so that the page renders are
    measured without the store's build before them."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_gb() -> float | None:
    """This process's peak resident memory since :func:`_reset_peak_memory` (Linux), in GB."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    kb = next((int(line.split()[1]) for line in status.splitlines()
               if line.startswith("VmHWM:")), None)  # fmt: skip
    return round(kb / 1e6, 2) if kb is not None else None


def main(quick: bool = False) -> dict:
    """Render every page on both stores; report per-page times and the slowest page."""
    from core.text_insight import group_shop_needs

    n_events = QUICK_EVENTS if quick else FULL_EVENTS
    out: dict = {"goal_s": GOAL_S, "synthetic_events": n_events, "repeat": 2 if quick else 3}
    kept = os.environ.get("BENCH_PAGES_STORES")
    with tempfile.TemporaryDirectory(prefix="bench_pages_") as tmp:
        for name in ("sample", "synthetic"):
            home = Path(kept or tmp) / name
            reuse = kept is not None and (home / "shoplens.duckdb").is_file()
            home.mkdir(parents=True, exist_ok=True)
            with timer() as build:
                if reuse:
                    store = Store(home / "shoplens.duckdb")
                elif name == "sample":
                    store = build_sample_store(home)
                else:
                    store = build_synthetic_store(home, n_events)
            with timer() as grouping:  # what the demand scoring job does after scoring
                needs = group_shop_needs(store, SHOP, VERSION)
            counts = store.table_counts(SHOP)
            print(f"{name}: {counts['events']:,} events, built in {build.seconds:.0f} s; "
                  f"{needs} needs grouped in {grouping.seconds:.0f} s")  # fmt: skip
            _reset_peak_memory()
            pages = time_pages(home, repeat=out["repeat"])
            filtered = time_filtered(home, repeat=out["repeat"]) if name == "synthetic" else None
            peak_gb = _peak_memory_gb()
            slowest = max(pages, key=lambda p: pages[p]["cold_s"])
            out[name] = {
                "events": counts["events"], "reviews": counts["reviews"],
                "messages": counts["messages"], "predictions": counts["predictions"],
                "build_s": None if reuse else round(build.seconds, 1), "needs": needs,
                "needs_grouping_s": round(grouping.seconds, 1), "pages": pages, "slowest_page": slowest,
                "slowest_cold_s": pages[slowest]["cold_s"],
                "pages_over_goal_cold": [p for p, t in pages.items() if t["cold_s"] > GOAL_S],
                "pages_over_goal_warm": [p for p, t in pages.items() if t["warm_s"] > GOAL_S],
                "pages_peak_memory_gb": peak_gb,
            }  # fmt: skip
            if filtered is not None:
                out[name]["filtered_cold_s"] = filtered
                out[name]["filtered_over_goal"] = [
                    f"{page} ({key})" for key, row in filtered.items()
                    for page, t in row.items() if t > GOAL_S
                ]  # fmt: skip
    out["slowest_page"] = max(("sample", "synthetic"), key=lambda n: out[n]["slowest_cold_s"])
    out["slowest_cold_s"] = out[out["slowest_page"]]["slowest_cold_s"]
    out["slowest_page"] = f"{out[out['slowest_page']]['slowest_page']} ({out['slowest_page']})"
    return out


if __name__ == "__main__":
    print(json.dumps(main(quick=True), indent=2))
