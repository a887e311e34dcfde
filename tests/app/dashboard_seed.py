"""A small deterministic shop for dashboard tests, written with parameterised INSERTs.

Three weeks of events for 60 shoppers over 4 categories (items with prices), reviews with star
ratings (some holding PII and formula-like text), support messages, and predictions of one model
version per task, labels, a test split and registry rows, so every page has something to show.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np

from core.ids import sentence_id
from core.tasks import get_task
from db import rollups
from db.repo.models import VersionRow, register_version, set_active
from db.store import Store

SHOP = "demo"
START = datetime(2024, 3, 1)
DAYS = 21
CATEGORIES = ("dresses", "shoes", "bags", "tops")
INTENTS = ("track_order", "get_refund", "cancel_order", "delivery_period")
REVIEW_TEXTS = {
    5: "Love this dress, the fabric is soft. Great fit and fast delivery.",
    4: "Nice shoes and comfortable. Wish it came in blue.",
    3: "It is okay. The size runs small, please add a size chart.",
    2: "The zip broke after a week. Customer service was slow.",
    1: "Terrible quality, the bag strap broke. I want a refund.",
}
SPECIAL_REVIEWS = [
    ("r-pii", 2, "Mail me at jane.doe@example.com or call +1 415 555 0100, the strap broke."),
    ("r-formula", 1, '=HYPERLINK("http://evil") broken on arrival. Can you add a longer strap?'),
]


def _probs(labels: tuple[str, ...], chosen: str, confidence: float) -> dict[str, float]:
    rest = (1 - confidence) / (len(labels) - 1)
    return {label: (confidence if label == chosen else rest) for label in labels}


def _entropy_margin(probs: dict[str, float]) -> tuple[float, float]:
    p = np.array(sorted((v for v in probs.values() if isinstance(v, float)), reverse=True))
    return float(-(p * np.log(np.clip(p, 1e-12, 1))).sum()), float(p[0] - p[1])


def seed_shop(store: Store, shop_id: str = SHOP, users: int = 60, seed: int = 7) -> None:
    """Write the demo shop into an initialised store."""
    rng = np.random.default_rng(seed)
    now = START + timedelta(days=DAYS + 1)
    events, items = [], []
    for c, category in enumerate(CATEGORIES):
        for k in range(5):
            item_id = f"{category[:3]}-{k}"
            items.append((shop_id, item_id, f"{category.title()} {k}", category, 20.0 + 10 * c + k))
    key = 0
    for u in range(users):
        user = f"u{u:03d}"
        first_day = int(rng.integers(0, DAYS))
        for s in range(int(rng.integers(1, 5))):
            day = first_day + int(rng.integers(0, 7)) * s
            if day >= DAYS:
                break
            ts = START + timedelta(days=day, hours=int(rng.integers(8, 22)))
            session = f"{user}-s{s}"
            category = CATEGORIES[int(rng.integers(0, len(CATEGORIES)))]
            item = f"{category[:3]}-{int(rng.integers(0, 5))}"
            steps = ["view"] * int(rng.integers(1, 6))
            if rng.random() < 0.45:
                steps.append("cart")
                if rng.random() < 0.55:
                    steps.append("purchase")
            for step in steps:
                key += 1
                ts += timedelta(seconds=int(rng.integers(20, 200)))
                events.append((key, shop_id, user, session, item, category, step, None, ts))
    # one bot-like session: 80 views in two minutes
    for n in range(80):
        key += 1
        ts = START + timedelta(days=DAYS - 2, hours=3, seconds=n)
        events.append((key, shop_id, "u-bot", "bot-1", "dre-0", "dresses", "view", None, ts))

    reviews, messages, labels, predictions, splits, sentences = [], [], [], [], [], []
    sentiment_labels = ("negative", "neutral", "positive")
    demand_labels = ("feature_request", "complaint", "praise", "question", "other")
    for r in range(48):
        rating = int(rng.integers(1, 6))
        item = f"{CATEGORIES[r % 4][:3]}-{r % 5}"
        ts = START + timedelta(days=int(r * DAYS / 48), hours=12)
        reviews.append(
            (shop_id, f"r{r:03d}", item, f"u{r:03d}", rating, None, REVIEW_TEXTS[rating], ts, "en")
        )
    for review_id, rating, text in SPECIAL_REVIEWS:
        reviews.append(
            (
                shop_id,
                review_id,
                "bag-1",
                "u001",
                rating,
                None,
                text,
                START + timedelta(days=DAYS - 1),
                "en",
            )
        )
    for review in reviews:
        review_id, rating, text = review[1], review[4], review[6]
        truth = "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"
        # the model disagrees with the stars on every 7th review
        predicted = (
            "negative" if (int(review_id[1:]) if review_id[1:].isdigit() else 0) % 7 == 3 else truth
        )
        probs = _probs(sentiment_labels, predicted, 0.55 + 0.4 * rng.random())
        predictions.append(("sentiment", review_id, predicted, probs))
        labels.append(("sentiment", review_id, truth, "derived"))
        splits.append(("sentiment", review_id, "test" if rng.random() < 0.5 else "train"))
        for n, sentence in enumerate(s.strip() for s in text.split(". ") if s.strip()):
            low = sentence.lower()
            label = (
                "feature_request"
                if "wish" in low or "add" in low
                else "complaint"
                if "broke" in low or "slow" in low or "terrible" in low
                else "question"
                if "?" in sentence
                else "praise"
                if "love" in low or "great" in low
                else "other"
            )
            predictions.append(
                ("demand", sentence_id(review_id, n), label, _probs(demand_labels, label, 0.7))
            )
            sentences.append((shop_id, sentence_id(review_id, n), review_id, n, sentence))
    for m in range(30):
        intent = INTENTS[m % len(INTENTS)]
        text = {
            "track_order": "Where is my order? It has not arrived.",
            "get_refund": "I want my money back for the broken bag.",
            "cancel_order": "Please cancel my order.",
            "delivery_period": "How long does delivery take?",
        }[intent]
        ts = START + timedelta(days=m * DAYS // 30, hours=10)
        messages.append((shop_id, f"m{m:03d}", f"u{m:03d}", "support", text, ts, "en"))
        confidence = 0.4 + 0.5 * rng.random()
        predictions.append(("intent", f"m{m:03d}", intent, _probs(INTENTS, intent, confidence)))
    # the shopper forecasts, as core.kinds.shopper_forecast writes them: one row per shopper
    for user in sorted({e[2] for e in events}):
        p, c = float(rng.random()), float(rng.random())
        predictions.append(("purchase", user, "purchase" if p > 0.5 else "no_purchase",
                            {"no_purchase": 1 - p, "purchase": p}))  # fmt: skip
        predictions.append(("churn", user, "churns" if c > 0.5 else "stays",
                            {"stays": 1 - c, "churns": c}))  # fmt: skip
    for user in sorted({e[2] for e in events}):
        r = 0.97 if user == "u-bot" else float(rng.random()) * 0.3
        # as core.risk writes them: one row per shopper, the reason in its own column
        predictions.append(
            (
                "risk",
                user,
                "anomalous" if r > 0.5 else "normal",
                {"normal": 1 - r, "anomalous": r},
                "80 events in one minute" if r > 0.5 else None,
            )
        )

    version = "v-demo-1"
    with store.write() as con:
        con.execute("INSERT INTO shops VALUES (?, ?, ?)", [shop_id, "Demo shop", START])
        con.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", items)
        con.executemany(
            "INSERT INTO events (event_key, shop_id, user_id, session_id, item_id, category, "
            "event_type, query, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            events,
        )
        rollups.rebuild(con, shop_id)  # as ingestion keeps them
        con.executemany(
            "INSERT INTO reviews (shop_id, review_id, item_id, user_id, rating, title, text, ts, "
            "language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            reviews,
        )
        con.executemany(
            "INSERT INTO messages (shop_id, message_id, user_id, channel, text, ts, language) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            messages,
        )
        rows = []
        for task, target, label, probs, *reason in predictions:
            entropy, margin = _entropy_margin(probs)
            rows.append((shop_id, task, target, version, label, json.dumps(probs), entropy,
                         margin, reason[0] if reason else None, now))  # fmt: skip
        con.executemany(
            "INSERT INTO predictions (shop_id, task, target_id, model_version, label, probs, "
            "entropy, margin, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.executemany("INSERT INTO review_sentences VALUES (?, ?, ?, ?, ?)", sentences)
        con.executemany(
            "INSERT INTO labels (label_id, shop_id, task, target_id, label, source, created_at) "
            "VALUES (nextval('labels_seq'), ?, ?, ?, ?, ?, ?)",
            [(shop_id, t, target, label, source, now) for t, target, label, source in labels],
        )
        con.executemany(
            "INSERT INTO data_splits VALUES (?, ?, ?, ?)",
            [(shop_id, t, target, split) for t, target, split in splits],
        )
    for task in ("sentiment", "intent", "demand", "purchase", "churn", "risk"):
        metrics = {"model": {"macro_f1": 0.71, "accuracy": 0.8},
                   "baseline": {"macro_f1": 0.62, "accuracy": 0.74}}  # fmt: skip
        register_version(store, VersionRow(shop_id, task, version, get_task(task).kind,
                                           "encoder_blend", now, metrics=metrics,
                                           train_seconds=12.5))  # fmt: skip
        set_active(store, shop_id, task, version)
