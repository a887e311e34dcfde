"""Intent of a customer message (the Bitext customer-support intents of the sample shop)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from core.kinds.base import register_task
from core.kinds.text_classification import TextClassificationTask
from db.repo import labels as label_repo
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context

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


def intent_category(intent: str) -> str:
    """The category of an intent (``OTHER`` for an intent outside the known ones)."""
    return INTENT_CATEGORIES.get(intent, "OTHER")


class MessageIntent(TextClassificationTask):
    """Customer messages: what does the shopper want?"""

    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        messages = text_repo.messages(ctx.store, shop_id)
        return messages.rename(columns={"message_id": "target_id"})[
            ["target_id", "text", "channel", "language"]
        ]

    def load_labels(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        return label_repo.best_labels(ctx.store, shop_id, self.name)[
            ["target_id", "label", "source"]
        ]

    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: list[str]) -> pd.DataFrame:  # type: ignore[override]
        return super().labelling_rows(ctx, shop_id, target_ids).drop(columns=["language"])


INTENT = register_task(MessageIntent(
    "intent",
    "Customer messages: the 27 Bitext intents (each belongs to one of 11 categories).",
    tuple(sorted(INTENT_CATEGORIES)),
    pages=("overview", "intent", "segments", "explain"),
    order=20,
))  # fmt: skip
