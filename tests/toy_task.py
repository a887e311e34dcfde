"""A toy task, whole in this one file: importing it registers ``toy`` (customer messages, how
does the shopper feel?). Tests import it through the ``toy_task`` fixture, which removes it
again afterwards; nothing else in ShopLens names it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from core.kinds.base import register_task
from core.kinds.text_classification import TextClassificationTask
from db.repo import labels as label_repo
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context


class ToyFeeling(TextClassificationTask):
    """Messages labelled negative / neutral / positive by people (or a data file)."""

    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        messages = text_repo.messages(ctx.store, shop_id)
        return messages.rename(columns={"message_id": "target_id"})[
            ["target_id", "text", "channel"]
        ]

    def load_labels(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        return label_repo.best_labels(ctx.store, shop_id, self.name)[
            ["target_id", "label", "source"]
        ]


TOY = register_task(ToyFeeling(
    "toy", "Toy messages: how does the shopper feel?", ("negative", "neutral", "positive"),
    pages=("explain",), order=999,
))  # fmt: skip
