"""Few-shot text classification on sentence embeddings: a new label works from a handful of
examples, before there are enough for the fine-tuned encoder.

Each label is the normalised mean of its examples' embeddings (nearest centroid, as in
prototypical networks); a text's probabilities are a softmax over its cosine similarity to each
centroid, sharpened by ``temperature``. With enough examples per label a logistic regression on
the same embeddings (``method="logistic"``) separates close labels better.

    >>> clf = fit_few_shot(["where is my parcel", "track my order", "cancel it", "stop my order"],
    ...                    ["track", "track", "cancel", "cancel"])
    >>> clf.predict(["has my order shipped?"])
    ['track']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from common.errors import InputError

Embed = Callable[[list[str]], np.ndarray]


def _embed(texts: list[str]) -> np.ndarray:
    from core.embeddings import embed_texts

    return embed_texts(texts)


@dataclass
class FewShotClassifier:
    """Centroids (or a logistic regression) over sentence embeddings."""

    labels: tuple[str, ...]
    centroids: np.ndarray
    temperature: float = 20.0
    logistic: Any = None
    embed: Embed | None = None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        vectors = (self.embed or _embed)([str(t or "") for t in texts])
        if self.logistic is not None:
            out = np.zeros((len(texts), len(self.labels)))
            columns = [self.labels.index(c) for c in self.logistic.classes_]
            out[:, columns] = self.logistic.predict_proba(vectors)
            return out
        logits = self.temperature * vectors @ self.centroids.T
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(texts).argmax(axis=1)]


def fit_few_shot(texts: Sequence[str], labels: Sequence[str], label_order: Sequence[str] | None = None,
                 embed: Embed | None = None, method: str = "centroid",
                 temperature: float = 20.0) -> FewShotClassifier:  # fmt: skip
    """A classifier from labelled examples (a label of ``label_order`` without one is never
    predicted)."""
    if len(texts) != len(labels) or not len(texts):
        raise InputError("few-shot training needs examples: as many labels as texts, at least one")
    order = tuple(label_order or sorted(set(labels)))
    vectors = (embed or _embed)([str(t) for t in texts])
    y = np.array(labels)
    # a label without an example gets no centroid (a zero vector): it is never predicted
    centroids = np.stack([vectors[y == label].mean(axis=0) if (y == label).any()
                          else np.zeros(vectors.shape[1]) for label in order])  # fmt: skip
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    logistic = None
    if method == "logistic":
        from sklearn.linear_model import LogisticRegression

        logistic = LogisticRegression(C=10.0, max_iter=3000).fit(vectors, y)
    elif method != "centroid":
        raise InputError(f"unknown few-shot method {method!r}: centroid or logistic")
    return FewShotClassifier(order, centroids, temperature, logistic, embed)
