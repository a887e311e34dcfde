"""The Overview's alerts block: the shop's business alerts for the last 7 days of the period."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from app.ui.i18n import N_, t
from db.dashboard_queries import SEGMENTS
from db.store import Store

PAGES = {"behaviour": N_("Behaviour page"), "demand": N_("Demand page"),
         "sentiment": N_("Sentiment page")}  # fmt: skip


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
        page = t(PAGES.get(alert["page"], "Behaviour page"))
        where = (t("{page}, category **{category}**", page=page, category=alert["driver"])
                 if alert["driver"] else page)  # fmt: skip
        if alert.get("need"):
            where += t(", need **{need}**", need=alert["need"])
        segment = alert["look_at"].get("segment")
        if segment in SEGMENTS:  # the sidebar's shopper segment that shows the move
            where += t(", segment **{segment}**", segment=t(SEGMENTS[segment][0]))
        text = t("{summary}.  \nLook at: {where}, {start} – {end}.", summary=alert["summary"],
                 where=where, start=alert["look_at"]["start"], end=alert["day"])  # fmt: skip
        if alert.get("evidence"):
            text += "  \n" + t("Reviews behind it: {ids}", ids=", ".join(alert["evidence"]))
        icon = (
            ":material/trending_down:" if alert["direction"] == "drop" else ":material/trending_up:"
        )
        if alert["bad"]:  # a drop in conversion, a rise in negative reviews or needs
            st.warning(text, icon=icon)
        else:
            st.success(text, icon=icon)
    st.caption(t("Checked daily against each metric's expected band (`shoplens alerts --shop "
                 "{shop} --json`; how in docs/dashboard.md).", shop=shop_id))  # fmt: skip
