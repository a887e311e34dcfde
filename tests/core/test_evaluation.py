"""Tests for core/evaluation.py and core/tuning.py."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation import baseline_metrics, classification_metrics, expected_calibration_error
from core.tuning import fit_bias, tune_blend

pytestmark = pytest.mark.unit


def test_metrics_values_and_keys():
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]])
    m = classification_metrics(["a", "b", "b", "b"], probs, ("a", "b"))
    assert m["accuracy"] == 0.75
    assert m["confusion_matrix"] == [[1, 0], [1, 2]]
    assert m["per_class"]["b"]["recall"] == pytest.approx(2 / 3)
    assert m["roc_auc"] == 1.0
    assert 0 <= m["ece"] <= 1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    # confidences 0.9, 0.7, 0.6, 0.8: one per bin; the 0.6 row (predicted a, truly b) is wrong
    assert m["calibration"] == [
        {"bin": 6, "confidence": pytest.approx(0.6), "accuracy": 0.0, "count": 1},
        {"bin": 7, "confidence": pytest.approx(0.7), "accuracy": 1.0, "count": 1},
        {"bin": 8, "confidence": pytest.approx(0.8), "accuracy": 1.0, "count": 1},
        {"bin": 9, "confidence": pytest.approx(0.9), "accuracy": 1.0, "count": 1},
    ]


def test_ece_is_zero_when_calibrated():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probs, np.array([0, 1])) == 0.0


def test_baselines_on_the_same_split():
    train = ["good great", "bad awful", "great fine", "awful poor"] * 5
    y = ["pos", "neg", "pos", "neg"] * 5
    out = baseline_metrics(train, y, ["great", "awful"], ["pos", "neg"], ("neg", "pos"))
    assert out["tfidf_lr"]["accuracy"] == 1.0
    assert out["majority"]["accuracy"] == 0.5


def test_bias_fixes_an_underpredicted_class():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    logp = np.log(np.where(y[:, None] == 1, [0.6, 0.4], [0.8, 0.2]))  # class 1 never argmax
    bias, score = fit_bias(logp, y)
    assert score == 1.0 and bias[1] > 0
    weight, bias2 = tune_blend(logp, None, y)
    assert weight == 1.0 and bias2[1] > 0
