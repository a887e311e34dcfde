"""Text insight quality, each against the baseline an engineer would try first, in one run:

- **aspects**: detection micro-F1 and polarity accuracy of the aspect model (5-fold
  cross-validation on the team's labelled sentences of the bundled reviews,
  ``data/labels/aspects_sample_reviews.csv``) against the rules alone on the same sentences;
- **needs**: the needs of the sample's last week of need sentences (k-means on sentence
  embeddings of the need clause) against the earlier TF-IDF k-means (k <= 8): largest need's
  share, the other bucket, silhouette of both groupings in the same embedding space, and
  stability across seeds on 90 % subsamples (adjusted Rand index, matched-group overlap);
- **few-shot intents**: accuracy with 8 labelled examples per intent on the Bitext messages'
  test split (3 draws of the examples), nearest centroid and logistic regression on sentence
  embeddings against TF-IDF + LR trained on the same 8;
- **Chinese bag of words**: TF-IDF + LR on Chinese shopping reviews with scikit-learn's default
  token pattern against ShopLens's analyzer (jieba words + character bigrams).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.core_data import with_split
from common.settings import DATA_DIR

GOALS = {"aspect_detection_f1": 0.85, "aspect_polarity_accuracy": 0.85, "largest_need_share": 0.25,
         "needs_stability": 0.8, "few_shot_accuracy": 0.85}  # fmt: skip


def aspects(quick: bool) -> dict:
    from core.aspect_model import cross_validate
    from core.aspects import decode_mentions
    from core.demand_rules import split_review_sentences

    labelled = pd.read_csv(
        DATA_DIR / "labels" / "aspects_sample_reviews.csv", keep_default_na=False
    )
    reviews = pd.read_parquet(DATA_DIR / "sample" / "reviews.parquet")
    pool = split_review_sentences(reviews.sample(300 if quick else 800, random_state=1))
    pool = pool[~pool["target_id"].isin(labelled["target_id"])]["text"].tolist()
    # each sentence's review rating, as the aspects task passes it (target_id: "review:sentence")
    stars = dict(zip(reviews["review_id"].astype(str), reviews["rating"], strict=True))
    ratings = [float(stars[t.split(":")[0]]) for t in labelled["target_id"]]
    result = cross_validate(labelled["text"].tolist(), [decode_mentions(x) for x in labelled["aspects"]],
                            unlabelled=pool, folds=5, ratings=ratings)  # fmt: skip
    model, rules = result["model"], result["rules"]
    blind = result["model_without_ratings"]
    return {"labelled_sentences": len(labelled), "aspect_mentions": model["mentions"],
            "unlabelled_sentences": len(pool),
            **{f"model_{k}": round(v, 4) for k, v in model.items() if isinstance(v, float)},
            **{f"model_without_ratings_{k}": round(v, 4) for k, v in blind.items()
               if isinstance(v, float)},
            **{f"rules_{k}": round(v, 4) for k, v in rules.items() if isinstance(v, float)},
            "detection_f1_ratio_vs_rules": round(model["detection_f1"] / rules["detection_f1"], 3),
            "polarity_accuracy_ratio_vs_rules": round(
                model["polarity_accuracy"] / rules["polarity_accuracy"], 3)}  # fmt: skip


def _tfidf_kmeans(texts: list[str], seed: int) -> np.ndarray:
    """The needs grouping ShopLens used before: k-means (k <= 8) over TF-IDF of the sentences."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(ngram_range=(1, 2), stop_words="english", max_features=5000,
                        sublinear_tf=True).fit_transform([t.lower() for t in texts])  # fmt: skip
    k = int(np.clip(round(np.sqrt(len(texts) / 4)), 1, 8))
    return KMeans(n_clusters=k, random_state=seed, n_init=4).fit_predict(x)


def needs(quick: bool) -> dict:
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    from core.demand_rules import rule_labels, split_review_sentences
    from core.embeddings import embed_texts
    from core.needs import NeedsConfig, matched_overlap, need_clause, need_quality

    reviews = pd.read_parquet(DATA_DIR / "sample" / "reviews.parquet")
    week = reviews[reviews["ts"] >= reviews["ts"].max() - pd.Timedelta(days=3 if quick else 7)]
    sentences = split_review_sentences(week)
    kinds = rule_labels(sentences)["label"].isin(["complaint", "feature_request", "question"])
    texts = sentences[kinds.to_numpy()]["text"].tolist()
    vectors = embed_texts([need_clause(t) for t in texts])
    ours = need_quality(vectors, NeedsConfig())
    baseline = _tfidf_kmeans(texts, 13)
    sizes = pd.Series(baseline).value_counts()
    aris, overlaps = [], []
    for pair in ((1, 2), (3, 4), (5, 6), (7, 8)):  # the same pairs as need_quality's
        runs = []
        for seed in pair:
            rng = np.random.default_rng(seed)
            rows = np.sort(rng.choice(len(texts), int(0.9 * len(texts)), replace=False))
            labels = _tfidf_kmeans([texts[i] for i in rows], seed)
            runs.append(dict(zip(rows.tolist(), labels, strict=True)))
        common = sorted(set(runs[0]) & set(runs[1]))
        a, b = np.array([runs[0][i] for i in common]), np.array([runs[1][i] for i in common])
        aris.append(adjusted_rand_score(a, b))
        overlaps.append(matched_overlap(a, b))
    return {"need_sentences": len(texts),
            **{f"embedding_{k}": round(v, 4) for k, v in ours.items()},
            "tfidf_kmeans_needs": int(sizes.size),
            "tfidf_kmeans_largest_share": round(float(sizes.max() / len(texts)), 4),
            "tfidf_kmeans_silhouette": round(float(silhouette_score(vectors, baseline, metric="cosine")), 4),
            "tfidf_kmeans_stability_ari": round(float(np.mean(aris)), 4),
            "tfidf_kmeans_stability_overlap": round(float(np.mean(overlaps)), 4),
            "note": "silhouettes of both groupings in the same sentence-embedding space (cosine), "
                    "named needs only for the embedding grouping; stability: mean over 4 pairs of 90 % "
                    "subsamples with different seeds"}  # fmt: skip


def few_shot_intents(quick: bool, shots: int = 8) -> dict:
    from core.evaluation import fit_tfidf
    from core.fewshot import fit_few_shot

    messages = pd.read_parquet(DATA_DIR / "sample" / "messages.parquet")
    data = with_split(pd.DataFrame({"target_id": messages["message_id"], "text": messages["text"],
                                    "label": messages["label_intent"]}).dropna())  # fmt: skip
    train, test = data[data["split"] == "train"], data[data["split"] == "test"]
    if quick:
        test = test.sample(300, random_state=0)
    labels = sorted(data["label"].unique())
    truth = test["label"].to_numpy()
    scores: dict[str, list[float]] = {"centroid": [], "logistic": [], "tfidf_lr": []}
    for seed in range(1 if quick else 3):
        picked = train.groupby("label", group_keys=False).sample(shots, random_state=seed)
        for method in ("centroid", "logistic"):
            clf = fit_few_shot(
                picked["text"].tolist(), picked["label"].tolist(), labels, method=method
            )
            scores[method].append(
                float((np.array(clf.predict(test["text"].tolist())) == truth).mean())
            )
        tfidf = fit_tfidf(picked["text"], picked["label"], labels)
        predicted = np.array(labels)[tfidf.predict_proba(test["text"].tolist()).argmax(axis=1)]
        scores["tfidf_lr"].append(float((predicted == truth).mean()))
    mean = {k: round(float(np.mean(v)), 4) for k, v in scores.items()}
    return {"intents": len(labels), "examples_per_intent": shots, "draws": len(scores["tfidf_lr"]),
            "n_test": len(test), **{f"accuracy_{k}": v for k, v in mean.items()},
            "logistic_vs_tfidf_ratio": round(mean["logistic"] / mean["tfidf_lr"], 3)}  # fmt: skip


def chinese_bag_of_words(quick: bool) -> dict:
    """TF-IDF + LR on Chinese shopping reviews (online_shopping_10_cats, research use, read from
    ../shared/data): scikit-learn's default word pattern against ShopLens's analyzer (jieba
    words + character bigrams) and its classifiers' terms (plus character trigrams), same rows,
    same classifier."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import Pipeline

    from bench.core_data import shared_data_dir
    from core.text_features import analyze, classifier_terms

    path = shared_data_dir() / "online_shopping_10_cats_dev" / "online_shopping_10_cats_dev80.csv"
    data = pd.read_csv(path).dropna(subset=["review"])
    if quick:
        data = data.sample(6000, random_state=0)
    order = np.random.default_rng(0).permutation(len(data))
    cut = int(0.8 * len(data))
    texts, labels = data["review"].astype(str).to_numpy(), data["label"].to_numpy()
    out: dict = {"reviews": len(data), "n_test": len(data) - cut}
    for name, vectorizer in (
        (
            "default_pattern",
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=100_000),
        ),
        (
            "shoplens_analyzer",
            TfidfVectorizer(analyzer=analyze, sublinear_tf=True, max_features=100_000),
        ),
        (
            "shoplens_classifier_terms",
            TfidfVectorizer(analyzer=classifier_terms, sublinear_tf=True, max_features=100_000),
        ),
    ):
        model = Pipeline([("tfidf", vectorizer), ("lr", LogisticRegression(
            max_iter=2000, class_weight="balanced", C=4.0))]).fit(texts[order[:cut]], labels[order[:cut]])  # fmt: skip
        predicted = model.predict(texts[order[cut:]])
        out[f"macro_f1_{name}"] = round(
            float(f1_score(labels[order[cut:]], predicted, average="macro")), 4
        )
    out["points_gained"] = round(
        100 * (out["macro_f1_shoplens_analyzer"] - out["macro_f1_default_pattern"]), 2
    )
    return out


def main(quick: bool = False) -> dict:
    from bench.common import machine_info

    out = {"benchmark": "text_insight", "machine": machine_info(), "quick": quick, "goals": GOALS}
    out["aspects"] = aspects(quick)
    out["needs"] = needs(quick)
    out["few_shot_intents"] = few_shot_intents(quick)
    out["chinese_bag_of_words"] = chinese_bag_of_words(quick)
    return out
