"""Which task and label each per-shopper signal of the dashboard's segments comes from
(propensity, risk, negative reviews, top intent, needs): ``core``'s to say, the store's queries
take it as parameters.

    >>> shopper_signal_spec()["need_labels"]
    ('feature_request', 'complaint', 'question')
"""

from __future__ import annotations

from typing import Any

from core.tasks.churn import CHURN
from core.tasks.demand import DEMAND, NEED_LABELS
from core.tasks.intent import INTENT
from core.tasks.purchase import PURCHASE
from core.tasks.recommend import RECOMMEND
from core.tasks.risk import RISK
from core.tasks.sentiment import SENTIMENT


def shopper_signal_spec() -> dict[str, Any]:
    """Keyword arguments of :func:`db.dashboard_queries.user_signals`."""
    return {
        "purchase_task": PURCHASE.name, "purchase_label": "purchase",
        "churn_task": CHURN.name, "churn_label": "churns",
        "risk_task": RISK.name, "risk_label": "anomalous", "recommend_task": RECOMMEND.name,
        "sentiment_task": SENTIMENT.name, "negative_label": "negative",
        "intent_task": INTENT.name, "demand_task": DEMAND.name,
        "need_labels": tuple(NEED_LABELS),
    }  # fmt: skip
