"""The task registry: what each model predicts, its label set, and where its data comes from.

A task is one :class:`TaskSpec` registered with :func:`register_task`. Text tasks (sentiment,
intent, demand, purchase) give the trainer a frame of texts and a frame of labels; the behaviour
task ``risk`` is unsupervised (see :mod:`core.risk`). Labels merge by source: a human label beats
a rule label, which beats a label derived from the data (star ratings, a data set's annotations).

    >>> get_task("sentiment").labels
    ('negative', 'neutral', 'positive')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from common.errors import InputError
from core.demand import DEMAND_LABELS, rule_labels, split_review_sentences
from core.sessions import session_texts

if TYPE_CHECKING:
    from db.store import Store

SOURCE_RANK = {"derived": 0, "rule": 1, "human": 2}
LABEL_COLUMNS = ["target_id", "label", "source"]

# The 27 Bitext customer-support intents and the 11 categories they belong to.
INTENT_CATEGORIES: dict[str, str] = {
    "create_account": "ACCOUNT", "delete_account": "ACCOUNT", "edit_account": "ACCOUNT",
    "recover_password": "ACCOUNT", "registration_problems": "ACCOUNT", "switch_account": "ACCOUNT",
    "check_cancellation_fee": "CANCELLATION_FEE",
    "contact_customer_service": "CONTACT", "contact_human_agent": "CONTACT",
    "delivery_options": "DELIVERY", "delivery_period": "DELIVERY",
    "complaint": "FEEDBACK", "review": "FEEDBACK",
    "check_invoice": "INVOICE", "get_invoice": "INVOICE",
    "newsletter_subscription": "NEWSLETTER",
    "cancel_order": "ORDER", "change_order": "ORDER", "place_order": "ORDER", "track_order": "ORDER",
    "check_payment_methods": "PAYMENT", "payment_issue": "PAYMENT",
    "check_refund_policy": "REFUND", "get_refund": "REFUND", "track_refund": "REFUND",
    "change_shipping_address": "SHIPPING_ADDRESS", "set_up_shipping_address": "SHIPPING_ADDRESS",
}  # fmt: skip


@dataclass(frozen=True)
class TaskSpec:
    """One prediction task: its labels and how its texts and labels load from the store.

    ``load_texts(store, shop_id)`` returns a frame with ``target_id`` and ``text`` (plus context
    columns); ``load_labels(store, shop_id)`` returns ``target_id, label, source`` with one row per
    target, the strongest source winning. ``trainable`` is False for unsupervised tasks.
    """

    name: str
    labels: tuple[str, ...]
    description: str
    load_texts: Callable[[Store, str], pd.DataFrame]
    load_labels: Callable[[Store, str], pd.DataFrame]
    trainable: bool = True
    max_length: int = 128


TASKS: dict[str, TaskSpec] = {}


def register_task(
    name: str, labels: tuple[str, ...], description: str, **options: object
) -> Callable[[Callable[[Store, str], pd.DataFrame]], Callable[[Store, str], pd.DataFrame]]:
    """Register a task whose text loader is the decorated function.

    The label loader is ``options["load_labels"]`` (default: the task's rows of the labels
    table, strongest source first).
    """

    def decorate(
        load_texts: Callable[[Store, str], pd.DataFrame],
    ) -> Callable[[Store, str], pd.DataFrame]:
        if name in TASKS:
            raise ValueError(f"task {name!r} is registered twice")
        load_labels = options.pop("load_labels", None) or (
            lambda store, shop_id: stored_labels(store, shop_id, name)
        )
        TASKS[name] = TaskSpec(name, labels, description, load_texts, load_labels, **options)
        return load_texts

    return decorate


def get_task(name: str) -> TaskSpec:
    """The registered task called ``name``; an :class:`InputError` lists the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        known = ", ".join(sorted(TASKS))
        raise InputError(f"unknown task {name!r}; choose one of: {known}") from None


def check_target(task: str, shop_id: str) -> TaskSpec:
    """Validate a task name and a shop id given by a user; returns the task."""
    from db.shops import check_shop_id

    check_shop_id(shop_id)
    return get_task(task)


def text_tasks() -> list[str]:
    """Names of the tasks a text classifier is trained for."""
    return [name for name, spec in TASKS.items() if spec.trainable]


def merge_labels(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One label per target: human > rule > derived; the newest wins within a source."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=LABEL_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    if "created_at" not in df:
        df["created_at"] = pd.NaT
    df["rank"] = df["source"].map(SOURCE_RANK).fillna(0)
    df = df.sort_values(["rank", "created_at"], na_position="first", kind="stable")
    df = df.drop_duplicates("target_id", keep="last")
    return df[LABEL_COLUMNS].sort_values("target_id").reset_index(drop=True)


def stored_labels(store: Store, shop_id: str, task: str) -> pd.DataFrame:
    """The labels table's rows for one task and shop (every source), merged to one per target."""
    df = store.query_df(
        "SELECT target_id, label, source, created_at FROM labels WHERE shop_id = ? AND task = ?",
        [shop_id, task],
    )
    return merge_labels([df])


def rating_to_sentiment(rating: float | None) -> str | None:
    """Star rating to sentiment: 1-2 negative, 3 neutral, 4-5 positive (None when unknown)."""
    if rating is None or pd.isna(rating):
        return None
    return "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"


def _review_frame(store: Store, shop_id: str) -> pd.DataFrame:
    return store.query_df(
        "SELECT review_id, title, text, rating, language FROM reviews WHERE shop_id = ? "
        "ORDER BY review_id",
        [shop_id],
    )


def _sentiment_labels(store: Store, shop_id: str) -> pd.DataFrame:
    reviews = _review_frame(store, shop_id)
    derived = pd.DataFrame(
        {
            "target_id": reviews["review_id"],
            "label": reviews["rating"].map(rating_to_sentiment),
            "source": "derived",
        }
    ).dropna(subset=["label"])
    return merge_labels([derived, stored_labels(store, shop_id, "sentiment")])


@register_task(
    "sentiment",
    ("negative", "neutral", "positive"),
    "Reviews: negative / neutral / positive (from star ratings until a human labels them).",
    load_labels=_sentiment_labels,
)
def _sentiment_texts(store: Store, shop_id: str) -> pd.DataFrame:
    reviews = _review_frame(store, shop_id)
    title = reviews["title"].fillna("").str.strip()
    text = reviews["text"].fillna("")
    joined = title.where(title == "", title + ". ") + text
    return pd.DataFrame(
        {"target_id": reviews["review_id"], "text": joined, "language": reviews["language"]}
    )


@register_task(
    "intent",
    tuple(sorted(INTENT_CATEGORIES)),
    "Customer messages: the 27 Bitext intents (each belongs to one of 11 categories).",
)
def _intent_texts(store: Store, shop_id: str) -> pd.DataFrame:
    return store.query_df(
        "SELECT message_id AS target_id, text, channel, language FROM messages "
        "WHERE shop_id = ? ORDER BY message_id",
        [shop_id],
    )


def intent_category(intent: str) -> str:
    """The Bitext category of an intent (``OTHER`` for an intent outside the 27)."""
    return INTENT_CATEGORIES.get(intent, "OTHER")


@register_task(
    "demand",
    DEMAND_LABELS,
    "Review sentences: feature_request / complaint / praise / question / other "
    "(rule-based labelling functions until humans label them).",
    load_labels=lambda store, shop_id: _demand_labels(store, shop_id),
)
def _demand_texts(store: Store, shop_id: str) -> pd.DataFrame:
    return split_review_sentences(_review_frame(store, shop_id))


def _demand_labels(store: Store, shop_id: str) -> pd.DataFrame:
    sentences = split_review_sentences(_review_frame(store, shop_id))
    rules = rule_labels(sentences)[["target_id", "label", "source"]]
    return merge_labels([rules, stored_labels(store, shop_id, "demand")])


def _purchase_frame(store: Store, shop_id: str) -> pd.DataFrame:
    events = store.query_df(
        "SELECT session_id, user_id, category, event_type, query, ts FROM events "
        "WHERE shop_id = ? ORDER BY session_id, ts",
        [shop_id],
    )
    return session_texts(events)


def _purchase_labels(store: Store, shop_id: str) -> pd.DataFrame:
    sessions = _purchase_frame(store, shop_id)
    derived = pd.DataFrame(
        {
            "target_id": sessions["target_id"],
            "label": sessions["bought"].map({True: "purchase", False: "no_purchase"}),
            "source": "derived",
        }
    )
    return merge_labels([derived, stored_labels(store, shop_id, "purchase")])


@register_task(
    "purchase",
    ("no_purchase", "purchase"),
    "Sessions: will this session end in a purchase? (events serialised as text, cut before the "
    "first purchase).",
    load_labels=_purchase_labels,
)
def _purchase_texts(store: Store, shop_id: str) -> pd.DataFrame:
    sessions = _purchase_frame(store, shop_id)
    return sessions[["target_id", "text", "user_id", "n_events"]]


def _risk_texts(store: Store, shop_id: str) -> pd.DataFrame:
    return pd.DataFrame(columns=["target_id", "text"])


TASKS["risk"] = TaskSpec(
    "risk",
    ("normal", "anomalous"),
    "Users and sessions: unsupervised anomaly score with a human-readable reason per flag.",
    _risk_texts,
    lambda store, shop_id: pd.DataFrame(columns=LABEL_COLUMNS),
    trainable=False,
)


def record_rule_labels(store: Store, shop_id: str) -> int:
    """Write the demand labelling functions' labels (source ``rule``, with the function's name)
    for sentences that have no stored demand label yet; returns how many were written."""
    from datetime import UTC, datetime

    sentences = split_review_sentences(_review_frame(store, shop_id))
    have = store.query_df(
        "SELECT DISTINCT target_id FROM labels WHERE shop_id = ? AND task = 'demand'", [shop_id]
    )
    todo = sentences[~sentences["target_id"].isin(have["target_id"])]
    if todo.empty:
        return 0
    rows = rule_labels(todo).assign(
        shop_id=shop_id, task="demand", created_at=datetime.now(UTC).replace(tzinfo=None)
    )
    with store.write() as con:
        con.register("rule_rows", rows)
        con.execute(
            "INSERT INTO labels (label_id, shop_id, task, target_id, label, source, rule_name, "
            "created_at) SELECT nextval('labels_seq'), shop_id, task, target_id, label, source, "
            "rule_name, created_at FROM rule_rows"
        )
    return len(rows)
