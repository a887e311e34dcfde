"""What each kind of input file must contain: columns, types, allowed values.

A new kind of file is one more :class:`KindSpec` in ``KINDS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from db.schema import EVENT_TYPES, MESSAGE_CHANNELS

MAX_TEXT_CHARS = 1_000_000
# what one file may hold: more rows or more text than this is refused before it is read in full
# (split the file); see docs/ingestion.md, "Limits"
MAX_FILE_ROWS = 50_000_000
MAX_FILE_TEXT_BYTES = 2 * 1024**3  # decoded text, all text columns together
# Timestamps outside this window are almost always a unit mistake (milliseconds for seconds).
MIN_TS = "1990-01-01"
MAX_TS = "2100-01-01"

# Common names for behaviour types in shop logs, so most logs load without a value map.
EVENT_TYPE_ALIASES = {
    "pv": "view",
    "page_view": "view",
    "pageview": "view",
    "click": "view",
    "detail": "view",
    "add_to_cart": "cart",
    "addtocart": "cart",
    "add-to-cart": "cart",
    "favorite": "fav",
    "favourite": "fav",
    "wishlist": "fav",
    "like": "fav",
    "buy": "purchase",
    "order": "purchase",
    "checkout": "purchase",
    "transaction": "purchase",
    "query": "search",
}


@dataclass(frozen=True)
class ColumnSpec:
    """One target column: its type (text, int, float, bool, ts), whether it must be present
    and non-empty, and optional allowed values or numeric range."""

    name: str
    type: str = "text"
    required: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    default: str | None = None  # value used when the file leaves it empty
    # other names files commonly give this field (matched after trimming, lower-casing and
    # reading spaces and hyphens as underscores); ``--map`` covers any other name
    also_named: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        if self.allowed:
            return "one of " + ", ".join(self.allowed)
        words = {
            "text": "text",
            "int": "a whole number",
            "float": "a number",
            "bool": "true/false (or 1/0, yes/no)",
            "ts": "a timestamp (ISO 8601 text such as 2024-05-01T13:45:00Z, or Unix seconds)",
        }[self.type]
        if self.min_value is not None and self.max_value is not None:
            words += f" between {self.min_value:g} and {self.max_value:g}"
        return words


@dataclass(frozen=True)
class KindSpec:
    """A kind of file: its target table, columns and natural key."""

    name: str
    table: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    text_columns: tuple[str, ...] = ()
    label_columns_allowed: bool = False

    def other_names(self) -> dict[str, tuple[str, ...]]:
        """Field -> the common names it is recognised by."""
        return {c.name: c.also_named for c in self.columns if c.also_named}

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


# the common names of fields that several kinds share
TIME_NAMES = ("timestamp", "time", "event_time", "event_timestamp", "created_at", "datetime",
              "date", "occurred_at", "time_stamp")  # fmt: skip
USER_NAMES = ("user", "userid", "customer_id", "customerid", "visitor_id", "visitorid",
              "shopper_id", "client_id", "buyer_id")  # fmt: skip
ITEM_NAMES = ("item", "itemid", "product_id", "productid", "product", "sku", "goods_id")
CATEGORY_NAMES = ("category_id", "category_name", "category_code", "categoryid", "cat",
                  "product_category")  # fmt: skip
TEXT_NAMES = ("body", "content", "comment")


def _num(name: str, type_: str = "int", **kw: float) -> ColumnSpec:
    return ColumnSpec(name, type_, min_value=kw.get("lo", 0), max_value=kw.get("hi"))


KINDS: dict[str, KindSpec] = {
    "events": KindSpec(
        name="events",
        table="events",
        columns=(
            ColumnSpec("user_id", required=True, also_named=USER_NAMES),
            ColumnSpec(
                "event_type",
                required=True,
                allowed=EVENT_TYPES,
                aliases=EVENT_TYPE_ALIASES,
                also_named=(
                    "behavior_type",
                    "behaviour_type",
                    "behavior",
                    "behaviour",
                    "event",
                    "event_name",
                    "action",
                    "event_kind",
                ),
            ),  # fmt: skip
            ColumnSpec("ts", "ts", required=True, also_named=TIME_NAMES),
            ColumnSpec("session_id", also_named=("session", "sessionid", "user_session")),
            ColumnSpec("item_id", also_named=ITEM_NAMES),
            ColumnSpec("category", also_named=CATEGORY_NAMES),
            ColumnSpec("query", also_named=("search", "search_query", "search_term", "keyword")),
        ),
        key=("event_key",),
        text_columns=("query",),
    ),
    "reviews": KindSpec(
        name="reviews",
        table="reviews",
        columns=(
            ColumnSpec("review_id", required=True, also_named=("reviewid", "id")),
            ColumnSpec(
                "text",
                required=True,
                also_named=("review", "review_text", "review_body", *TEXT_NAMES),
            ),  # fmt: skip
            ColumnSpec("item_id", also_named=ITEM_NAMES),
            ColumnSpec("user_id", also_named=(*USER_NAMES, "reviewer_id", "author_id")),
            ColumnSpec(
                "rating",
                "int",
                min_value=1,
                max_value=5,
                also_named=("stars", "star_rating", "review_rating", "score"),
            ),  # fmt: skip
            ColumnSpec("title", also_named=("review_title", "summary", "headline")),
            ColumnSpec("ts", "ts", also_named=(*TIME_NAMES, "review_date")),
            ColumnSpec("language"),
        ),
        key=("review_id",),
        text_columns=("text", "title"),
        label_columns_allowed=True,
    ),
    "messages": KindSpec(
        name="messages",
        table="messages",
        columns=(
            ColumnSpec(
                "message_id", required=True, also_named=("messageid", "msg_id", "ticket_id", "id")
            ),  # fmt: skip
            ColumnSpec(
                "text",
                required=True,
                also_named=("message", "message_text", "utterance", *TEXT_NAMES),
            ),  # fmt: skip
            ColumnSpec("user_id", also_named=USER_NAMES),
            ColumnSpec("channel", allowed=MESSAGE_CHANNELS, default="support"),
            ColumnSpec("ts", "ts", also_named=TIME_NAMES),
            ColumnSpec("language"),
        ),
        key=("message_id",),
        text_columns=("text",),
        label_columns_allowed=True,
    ),
    "items": KindSpec(
        name="items",
        table="items",
        columns=(
            ColumnSpec("item_id", required=True, also_named=(*ITEM_NAMES, "id")),
            ColumnSpec("title", also_named=("name", "product_name", "item_name", "product_title")),
            ColumnSpec("category", also_named=CATEGORY_NAMES),
            ColumnSpec(
                "price",
                "float",
                min_value=0,
                max_value=1e9,
                also_named=("unit_price", "list_price"),
            ),  # fmt: skip
        ),
        key=("item_id",),
        text_columns=("title",),
    ),
    "sessions": KindSpec(
        name="sessions",
        table="web_sessions",
        columns=(
            ColumnSpec("session_id", required=True),
            ColumnSpec("revenue", "bool", required=True),
            _num("administrative"),
            _num("administrative_duration", "float"),
            _num("informational"),
            _num("informational_duration", "float"),
            _num("product_related"),
            _num("product_related_duration", "float"),
            _num("bounce_rates", "float", hi=1),
            _num("exit_rates", "float", hi=1),
            _num("page_values", "float"),
            _num("special_day", "float", hi=1),
            ColumnSpec("month"),
            _num("operating_systems"),
            _num("browser"),
            _num("region"),
            _num("traffic_type"),
            ColumnSpec("visitor_type"),
            ColumnSpec("weekend", "bool"),
        ),
        key=("session_id",),
    ),
}
