"""Segments: build a shopper segment from behaviour and text signals, see it, export it."""

import streamlit as st

from app.ui.context import cached, missing, page_context
from app.ui.metrics import format_value
from app.ui.segments import SegmentRule, build_segment, portrait, segment_csv, with_aspects
from common.files import secret_key
from core.signals import shopper_signal_spec
from core.text_insight import aspect_mentions
from db import dashboard_queries as dq
from privacy.masking import PiiConfig

PAGE = {
    "title": "Segments",
    "icon": ":material/groups:",
    "order": 60,
    "roles": ("merchant", "admin"),
}

ctx = page_context()
f, store = ctx.filters, ctx.store
st.title("Segments")
st.caption(f"Shop **{f.shop_id}** · shoppers active {f.start:%d %b %Y} – {f.end:%d %b %Y}")
users = cached(dq.user_signals, store, shop_id=f.shop_id, start=f.start, end=f.end,
               **shopper_signal_spec())  # fmt: skip
if users.empty:
    missing("No shopper was active in this period.", "Widen the period in the sidebar.")
    st.stop()
mentions = cached(aspect_mentions, store, shop_id=f.shop_id, start=f.start, end=f.end)
users = with_aspects(users, mentions)

with st.form("segment_rule"):
    st.markdown("**Behaviour**")
    c1, c2, c3 = st.columns(3)
    buyers = c1.selectbox("Bought in the period", ["any", "yes", "no"], key="seg_buyers")
    recency = c2.number_input("Active in the last N days (0 = any)", 0, 365, 0, key="seg_recency")
    sessions = c3.number_input("At least N sessions", 0, 1000, 0, key="seg_sessions")
    c1, c2 = st.columns(2)
    has_propensity, has_risk = users["propensity"].notna().any(), users["risk"].notna().any()
    propensity = c1.slider(
        "Purchase propensity at least",
        0.0,
        1.0,
        0.0,
        0.05,
        key="seg_propensity",
        disabled=not has_propensity,
        help=None
        if has_propensity
        else f"Run `shoplens train purchase --shop {f.shop_id}` then `shoplens score purchase`.",
    )
    risk = c2.slider(
        "Risk score at least",
        0.0,
        1.0,
        0.0,
        0.05,
        key="seg_risk",
        disabled=not has_risk,
        help=None
        if has_risk
        else f"Run `shoplens train risk --shop {f.shop_id}` then `shoplens score risk`.",
    )
    st.markdown("**What they wrote**")
    c1, c2, c3 = st.columns(3)
    intents = c1.multiselect(
        "Top message intent", sorted(users["top_intent"].dropna().unique()), key="seg_intents"
    )
    negative = c2.slider(
        "Share of negative reviews at least", 0.0, 1.0, 0.0, 0.1, key="seg_negative"
    )
    needs = c3.checkbox("Wrote a request, complaint or question", key="seg_needs")
    complained = st.multiselect(
        "Complained about (aspects in their reviews)",
        sorted({a for v in users["complains_about"] for a in v.split(", ") if a}),
        key="seg_aspects",
    )
    st.form_submit_button("Build segment", type="primary")

rule = SegmentRule(
    buyers={"any": None, "yes": True, "no": False}[buyers],
    max_recency_days=int(recency) or None,
    min_sessions=int(sessions) or None,
    min_propensity=propensity or None,
    min_risk=risk or None,
    intents=tuple(intents),
    min_negative_share=negative or None,
    with_needs=needs,
    complained_about=tuple(complained),
)
segment = build_segment(users, rule)
summary = portrait(segment, users)

st.subheader("Portrait")
st.caption(f"Rule: {rule.describe()}")
cols = st.columns(5)
cols[0].metric("Shoppers", format_value(summary["shoppers"], "count"), border=True)
cols[1].metric("Share of active", format_value(summary["share_of_active"], "percent"), border=True)
cols[2].metric("Buyers", format_value(summary["buyer_share"], "percent"), border=True)
cols[3].metric(
    "Mean sessions",
    f"{summary['mean_sessions']:.1f}" if summary["mean_sessions"] is not None else "–",
    border=True,
)
cols[4].metric("Mean propensity", format_value(summary["mean_propensity"], "percent"), border=True)
if summary["top_intents"]:
    st.caption(f"Top intents: {summary['top_intents']}")

st.dataframe(segment, hide_index=True, width="stretch")
st.download_button(
    "Export segment (CSV for Excel)",
    # built on click, not on every run: masking every cell of 20k shoppers takes ~0.4 s
    data=lambda: segment_csv(
        segment,
        summary,
        rule.describe(),
        secret_key(ctx.ctx.settings.home / "secrets" / "pseudonyms.key"),
        PiiConfig.from_settings(ctx.ctx.settings),
    ),
    file_name=f"segment_{f.shop_id}_{f.start:%Y%m%d}_{f.end:%Y%m%d}.csv",
    mime="text/csv",
    key="seg_export",
    disabled=segment.empty,
)
st.caption(
    "The export is UTF-8 with BOM, masks emails, phones, cards and addresses, and neutralises "
    "cells that a spreadsheet would run as formulas."
)
