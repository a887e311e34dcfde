"""Next-item and next-category recommendations on the Taobao slice (real events, research use,
read from ../shared/data), leave-last-out, ranked over all items: popularity, the shopper's
recently touched items, item-to-item co-visitation, their blend (tuned on each shopper's
second-to-last event), the learned re-ranker over the blend's candidates (learned on the
second-to-last event), a SASRec-style sequential transformer (trained on the events before each
shopper's last one, at most SASREC_SECONDS) and the re-ranker that also reads the sequential
model's score, in one run. Goals (issue): next item HR@10 >= 0.22, next category >= 0.68,
above every baseline."""

from __future__ import annotations

from bench.core_data import taobao_events

GOALS = {"item_id": 0.22, "category": 0.68}
SASREC_SECONDS = 90.0


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
    from core.sasrec import fit_sasrec

    events = taobao_events()
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
        seconds = 10.0 if quick else SASREC_SECONDS
        with timer() as sequence_fit:
            sequence = fit_sasrec(train, key, max_seconds=seconds)
        rows["sasrec"] = evaluate(sequence.recommend(train, users.tolist()), held, key)
        with_sequence = fit_reranker(train, key, config, sasrec_seconds=seconds)
        rows["rerank_sasrec"] = evaluate(with_sequence.recommend(train, users.tolist()), held, key)
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
        out[key]["sasrec_fit"] = {**sequence.meta, "wall_seconds": round(sequence_fit.seconds, 1)}
        best = max(rows[n]["hr@10"] for n in ("blend", "rerank", "sasrec", "rerank_sasrec"))
        out[key]["goal_met"] = best >= GOALS[key] and best > best_baseline
    return out
