"""Demand in review sentences: feature request / complaint / praise / question / other.

Until people label sentences, named labelling functions (:mod:`core.demand_rules`) give a
cold-start label (source ``rule``); human labels replace them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from core.demand_rules import DEMAND_LABELS, rule_labels
from core.kinds.base import Progress, register_task
from core.kinds.text_classification import TextClassificationTask
from core.tasks._review_sentences import review_sentences, store_sentences, with_review_context
from db.repo import labels as label_repo
from db.repo import needs as needs_repo

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ScoringEngine

# the demand labels that express a need (the rest: praise, other)
NEED_LABELS = ("feature_request", "complaint", "question")
# From this many sentences labelled by people, a shop's demand model learns from their labels
# alone, not from the rules' beside them: on 290 held-out Chinese sentences labelled in Label
# Studio, TF-IDF + LR taught by 232 labels per fold found 79 % of the complaints (accuracy 0.78);
# with 4,552 rule-labelled sentences added it learned the rules' blind spots (48 %, 0.61), no
# better than the rules themselves (bench/bench_chinese_labels.py).
LABELS_TO_TEACH_ALONE = 200


class SentenceDemand(TextClassificationTask):
    """Review sentences: does the shopper ask for something, complain, praise or ask?"""

    def load_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        return review_sentences(ctx, shop_id)

    def load_labels(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        """The rules' label for every sentence, a stored label (a person's first) where there is
        one; once people have labelled :data:`LABELS_TO_TEACH_ALONE` sentences, theirs alone."""
        stored = label_repo.best_labels(ctx.store, shop_id, self.name)
        human = stored[stored["source"] == "human"]
        if len(human) >= LABELS_TO_TEACH_ALONE:
            return label_repo.merge_labels([human])
        rules = rule_labels(self.load_texts(ctx, shop_id))[["target_id", "label", "source"]]
        return label_repo.merge_labels([rules, stored])

    def prepare(self, ctx: Context, shop_id: str) -> None:
        """Store the labelling functions' votes for sentences without a stored label yet."""
        sentences = self.load_texts(ctx, shop_id)
        have = label_repo.labelled_targets(ctx.store, shop_id, self.name)
        label_repo.add_rule_labels(ctx.store, shop_id, self.name,
                                   rule_labels(sentences[~sentences["target_id"].isin(have)]))  # fmt: skip

    def rows_to_score(self, ctx: Context, shop_id: str, version: str) -> pd.DataFrame:
        store_sentences(ctx, shop_id)
        return super().rows_to_score(ctx, shop_id, version)

    def score(self, ctx: Context, shop_id: str, version: str, engine: ScoringEngine,
              progress: Progress) -> int:  # fmt: skip
        """Score the sentences ``version`` has not scored, then (when any were scored, or the
        version's needs were never grouped) group its need sentences into needs and store
        them, so the Overview and Demand pages read needs instead of clustering."""
        from core.text_insight import group_shop_needs

        written = super().score(ctx, shop_id, version, engine, progress)
        if written or not needs_repo.grouped(ctx.store, shop_id, version):
            progress(0.99, "grouping the need sentences into needs")
            group_shop_needs(ctx.store, shop_id, version)
        return written

    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: Sequence[str]) -> pd.DataFrame:
        return with_review_context(ctx, shop_id, super().labelling_rows(ctx, shop_id, target_ids))


DEMAND = register_task(SentenceDemand(
    "demand",
    "Review sentences: feature_request / complaint / praise / question / other "
    "(rule-based labelling functions until humans label them).",
    DEMAND_LABELS,
    pages=("overview", "demand", "segments", "explain"),
    order=30,
))  # fmt: skip
