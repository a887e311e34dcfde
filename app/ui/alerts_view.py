"""The Overview's alerts block: the shop's business alerts for the last 7 days of the period."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from db.store import Store


def shop_alerts(store: Store, shop_id: str, until: date, days: int = 7) -> list[dict[str, Any]]:
    """Alerts of the ``days`` days to ``until`` (or the last day with events, when earlier)."""
    from core.alerts import check_days
    from db.behaviour_queries import daily_activity

    per_category, total = daily_activity(store, shop_id)
    if total.empty:
        return []
    last = min(until, total["day"].max().date() if hasattr(total["day"].max(), "date")
               else total["day"].max())  # fmt: skip
    return [a.as_dict() for a in check_days(per_category, total, days=days, until=last)]


def show_alerts(alerts: list[dict[str, Any]], shop_id: str) -> None:
    """Drops as warnings, rises as good news, newest first, each with where to look."""
    st.subheader("Alerts")
    if not alerts:
        st.success("Traffic, view → cart and cart → purchase stayed in their expected bands in the "
                   "last 7 days of the period.")  # fmt: skip
        return
    for alert in sorted(alerts, key=lambda a: a["day"], reverse=True)[:6]:
        where = (
            f"Behaviour page, category **{alert['driver']}**"
            if alert["driver"]
            else "Behaviour page"
        )
        text = f"{alert['summary']}.  \nLook at: {where}, {alert['look_at']['start']} – {alert['day']}."
        if alert["direction"] == "drop":
            st.warning(text, icon=":material/trending_down:")
        else:
            st.success(text, icon=":material/trending_up:")
    st.caption(f"Checked daily against each metric's expected band (`shoplens alerts --shop "
               f"{shop_id} --json`; how in docs/dashboard.md).")  # fmt: skip
