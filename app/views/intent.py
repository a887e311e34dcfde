"""Intent: what customers write to the shop about: mix, trend, by segment, examples."""

import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.explain_view import masked
from app.ui.metrics import counts_over_time
from app.ui.textdata import TRAIN_HINT, has_predictions, messages_scored
from core.intents import shop_intents
from db import dashboard_queries as dq

PAGE = {
    "title": "Intent",
    "icon": ":material/support_agent:",
    "order": 40,
    "roles": ("merchant", "admin"),
}

ctx = page_context()
f, store = ctx.filters, ctx.store
st.title("Intent")
st.caption(f"Shop **{f.shop_id}** · messages from {f.start:%d %b %Y} – {f.end:%d %b %Y}")
if not has_predictions(store, f.shop_id, "intent"):
    missing(
        "No intent model has scored this shop's messages yet.",
        TRAIN_HINT.format(task="intent", shop=f.shop_id),
    )
    st.stop()
msgs = messages_scored(store, f)
if msgs.empty:
    missing(
        "No scored messages in this period.",
        "Widen the period in the sidebar, or load messages: `shoplens ingest FILE --kind messages`.",
    )
    st.stop()
taxonomy = shop_intents(ctx.ctx, f.shop_id)
msgs = msgs.assign(category=msgs["label"].map(taxonomy.category))

left, right = st.columns(2)
with left:
    st.subheader("Mix by category")
    st.plotly_chart(charts.mix_figure(msgs["category"].value_counts()), width="stretch")
with right:
    st.subheader("Top intents")
    top = msgs["label"].value_counts().head(10)
    st.plotly_chart(
        charts.bar_figure(top.index, top.to_numpy(), value_title="messages"), width="stretch"
    )

st.subheader("Trend")
days = (f.end - f.start).days + 1
trend = counts_over_time(msgs, "ts", "category", days, "messages")
st.plotly_chart(
    charts.trend_figure(trend, "bucket", "messages", "category", "messages"), width="stretch"
)

st.subheader("By shopper segment")
kinds = cached(dq.message_author_kinds, store, shop_id=f.shop_id, start=f.start, end=f.end)
kind = kinds.set_index("user_id")["kind"]
msgs = msgs.assign(segment=msgs["user_id"].map(kind).fillna("not active in period"))
by_segment = msgs.groupby(["segment", "category"]).size().unstack(fill_value=0)
st.dataframe(by_segment, width="stretch")

st.subheader("Examples")
intent = st.selectbox("Intent", sorted(msgs["label"].unique()), key="intent_examples")
examples = msgs[msgs["label"] == intent].sort_values("confidence", ascending=False).head(8)
st.dataframe(
    examples.assign(text=examples["text"].map(masked))[
        ["message_id", "channel", "text", "confidence"]
    ],
    hide_index=True,
    width="stretch",
    column_config={"confidence": st.column_config.NumberColumn(format="percent")},
)
