"""Demand: review sentences that ask for something, grouped into named needs."""

import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.explain_view import masked, quote
from app.ui.i18n import columns, day, header, label, labeller, t
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
st.title(t("Demand"))
st.caption(
    t("Shop **{shop}** · review sentences from {start} – {end}", shop=f.shop_id,
      start=day(f.start), end=day(f.end))
    + (t(" · category {category}", category=f.category) if f.category else "")
)  # fmt: skip
if not has_predictions(store, f.shop_id, "demand"):
    missing(
        t("No demand model has scored this shop's review sentences yet."),
        t(TRAIN_HINT, task="demand", shop=f.shop_id),
    )
    st.stop()
sentences = sentences_scored(store, f)
if sentences.empty:
    missing(t("No scored review sentences in this period."), t("Widen the period in the sidebar."))
    st.stop()
needs_rows = sentences[sentences["label"].isin(NEED_LABELS)]
c1, c2, c3 = st.columns(3)
c1.metric(
    t("Demand index"),
    f"{demand_index(sentences):.0%}",
    border=True,
    help=t("Share of reviews with a request, complaint or question."),
)
c2.metric(t("Need sentences"), f"{len(needs_rows):,}", border=True)
c3.metric(t("Reviews"), f"{sentences['review_id'].nunique():,}", border=True)
if needs_rows.empty:
    st.success(t("No review in this period asks for anything."))
    st.stop()

st.subheader(t("Named needs"))
kinds = st.multiselect(
    t("Kinds of need"),
    list(NEED_LABELS),
    default=list(NEED_LABELS),
    key="demand_kinds",
    format_func=labeller(),
)
with st.spinner(t("Reading the needs…")):
    needs = cached(shop_needs, store, shop_id=f.shop_id, start=f.start, end=f.end,
                   category=f.category, kinds=tuple(kinds))  # fmt: skip
st.caption(
    t("Needs group similar need sentences (k-means on sentence embeddings of the clause that "
      "carries the need), named by their distinctive phrases; near-duplicates are merged and "
      "sentences that fit no need stay in **other**. The scoring job groups all of the shop's "
      "need sentences, so a need keeps its name from one period to the next; sizes and quotes "
      "are the period's. Trend: sentences in the first and the second half of the period.")
)  # fmt: skip
for position, need in enumerate(needs.head(12).itertuples()):
    trend = need.trend
    arrow = ("↑" if trend["second_half"] > trend["first_half"] else
             "↓" if trend["second_half"] < trend["first_half"] else "→")  # fmt: skip
    title = t("**{name}** · {n} sentences ({share}) · {before} {arrow} {after}",
              name=label(need.name), n=need.sentences, share=f"{need.share:.0%}",
              before=trend["first_half"], arrow=arrow, after=trend["second_half"])  # fmt: skip
    with st.expander(title, expanded=position < 2 and need.need_id > 0):
        for text in need.quotes:
            quote(masked(text))
        products = ", ".join(f"{p['title']} ({p['sentences']})" for p in need.top_products)
        st.caption(t("Products most affected: {products}", products=products or "—")
                   + (t(" · aspects: {aspects}", aspects=", ".join(map(label, need.aspects)))
                      if need.aspects else ""))  # fmt: skip

left, right = st.columns(2)
per_review = (
    sentences.assign(need=sentences["label"].isin(NEED_LABELS))
    .groupby(["review_id", "category", "title"], as_index=False)["need"]
    .any()
)
with left:
    st.subheader(t("Demand index by category"))
    by_cat = per_review.groupby("category")["need"].agg(["mean", "size"])
    by_cat = by_cat[by_cat["size"] >= MIN_SUPPORT].sort_values("mean", ascending=False)
    st.caption(t("Categories with {n}+ reviews; n = reviews in the period.", n=MIN_SUPPORT))
    st.plotly_chart(
        charts.bar_figure(
            [f"{c} (n={n})" for c, n in by_cat["size"].items()],
            by_cat["mean"].to_numpy(),
            value_title=t("share of reviews with a need"),
        ),
        width="stretch",
    )
with right:
    st.subheader(t("By product"))
    st.caption(t("Products with {n}+ reviews, ordered by the lower bound of the 95 % Wilson "
                 "interval of their demand index.", n=MIN_SUPPORT))  # fmt: skip
    st.dataframe(
        columns(demand_by_product(per_review).head(20)),
        hide_index=True,
        width="stretch",
        column_config={header(c): st.column_config.NumberColumn(format="percent")
                       for c in ("demand_index", "low", "high")},
    )  # fmt: skip

st.subheader(t("Trend"))
days = (f.end - f.start).days + 1
trend = counts_over_time(needs_rows, "ts", "label", days, "sentences")
st.plotly_chart(
    charts.trend_figure(trend.assign(label=trend["label"].map(label)), "bucket", "sentences",
                        "label", t("need sentences")), width="stretch"
)  # fmt: skip
