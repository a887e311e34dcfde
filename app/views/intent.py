"""Intent: what customers write to the shop about: mix, trend, by segment, examples."""

import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.explain_view import masked
from app.ui.i18n import columns, day, header, label, labeller, t
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
st.title(t("Intent"))
st.caption(t("Shop **{shop}** · messages from {start} – {end}", shop=f.shop_id,
             start=day(f.start), end=day(f.end)))  # fmt: skip
if not has_predictions(store, f.shop_id, "intent"):
    missing(
        t("No intent model has scored this shop's messages yet."),
        t(TRAIN_HINT, task="intent", shop=f.shop_id),
    )
    st.stop()
msgs = messages_scored(store, f)
if msgs.empty:
    missing(
        t("No scored messages in this period."),
        t(
            "Widen the period in the sidebar, or load messages: "
            "`shoplens ingest FILE --kind messages`."
        ),
    )
    st.stop()
taxonomy = shop_intents(ctx.ctx, f.shop_id)
msgs = msgs.assign(category=msgs["label"].map(taxonomy.category))

left, right = st.columns(2)
with left:
    st.subheader(t("Mix by category"))
    st.plotly_chart(charts.mix_figure(msgs["category"].value_counts()), width="stretch")
with right:
    st.subheader(t("Top intents"))
    top = msgs["label"].value_counts().head(10)
    st.plotly_chart(
        charts.bar_figure([label(i) for i in top.index], top.to_numpy(),
                          value_title=t("messages")), width="stretch"
    )  # fmt: skip

st.subheader(t("Trend"))
days = (f.end - f.start).days + 1
trend = counts_over_time(msgs, "ts", "category", days, "messages")
st.plotly_chart(
    charts.trend_figure(trend.assign(category=trend["category"].map(label)), "bucket",
                        "messages", "category", t("messages")), width="stretch"
)  # fmt: skip

st.subheader(t("By shopper segment"))
kinds = cached(dq.message_author_kinds, store, shop_id=f.shop_id, start=f.start, end=f.end)
kind = kinds.set_index("user_id")["kind"]
msgs = msgs.assign(segment=msgs["user_id"].map(kind).fillna("not active in period"))
by_segment = msgs.groupby(["segment", "category"]).size().unstack(fill_value=0)
by_segment = by_segment.rename(index=label, columns=label)
st.dataframe(by_segment.rename_axis(index=t("segment"), columns=t("category")), width="stretch")

st.subheader(t("Examples"))
intent = st.selectbox(t("Intent"), sorted(msgs["label"].unique()), key="intent_examples",
                      format_func=labeller())  # fmt: skip
examples = msgs[msgs["label"] == intent].sort_values("confidence", ascending=False).head(8)
st.dataframe(
    columns(examples.assign(text=examples["text"].map(masked), channel=examples["channel"].map(label))[
        ["message_id", "channel", "text", "confidence"]
    ]),
    hide_index=True,
    width="stretch",
    column_config={header("confidence"): st.column_config.NumberColumn(format="percent")},
)  # fmt: skip
