"""Post-training tuning on the validation split: the encoder/TF-IDF blend weight and a per-class
logit bias, both chosen to maximise macro-F1 (the metric the promotion rule uses).

A bias shifts the decision boundary toward rare classes (the neutral 3-star reviews, say) that a
loss-minimising model under-predicts; it leaves the ranking within a class unchanged.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from core.modeling import blend

BLEND_WEIGHTS = (1.0, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)
BIAS_GRID = np.linspace(-2.0, 2.0, 21)


def macro_f1(probs: np.ndarray, y: np.ndarray) -> float:
    return f1_score(y, probs.argmax(axis=1), average="macro", zero_division=0)


def fit_bias(log_probs: np.ndarray, y: np.ndarray, rounds: int = 2) -> tuple[np.ndarray, float]:
    """Coordinate ascent over a per-class bias grid (class 0 fixed at 0); returns the bias and
    its macro-F1. Ties keep the smaller shift."""
    n = log_probs.shape[1]
    bias = np.zeros(n)
    best = macro_f1(log_probs, y)
    for _ in range(rounds):
        for c in range(1, n):
            for value in sorted(BIAS_GRID, key=abs):
                trial = bias.copy()
                trial[c] = value
                score = macro_f1(log_probs + trial, y)
                if score > best + 1e-9:
                    best, bias = score, trial
    return bias, best


def tune_blend(
    val_logits: np.ndarray,
    val_tfidf: np.ndarray | None,
    y_val: np.ndarray,
    tune_bias: bool = True,
) -> tuple[float, np.ndarray]:
    """The blend weight (encoder share, at least 0.3) and bias with the best validation
    macro-F1. Without TF-IDF probabilities the weight is 1."""
    n = val_logits.shape[1]
    weights = BLEND_WEIGHTS if val_tfidf is not None else (1.0,)
    best = (-1.0, 1.0, np.zeros(n))
    for weight in weights:
        log_probs = np.log(blend(val_logits, val_tfidf, weight, np.zeros(n)))
        if tune_bias and len(y_val) >= 20:
            bias, score = fit_bias(log_probs, y_val)
        else:
            bias, score = np.zeros(n), macro_f1(log_probs, y_val)
        if score > best[0] + 1e-9:
            best = (score, weight, bias)
    return best[1], best[2]
