"""Recommendations: each shopper's likely next items and categories (popularity, recently
touched, co-visitation and their tuned blend; the best on validation serves)."""

from __future__ import annotations

from core.kinds.base import register_task
from core.kinds.recommendation import RecommendationTask

RECOMMEND = register_task(RecommendationTask(
    "recommend",
    "Shoppers: the items and categories each is likely to want next (leave-last-out HR@10 over "
    "all items, against the shopper's recently viewed items).",
    pages=("recommendations", "segments"),
    order=48,
))  # fmt: skip
