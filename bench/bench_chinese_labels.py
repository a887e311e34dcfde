"""Demand and aspects on Chinese review sentences labelled in Label Studio: rules against models,
held out.

The sample: 180 clothing reviews of online_shopping_10_cats (research use: read from
``../shared/data``, never copied), 90 negative and 90 positive, none of them among the 120 the
Chinese demand rules were mended on (:mod:`bench.bench_chinese_rules`). Their 290 sentences (as
the store splits them) were ingested as a shop, routed to Label Studio by ``shoplens label push
demand`` (phone and ID numbers masked on the way), labelled there by one developer (complaint,
praise, feature request, question, other) and pulled back by ``shoplens label sync demand``.
:data:`LABELS` holds those labels, one letter per sentence in the splitter's order; no text is
stored here.

Measured on the 290 sentences, none of which any rule or model below was tuned on:

- **rules**: :func:`core.demand_rules.rule_labels`, what a shop without labels starts from;
- **model taught by the rules**: the demand baseline learner (TF-IDF of jieba words and
  character bigrams + logistic regression, :func:`core.evaluation.fit_tfidf`) fitted on the rule
  labels of 3,000 other clothing reviews' sentences (``--quick``: 600);
- **model taught by the labels**: the same learner on the labelled sentences themselves, 5-fold
  cross-validated with a review's sentences kept in one fold (every prediction is out of fold),
  alone and with the rule-labelled sentences above added to each training fold.

Reported per learner: accuracy, macro-F1 over the kinds the labels hold, and precision / recall of
complaints, praise and "a need" (a feature request, complaint or question).

The same 290 sentences' aspects (apparel set: size and fit, colour, fabric, quality, comfort,
style, price, delivery, service; each with its polarity) were labelled in the Label Studio
aspects project the same way (:data:`ASPECT_LABELS`). Reported: the aspect rules
(:func:`core.aspects.extract_aspects`) against the aspect model the platform trains once people
label (:func:`core.aspect_model.fit_aspect_model`), 5-fold out of fold as above, with the
mention metrics the aspects task is promoted on (detection precision / recall / F1, polarity
accuracy, mention-F1 where aspect and polarity must both be right) and detection F1 per aspect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.bench_chinese_rules import (
    KINDS,
    balanced,
    clothing_reviews,
    mended_on,
    precision_recall,
    review_frame,
)

# one letter per sentence of the 180 reviews, in the order core.demand_rules.split_review_sentences gives;
# c complaint, p praise, f feature request, q question, o other
LABELS = (
    "pccocccppppcccccocccccccccccppcpcccccccpcpppcpcopcccpcpcccccccccpcppopccccpcccppppppcccpccpc"
    "ccppccpcpcpppopppcpppfccccccopcccpppcppcccccccccoccppcpppppccppccccpppccppcppcppccccpoocccccp"
    "cpooccpppcccppcpppppccpppcpppcpcpppccccccpccccccccccpppopppcccppccccccccccccccccccccccccppppp"
    "pcppppfccppp"
)
# the same sentences' aspects as labelled in Label Studio, space-separated, "." for none; each
# mention is a letter for the aspect (ASPECTS) and + - 0 for positive, negative, neutral
ASPECT_LABELS = (
    ". s-v- . . q-d- q- . s+q+y+ f+q+m+d+v+ m+d+ f+m+ . f- q- q- . . v- v- v- v- v- . v- s-y- y- . "
    "q- d+v+ . s- s+f+ . . . c-v- v- . f- c+q+ v- s+ q+ f+m+ c- s0m+ c- . c+q+ f-q-p- s-v- v- c+q+ "
    "q-m+ d- s-v- s-f- q- . . p- c- . . s+m+ q- y+ s+f+m+y+ . q+ s- s- c-q- q- s+q+y+ c- . c- s+d+ "
    "s+m+ q+y+d+ m+ . s+d+ d- q- f- m+y+d+v+ . s-d-v- s+q+ q- . c- v+ . q-d- d-v- s-m+ q- s+f+ q- "
    "s+ s+c-m+ c+f+q+ s0 v+ . s+c+d+ f-v- q+ . v+ s+d- f- q-v- f-v- v- d-v- . . f+m+y+ f-q+ f- v- "
    "c+q+ s+q+d+ . v- y+ c+m+y+ c-y- v- v- v- v- . v- v- d- . d- d- s+c+q+y+ q+ f-m-y+ q+ v+ q+ . "
    "q+y+d+ q- . q+m+ s+q+y+ . c-p0 v- v- y+p+ f+m+y+ f+m+ q- p- q+p+ . f-v- p+d+v+ f+q+m+d+ . "
    "s+f+q+m+ q+ v- s- v- v- . . . q- . f-m- v- q-v- q+p+ s- . s0q+ p0 f-p- s- q+p+ . f+q+v+ c- "
    "s-f+ . . c+m+v+ c- m+p+ . s+f+q+d+ s0 q+ f- y-v- s+q+m+ s+v+ c+q+m+v+ s- . d+ . y- s+f+q+v+ s- "
    "s+q+ c+ . c-f- d-v- v- c-p-v- v- s- s+y+ c- . q- p- p- q- . . . s- s+ y+ . . . c+f+q+m+y+ f+q+ "
    "v- v- v- y+d+ f+q+ s-f-d- s- f- c-f- d- s- s- s- s- s- s- s- s- s- s- s- s- s- s- s- s- s- s- "
    "f- s+y+ f+y+p+v+ f+m+y+d+v+ . d+ s+f+q+ v- q+y+v+ s+c+f+ y+d+ . c- d- q-v- y+d+v+ . s+f+m+"
)
ASPECTS = {
    "s": "size_fit",
    "c": "colour",
    "f": "fabric",
    "q": "quality",
    "m": "comfort",
    "y": "style",
    "p": "price",
    "d": "delivery",
    "v": "service",
}
POLARITY = {"+": "positive", "-": "negative", "0": "neutral"}


def _clothing() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the 180 labelled reviews, the other clothing reviews), both as ``review_id, text,
    rating`` in a fixed order."""
    clothing = clothing_reviews()
    rest = clothing[~clothing["review"].isin(set(mended_on(clothing)["review"]))]
    rest = rest.sample(frac=1, random_state=11)
    picked = balanced(rest, 90, seed=3)
    return review_frame(picked), review_frame(rest[~rest["review"].isin(set(picked["review"]))])


def sentences() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the 290 labelled sentences with their ``label``, the other reviews' sentences)."""
    from core.demand_rules import split_review_sentences

    labelled, others = _clothing()
    split = split_review_sentences(labelled).reset_index(drop=True)
    if len(split) != len(LABELS):
        raise RuntimeError(f"{len(split)} sentences, {len(LABELS)} labels: the sample changed")
    split["label"] = [KINDS[c] for c in LABELS]
    return split, split_review_sentences(others).reset_index(drop=True)


def scores(truth: pd.Series, predicted: pd.Series) -> dict:
    """Accuracy, macro-F1 over the kinds in ``truth``, and precision / recall per kind of
    interest."""
    from sklearn.metrics import f1_score

    truth, predicted = truth.reset_index(drop=True), predicted.reset_index(drop=True)
    kinds = sorted(truth.unique())
    out: dict = {"accuracy": round(float((truth == predicted).mean()), 3),
                 "macro_f1": round(float(f1_score(truth, predicted, labels=kinds, average="macro",
                                                  zero_division=0)), 3)}  # fmt: skip
    out.update(precision_recall(truth, predicted))
    return out


def _review_folds(data: pd.DataFrame, folds: int) -> np.ndarray:
    """Each sentence's fold: a review's sentences share one, reviews dealt round in order."""
    reviews = data["review_id"].unique()
    fold_of = dict(zip(reviews, np.arange(len(reviews)) % folds, strict=True))
    return data["review_id"].map(fold_of).to_numpy()


def _cross_validated(data: pd.DataFrame, extra: pd.DataFrame | None, folds: int = 5) -> pd.Series:
    """Out-of-fold predictions of the learner fitted on the other folds' labels (and ``extra``'s
    rule labels), a review's sentences in one fold."""
    from core.demand_rules import DEMAND_LABELS
    from core.evaluation import fit_tfidf

    fold = _review_folds(data, folds)
    out = pd.Series("", index=data.index, dtype=object)
    for k in range(folds):
        train = data[fold != k]
        texts, ys = train["text"].tolist(), train["label"].tolist()
        if extra is not None:
            texts, ys = texts + extra["text"].tolist(), ys + extra["label"].tolist()
        model = fit_tfidf(texts, ys, DEMAND_LABELS)
        held = data[fold == k]
        out[held.index] = [DEMAND_LABELS[i] for i in
                           model.predict_proba(held["text"].tolist()).argmax(1)]  # fmt: skip
    return out


def aspect_gold() -> list[dict[str, str]]:
    """:data:`ASPECT_LABELS` as an aspect → polarity map per sentence."""
    return [{} if code == "." else {ASPECTS[code[i]]: POLARITY[code[i + 1]]
                                    for i in range(0, len(code), 2)}
            for code in ASPECT_LABELS.split()]  # fmt: skip


def _aspects(data: pd.DataFrame, unlabelled: list[str], folds: int = 5) -> dict:
    """The apparel aspect rules against the aspect model (:mod:`core.aspect_model`: rules' votes
    and sentence embeddings, taught by the labels) out of fold, a review's sentences in one
    fold; ``unlabelled`` teaches the model's distilled rule score."""
    from core.aspect_model import fit_aspect_model
    from core.aspects import extract_aspects, mention_metrics

    gold = aspect_gold()
    if len(gold) != len(data):
        raise RuntimeError(f"{len(data)} sentences, {len(gold)} aspect labels")
    texts = data["text"].tolist()
    fold = _review_folds(data, folds)
    predicted: list[dict[str, str]] = [{} for _ in texts]
    for k in range(folds):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        model = fit_aspect_model([texts[i] for i in train], [gold[i] for i in train],
                                 unlabelled=unlabelled)  # fmt: skip
        for i, mentions in zip(test, model.extract([texts[i] for i in test]), strict=True):
            predicted[i] = {m.aspect: m.polarity for m in mentions}
    rules = [{m.aspect: m.polarity for m in extract_aspects(t)} for t in texts]

    def rounded(metrics: dict) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in metrics.items()}

    def only(maps: list[dict[str, str]], aspect: str) -> list[dict[str, str]]:
        return [{a: p for a, p in m.items() if a == aspect} for m in maps]

    per_aspect = {}
    for aspect in ASPECTS.values():
        g = only(gold, aspect)
        per_aspect[aspect] = {
            "mentions": sum(len(x) for x in g),
            **{f"{name}_detection_f1": round(mention_metrics(g, only(found, aspect))
                                             ["detection_f1"], 3)
               for name, found in (("rules", rules), ("model", predicted))},
        }  # fmt: skip
    return {"sentences_with_an_aspect": sum(1 for g in gold if g),
            "mentions": sum(len(g) for g in gold),
            "rules": rounded(mention_metrics(gold, rules)),
            "model_taught_by_labels_cv": rounded(mention_metrics(gold, predicted)),
            "per_aspect": per_aspect}  # fmt: skip


def main(quick: bool = False) -> dict:
    from core.demand_rules import DEMAND_LABELS, rule_labels
    from core.evaluation import fit_tfidf

    data, others = sentences()
    n_other = 600 if quick else 3000
    other_reviews = others["review_id"].drop_duplicates().head(n_other)
    taught = others[others["review_id"].isin(set(other_reviews))].reset_index(drop=True)
    taught["label"] = rule_labels(taught)["label"].to_numpy()
    truth = data["label"]
    rules = rule_labels(data)["label"].reset_index(drop=True)
    by_rules = fit_tfidf(taught["text"].tolist(), taught["label"].tolist(), DEMAND_LABELS)
    rule_model = pd.Series([DEMAND_LABELS[i] for i in
                            by_rules.predict_proba(data["text"].tolist()).argmax(1)])  # fmt: skip
    out: dict = {
        "sentences": len(data), "reviews": int(data["review_id"].nunique()),
        "labelled_in": "Label Studio (shoplens label push / sync), one developer",
        "labels": truth.value_counts().to_dict(),
        "rule_labelled_sentences_for_the_models": len(taught),
        "rules": scores(truth, rules),
        "model_taught_by_rules": scores(truth, rule_model),
        "model_taught_by_labels_cv": scores(truth, _cross_validated(data, None)),
        "model_taught_by_labels_and_rules_cv": scores(truth, _cross_validated(data, taught)),
    }  # fmt: skip
    out["aspects"] = _aspects(data, taught["text"].tolist()[: 500 if quick else 2000])
    best = max(("rules", "model_taught_by_rules", "model_taught_by_labels_cv",
                "model_taught_by_labels_and_rules_cv"), key=lambda k: out[k]["macro_f1"])  # fmt: skip
    out["best_by_macro_f1"] = best
    print({k: (v["macro_f1"], v["accuracy"]) for k, v in out.items() if isinstance(v, dict)
           and "macro_f1" in v})  # fmt: skip
    return out


if __name__ == "__main__":
    main(quick=True)
