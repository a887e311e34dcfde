"""Training sentiment on the 18k bundled reviews: wall time and examples/s of the default CPU
plan, against full fine-tuning.

Full fine-tuning of every layer takes far longer than the budget on 2 cores, so its macro-F1 is
measured on a subset: the same ``SUBSET`` training rows (and the same validation/test rows) are
trained once with full fine-tuning and once with the fast plan, and the ratio of their test
macro-F1 is reported next to the fast plan's figures on all rows. Full fine-tuning's time on all
rows is scaled from its measured examples/s. Everything runs in one process, one after the other
(ratios from one run; the machine may be shared).
"""

from __future__ import annotations

import os
import time

import torch

from bench.core_data import isolated_home, load_reviews, sentiment_frame, with_split

LABELS = ("negative", "neutral", "positive")
SUBSET = 2000


def _run(data, **overrides) -> dict:
    from core.text_model import fit_split_frame
    from core.training import TrainingConfig

    config = TrainingConfig(device="cpu", **overrides)
    start = time.perf_counter()
    result = fit_split_frame(LABELS, data, config)
    wall = time.perf_counter() - start
    m = result.metrics
    return {
        "config": overrides,
        "wall_seconds": round(wall, 1),
        "loop_examples_per_s": round(result.examples_per_second, 1),
        "n_train": result.n_train,
        "n_test": result.n_test,
        "stopped_by": result.stopped_by,
        "macro_f1": round(m["model"]["macro_f1"], 4),
        "macro_f1_encoder_only": round(m["encoder_only"]["macro_f1"], 4),
        "macro_f1_tfidf_lr": round(m["baselines"]["tfidf_lr"]["macro_f1"], 4),
        "accuracy": round(m["model"]["accuracy"], 4),
    }


def main(quick: bool = False) -> dict:
    isolated_home("training")
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "0")) or torch.get_num_threads())
    data = with_split(sentiment_frame(load_reviews()))
    if quick:
        data = data.groupby("split", group_keys=False).sample(frac=0.05, random_state=0)
    subset = SUBSET if not quick else 200
    fast = {"trainable_layers": 2, "epochs": 3, "max_minutes": 5.0}
    plans = os.environ.get("BENCH_TRAINING_PLANS", "all,subset").split(",")
    result: dict = {"n_rows": len(data), "threads": torch.get_num_threads()}
    if "all" in plans:
        result["fast_plan_all_rows"] = _run(data, **fast)
    if "subset" in plans:
        sub = {"max_train_examples": subset, "max_eval_examples": 1500}
        full = _run(data, trainable_layers=-1, epochs=1, learning_rate=5e-5, **sub)
        fast_sub = _run(data, **{**fast, "max_minutes": None}, **sub)
        result["full_finetune_subset"] = full
        result["fast_plan_subset"] = fast_sub
        result["fast_vs_full_macro_f1_ratio_subset"] = round(
            fast_sub["macro_f1"] / max(full["macro_f1"], 1e-9), 4
        )
        result["fast_vs_full_encoder_only_ratio_subset"] = round(
            fast_sub["macro_f1_encoder_only"] / max(full["macro_f1_encoder_only"], 1e-9), 4
        )
        n_all = int((data["split"] == "train").sum())
        result["full_finetune_scaled_minutes_per_epoch_all_rows"] = round(
            n_all / max(full["loop_examples_per_s"], 1e-9) / 60, 1
        )
    if "fast_plan_all_rows" in result:
        result["retrain_minutes"] = round(result["fast_plan_all_rows"]["wall_seconds"] / 60, 2)
    print(result)
    return result
