"""Demand in review sentences: feature request / complaint / praise / question / other.

Until people label sentences, named labelling functions (:mod:`core.demand_rules`) give a
cold-start label (source ``rule``); human labels replace them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from core.demand_rules import DEMAND_LABELS, rule_labels, split_review_sentences
from core.kinds.base import register_task
from core.kinds.text_classification import TextClassificationTask
from db.repo import labels as label_repo
from db.repo import texts as text_repo

if TYPE_CHECKING:
    from core.context import Context

# the demand labels that express a need (the rest: praise, other)
NEED_LABELS = ("feature_request", "complaint", "question")


class SentenceDemand(TextClassificationTask):
    """Review sentences: does the shopper ask for something, complain, praise or ask?"""

    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        return split_review_sentences(text_repo.reviews(ctx.store, shop_id))

    def load_labels(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        rules = rule_labels(self.load_texts(ctx, shop_id))[["target_id", "label", "source"]]
        stored = label_repo.best_labels(ctx.store, shop_id, self.name)
        return label_repo.merge_labels([rules, stored])

    def prepare(self, ctx: Context, shop_id: str) -> None:
        """Store the labelling functions' votes for sentences without a stored label yet."""
        sentences = self.load_texts(ctx, shop_id)
        have = label_repo.labelled_targets(ctx.store, shop_id, self.name)
        label_repo.add_rule_labels(ctx.store, shop_id, self.name,
                                   rule_labels(sentences[~sentences["target_id"].isin(have)]))  # fmt: skip

    def rows_to_score(self, ctx: Context, shop_id: str, version: str) -> pd.DataFrame:
        sentences = self.load_texts(ctx, shop_id)
        # sentences are stored so their predictions join their review in the store's queries
        text_repo.save_sentences(ctx.store, shop_id,
                                 sentences.rename(columns={"target_id": "sentence_id"}))  # fmt: skip
        return super().rows_to_score(ctx, shop_id, version)

    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: Sequence[str]) -> pd.DataFrame:
        rows = super().labelling_rows(ctx, shop_id, target_ids)
        context = text_repo.review_context(ctx.store, shop_id)
        rows = rows.merge(context, on="review_id", how="left")
        return rows.drop(columns=["review_id", "position"])


DEMAND = register_task(SentenceDemand(
    "demand",
    "Review sentences: feature_request / complaint / praise / question / other "
    "(rule-based labelling functions until humans label them).",
    DEMAND_LABELS,
    pages=("overview", "demand", "segments", "explain"),
    order=30,
))  # fmt: skip
