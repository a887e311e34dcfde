"""Drift detection: how many days of shifted data it takes the monitoring checks to alert, and
whether an unshifted stream stays quiet.

A TF-IDF + logistic-regression model is trained on the bundled shop's reviews (sentiment from
stars) and on its messages (intents). The reference is what it was trained on; then 21 days of
new rows arrive (150 reviews or 100 messages a day), scored by the model, checked daily over the
last 7 days (:func:`core.monitoring.daily_monitor`). Streams:

- **unshifted**: held-out rows of the same shop (no alert expected);
- **another category**: 10 % or 30 % of each day's reviews are app-store reviews (``maalej``);
- **another language**: 10 % or 30 % are Chinese product reviews (``online_shopping_10_cats``);
- **a new intent**: messages of one intent the model never saw make 10 % or 30 % of each day.

Research-use sets are read from ``../shared/data``, never copied.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bench.common import machine_info
from bench.core_data import shared_data_dir
from common.settings import DATA_DIR

DAYS = 21
SHARE = 0.3
NEW_INTENT = "get_refund"


def _model(texts: pd.Series, labels: pd.Series) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(min_df=2, ngram_range=(1, 2)),
                         LogisticRegression(max_iter=1000)).fit(texts, labels)  # fmt: skip


def _stream(own: pd.DataFrame, other: pd.DataFrame | None, per_day: int, share: float,
            seed: int) -> pd.DataFrame:  # fmt: skip
    rng = np.random.default_rng(seed)
    days = []
    for d in range(DAYS):
        n_other = int(round(per_day * share)) if other is not None else 0
        part = own.sample(per_day - n_other, random_state=int(rng.integers(1 << 30)))
        if n_other:
            part = pd.concat([part, other.sample(n_other, random_state=int(rng.integers(1 << 30)))])
        days.append(part.assign(ts=pd.Timestamp("2027-01-01") + pd.Timedelta(days=d)))
    return pd.concat(days, ignore_index=True)


def _days_to_alert(model: Any, profile: Any, stream: pd.DataFrame) -> dict[str, Any]:
    from core.monitoring import daily_monitor

    scored = stream.assign(label=model.predict(stream["text"]))
    daily = daily_monitor(profile, scored[["ts", "text", "language", "label"]])
    alerting = daily[daily["alert"]]
    first = None if alerting.empty else int((pd.Timestamp(alerting["day"].iloc[0])
                                             - pd.Timestamp("2027-01-01")).days) + 1  # fmt: skip
    return {"days_to_alert": first, "alerting_days": int(len(alerting)),
            "first_reasons": None if alerting.empty else alerting["reasons"].iloc[0],
            "last_psi": round(float(daily["psi"].dropna().iloc[-1]), 3) if daily["psi"].notna().any() else None}  # fmt: skip


def main(quick: bool = False) -> dict[str, Any]:
    from core.monitoring import reference_profile

    data = shared_data_dir()
    reviews = pd.read_parquet(DATA_DIR / "sample" / "reviews.parquet").dropna(subset=["text"])
    reviews = reviews.assign(label=np.select([reviews["rating"] <= 2, reviews["rating"] == 3],
                                             ["negative", "neutral"], "positive"),
                             language=reviews["language"].fillna("en"))  # fmt: skip
    reviews = reviews.sample(frac=1.0, random_state=0)
    cut = int(len(reviews) * 0.7)
    train, held = reviews.iloc[:cut], reviews.iloc[cut:]
    sentiment = _model(train["text"], train["label"])
    profile = reference_profile(train["text"], train["language"],
                                pd.Series(sentiment.predict(train["text"])))  # fmt: skip
    app = pd.read_csv(data / "maalej_app_review_types" / "maalej_app_reviews.csv")
    app = pd.DataFrame({"text": app["review"].astype(str), "language": "en"})
    chinese = pd.read_csv(
        data / "online_shopping_10_cats_dev" / "online_shopping_10_cats_dev80.csv"
    )
    chinese = pd.DataFrame({"text": chinese["review"].astype(str), "language": "zh"})
    out: dict[str, Any] = {"benchmark": "drift", "machine": machine_info(), "quick": quick,
                           "days": DAYS, "shifted_share": SHARE, "window_days": 7}  # fmt: skip
    own = held[["text", "language"]]
    out["reviews_unshifted"] = _days_to_alert(sentiment, profile, _stream(own, None, 150, 0, 1))
    for share in (0.1, SHARE):
        tag = f"{share:.0%}"
        out[f"reviews_another_category_{tag}"] = _days_to_alert(
            sentiment, profile, _stream(own, app, 150, share, 2))  # fmt: skip
        out[f"reviews_another_language_{tag}"] = _days_to_alert(
            sentiment, profile, _stream(own, chinese, 150, share, 3))  # fmt: skip

    messages = pd.read_parquet(DATA_DIR / "sample" / "messages.parquet")
    messages = messages.assign(language=messages["language"].fillna("en"))
    known = messages[messages["label_intent"] != NEW_INTENT].sample(frac=1.0, random_state=0)
    new = messages[messages["label_intent"] == NEW_INTENT][["text", "language"]]
    cut = int(len(known) * 0.7)
    m_train, m_held = known.iloc[:cut], known.iloc[cut:]
    intent = _model(m_train["text"], m_train["label_intent"])
    m_profile = reference_profile(m_train["text"], m_train["language"],
                                  pd.Series(intent.predict(m_train["text"])))  # fmt: skip
    m_own = m_held[["text", "language"]]
    out["messages_unshifted"] = _days_to_alert(intent, m_profile, _stream(m_own, None, 100, 0, 4))
    for share in (0.1, SHARE):
        out[f"messages_new_intent_{share:.0%}"] = _days_to_alert(
            intent, m_profile, _stream(m_own, new, 100, share, 5))  # fmt: skip
    out["quiet_when_unshifted"] = (out["reviews_unshifted"]["alerting_days"] == 0
                                   and out["messages_unshifted"]["alerting_days"] == 0)  # fmt: skip
    return out
