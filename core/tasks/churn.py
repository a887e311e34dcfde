"""Churn risk: the probability that a shopper active lately shows no activity at all in the next
D days (default 28; ``shoplens train churn --horizon-days D``), calibrated, with its drivers."""

from __future__ import annotations

from core.kinds.base import register_task
from core.kinds.shopper_forecast import ShopperForecastTask

CHURN = register_task(ShopperForecastTask(
    "churn",
    "Shoppers: probability of no activity in the next days (time split, calibrated; against a "
    "recency rule and RFM + logistic regression).",
    "churn",
    default_horizon_days=28,
    pages=("behaviour", "segments"),
    order=45,
))  # fmt: skip
