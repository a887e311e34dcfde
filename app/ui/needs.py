"""Group demand sentences into named needs: seeded k-means over TF-IDF, named by key phrases.

Stable across runs: sentences are sorted by id before fitting, the clustering is seeded, and
needs are sorted by size (then name). A need's name is its three strongest key phrases; its
quotes are the sentences closest to the cluster centre.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import ThreadpoolController

SEED = 13
_THREADPOOLS: list[ThreadpoolController] = []  # found once: discovery costs ~0.1 s


def _threadpools() -> ThreadpoolController:
    if not _THREADPOOLS:
        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0]


def name_needs(
    sentences: pd.DataFrame, n_needs: int | None = None, quotes: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster ``sentences`` (``target_id``, ``text``) into needs.

    Returns ``(needs, assignments)``: needs has ``need_id, name, sentences, quotes`` (a list of
    texts), sorted by size; assignments maps each ``target_id`` to its ``need_id``. With fewer
    than 4 sentences everything is one need.
    """
    df = sentences.dropna(subset=["text"]).sort_values("target_id").reset_index(drop=True)
    empty_needs = pd.DataFrame(columns=["need_id", "name", "sentences", "quotes"])
    if df.empty:
        return empty_needs, pd.DataFrame(columns=["target_id", "need_id"])
    k = n_needs or int(np.clip(round(np.sqrt(len(df) / 4)), 1, 8))
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), stop_words="english", min_df=1, max_features=5000, sublinear_tf=True
    )
    try:
        x = vectorizer.fit_transform(df["text"].str.lower())
    except ValueError:  # only stop words
        x = None
    if x is None or len(df) < 4 or k <= 1 or x.shape[1] < 2:
        labels = np.zeros(len(df), dtype=int)
        centres = np.asarray(x.mean(axis=0)) if x is not None else None
    else:
        k = min(k, len(df))
        # one BLAS/OpenMP thread: on a busy 2-core machine more threads made it 10x slower
        with _threadpools().limit(limits=1):
            model = KMeans(n_clusters=k, random_state=SEED, n_init=4).fit(x)
        labels, centres = model.labels_, model.cluster_centers_
    terms = vectorizer.get_feature_names_out() if x is not None else np.array([])

    rows = []
    for cluster in sorted(set(labels)):
        members = np.flatnonzero(labels == cluster)
        if centres is not None and len(terms):
            centre = np.asarray(centres[cluster]).ravel()
            name = _phrase_name(centre, terms)
            sims = np.asarray(x[members] @ centre).ravel()
            order = members[np.lexsort((members, -sims))]
        else:
            name, order = "other", members
        rows.append(
            {
                "cluster": cluster,
                "name": name or "other",
                "sentences": len(members),
                "quotes": _distinct(df.loc[order, "text"], quotes),
            }
        )
    needs = pd.DataFrame(rows).sort_values(["sentences", "name"], ascending=[False, True])
    needs["need_id"] = range(1, len(needs) + 1)
    cluster_to_need = dict(zip(needs["cluster"], needs["need_id"], strict=True))
    assignments = pd.DataFrame(
        {"target_id": df["target_id"], "need_id": [cluster_to_need[c] for c in labels]}
    )
    needs = needs[["need_id", "name", "sentences", "quotes"]].reset_index(drop=True)
    return needs, assignments


def _distinct(texts: pd.Series, n: int) -> list[str]:
    """The first ``n`` texts that differ (ignoring case and surrounding space)."""
    seen: set[str] = set()
    out: list[str] = []
    for text in texts:
        key = str(text).strip().lower()
        if key not in seen:
            seen.add(key)
            out.append(str(text))
            if len(out) == n:
                break
    return out


def _phrase_name(centre: np.ndarray, terms: np.ndarray, n: int = 3) -> str:
    """The strongest ``n`` key phrases of a centre. Two-word phrases get a 1.5× boost (they
    read better than single words), and a phrase replaces a chosen word it contains."""
    boost = np.array([1.5 if " " in str(t) else 1.0 for t in terms])
    weight = centre * boost
    chosen: list[str] = []
    for index in np.lexsort((terms, -weight))[: 8 * n]:
        if weight[index] <= 0:
            break
        term = str(terms[index])
        words = set(term.split())
        if any(words <= set(c.split()) for c in chosen):
            continue  # already said
        chosen = [c for c in chosen if not set(c.split()) < words] + [term]
        if len(chosen) == n:
            break
    return " · ".join(chosen)
