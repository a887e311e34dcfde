"""Intent of a customer message. The intents are the shop's own (:mod:`core.intents`): the
sample shop's are Bitext's 27 customer-support intents, loaded as data with the sample."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from core.intents import shop_intents
from core.kinds.base import LabellingSpec, register_task
from core.kinds.text_classification import TextClassificationTask
from db.repo import labels as label_repo
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context

EXAMPLE_PREFIX = "example:"  # target ids of the taxonomy's examples (they train, never score)


class MessageIntent(TextClassificationTask):
    """Customer messages: what does the shopper want? Annotators may type a new intent."""

    few_shot = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.labelling is not None
        self.labelling = LabellingSpec(self.labelling.template, (), self.labelling.guide, open=True)

    def label_set(self, ctx: Context, shop_id: str) -> tuple[str, ...]:
        return shop_intents(ctx, shop_id).names

    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        messages = text_repo.messages(ctx.store, shop_id)
        return messages.rename(columns={"message_id": "target_id"})[
            ["target_id", "text", "channel", "language"]
        ]

    def load_labels(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        return label_repo.best_labels(ctx.store, shop_id, self.name)[
            ["target_id", "label", "source"]
        ]

    def training_data(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        """Labelled messages plus the taxonomy's examples (so an intent added with a handful of
        examples trains at once)."""
        data = super().training_data(ctx, shop_id)
        examples = [(f"{EXAMPLE_PREFIX}{i.name}:{n}", text, i.name, "human")
                    for i in shop_intents(ctx, shop_id).intents
                    for n, text in enumerate(i.examples)]  # fmt: skip
        extra = pd.DataFrame(examples, columns=["target_id", "text", "label", "source"])
        return pd.concat([data, extra], ignore_index=True) if len(extra) else data

    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: list[str]) -> pd.DataFrame:  # type: ignore[override]
        return super().labelling_rows(ctx, shop_id, target_ids).drop(columns=["language"])


INTENT = register_task(MessageIntent(
    "intent",
    "Customer messages: the shop's own intents (the sample shop's are Bitext's 27).",
    (),
    pages=("overview", "intent", "segments", "explain"),
    order=20,
))  # fmt: skip
