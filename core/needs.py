"""Needs: groups of request / complaint / question sentences a merchant can act on.

Each sentence is reduced to the clause that carries its need (:func:`need_clause`: "pretty top,
though it runs large" → "it runs large"), embedded with the sentence encoder
(:mod:`core.embeddings`) and grouped by spherical k-means (unit vectors; k = sentences /
``sentences_per_need``; ``runs`` seeded starts, the best kept). Then:

- a group larger than ``max_share`` of all sentences is split again the same way, so no named
  need swallows the others;
- groups whose centres are near-duplicates (cosine >= ``merge_similarity``) are merged;
- sentences far from their group's centre (cosine < ``member_similarity``) and groups smaller
  than ``min_size`` go to a visible **other** bucket;
- each need is named by its distinctive phrases (class-based TF-IDF over the clauses: frequent
  in this need, rare in the others) and quoted by the informative sentences closest to its
  centre.

Large sets are clustered on a seeded sample of ``max_cluster_rows`` and the rest join the nearest
need centre (or other, when none is close). :func:`need_quality` measures what the benchmark
reports: the largest need's share, the silhouette and stability across seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

OTHER = "other"
Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class NeedsConfig:
    """Knobs of the grouping (defaults measured on the bundled shop's review sentences)."""

    runs: int = 10  # k-means starts (the best is kept)
    sentences_per_need: int = 70  # k = sentences / this (2 .. max_needs)
    max_needs: int = 40
    member_similarity: float = 0.45  # a sentence this far from its need's centre goes to other
    max_share: float = 0.25  # a named need holds at most this share of sentences
    merge_similarity: float = 0.8  # centres at least this similar are one need
    min_size: int = 4  # smaller groups go to "other" (at least 1 % of sentences on big sets)
    join_similarity: float = 0.45  # an unclustered sentence joins a need this similar
    max_cluster_rows: int = 2500
    quotes: int = 3
    seed: int = 13


def _default_embed(texts: list[str]) -> np.ndarray:
    from core.embeddings import embed_texts

    return embed_texts(texts)


def group_needs(
    sentences: pd.DataFrame, config: NeedsConfig | None = None, embed: Embed | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Group ``sentences`` (``target_id``, ``text``) into needs.

    Returns ``(needs, assignments)``: needs has ``need_id, name, sentences, share, quotes``
    (largest first, the other bucket last, with ``need_id`` 0); assignments maps each
    ``target_id`` to its ``need_id``.
    """
    config = config or NeedsConfig()
    df = sentences.dropna(subset=["text"]).sort_values("target_id").reset_index(drop=True)
    columns = ["need_id", "name", "sentences", "share", "quotes"]
    if df.empty:
        return pd.DataFrame(columns=columns), pd.DataFrame(columns=["target_id", "need_id"])
    clauses = [need_clause(t) for t in df["text"].astype(str)]
    vectors = (embed or _default_embed)(clauses)
    groups = cluster_vectors(vectors, config)
    names = name_groups(clauses, groups)
    first_named: dict[str, int] = {}  # groups named alike say the same thing: one need
    for group in sorted(names):
        if names[group]:
            first_named.setdefault(names[group], group)
    groups = np.array([first_named.get(names.get(g) or "", g) for g in groups])
    rows = []
    for group in sorted(set(groups)):
        members = np.flatnonzero(groups == group)
        named = group >= 0 and names.get(group)
        rows.append({"group": group, "name": names[group] if named else OTHER,
                     "sentences": len(members), "share": len(members) / len(df),
                     "quotes": _quotes(df["text"], vectors, members, config.quotes)})  # fmt: skip
    needs = pd.DataFrame(rows)
    needs["is_other"] = needs["name"] == OTHER
    needs = needs.sort_values(["is_other", "sentences", "name"], ascending=[True, False, True])
    needs["need_id"] = [0 if o else i + 1 for i, o in enumerate(needs["is_other"])]
    if needs["is_other"].sum() > 1:  # unnamed groups join the other bucket
        other = needs[needs["is_other"]]
        needs = pd.concat([needs[~needs["is_other"]], pd.DataFrame([{
            "group": -1, "name": OTHER, "sentences": int(other["sentences"].sum()),
            "share": float(other["share"].sum()), "quotes": other.iloc[0]["quotes"],
            "is_other": True, "need_id": 0}])], ignore_index=True)  # fmt: skip
    to_need = dict(zip(needs["group"], needs["need_id"], strict=True))
    need_ids = np.array([to_need.get(g, 0) for g in groups])
    similarity = np.zeros(len(df))
    for need_id, centre in _centres(vectors, need_ids).items():  # need 0 (other) included
        members = need_ids == need_id
        similarity[members] = vectors[members] @ centre
    assignments = pd.DataFrame({"target_id": df["target_id"], "need_id": need_ids,
                                "similarity": similarity.round(6),
                                "informative": [informative(t) for t in df["text"].astype(str)]})  # fmt: skip
    return needs[columns].reset_index(drop=True), assignments


def informative(text: str) -> bool:
    """Whether a sentence says enough to be quoted: five words or more, or eight Chinese
    characters or more ("returned it." / "退货了" say nothing)."""
    han = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return han >= 8 or len(text.split()) >= 5


def cluster_vectors(
    vectors: np.ndarray, config: NeedsConfig, seed: int | None = None
) -> np.ndarray:
    """A group number per row (``-1``: other) for L2-normalised ``vectors`` (clustered in
    float32: half the time of float64 for k-means' distance products, the same groups up to
    rounding)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    rng = np.random.default_rng(config.seed if seed is None else seed)
    sample: np.ndarray = (np.arange(n) if n <= config.max_cluster_rows
                          else np.sort(rng.choice(n, config.max_cluster_rows, replace=False)))  # fmt: skip
    groups = np.full(n, -1)
    groups[sample] = _split_large(vectors[sample], config, len(sample),
                                  seed=config.seed if seed is None else seed)  # fmt: skip
    groups = _merge_near_duplicates(vectors, groups, config.merge_similarity)
    min_size = max(config.min_size, int(0.01 * n))
    centres = _centres(vectors, groups)
    for group, centre in centres.items():  # loose members go to other
        members = np.flatnonzero(groups == group)
        groups[members[vectors[members] @ centre < config.member_similarity]] = -1
    centres = _centres(vectors, groups)
    if n > len(sample) and centres:
        rest = np.setdiff1d(np.arange(n), sample)
        keys = np.array(list(centres))
        sims = vectors[rest] @ np.stack([centres[k] for k in keys]).T
        best = sims.argmax(axis=1)
        groups[rest] = np.where(sims.max(axis=1) >= config.join_similarity, keys[best], -1)
    sizes = pd.Series(groups).value_counts()
    small = sizes.index[(sizes < min_size) & (sizes.index >= 0)]
    groups[np.isin(groups, small)] = -1
    return _renumber(groups)


def _split_large(vectors: np.ndarray, config: NeedsConfig, total: int, depth: int = 0,
                 seed: int = 0) -> np.ndarray:  # fmt: skip
    """Spherical k-means (unit vectors, ``n_init`` seeded starts, the best kept) with ``k`` =
    sentences / ``sentences_per_need``; a group larger than ``max_share`` of all sentences is
    split again the same way."""
    from sklearn.cluster import KMeans

    n = len(vectors)
    if n < 4:
        return np.zeros(n, dtype=int)
    distinct = len(np.unique(vectors.round(5), axis=0))  # repeated sentences embed alike
    if distinct < 2:
        return np.zeros(n, dtype=int)
    k = int(np.clip(round(n / config.sentences_per_need), 2, min(config.max_needs, distinct)))
    labels = KMeans(k, n_init=config.runs, random_state=seed).fit_predict(vectors)
    out = labels.copy()
    next_label = labels.max() + 1
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) > config.max_share * total and depth < 4 and len(members) >= 8:
            inner = _split_large(vectors[members], config, total, depth + 1, seed)
            out[members] = inner + next_label
            next_label += inner.max() + 1
    return _renumber(out)


def _centres(vectors: np.ndarray, groups: np.ndarray) -> dict[int, np.ndarray]:
    centres = {}
    for group in np.unique(groups[groups >= 0]):
        centre = vectors[groups == group].mean(axis=0)
        centres[int(group)] = centre / max(float(np.linalg.norm(centre)), 1e-9)
    return centres


def _merge_near_duplicates(
    vectors: np.ndarray, groups: np.ndarray, similarity: float
) -> np.ndarray:
    groups = groups.copy()
    while True:
        centres = _centres(vectors, groups)
        keys = list(centres)
        if len(keys) < 2:
            return groups
        matrix = np.stack([centres[k] for k in keys])
        sims = matrix @ matrix.T
        np.fill_diagonal(sims, -1)
        i, j = np.unravel_index(sims.argmax(), sims.shape)
        if sims[i, j] < similarity:
            return groups
        groups[groups == keys[j]] = keys[i]


def _renumber(groups: np.ndarray) -> np.ndarray:
    out = np.full(len(groups), -1)
    for number, group in enumerate(np.unique(groups[groups >= 0])):
        out[groups == group] = number
    return out


def name_groups(texts: list[str], groups: np.ndarray, n_phrases: int = 3,
                min_coverage: float = 0.0) -> dict[int, str]:  # fmt: skip
    """Each group's distinctive phrases by class-based TF-IDF (a phrase's frequency in the group
    × log(1 + mean words per group / its frequency over all groups)), among phrases that at
    least ``min_coverage`` of the group's sentences use (a name says what most of them say),
    joined by " · "."""
    from sklearn.feature_extraction.text import CountVectorizer

    named = sorted(set(groups[groups >= 0].tolist()))
    if not named:
        return {}
    try:
        vectorizer = CountVectorizer(analyzer=_name_terms, min_df=1, binary=True)
        present = vectorizer.fit_transform([t.lower() for t in texts])
    except ValueError:  # only stop words
        return {}
    terms = vectorizer.get_feature_names_out()
    counts = np.vstack([np.asarray(present[groups == g].sum(axis=0)).ravel() for g in named])
    sizes = np.array([(groups == g).sum() for g in named], dtype=float)[:, None]
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log1p(counts.sum() / len(named) / np.maximum(counts.sum(axis=0), 1))
    weights = tf * idf * np.array([1.5 if " " in t else 1.0 for t in terms])
    weights[(counts < 2) | (counts < min_coverage * sizes)] = 0
    return {g: _phrases(weights[i], terms, n_phrases) for i, g in enumerate(named)}


def _name_terms(text: str) -> list[str]:
    """Terms a need may be named by: English and Chinese terms (:mod:`core.text_features`)
    without English stop words."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from core.text_features import analyze

    return [t for t in analyze(text) if not any(w in ENGLISH_STOP_WORDS for w in t.split())]


def _phrases(weights: np.ndarray, terms: np.ndarray, n: int) -> str:
    chosen: list[str] = []
    for index in np.lexsort((terms, -weights))[: 10 * n]:
        if weights[index] <= 0:
            break
        words = set(str(terms[index]).split())
        if any(words <= set(c.split()) for c in chosen):
            continue
        chosen = [c for c in chosen if not set(c.split()) < words] + [str(terms[index])]
        if len(chosen) == n:
            break
    return " · ".join(chosen)


def _quotes(texts: pd.Series, vectors: np.ndarray, members: np.ndarray, n: int) -> list[str]:
    """Distinct member sentences closest to the group centre, :func:`informative` ones first."""
    centre = vectors[members].mean(axis=0)
    sims = vectors[members] @ centre
    says_enough = np.array([informative(str(texts.iloc[m])) for m in members])
    order = members[np.lexsort((members, -sims, ~says_enough))]
    return distinct_texts((str(texts.iloc[i]) for i in order), n)


def distinct_texts(texts: Iterable[str], n: int) -> list[str]:
    """The first ``n`` texts that differ (ignoring case and surrounding space), empty ones
    skipped: a need's quotes, best first."""
    seen: set[str] = set()
    out: list[str] = []
    for text in texts:
        key = text.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(text)
            if len(out) == n:
                break
    return out


def need_quality(vectors: np.ndarray, config: NeedsConfig | None = None,
                 seed_pairs: tuple[tuple[int, int], ...] = ((1, 2), (3, 4), (5, 6), (7, 8)),
                 share: float = 0.9) -> dict[str, float]:  # fmt: skip
    """What the needs benchmark reports: the largest named need's share, the other bucket's
    share, the number of needs, the cosine silhouette of the named needs, and stability: the
    adjusted Rand index and the matched-group overlap (:func:`matched_overlap`) between the
    groupings of two seeded random ``share`` subsamples, on the sentences both hold, averaged
    over ``seed_pairs`` (one pair is too noisy to judge by)."""
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    config = config or NeedsConfig()
    groups = cluster_vectors(vectors, config)
    named = groups >= 0
    sizes = pd.Series(groups[named]).value_counts()
    silhouette = (float(silhouette_score(vectors[named], groups[named], metric="cosine"))
                  if sizes.size >= 2 else 0.0)  # fmt: skip
    aris, overlaps = [], []
    for pair in seed_pairs:
        runs = []
        for seed in pair:
            rng = np.random.default_rng(seed)
            rows = np.sort(rng.choice(len(vectors), int(share * len(vectors)), replace=False))
            runs.append(
                dict(zip(rows.tolist(), cluster_vectors(vectors[rows], config, seed), strict=True))
            )
        common = sorted(set(runs[0]) & set(runs[1]))
        a, b = np.array([runs[0][i] for i in common]), np.array([runs[1][i] for i in common])
        aris.append(adjusted_rand_score(a, b))
        overlaps.append(matched_overlap(a, b))
    return {"sentences": float(len(vectors)), "needs": float(sizes.size),
            "largest_share": float(sizes.max() / len(vectors)) if sizes.size else 0.0,
            "other_share": float((~named).mean()), "silhouette": silhouette,
            "stability_ari": float(np.mean(aris)), "stability_overlap": float(np.mean(overlaps))}  # fmt: skip


def matched_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """How well the named groups of one run come back in another: for each named group of
    ``a`` its best Jaccard overlap with a named group of ``b``, averaged weighted by size, and
    the same from ``b`` to ``a``; the mean of both directions (1.0: identical groups)."""

    def one_way(x: np.ndarray, y: np.ndarray) -> float:
        total, score = 0, 0.0
        for group in np.unique(x[x >= 0]):
            members = x == group
            best = max((float((members & (y == other)).sum() / (members | (y == other)).sum())
                        for other in np.unique(y[y >= 0])), default=0.0)  # fmt: skip
            score += best * members.sum()
            total += members.sum()
        return score / total if total else 1.0

    return (one_way(a, b) + one_way(b, a)) / 2


def need_clause(sentence: str) -> str:
    """The clause of a sentence that carries its need (the one a demand rule or a negative
    aspect phrase fires on; else the whole sentence): "pretty top, though it runs large" is
    grouped by "it runs large", not by the praise around it."""
    from core.aspects import extract_aspects, split_clauses
    from core.demand_rules import apply_rules

    clauses = split_clauses(sentence)
    if len(clauses) < 2:
        return sentence
    best, best_score = sentence, 0
    for clause in clauses:
        label, _ = apply_rules(clause)
        score = 2 * (label in ("complaint", "feature_request", "question"))
        score += any(m.polarity == "negative" for m in extract_aspects(clause))
        if score > best_score and len(clause.split()) >= 2:
            best, best_score = clause, score
    return best
