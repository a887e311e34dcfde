"""Segments: build a shopper segment from behaviour and text signals, see it, export it."""

import streamlit as st

from app.ui.context import cached, missing, page_context
from app.ui.i18n import columns, day, labeller, t, translator
from app.ui.metrics import format_value
from app.ui.segments import (
    SegmentRule,
    build_segment,
    portrait,
    segment_csv,
    shown_rows,
    with_aspects,
)
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
st.title(t("Segments"))
st.caption(t("Shop **{shop}** · shoppers active {start} – {end}", shop=f.shop_id,
             start=day(f.start), end=day(f.end)))  # fmt: skip
users = cached(dq.user_signals, store, shop_id=f.shop_id, start=f.start, end=f.end,
               **shopper_signal_spec())  # fmt: skip
if users.empty:
    missing(t("No shopper was active in this period."), t("Widen the period in the sidebar."))
    st.stop()
mentions = cached(aspect_mentions, store, shop_id=f.shop_id, start=f.start, end=f.end)
users = with_aspects(users, mentions)

with st.form("segment_rule"):
    st.markdown(t("**Behaviour**"))
    c1, c2, c3 = st.columns(3)
    buyers = c1.selectbox(t("Bought in the period"), ["any", "yes", "no"], key="seg_buyers",
                          format_func=translator())  # fmt: skip
    recency = c2.number_input(t("Active in the last N days (0 = any)"), 0, 365, 0,
                              key="seg_recency")  # fmt: skip
    sessions = c3.number_input(t("At least N sessions"), 0, 1000, 0, key="seg_sessions")
    c1, c2 = st.columns(2)
    has_propensity, has_risk = users["propensity"].notna().any(), users["risk"].notna().any()
    propensity = c1.slider(
        t("Purchase propensity at least"),
        0.0,
        1.0,
        0.0,
        0.05,
        key="seg_propensity",
        disabled=not has_propensity,
        help=None
        if has_propensity
        else t(
            "Run `shoplens train purchase --shop {shop}` then `shoplens score purchase`.",
            shop=f.shop_id,
        ),
    )
    risk = c2.slider(
        t("Risk score at least"),
        0.0,
        1.0,
        0.0,
        0.05,
        key="seg_risk",
        disabled=not has_risk,
        help=None
        if has_risk
        else t(
            "Run `shoplens train risk --shop {shop}` then `shoplens score risk`.", shop=f.shop_id
        ),
    )
    st.markdown(t("**What they wrote**"))
    c1, c2, c3 = st.columns(3)
    intents = c1.multiselect(
        t("Top message intent"),
        sorted(users["top_intent"].dropna().unique()),
        key="seg_intents",
        format_func=labeller(),
    )
    negative = c2.slider(
        t("Share of negative reviews at least"), 0.0, 1.0, 0.0, 0.1, key="seg_negative"
    )
    needs = c3.checkbox(t("Wrote a request, complaint or question"), key="seg_needs")
    complained = st.multiselect(
        t("Complained about (aspects in their reviews)"),
        sorted({a for v in users["complains_about"] for a in v.split(", ") if a}),
        key="seg_aspects",
        format_func=labeller(),
    )
    st.form_submit_button(t("Build segment"), type="primary")

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

st.subheader(t("Portrait"))
rule_text = rule.describe()
st.caption(t("Rule: {rule}", rule=rule_text))
cols = st.columns(5)
cols[0].metric(t("Shoppers"), format_value(summary["shoppers"], "count"), border=True)
cols[1].metric(t("Share of active"), format_value(summary["share_of_active"], "percent"),
               border=True)  # fmt: skip
cols[2].metric(t("Buyers"), format_value(summary["buyer_share"], "percent"), border=True)
cols[3].metric(
    t("Mean sessions"),
    f"{summary['mean_sessions']:.1f}" if summary["mean_sessions"] is not None else "–",
    border=True,
)
cols[4].metric(t("Mean propensity"), format_value(summary["mean_propensity"], "percent"),
               border=True)  # fmt: skip
if summary["top_intents"]:
    st.caption(t("Top intents: {intents}", intents=summary["top_intents"]))

shown = shown_rows(segment)
if len(shown) < len(segment):
    st.caption(t("The {shown} most active of {total} shoppers (most sessions first); the export "
                 "holds all of them.",
                 shown=f"{len(shown):,}", total=f"{len(segment):,}"))  # fmt: skip
st.dataframe(columns(shown), hide_index=True, width="stretch")
header = translator()  # the export's headers in the page's language
st.download_button(
    t("Export segment (CSV for Excel)"),
    # built on click, not on every run: masking every cell of 20k shoppers takes ~0.4 s
    data=lambda: segment_csv(
        segment,
        summary,
        rule_text,
        secret_key(ctx.ctx.settings.home / "secrets" / "pseudonyms.key"),
        PiiConfig.from_settings(ctx.ctx.settings),
        header=header,
    ),
    file_name=f"segment_{f.shop_id}_{f.start:%Y%m%d}_{f.end:%Y%m%d}.csv",
    mime="text/csv",
    key="seg_export",
    disabled=segment.empty,
)
st.caption(
    t("The export is UTF-8 with BOM, masks emails, phones, cards and addresses, and neutralises "
      "cells that a spreadsheet would run as formulas.")
)  # fmt: skip
