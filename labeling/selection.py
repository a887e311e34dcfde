"""Which rows to ask a human about: uncertainty ranking, optionally spread over clusters.

Pure functions over a probability matrix (and texts or embeddings for the diverse variant), used
by :mod:`labeling.routing` on real predictions and by the active-learning benchmark on simulated
rounds, so both measure the same thing.

    >>> probs = np.array([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4]])
    >>> select_batch(probs, 2, strategy="margin").tolist()
    [1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.uncertainty import score_uncertainty

POOL_FACTOR = 10  # diverse: cluster the 10*n most uncertain rows


def uncertainty_scores(probs: np.ndarray, strategy: str, seed: int = 0) -> np.ndarray:
    """One score per row, higher = ask first: the registered uncertainty signal ``strategy``
    (:data:`core.uncertainty.UNCERTAINTY_SIGNALS`; ``random`` is seeded by ``seed``)."""
    return score_uncertainty(probs, strategy, seed)


def text_embeddings(texts: Sequence[str], dims: int = 50, seed: int = 0) -> np.ndarray:
    """Cheap dense text vectors for clustering: TF-IDF reduced by truncated SVD, L2-normalised."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    from core.text_features import analyze

    tfidf = TfidfVectorizer(analyzer=analyze, min_df=1, sublinear_tf=True).fit_transform(
        list(texts)
    )
    n_comp = min(dims, tfidf.shape[0] - 1, tfidf.shape[1] - 1)
    if n_comp < 2:
        return normalize(tfidf.toarray())
    return normalize(TruncatedSVD(n_comp, random_state=seed).fit_transform(tfidf))


def diverse_pick(scores: np.ndarray, embeddings: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """The most uncertain row of each of ``n`` k-means clusters of the top ``10 n`` rows.

    Clustering the uncertain pool (not the whole set) keeps the batch uncertain while avoiding n
    near-duplicates of the same confusing text. Rows come back most uncertain first.
    """
    from sklearn.cluster import KMeans

    order = np.argsort(-scores, kind="stable")
    pool = order[: max(n * POOL_FACTOR, n)]
    if len(pool) <= n:
        return pool
    k = min(n, len(np.unique(embeddings[pool], axis=0)))
    clusters = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(embeddings[pool])
    picked: list[int] = []
    for cluster in range(k):
        members = pool[clusters == cluster]
        picked.append(int(members[np.argmax(scores[members])]))
    if len(picked) < n:  # fewer distinct clusters than n: fill with the next most uncertain
        chosen = set(picked)
        picked += [int(i) for i in pool if int(i) not in chosen][: n - len(picked)]
    picked_arr = np.array(picked)
    return picked_arr[np.argsort(-scores[picked_arr], kind="stable")]


def select_batch(
    probs: np.ndarray,
    n: int,
    strategy: str = "entropy",
    diverse: bool = False,
    texts: Sequence[str] | None = None,
    embeddings: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Indices of the ``n`` rows to label next, most uncertain first.

    ``diverse`` needs ``embeddings`` or ``texts`` (embedded with :func:`text_embeddings`).
    """
    n = min(int(n), len(probs))
    if n <= 0:
        return np.array([], dtype=int)
    scores = uncertainty_scores(probs, strategy, seed)
    if not diverse:
        return np.argsort(-scores, kind="stable")[:n]
    if embeddings is None:
        if texts is None:
            raise ValueError("diverse selection needs texts or embeddings")
        pool = np.argsort(-scores, kind="stable")[: max(n * POOL_FACTOR, n)]
        pool_emb = text_embeddings([texts[i] for i in pool], seed=seed)
        return pool[diverse_pick(scores[pool], pool_emb, n, seed)]
    return diverse_pick(scores, embeddings, n, seed)
