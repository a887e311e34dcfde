"""Purchase propensity: the probability that a shopper buys at least once in the next H days
(default 7; ``shoplens train purchase --horizon-days H``), calibrated, with its drivers."""

from __future__ import annotations

from core.kinds.base import register_task
from core.kinds.shopper_forecast import ShopperForecastTask

PURCHASE = register_task(ShopperForecastTask(
    "purchase",
    "Shoppers: probability of at least one purchase in the next days (time split, calibrated; "
    "gradient boosting on behaviour features against RFM + logistic regression).",
    "purchase",
    default_horizon_days=7,
    pages=("behaviour", "segments"),
    order=40,
))  # fmt: skip
