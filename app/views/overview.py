"""Overview: the period's KPIs, each against the previous period."""

import streamlit as st

from app.ui.alerts_view import shop_alerts, show_alerts
from app.ui.aspects_view import chip_label
from app.ui.context import cached, missing, page_context
from app.ui.explain_view import masked
from app.ui.i18n import aspect_label, columns, day, header, label, t
from app.ui.metrics import NEED_LABELS, Kpi, demand_index, sentiment_index
from app.ui.textdata import (
    TRAIN_HINT,
    messages_scored,
    reviews_scored,
    sentences_scored,
)
from core.text_insight import aspect_mentions, aspect_summary, shop_needs, top_complaints
from db import dashboard_queries as dq

PAGE = {
    "title": "Overview",
    "icon": ":material/dashboard:",
    "order": 10,
    "roles": ("merchant", "admin"),
}

ctx = page_context()
f, store = ctx.filters, ctx.store
prev_start, prev_end = dq.previous_period(f.start, f.end)
st.title(t("Overview"))
st.caption(
    t("Shop **{shop}** · {start} – {end} compared with {prev_start} – {prev_end} · {segment}",
      shop=f.shop_id, start=day(f.start), end=day(f.end), prev_start=day(prev_start, year=False),
      prev_end=day(prev_end), segment=t(dq.SEGMENTS[f.segment][0]))
    + (t(" · category {category}", category=f.category) if f.category else "")
)  # fmt: skip

args = {"shop_id": f.shop_id, "category": f.category, "segment": f.segment}
now = cached(dq.period_kpis, store, start=f.start, end=f.end, **args)
before = cached(dq.period_kpis, store, start=prev_start, end=prev_end, **args)
behaviour = [
    Kpi(t("Sessions"), now["sessions"], before["sessions"]),
    Kpi(t("Buyers"), now["buyers"], before["buyers"]),
    Kpi(t("Conversion"), now["conversion"], before["conversion"], "percent"),
    Kpi(t("Average order value"), now["aov"], before["aov"], "money"),
]
for col, kpi in zip(st.columns(4), behaviour, strict=True):
    col.metric(kpi.name, kpi.formatted(), kpi.formatted_delta(), border=True)
if now["sessions"] == 0:
    missing(
        t("No shopper events in this period."),
        t("Widen the period in the sidebar, or load events: `shoplens ingest FILE --kind events`."),
    )
if now["aov"] is None:
    st.caption(
        t("Average order value needs item prices: add an items file with a `price` column "
          "(`shoplens ingest FILE --kind items`).")
    )  # fmt: skip

show_alerts(cached(shop_alerts, store, shop_id=f.shop_id, until=f.end), f.shop_id)

st.subheader(t("What shoppers say"))
reviews, reviews_before = (
    reviews_scored(store, f, strict=True),
    reviews_scored(store, f, strict=True, previous=True),
)
sentences = sentences_scored(store, f)
sentences_before = sentences_scored(store, f, previous=True)
text_kpis = [
    Kpi(
        t("Sentiment index"),
        sentiment_index(reviews["label"]) if len(reviews) else None,
        sentiment_index(reviews_before["label"]) if len(reviews_before) else None,
        "index",
    ),
    Kpi(
        t("Demand index"),
        demand_index(sentences) if len(sentences) else None,
        demand_index(sentences_before) if len(sentences_before) else None,
        "percent",
    ),
    Kpi(t("Reviews"), len(reviews), len(reviews_before)),
]
for col, kpi in zip(st.columns(3), text_kpis, strict=True):
    col.metric(kpi.name, kpi.formatted(), kpi.formatted_delta(), border=True)
st.caption(
    t("Sentiment index = (positive − negative) / all reviews, from −1 to +1. "
      "Demand index = share of reviews that ask for something, complain or ask a question.")
)  # fmt: skip
if not len(reviews):
    missing(t("No scored reviews in this period."), t(TRAIN_HINT, task="sentiment", shop=f.shop_id))

st.markdown(t("**What customers say about products** (aspects in review sentences)"))
mentions = cached(aspect_mentions, store, shop_id=f.shop_id, start=f.start, end=f.end,
                  category=f.category)  # fmt: skip
if len(mentions):
    shop_wide = aspect_summary(mentions.assign(scope="shop"), ["scope"])
    st.pills(t("Aspects (details on the Sentiment page)"), [chip_label(r) for _, r in shop_wide.head(6).iterrows()],
             key="overview_aspects", disabled=True)  # fmt: skip
    worst = top_complaints(aspect_summary(mentions, ["title"]), ["title"], limit=5)
    if len(worst):
        shown = worst[["title", "aspect", "negative", "mentions", "negative_low"]].assign(
            aspect=worst["aspect"].map(aspect_label)
        )
        st.dataframe(columns(shown), hide_index=True, width="stretch",
                     column_config={header("negative_low"): st.column_config.NumberColumn(
                         t("surely negative (95 % low)"), format="percent")})  # fmt: skip
else:
    missing(t("No aspect predictions in this period."),
            f"`shoplens train aspects --shop {f.shop_id}` then `shoplens score aspects --shop {f.shop_id}`")  # fmt: skip

left, right = st.columns(2)
with left:
    st.markdown(t("**Top intents** (messages)"))
    msgs, msgs_before = messages_scored(store, f), messages_scored(store, f, previous=True)
    if len(msgs):
        counts = msgs["label"].value_counts().head(5)
        previous = msgs_before["label"].value_counts() if len(msgs_before) else {}
        table = counts.rename("messages").rename_axis("intent").to_frame()
        table["change"] = [int(n - previous.get(k, 0)) for k, n in counts.items()]
        table = columns(table.rename(index=label).rename_axis(t("intent")))
        st.dataframe(table, width="stretch")
    else:
        missing(
            t("No scored messages in this period."), t(TRAIN_HINT, task="intent", shop=f.shop_id)
        )
with right:
    st.markdown(t("**Top demands** (named needs from reviews)"))
    need_rows = sentences[sentences["label"].isin(NEED_LABELS)] if len(sentences) else sentences
    if len(need_rows):
        with st.spinner(t("Reading the needs…")):
            needs = cached(shop_needs, store, shop_id=f.shop_id, start=f.start, end=f.end,
                           category=f.category)  # fmt: skip
        needs = needs[needs["need_id"] > 0]  # named needs; the other bucket is on Demand
        st.dataframe(
            columns(needs.head(5).assign(example=needs["quotes"].str[0].map(masked))[
                ["name", "sentences", "share", "example"]
            ]),
            hide_index=True,
            width="stretch",
            column_config={header("share"): st.column_config.NumberColumn(format="percent")},
        )  # fmt: skip
    else:
        missing(
            t("No demand sentences in this period."), t(TRAIN_HINT, task="demand", shop=f.shop_id)
        )
