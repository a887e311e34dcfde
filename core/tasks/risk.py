"""Risk: shoppers whose behaviour looks automated or abusive, with the reason in words."""

from __future__ import annotations

from core.kinds.anomaly import ShopperAnomalyTask
from core.kinds.base import register_task

RISK = register_task(ShopperAnomalyTask(
    "risk",
    "Shoppers: unsupervised anomaly score with a human-readable reason per flag.",
    ("normal", "anomalous"),
    pages=("behaviour", "segments"),
    order=50,
))  # fmt: skip
