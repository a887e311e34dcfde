"""Session purchase: will a session end in a purchase? (its events before the first purchase,
as text; the shopper-level forecast is the ``purchase`` task).

The label is derived from the events; sessions are not sent to annotators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from core.kinds.base import register_task
from core.kinds.text_classification import TextClassificationTask
from core.sessions import session_texts
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context


class SessionPurchase(TextClassificationTask):
    """Sessions serialised as text ("view knits; cart dresses; search linen dress")."""

    monitored = False  # its rows are made from the events, not stored texts
    spread_kept = True  # the Behaviour page draws how likely sessions are to convert

    def _sessions(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        events = text_repo.events(ctx.store, shop_id,
                                  ("session_id", "user_id", "category", "event_type", "query", "ts"))  # fmt: skip
        return session_texts(events)

    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        return self._sessions(ctx, shop_id)[["target_id", "text", "user_id", "n_events"]]

    def load_labels(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        sessions = self._sessions(ctx, shop_id)
        return pd.DataFrame({"target_id": sessions["target_id"],
                             "label": sessions["bought"].map({True: "purchase", False: "no_purchase"}),
                             "source": "derived"})  # fmt: skip


SESSION_PURCHASE = register_task(SessionPurchase(
    "session_purchase",
    "Sessions: will this session end in a purchase? (events serialised as text, cut before the "
    "first purchase).",
    ("no_purchase", "purchase"),
    pages=("behaviour",),
    labelled=False,
    order=40,
))  # fmt: skip
