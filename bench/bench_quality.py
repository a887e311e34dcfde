"""Model quality on held-out test splits: sentiment vs TF-IDF+LR, intent accuracy, demand vs
the rule-based labelling functions on human-labelled app reviews (maalej, panichella: research
use, read from ``../shared/data``), and purchase AUC of (a) the transformer over serialised
events vs (b) gradient boosting on session features (Taobao slice), plus (b) on the UCI sessions.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score, roc_auc_score

from bench.core_data import (
    isolated_home,
    load_reviews,
    sentiment_frame,
    shared_data_dir,
    with_split,
)
from common.settings import DATA_DIR

FAST = {"trainable_layers": 2, "epochs": 3, "device": "cpu"}


def _train(task: str, labels: tuple[str, ...], data: pd.DataFrame, **overrides):
    from core.text_model import fit_split_frame
    from core.training import TrainingConfig

    return fit_split_frame(labels, data, TrainingConfig(**{**FAST, **overrides}))


def _sample(data: pd.DataFrame, quick: bool, frac: float = 0.1) -> pd.DataFrame:
    return (
        data.groupby("split", group_keys=False).sample(frac=frac, random_state=0) if quick else data
    )


def sentiment(quick: bool) -> dict:
    data = _sample(with_split(sentiment_frame(load_reviews())), quick, 0.05)
    r = _train("sentiment", ("negative", "neutral", "positive"), data, max_minutes=5.0)
    m = r.metrics
    return {"macro_f1": round(m["model"]["macro_f1"], 4),
            "macro_f1_encoder_only": round(m["encoder_only"]["macro_f1"], 4),
            "macro_f1_tfidf_lr": round(m["baselines"]["tfidf_lr"]["macro_f1"], 4),
            "points_over_tfidf": round(100 * (m["model"]["macro_f1"]
                                              - m["baselines"]["tfidf_lr"]["macro_f1"]), 2),
            "n_test": r.n_test}  # fmt: skip


def intent(quick: bool) -> dict:
    from core.intents import parse_taxonomy

    taxonomy = parse_taxonomy((DATA_DIR / "sample" / "intents.json").read_text(encoding="utf-8"))
    msgs = pd.read_parquet(DATA_DIR / "sample" / "messages.parquet")
    data = pd.DataFrame({"target_id": msgs["message_id"], "text": msgs["text"],
                         "label": msgs["label_intent"]}).dropna()  # fmt: skip
    data = _sample(with_split(data), quick, 0.2)
    r = _train("intent", taxonomy.names, data, max_minutes=4.0)
    cm = np.array(r.metrics["model"]["confusion_matrix"])
    labels = list(taxonomy.names)
    cats = [taxonomy.category(x) for x in labels]
    cat_correct = sum(cm[i, j] for i in range(len(labels)) for j in range(len(labels))
                      if cats[i] == cats[j])  # fmt: skip
    return {"accuracy": round(r.metrics["model"]["accuracy"], 4),
            "accuracy_encoder_only": round(r.metrics["encoder_only"]["accuracy"], 4),
            "accuracy_tfidf_lr": round(r.metrics["baselines"]["tfidf_lr"]["accuracy"], 4),
            "category_accuracy": round(cat_correct / cm.sum(), 4),
            "macro_f1": round(r.metrics["model"]["macro_f1"], 4), "n_test": r.n_test}  # fmt: skip


DEMAND_SETS = {
    "panichella": ("panichella_app_review_sentences/panichella_app_review_sentences.csv", "review",
                   "class", {"feature request": "feature_request", "problem discovery": "complaint",
                             "information seeking": "question", "information giving": "other"},
                   {"praise": "other"}),
    "maalej": ("maalej_app_review_types/maalej_app_reviews.csv", "review", "task",
               {"FR": "feature_request", "PD": "complaint", "RT": "praise", "UE": "other"},
               {"question": "other"}),
}  # fmt: skip


def demand(quick: bool) -> dict:
    from core.demand_rules import apply_rules

    out = {}
    for name, (path, text_col, label_col, mapping, fold) in DEMAND_SETS.items():
        raw = pd.read_csv(shared_data_dir() / path).drop_duplicates(text_col)
        data = pd.DataFrame({"target_id": [f"{name}-{i}" for i in range(len(raw))],
                             "text": raw[text_col].astype(str).to_numpy(),
                             "label": raw[label_col].map(mapping).to_numpy()}).dropna()  # fmt: skip
        data = _sample(with_split(data), quick, 0.3)
        test = data[data["split"] == "test"]
        labels = tuple(sorted(set(mapping.values())))
        rules = [fold.get(apply_rules(t)[0], apply_rules(t)[0]) for t in test["text"]]
        rules_f1 = f1_score(
            test["label"], rules, labels=list(labels), average="macro", zero_division=0
        )
        r = _train(f"demand_{name}", labels, data, max_minutes=3.0)
        out[name] = {"rules_macro_f1": round(rules_f1, 4),
                     "model_macro_f1": round(r.metrics["model"]["macro_f1"], 4),
                     "tfidf_lr_macro_f1": round(r.metrics["baselines"]["tfidf_lr"]["macro_f1"], 4),
                     "n_train": r.n_train, "n_test": r.n_test,
                     "label_mapping": mapping}  # fmt: skip
    return out


def _taobao_events(quick: bool) -> pd.DataFrame:
    from core.sessions import sessionize

    raw = pd.read_csv(shared_data_dir() / "taobao_user_behavior_sample" / "events.csv")
    if quick:
        raw = raw[raw["user_id"].isin(raw["user_id"].unique()[:150])]
    ev = pd.DataFrame({
        "user_id": raw["user_id"].astype(str), "item_id": raw["item_id"].astype(str),
        "category": "c" + raw["category_id"].astype(str),
        "event_type": raw["behavior_type"].map({"pv": "view", "cart": "cart", "fav": "fav",
                                                "buy": "purchase"}),
        "query": None, "ts": pd.to_datetime(raw["timestamp"], unit="s"),
    }).sort_values(["user_id", "ts"], kind="stable")  # fmt: skip
    ev["session_id"] = sessionize(ev)
    return ev


def _gbm_auc(x_train, y_train, x_test, y_test, seed: int = 0) -> float:
    gbm = HistGradientBoostingClassifier(random_state=seed, max_iter=300, learning_rate=0.05)
    gbm.fit(x_train, y_train)
    return float(roc_auc_score(y_test, gbm.predict_proba(x_test)[:, 1]))


def purchase(quick: bool) -> dict:
    from core.sessions import FEATURE_COLUMNS, session_features, session_texts

    ev = _taobao_events(quick)
    texts = session_texts(ev)
    data = pd.DataFrame({"target_id": texts["target_id"], "text": texts["text"],
                         "label": np.where(texts["bought"], "purchase", "no_purchase")})  # fmt: skip
    data = with_split(data)
    r = _train("purchase", ("no_purchase", "purchase"), data, max_minutes=4.0,
               max_train_examples=4000 if not quick else 500, max_length=128)  # fmt: skip
    feats = session_features(ev).reindex(data["target_id"])
    split = data["split"].to_numpy()
    y = (data["label"] == "purchase").to_numpy()
    train, test = split != "test", split == "test"
    x = feats[FEATURE_COLUMNS].to_numpy()
    out = {"taobao": {"sessions": len(data), "purchase_rate": round(float(y.mean()), 4),
                      "auc_a_transformer": r.metrics["model"].get("roc_auc"),
                      "auc_a_encoder_only": r.metrics["encoder_only"].get("roc_auc"),
                      "auc_b_gbm": round(_gbm_auc(x[train], y[train], x[test], y[test]), 4)}}  # fmt: skip
    uci = pd.read_parquet(DATA_DIR / "sample" / "sessions.parquet")
    yu = uci["revenue"].astype(bool).to_numpy()
    xu = pd.get_dummies(
        uci.drop(columns=["session_id", "revenue"]), columns=["month", "visitor_type"]
    )
    xu = xu.astype(float).to_numpy()
    rng = np.random.default_rng(42)
    test_u = rng.random(len(yu)) < 0.15
    out["uci"] = {"sessions": len(yu), "auc_b_gbm": round(_gbm_auc(xu[~test_u], yu[~test_u],
                                                                   xu[test_u], yu[test_u]), 4)}  # fmt: skip
    return out


def main(quick: bool = False) -> dict:
    isolated_home("quality")
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "0")) or torch.get_num_threads())
    parts = os.environ.get("BENCH_QUALITY_PARTS", "sentiment,intent,demand,purchase").split(",")
    funcs = {"sentiment": sentiment, "intent": intent, "demand": demand, "purchase": purchase}
    result = {name: funcs[name](quick) for name in parts}
    print(result)
    return result
