"""Next-item and next-category recommendations on the Taobao slice (real events, research use,
read from ../shared/data), leave-last-out, ranked over all items: popularity, the shopper's
recently touched items, item-to-item co-visitation, their blend (tuned on each shopper's
second-to-last event) and the learned re-ranker over the blend's candidates (learned on the
second-to-last event), in one run. Goals (issue): next item HR@10 >= 0.22, next category >= 0.68,
above every baseline."""

from __future__ import annotations

import pandas as pd

from bench.core_data import shared_data_dir

GOALS = {"item_id": 0.22, "category": 0.68}


def main(quick: bool = False) -> dict:
    from bench.common import machine_info, timer
    from core.recommend import (
        GRID,
        evaluate,
        leave_last_out,
        recommend_blend,
        recommend_covisit,
        recommend_popular,
        recommend_recent,
        tune_blend,
    )
    from core.rerank import fit_reranker

    events = pd.read_csv(shared_data_dir() / "taobao_user_behavior_sample" / "events.csv").rename(
        columns={"category_id": "category", "behavior_type": "event_type", "timestamp": "ts"})  # fmt: skip
    events["event_type"] = events["event_type"].map(
        {"pv": "view", "buy": "purchase", "cart": "cart", "fav": "fav"})  # fmt: skip
    if quick:
        events = events[events["user_id"].isin(events["user_id"].unique()[:200])]
    train, held = leave_last_out(events)
    users = held["user_id"].astype(str)
    grid = {k: v[:2] for k, v in GRID.items()} if quick else GRID
    out: dict = {"benchmark": "recommend", "machine": machine_info(), "quick": quick,
                 "events": len(events), "shoppers": len(held), "goals_hr@10": GOALS}  # fmt: skip
    for key in ("item_id", "category"):
        config, validation = tune_blend(train, key, grid)
        rows = {name: evaluate(fn(train, users, key), held, key) for name, fn in (
            ("popularity", recommend_popular), ("recent", recommend_recent),
            ("covisit", recommend_covisit))}  # fmt: skip
        rows["blend"] = evaluate(recommend_blend(train, users, key, config), held, key)
        with timer() as fitting:
            reranker = fit_reranker(train, key, config)
        rows["rerank"] = evaluate(reranker.recommend(train, users.tolist()), held, key)
        best_baseline = max(rows[n]["hr@10"] for n in ("popularity", "recent", "covisit"))
        out[key] = {
            name: {k: round(v, 4) for k, v in r.items() if k != "users"} for name, r in rows.items()
        }
        out[key]["blend_config"] = config.__dict__
        out[key]["blend_validation_hr@10"] = round(validation, 4)
        out[key]["blend_vs_best_baseline_hr@10"] = round(
            rows["blend"]["hr@10"] / max(best_baseline, 1e-9), 3
        )
        out[key]["rerank_vs_best_baseline_hr@10"] = round(
            rows["rerank"]["hr@10"] / max(best_baseline, 1e-9), 3
        )
        out[key]["rerank_fit_seconds"] = round(fitting.seconds, 1)
        best = max(rows["blend"]["hr@10"], rows["rerank"]["hr@10"])
        out[key]["goal_met"] = best >= GOALS[key] and best > best_baseline
    return out
