"""Evaluation of a classifier on the fixed test split, and the two baselines every model version
is compared with (majority class, TF-IDF + logistic regression) on the same split.

    >>> import numpy as np
    >>> m = classification_metrics(["a", "b", "b"], np.array([[.9, .1], [.2, .8], [.6, .4]]),
    ...                            ("a", "b"))
    >>> round(m["accuracy"], 3), m["confusion_matrix"]
    (0.667, [[1, 0], [1, 1]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE of the top-class confidence in ``n_bins`` equal-width bins."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def reliability_bins(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Per non-empty confidence bin (equal width, as the ECE): mean top-class confidence,
    accuracy and row count, stored with a version so its calibration can be drawn without
    re-scoring its test rows."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    return [{"bin": int(b), "confidence": float(confidence[bins == b].mean()),
             "accuracy": float(correct[bins == b].mean()), "count": int((bins == b).sum())}
            for b in range(n_bins) if (bins == b).any()]  # fmt: skip


def classification_metrics(y_true: Sequence[str], probs: np.ndarray, labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix (rows: truth,
    columns: prediction, in ``labels`` order), ROC-AUC for two classes, ECE and its reliability
    bins."""
    labels = list(labels)
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[t] for t in y_true])
    pred = probs.argmax(axis=1)
    ids = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=ids, zero_division=0)
    metrics = {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)) if len(y) else 0.0,
        # macro over the classes that occur (in truth or prediction), as scikit-learn's default
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)) if len(y) else 0.0,
        "per_class": {
            label: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, label in enumerate(labels)
        },  # fmt: skip
        "confusion_matrix": confusion_matrix(y, pred, labels=ids).tolist(),
        "ece": expected_calibration_error(probs, y) if len(y) else 0.0,
        "calibration": reliability_bins(probs, y) if len(y) else [],
    }
    if len(labels) == 2:
        both = len(set(y.tolist())) == 2
        metrics["roc_auc"] = float(roc_auc_score(y, probs[:, 1])) if both else None
    return metrics


def make_tfidf(seed: int = 0, max_features: int = 100_000) -> Pipeline:
    """TF-IDF of word 1-2-grams (Chinese: jieba words and character bi- and trigrams, see
    :func:`core.text_features.classifier_terms`) + class-balanced logistic regression."""
    from core.text_features import classifier_terms

    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer=classifier_terms, min_df=1,
                                      max_features=max_features, sublinear_tf=True)),
            ("lr", LogisticRegression(max_iter=2000, class_weight="balanced", C=4.0,
                                      random_state=seed)),
        ]
    )  # fmt: skip


def fit_tfidf(texts: Sequence[str], y: Sequence[str], labels: Sequence[str], seed: int = 0):  # noqa: ANN201
    """A fitted TF-IDF + LR whose ``predict_proba`` columns follow ``labels`` (classes absent
    from the training rows get probability 0)."""
    pipe = make_tfidf(seed).fit(list(texts), list(y))
    return AlignedClassifier(pipe, tuple(labels))


class AlignedClassifier:
    """Wraps a fitted scikit-learn classifier so probabilities come in a fixed label order."""

    def __init__(self, clf: Pipeline, labels: tuple[str, ...]):
        self.clf = clf
        self.labels = labels
        self.columns = [labels.index(c) for c in clf.classes_]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.labels)))
        out[:, self.columns] = self.clf.predict_proba(list(texts))
        return out


def baseline_metrics(
    train_texts: Sequence[str], train_y: Sequence[str], test_texts: Sequence[str],
    test_y: Sequence[str], labels: Sequence[str], seed: int = 0,
    fitted_tfidf: AlignedClassifier | None = None,
) -> dict:  # fmt: skip
    """Metrics of the majority-class and TF-IDF + LR baselines trained on the same train rows
    (``fitted_tfidf``: a TF-IDF + LR already fitted on them, to save refitting)."""
    labels = list(labels)
    counts = np.array([list(train_y).count(label) for label in labels], dtype=float)
    majority = np.tile(np.eye(len(labels))[counts.argmax()], (len(test_y), 1))
    tfidf = fitted_tfidf or fit_tfidf(train_texts, train_y, labels, seed)
    return {
        "majority": classification_metrics(test_y, majority, labels),
        "tfidf_lr": classification_metrics(test_y, tfidf.predict_proba(test_texts), labels),
    }
