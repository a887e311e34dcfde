"""The store's schema: SQLModel tables over DuckDB.

Every row carries ``shop_id`` so several shops can share one store. Timestamps are UTC and stored
without a zone. Tables the ingestion path fills in bulk (events above all) are written with plain
DuckDB SQL for speed; the models below are the single definition of their columns.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Sequence, String, Table
from sqlalchemy.types import JSON, BigInteger, Boolean, Date, DateTime, Double, Integer
from sqlmodel import Field, SQLModel
from sqlmodel.main import get_column_from_field

EVENT_TYPES = ("view", "cart", "fav", "purchase", "search")
LABEL_SOURCES = ("derived", "rule", "human")  # weakest first: a later one wins
MESSAGE_CHANNELS = ("support", "search", "chat", "email")


class Shop(SQLModel, table=True):
    __tablename__ = "shops"
    shop_id: str = Field(primary_key=True, max_length=64)
    name: str
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "users"
    shop_id: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    first_seen: datetime | None = Field(default=None, sa_column=Column(DateTime))
    last_seen: datetime | None = Field(default=None, sa_column=Column(DateTime))


class Item(SQLModel, table=True):
    __tablename__ = "items"
    shop_id: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True)
    title: str | None = None
    category: str | None = None
    price: float | None = Field(default=None, sa_column=Column(Double))


class Event(SQLModel):
    """One behaviour event. ``event_key`` is a hash of the event's content, so ingesting the same
    event twice adds nothing. The table has no primary-key index on purpose: DuckDB maintains such
    an index row by row (about 30 s per 5M rows here), while an anti-join on ``event_key`` dedups
    5M rows in well under a second."""

    event_key: int = Field(sa_column=Column(BigInteger, nullable=False))
    shop_id: str = Field(sa_column=Column(String, nullable=False))
    user_id: str = Field(sa_column=Column(String, nullable=False))
    session_id: str = Field(sa_column=Column(String, nullable=False))
    item_id: str | None = Field(default=None, sa_column=Column(String))
    category: str | None = Field(default=None, sa_column=Column(String))
    event_type: str = Field(sa_column=Column(String, nullable=False))  # one of EVENT_TYPES
    query: str | None = Field(default=None, sa_column=Column(String))  # search text
    ts: datetime = Field(sa_column=Column(DateTime, nullable=False))
    ingest_id: int | None = Field(default=None, sa_column=Column(BigInteger))


def _table_without_key(name: str, model: type[SQLModel]) -> Table:
    """A table for a non-mapped SQLModel row model (for bulk tables that need no key index)."""
    columns = []
    for field_name, field in model.model_fields.items():
        column = get_column_from_field(field)
        column.name = column.key = field_name
        columns.append(column)
    return Table(name, SQLModel.metadata, *columns)


events_table = _table_without_key("events", Event)


class ActivityDay(SQLModel):
    """Summary of one day of a shop's events (see :mod:`db.rollups`): one row per category
    (``total`` false; a NULL category is its own row) and one over all categories (``total``
    true, category NULL). Rewritten for the touched days whenever events are ingested."""

    shop_id: str = Field(sa_column=Column(String, nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))
    category: str | None = Field(default=None, sa_column=Column(String))
    total: bool = Field(sa_column=Column(Boolean, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    sessions: int = Field(sa_column=Column(BigInteger, nullable=False))
    shoppers: int = Field(sa_column=Column(BigInteger, nullable=False))
    buyers: int = Field(sa_column=Column(BigInteger, nullable=False))
    views: int = Field(sa_column=Column(BigInteger, nullable=False))
    carts: int = Field(sa_column=Column(BigInteger, nullable=False))
    purchases: int = Field(sa_column=Column(BigInteger, nullable=False))


class UserWeek(SQLModel):
    """One shopper's events in one week (Monday start): how many, and the first one's time."""

    shop_id: str = Field(sa_column=Column(String, nullable=False))
    user_id: str = Field(sa_column=Column(String, nullable=False))
    week: date = Field(sa_column=Column(Date, nullable=False))
    first_ts: datetime = Field(sa_column=Column(DateTime, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))


class UserFirst(SQLModel):
    """One shopper's first event time and events over the whole log (what "new" and "returning"
    shoppers, cohorts and the most active shoppers read without grouping every week)."""

    shop_id: str = Field(sa_column=Column(String, nullable=False))
    user_id: str = Field(sa_column=Column(String, nullable=False))
    first_ts: datetime = Field(sa_column=Column(DateTime, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))


class SessionDay(SQLModel):
    """One session's events on one day (see :mod:`db.rollups`): one row per category the
    session touched that day (``total`` false; a NULL category is its own row) and one over all
    its categories (``total`` true, category NULL). ``split``: the session has more than one
    ``total`` row in the log (it crosses midnight, or shoppers share its id), so only its rows
    need grouping when sessions are counted; every other row is a session of its own."""

    shop_id: str = Field(sa_column=Column(String, nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))
    session_id: str = Field(sa_column=Column(String, nullable=False))
    user_id: str = Field(sa_column=Column(String, nullable=False))
    category: str | None = Field(default=None, sa_column=Column(String))
    total: bool = Field(sa_column=Column(Boolean, nullable=False))
    split: bool = Field(sa_column=Column(Boolean, nullable=False))
    events: int = Field(sa_column=Column(Integer, nullable=False))
    views: int = Field(sa_column=Column(Integer, nullable=False))
    carts: int = Field(sa_column=Column(Integer, nullable=False))
    purchases: int = Field(sa_column=Column(Integer, nullable=False))
    first_ts: datetime = Field(sa_column=Column(DateTime, nullable=False))
    last_ts: datetime = Field(sa_column=Column(DateTime, nullable=False))


class PurchaseEvent(SQLModel):
    """One purchase event (see :mod:`db.rollups`), in time order: what revenue and order
    value read (the prices are the items' at query time) instead of the whole log."""

    shop_id: str = Field(sa_column=Column(String, nullable=False))
    ts: datetime = Field(sa_column=Column(DateTime, nullable=False))
    user_id: str = Field(sa_column=Column(String, nullable=False))
    item_id: str | None = Field(default=None, sa_column=Column(String))
    category: str | None = Field(default=None, sa_column=Column(String))


activity_daily_table = _table_without_key("activity_daily", ActivityDay)
user_weeks_table = _table_without_key("user_weeks", UserWeek)
user_firsts_table = _table_without_key("user_firsts", UserFirst)
session_days_table = _table_without_key("session_days", SessionDay)
purchase_events_table = _table_without_key("purchase_events", PurchaseEvent)


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    shop_id: str = Field(primary_key=True)
    review_id: str = Field(primary_key=True)
    item_id: str | None = None
    user_id: str | None = None
    rating: int | None = None
    title: str | None = None
    text: str
    ts: datetime | None = Field(default=None, sa_column=Column(DateTime))
    language: str | None = None
    ingest_id: int | None = None


class Message(SQLModel, table=True):
    """A customer-service message or a search text typed by a shopper."""

    __tablename__ = "messages"
    shop_id: str = Field(primary_key=True)
    message_id: str = Field(primary_key=True)
    user_id: str | None = None
    channel: str = "support"  # one of MESSAGE_CHANNELS
    text: str
    ts: datetime | None = Field(default=None, sa_column=Column(DateTime))
    language: str | None = None
    ingest_id: int | None = None


class WebSession(SQLModel, table=True):
    """Session-level browsing aggregates with a purchase outcome (e.g. the UCI shoppers data)."""

    __tablename__ = "web_sessions"
    shop_id: str = Field(primary_key=True)
    session_id: str = Field(primary_key=True)
    administrative: int = 0
    administrative_duration: float = Field(default=0.0, sa_column=Column(Double))
    informational: int = 0
    informational_duration: float = Field(default=0.0, sa_column=Column(Double))
    product_related: int = 0
    product_related_duration: float = Field(default=0.0, sa_column=Column(Double))
    bounce_rates: float = Field(default=0.0, sa_column=Column(Double))
    exit_rates: float = Field(default=0.0, sa_column=Column(Double))
    page_values: float = Field(default=0.0, sa_column=Column(Double))
    special_day: float = Field(default=0.0, sa_column=Column(Double))
    month: str | None = None
    operating_systems: int | None = None
    browser: int | None = None
    region: int | None = None
    traffic_type: int | None = None
    visitor_type: str | None = None
    weekend: bool = False
    revenue: bool = False
    ingest_id: int | None = None


class IngestRun(SQLModel, table=True):
    """One accepted ingestion: which file (by content hash), how many rows went in."""

    __tablename__ = "ingest_runs"
    ingest_id: int = Field(
        sa_column=Column(BigInteger, Sequence("ingest_runs_seq"), primary_key=True)
    )
    shop_id: str
    kind: str
    source_name: str
    file_sha256: str
    rows_read: int
    rows_added: int
    rows_rejected: int
    started_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    finished_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class Label(SQLModel, table=True):
    """A label for one text or row of a task. ``source`` is derived (from data such as star
    ratings or a data set's own annotations), rule (a named labelling function) or human."""

    __tablename__ = "labels"
    label_id: int = Field(sa_column=Column(BigInteger, Sequence("labels_seq"), primary_key=True))
    shop_id: str
    task: str
    target_id: str  # the row the label is about (review id, message id, sentence id, ...)
    label: str
    source: str  # one of LABEL_SOURCES
    rule_name: str | None = None
    annotator: str | None = None
    annotation_id: int | None = None
    lead_time_s: float | None = Field(default=None, sa_column=Column(Double))
    agreed_with_model: bool | None = None
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class Prediction(SQLModel, table=True):
    """A model version's output for one row; one row per (task, row, model version).

    ``reason`` is a plain-words explanation where the model gives one (an anomaly flag's
    reason, a churn risk's top drivers); NULL otherwise."""

    __tablename__ = "predictions"
    shop_id: str = Field(primary_key=True)
    task: str = Field(primary_key=True)
    target_id: str = Field(primary_key=True)
    model_version: str = Field(primary_key=True)
    label: str
    probs: dict = Field(sa_column=Column(JSON))  # {label: probability}
    entropy: float = Field(sa_column=Column(Double))
    margin: float = Field(sa_column=Column(Double))
    reason: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class PredictionSpread(SQLModel, table=True):
    """How a model version's probability of one class spreads over equal bins of [0, 1]: rows
    per bin (bins without rows left out), kept when scoring ends for the two-class tasks whose
    spread a page draws, and dropped by any later write of the version's predictions."""

    __tablename__ = "prediction_spreads"
    shop_id: str = Field(primary_key=True)
    task: str = Field(primary_key=True)
    model_version: str = Field(primary_key=True)
    label: str = Field(primary_key=True)
    bucket: int = Field(primary_key=True)  # 0 .. bins - 1
    rows: int = Field(sa_column=Column(BigInteger, nullable=False))


class Recommendation(SQLModel, table=True):
    """A recommender version's ranked list for one shopper: one row per (shopper, rank)."""

    __tablename__ = "recommendations"
    shop_id: str = Field(primary_key=True)
    model_version: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True)
    rank: int = Field(primary_key=True)  # 1 = best
    item_id: str
    category: str | None = None
    score: float = Field(sa_column=Column(Double))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class NeedGroup(SQLModel, table=True):
    """A need found in the shop's need sentences by the grouping run after a demand version
    scores (:mod:`core.needs`); ``need_id`` 0 is the **other** bucket."""

    __tablename__ = "need_groups"
    shop_id: str = Field(primary_key=True)
    model_version: str = Field(primary_key=True)  # the demand version whose predictions it groups
    need_id: int = Field(primary_key=True)
    name: str
    sentences: int  # over all the shop's need sentences when it was grouped
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class NeedMember(SQLModel, table=True):
    """A need sentence's need: how close it is to the need's centre (cosine) and whether it says
    enough to be quoted."""

    __tablename__ = "need_members"
    shop_id: str = Field(primary_key=True)
    model_version: str = Field(primary_key=True)
    target_id: str = Field(primary_key=True)  # the review sentence
    need_id: int
    similarity: float = Field(sa_column=Column(Double))
    informative: bool = Field(sa_column=Column(Boolean, nullable=False))


class ReviewSentence(SQLModel, table=True):
    """A review split into sentences (by ``core``), so sentence-level predictions join their
    review without any id pattern in SQL."""

    __tablename__ = "review_sentences"
    shop_id: str = Field(primary_key=True)
    sentence_id: str = Field(primary_key=True)
    review_id: str
    position: int
    text: str


class ShopSetting(SQLModel, table=True):
    """A shop's own configuration of a concern, as checked JSON: its aspect set, its intents.
    One row per (shop, key); absent: the built-in default."""

    __tablename__ = "shop_settings"
    shop_id: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str  # JSON text, checked by the owner of the key before it is stored
    updated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class DataSplit(SQLModel, table=True):
    """The fixed, seeded train/validation/test assignment of a task's rows."""

    __tablename__ = "data_splits"
    shop_id: str = Field(primary_key=True)
    task: str = Field(primary_key=True)
    target_id: str = Field(primary_key=True)
    split: str  # train | validation | test


class ModelVersion(SQLModel, table=True):
    """A model version of one shop's task: what kind of model it is and how it scored on the
    shop's fixed test split (``test_fingerprint`` names those rows and labels). The files live
    in the model folder; this row is what every reader lists."""

    __tablename__ = "model_versions"
    shop_id: str = Field(primary_key=True)
    task: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    kind: str
    model_type: str  # e.g. encoder_blend, tfidf_lr (a baseline serving), isolation_forest
    base_model: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    metrics: dict = Field(default_factory=dict, sa_column=Column(JSON))
    data_fingerprint: str | None = None
    test_fingerprint: str | None = None
    train_seconds: float | None = Field(default=None, sa_column=Column(Double))
    copied_from: str | None = None  # "<shop>/<version>" when an operator copied it


class ActiveModel(SQLModel, table=True):
    """The one stored pointer to the model version a shop's task serves."""

    __tablename__ = "active_models"
    shop_id: str = Field(primary_key=True)
    task: str = Field(primary_key=True)
    version: str
    forced: bool = False  # promoted with --force-promote although not better
    activated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class ModelActivation(SQLModel, table=True):
    """Every change of the active pointer, oldest first (what rollback steps back through)."""

    __tablename__ = "model_activations"
    activation_id: int = Field(
        sa_column=Column(BigInteger, Sequence("model_activations_seq"), primary_key=True)
    )
    shop_id: str
    task: str
    version: str
    action: str  # promote | rollback | copy
    forced: bool = False
    activated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class TrainingRun(SQLModel, table=True):
    __tablename__ = "training_runs"
    run_id: str = Field(primary_key=True)
    shop_id: str = "sample"
    task: str
    status: str  # running | finished | failed | killed
    started_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime))
    labels_used: dict = Field(default_factory=dict, sa_column=Column(JSON))
    metrics_before: dict = Field(default_factory=dict, sa_column=Column(JSON))
    metrics_after: dict = Field(default_factory=dict, sa_column=Column(JSON))
    new_version: str | None = None
    promoted: bool = False
    error: str | None = None


class LabelQueueEntry(SQLModel, table=True):
    """A row sent to Label Studio and waiting for (or holding) a human answer."""

    __tablename__ = "label_queue"
    shop_id: str = Field(primary_key=True)
    task: str = Field(primary_key=True)
    target_id: str = Field(primary_key=True)
    ls_project_id: int | None = None
    ls_task_id: int | None = None
    model_version: str | None = None
    strategy: str | None = None
    uncertainty: float | None = Field(default=None, sa_column=Column(Double))
    queued_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    status: str = "pending"  # pending (not yet in Label Studio) | queued | labelled


class LabelProject(SQLModel, table=True):
    """The Label Studio project that holds one shop's task (its id and creation time, so a
    project that was deleted or a server that was reset is recognised as gone)."""

    __tablename__ = "label_projects"
    shop_id: str = Field(primary_key=True)
    task: str = Field(primary_key=True)
    project_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    title: str
    ls_created_at: str | None = None
    context_columns: list = Field(default_factory=list, sa_column=Column(JSON))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class Annotation(SQLModel, table=True):
    """One Label Studio annotation as received (webhook or sync), keyed by its id."""

    __tablename__ = "annotations"
    annotation_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    shop_id: str
    task: str
    target_id: str
    ls_task_id: int
    annotator: str | None = None
    label: str | None = None  # None when skipped
    was_cancelled: bool = False
    deleted: bool = False
    lead_time_s: float | None = Field(default=None, sa_column=Column(Double))
    model_label: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class AppUser(SQLModel, table=True):
    """A login for the dashboard: merchant (one shop), annotator or admin."""

    __tablename__ = "app_users"
    username: str = Field(primary_key=True)
    password_hash: str
    role: str  # merchant | annotator | admin
    shop_id: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class AppSession(SQLModel, table=True):
    """A signed-in browser: the SHA-256 of its random cookie token (never the token), whose
    account it is and until when it holds. Signing out deletes every session of the account."""

    __tablename__ = "app_sessions"
    token_hash: str = Field(primary_key=True)
    username: str
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class ApiToken(SQLModel, table=True):
    """A token another system uses for the scoring API: the SHA-256 of the token (never the
    token), the one shop it reads, and when it was revoked (NULL while valid)."""

    __tablename__ = "api_tokens"
    token_id: str = Field(primary_key=True)  # short public id, to list and revoke
    token_hash: str
    shop_id: str
    name: str
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime))


TABLES = [t.name for t in SQLModel.metadata.sorted_tables]
