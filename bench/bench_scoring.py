"""Scoring throughput on 5,000 real reviews: this project's scorer against
``transformers.pipeline("text-classification")`` with its defaults, same model, same run.

The model is a sentiment head trained for this benchmark (agreement of int8 is only meaningful
on a trained head). Variants: the pipeline (defaults: one text at a time), the own loop in fp32
(length-sorted, dynamically padded batches), the own loop with int8 dynamic quantisation, and on
a CUDA machine the pipeline and the own loop at bf16; on a processor that computes in bf16
natively (AVX512-BF16 or AMX) the own loop with a bf16 copy of the weights. Agreement is the
share of texts whose label matches the pipeline's. ``own_int8_rescue`` runs int8 and re-scores
in fp32 the texts whose int8 top-two margin is under a threshold calibrated on 500 other texts.
``speedup_vs_pipeline`` is the fastest CPU variant with >= 99% agreement divided by the CPU
pipeline, which scores half of the texts before the other variants and half after them (the
shared machine's speed drifts within a run).
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from bench.core_data import isolated_home, load_reviews, sentiment_frame, with_split

LABELS = ("negative", "neutral", "positive")


def _train_model(data, quick: bool):
    from types import SimpleNamespace

    from core.text_model import fit_split_frame
    from core.training import TrainingConfig

    config = TrainingConfig(epochs=1, trainable_layers=2, max_train_examples=300 if quick else 1500,
                            max_eval_examples=200, blend_tfidf=False, tune_bias=False,
                            check_int8=False, device="cpu")  # fmt: skip
    result = fit_split_frame(LABELS, data, config)
    model = result.fit.model.to("cpu").eval()
    served = SimpleNamespace(model=model, tokenizer=result.fit.tokenizer, labels=LABELS,
                             max_length=config.max_length)  # fmt: skip
    return served, f"bench-{config.epochs}ep-{config.trainable_layers}layers"


def _pipeline_labels(model, texts: list[str], device: int) -> tuple[list[str], float]:
    from transformers import pipeline

    pipe = pipeline("text-classification", model=model.model, tokenizer=model.tokenizer,
                    device=device)  # fmt: skip
    start = time.perf_counter()
    out = pipe(texts)
    return [o["label"] for o in out], time.perf_counter() - start


def _own_labels(model, texts, scoring_model, device, batch_size=16) -> tuple[list[str], float]:
    from core.modeling import encoder_logits

    start = time.perf_counter()
    logits = encoder_logits(scoring_model, model.tokenizer, texts, model.max_length, batch_size,
                            device)  # fmt: skip
    seconds = time.perf_counter() - start
    return [model.labels[i] for i in logits.argmax(1)], seconds


def main(quick: bool = False) -> dict:
    from core.hardware import bf16_on_cpu
    from core.modeling import (
        calibrate_rescue_margin,
        encoder_logits,
        quantize_int8,
        rescued_logits,
        to_bf16,
    )

    isolated_home("scoring")
    threads = int(os.environ.get("BENCH_THREADS", "0")) or torch.get_num_threads()
    torch.set_num_threads(threads)
    data = with_split(sentiment_frame(load_reviews()))
    model, version = _train_model(data, quick)
    n = 300 if quick else 5000
    texts = data[data["split"] != "train"]["text"].tolist()
    texts = (texts * 2)[:n] if len(texts) < n else texts[:n]
    cpu = torch.device("cpu")
    variants: dict[str, dict] = {}
    # the pipeline scores the first half now and the second half after the own loops, so a
    # drift of the machine's speed during the run weighs on both sides alike
    half_n = n // 2
    ref, pipe_seconds = _pipeline_labels(model, texts[:half_n], -1)
    int8 = quantize_int8(model.model)
    skip = os.environ.get("BENCH_SCORING_SKIP", "").split(",")
    runs = [("own_fp32_b16", model.model, 16), ("own_fp32_b32", model.model, 32),
            ("own_int8_b16", int8, 16), ("own_int8_b32", int8, 32)]  # fmt: skip
    if bf16_on_cpu():  # what serves on such a processor when it agrees with fp32
        half = to_bf16(model.model)
        runs += [("own_bf16_b16", half, 16), ("own_bf16_b32", half, 32)]
    for name, net, bs in runs:
        if name.endswith("b32") and "b32" in skip:
            continue
        labels, seconds = _own_labels(model, texts, net, cpu, bs)
        variants[name] = {"seconds": seconds, "labels": labels}
    # int8 with close calls re-scored in fp32; the margin is calibrated on other (training) texts
    calib = data[data["split"] == "train"]["text"].tolist()[: 100 if quick else 500]
    margin_below, calib_agreement, calib_share = calibrate_rescue_margin(
        encoder_logits(model.model, model.tokenizer, calib),
        encoder_logits(int8, model.tokenizer, calib),
    )
    start = time.perf_counter()
    logits = rescued_logits(int8, model.model, model.tokenizer, texts, margin_below)
    variants["own_int8_rescue_b16"] = {
        "seconds": time.perf_counter() - start,
        "labels": [model.labels[i] for i in logits.argmax(1)],
        "rescue_margin": round(margin_below, 4),
        "calibration_share_rescored": round(calib_share, 4),
    }
    rest, more = _pipeline_labels(model, texts[half_n:], -1)
    ref = ref + rest
    variants["pipeline_cpu_default"] = {"seconds": pipe_seconds + more}
    if torch.cuda.is_available() and "cuda" not in skip:
        gpu = torch.device("cuda")
        model.model.to(gpu)
        _pipeline_labels(model, texts[:64], 0)  # warm-up
        g_ref, seconds = _pipeline_labels(model, texts, 0)
        variants["pipeline_cuda_default"] = {"seconds": seconds, "labels": g_ref}
        _own_labels(model, texts[:256], model.model, gpu, 64)
        for bs in (64, 256):
            labels, seconds = _own_labels(model, texts, model.model, gpu, bs)
            variants[f"own_cuda_bf16_b{bs}"] = {"seconds": seconds, "labels": labels}
    for v in variants.values():
        v["texts_per_s"] = round(n / v["seconds"], 1)
        v["agreement_with_pipeline"] = round(float(np.mean(np.array(v.pop("labels", ref)) ==
                                                           np.array(ref))), 4)  # fmt: skip
        v["seconds"] = round(v["seconds"], 2)
    base = variants["pipeline_cpu_default"]["texts_per_s"]
    cpu_ok = {k: v for k, v in variants.items()
              if k.startswith("own_") and "cuda" not in k and v["agreement_with_pipeline"] >= 0.99}  # fmt: skip
    best = max(cpu_ok, key=lambda k: cpu_ok[k]["texts_per_s"]) if cpu_ok else None
    result = {
        "n_texts": n,
        "threads": threads,
        "model_version": version,
        "speedup_vs_pipeline": round(cpu_ok[best]["texts_per_s"] / base, 2) if best else None,
        "best_cpu_variant": best,
        "variants": variants,
        "native_bf16": bf16_on_cpu(),
        "note": "same model and texts in one run; agreement = same label as the CPU pipeline",
    }
    print(result)
    return result
