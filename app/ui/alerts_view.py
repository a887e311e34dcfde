"""The Overview's alerts block: the shop's business alerts for the last 7 days of the period."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from app.ui.i18n import t
from db.store import Store


def shop_alerts(store: Store, shop_id: str, until: date, days: int = 7) -> list[dict[str, Any]]:
    """Alerts of the ``days`` days to ``until`` (or the last day with events, when earlier)."""
    from core.alerts import shop_alerts
    from db.behaviour_queries import daily_activity

    activity = daily_activity(store, shop_id)
    if activity[1].empty:
        return []
    return [a.as_dict() for a in shop_alerts(store, shop_id, days, until, activity)]


def show_alerts(alerts: list[dict[str, Any]], shop_id: str) -> None:
    """Bad news as warnings (a drop in traffic or conversion, a rise in negative reviews or
    needs), good news as such, newest first, each with where to look."""
    st.subheader(t("Alerts"))
    if not alerts:
        st.success(t("Traffic, view → cart, cart → purchase, negative reviews and needs stayed in "
                     "their expected bands in the last 7 days of the period."))  # fmt: skip
        return
    for alert in sorted(alerts, key=lambda a: a["day"], reverse=True)[:6]:
        where = (
            t("Behaviour page, category **{category}**", category=alert["driver"])
            if alert["driver"]
            else t("Behaviour page")
        )
        text = t("{summary}.  \nLook at: {where}, {start} – {end}.", summary=alert["summary"],
                 where=where, start=alert["look_at"]["start"], end=alert["day"])  # fmt: skip
        if alert["direction"] == "drop":
            st.warning(text, icon=":material/trending_down:")
        else:
            st.success(text, icon=":material/trending_up:")
    st.caption(t("Checked daily against each metric's expected band (`shoplens alerts --shop "
                 "{shop} --json`; how in docs/dashboard.md).", shop=shop_id))  # fmt: skip
