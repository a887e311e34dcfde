"""Demand: review sentences that ask for something, grouped into named needs."""

import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.explain_view import masked, quote
from app.ui.metrics import NEED_LABELS, counts_over_time, demand_by_product, demand_index
from app.ui.textdata import TRAIN_HINT, has_predictions, sentences_scored
from core.stats import MIN_SUPPORT
from core.text_insight import shop_needs

PAGE = {
    "title": "Demand",
    "icon": ":material/lightbulb:",
    "order": 50,
    "roles": ("merchant", "admin"),
}

ctx = page_context()
f, store = ctx.filters, ctx.store
st.title("Demand")
st.caption(
    f"Shop **{f.shop_id}** · review sentences from {f.start:%d %b %Y} – {f.end:%d %b %Y}"
    + (f" · category {f.category}" if f.category else "")
)
if not has_predictions(store, f.shop_id, "demand"):
    missing(
        "No demand model has scored this shop's review sentences yet.",
        TRAIN_HINT.format(task="demand", shop=f.shop_id),
    )
    st.stop()
sentences = sentences_scored(store, f)
if sentences.empty:
    missing("No scored review sentences in this period.", "Widen the period in the sidebar.")
    st.stop()
needs_rows = sentences[sentences["label"].isin(NEED_LABELS)]
c1, c2, c3 = st.columns(3)
c1.metric(
    "Demand index",
    f"{demand_index(sentences):.0%}",
    border=True,
    help="Share of reviews with a request, complaint or question.",
)
c2.metric("Need sentences", f"{len(needs_rows):,}", border=True)
c3.metric("Reviews", f"{sentences['review_id'].nunique():,}", border=True)
if needs_rows.empty:
    st.success("No review in this period asks for anything.")
    st.stop()

st.subheader("Named needs")
kinds = st.multiselect(
    "Kinds of need", list(NEED_LABELS), default=list(NEED_LABELS), key="demand_kinds"
)
with st.spinner("Reading the needs…"):
    needs = cached(shop_needs, store, shop_id=f.shop_id, start=f.start, end=f.end,
                   category=f.category, kinds=tuple(kinds))  # fmt: skip
st.caption(
    "Needs group similar need sentences (k-means on sentence embeddings of the clause that "
    "carries the need), named by their distinctive phrases; near-duplicates are merged and "
    "sentences that fit no need stay in **other**. The scoring job groups all of the shop's "
    "need sentences, so a need keeps its name from one period to the next; sizes and quotes are "
    "the period's. Trend: sentences in the first and the second half of the period."
)
for position, need in enumerate(needs.head(12).itertuples()):
    trend = need.trend
    arrow = ("↑" if trend["second_half"] > trend["first_half"] else
             "↓" if trend["second_half"] < trend["first_half"] else "→")  # fmt: skip
    title = (f"**{need.name}** · {need.sentences} sentences ({need.share:.0%}) · "
             f"{trend['first_half']} {arrow} {trend['second_half']}")  # fmt: skip
    with st.expander(title, expanded=position < 2 and need.need_id > 0):
        for text in need.quotes:
            quote(masked(text))
        products = ", ".join(f"{p['title']} ({p['sentences']})" for p in need.top_products)
        st.caption(f"Products most affected: {products or '—'}"
                   + (f" · aspects: {', '.join(need.aspects)}" if need.aspects else ""))  # fmt: skip

left, right = st.columns(2)
per_review = (
    sentences.assign(need=sentences["label"].isin(NEED_LABELS))
    .groupby(["review_id", "category", "title"], as_index=False)["need"]
    .any()
)
with left:
    st.subheader("Demand index by category")
    by_cat = per_review.groupby("category")["need"].agg(["mean", "size"])
    by_cat = by_cat[by_cat["size"] >= MIN_SUPPORT].sort_values("mean", ascending=False)
    st.caption(f"Categories with {MIN_SUPPORT}+ reviews; n = reviews in the period.")
    st.plotly_chart(
        charts.bar_figure(
            [f"{c} (n={n})" for c, n in by_cat["size"].items()],
            by_cat["mean"].to_numpy(),
            value_title="share of reviews with a need",
        ),
        width="stretch",
    )
with right:
    st.subheader("By product")
    st.caption(f"Products with {MIN_SUPPORT}+ reviews, ordered by the lower bound of the 95 % "
               "Wilson interval of their demand index.")  # fmt: skip
    st.dataframe(
        demand_by_product(per_review).head(20),
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="percent")
                       for c in ("demand_index", "low", "high")},
    )  # fmt: skip

st.subheader("Trend")
days = (f.end - f.start).days + 1
trend = counts_over_time(needs_rows, "ts", "label", days, "sentences")
st.plotly_chart(
    charts.trend_figure(trend, "bucket", "sentences", "label", "need sentences"), width="stretch"
)
