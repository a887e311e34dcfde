"""Sentiment: index by category and product over time, products getting worse, disagreements
with the stars, and a review drill-down with word highlights."""

import streamlit as st

from app.ui import charts
from app.ui.aspects_view import customers_say
from app.ui.context import missing, page_context
from app.ui.explain_view import explain_block
from app.ui.i18n import columns, day, header, label, t
from app.ui.metrics import (
    index_by,
    rating_disagreements,
    time_bucket,
    worsening_products,
    worst_products,
)
from app.ui.textdata import TRAIN_HINT, has_predictions, reviews_scored
from core.stats import MIN_SUPPORT

PAGE = {
    "title": "Sentiment",
    "icon": ":material/sentiment_satisfied:",
    "order": 30,
    "roles": ("merchant", "admin"),
}

ctx = page_context()
f, store = ctx.filters, ctx.store
st.title(t("Sentiment"))
st.caption(
    t("Shop **{shop}** · reviews from {start} – {end}", shop=f.shop_id, start=day(f.start),
      end=day(f.end))
    + (t(" · category {category}", category=f.category) if f.category else "")
)  # fmt: skip
if not has_predictions(store, f.shop_id, "sentiment"):
    missing(
        t("No sentiment model has scored this shop's reviews yet."),
        t(TRAIN_HINT, task="sentiment", shop=f.shop_id),
    )
    st.stop()

reviews = reviews_scored(store, f, strict=True)
if reviews.empty:
    missing(t("No scored reviews in this period."), t("Widen the period in the sidebar."))
    st.stop()

customers_say(store, f, key="sentiment_aspects")

days = (f.end - f.start).days + 1
busiest = reviews["category"].value_counts().head(6).index  # a readable chart: 6 lines at most
recent = reviews[reviews["category"].isin(busiest)]
per_line_per_day = len(recent) / max(len(busiest), 1) / days
trend = index_by(recent.assign(bucket=time_bucket(recent["ts"], days, per_line_per_day)),
                 ["bucket", "category"])  # fmt: skip
st.subheader(t("Sentiment index by category over time"))
st.caption(
    t("The six categories with the most reviews in the period (pick a category in the sidebar "
      "for another). Shaded: the 95 % interval of each point; points are weekly when a line "
      "averages fewer than 20 reviews a day over a period of three weeks or more.")
)  # fmt: skip
st.plotly_chart(
    charts.trend_figure(
        trend, "bucket", "sentiment_index", "category", t("sentiment index"), band=("low", "high")
    ),  # fmt: skip
    width="stretch",
)

left, right = st.columns(2)
with left:
    st.subheader(t("By product"))
    products = worst_products(reviews)
    st.caption(
        t("Products with at least {n} reviews in the period, worst first by the upper bound of "
          "their index's 95 % interval (sure to be bad, not bad by chance).", n=MIN_SUPPORT)
    )  # fmt: skip
    st.dataframe(
        columns(products),
        hide_index=True,
        width="stretch",
        column_config={
            header("sentiment_index"): st.column_config.ProgressColumn(
                t("sentiment index"), min_value=-1, max_value=1, format="%.2f"
            ),
            header("low"): st.column_config.NumberColumn(t("95 % low"), format="%+.2f"),
            header("high"): st.column_config.NumberColumn(t("95 % high"), format="%+.2f"),
        },
    )
with right:
    st.subheader(t("Products getting worse"))
    worse = worsening_products(reviews, reviews_scored(store, f, strict=True, previous=True))
    if worse.empty:
        st.success(
            t("No product's sentiment fell significantly against the previous period (Welch's "
              "t-test, p < 0.05, products with {n}+ reviews in both periods).", n=MIN_SUPPORT)
        )  # fmt: skip
    else:
        st.caption(t("Falls significant under Welch's t-test on review scores (p < 0.05), "
                     "products with {n}+ reviews in both periods.", n=MIN_SUPPORT))  # fmt: skip
        st.dataframe(
            columns(worse), hide_index=True, width="stretch",
            column_config={**{header(c): st.column_config.NumberColumn(format="%+.2f")
                              for c in ("before", "now", "change")},
                           header("p_value"): st.column_config.NumberColumn("p", format="%.3f")},
        )  # fmt: skip

st.subheader(t("Stars vs predicted sentiment"))
disagree = rating_disagreements(reviews)
st.caption(
    t("{n} of {total} reviews contradict their star rating: worth a read (sarcasm, wrong stars, "
      "or a model mistake to label).", n=len(disagree), total=len(reviews))
)  # fmt: skip
if len(disagree):
    shown = disagree[["review_id", "title", "rating", "from_stars", "label", "confidence"]].head(50)
    st.dataframe(
        columns(shown.assign(from_stars=shown["from_stars"].map(label),
                             label=shown["label"].map(label))),
        hide_index=True,
        width="stretch",
        column_config={
            t("label"): t("predicted"),
            header("confidence"): st.column_config.NumberColumn(format="percent"),
        },
    )  # fmt: skip

st.subheader(t("Review drill-down"))
pool = (disagree if len(disagree) else reviews).head(300)
titles = dict(zip(pool["review_id"], pool["title"], strict=True))
texts = dict(zip(pool["review_id"], pool["text"], strict=True))
choice = st.selectbox(
    t("Review (the most confident disagreements first)"), list(titles), key="sentiment_review",
    format_func=lambda rid: f"{rid} · {titles[rid]}",
)  # fmt: skip
if choice:
    explain_block(ctx.ctx, f.shop_id, "sentiment", texts[choice], key=f"sent-{choice}")
