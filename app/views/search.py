"""Search: what shoppers look for, what follows a search, and what the catalogue cannot answer."""

import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.explain_view import masked
from app.ui.i18n import aspect_label, columns, day, header, t
from core.search import query_aspects, trending, unmatched_queries
from db import behaviour_queries as bq
from db import dashboard_queries as dq

PAGE = {
    "title": "Search",
    "icon": ":material/search:",
    "order": 25,
    "roles": ("merchant", "admin"),
}

ctx = page_context()
f, store = ctx.filters, ctx.store
st.title(t("Search"))
st.caption(t("Shop **{shop}** · searches from {start} – {end}", shop=f.shop_id,
             start=day(f.start), end=day(f.end)))  # fmt: skip
queries, daily = cached(bq.search_activity, store, shop_id=f.shop_id, start=f.start, end=f.end)
if queries.empty:
    missing(
        t("No searches in this period."),
        t(
            "Widen the period in the sidebar, or load events with search queries "
            "(`shoplens ingest FILE --kind events`, event type `search` with a `query`)."
        ),
    )
    st.stop()
# shoppers type what they like into a search box, personal data included
queries = queries.assign(query=[masked(q) for q in queries["query"]])
searches = int(daily["searches"].sum())
dead = int(daily["dead_ends"].sum())


def weighted(col: str) -> float:
    """A per-query rate over all searches (weighted by each query's searches)."""
    return float((queries[col] * queries["searches"]).sum() / max(queries["searches"].sum(), 1))


cols = st.columns(4)
cols[0].metric(t("Searches"), f"{searches:,}", border=True)
cols[1].metric(t("Distinct queries"), f"{int(queries['query'].nunique()):,}"
               + ("+" if len(queries) >= 500 else ""), border=True)  # fmt: skip
cols[2].metric(t("Search → view"), f"{weighted('view_rate'):.0%}", border=True,
               help=t("share of searches followed by a product view in the same session"))  # fmt: skip
cols[3].metric(t("Search → purchase"), f"{weighted('purchase_rate'):.0%}", border=True,
               help=t("share of searches followed by a purchase in the same session"))  # fmt: skip

st.subheader(t("Searches per day"))
series = daily.melt("day", ["searches", "dead_ends"], "series", "n")
st.plotly_chart(charts.trend_figure(series.assign(series=series["series"].map(t)), "day", "n",
                                    colour="series", y_title=t("searches")),
                width="stretch")  # fmt: skip
st.caption(t("Dead ends: searches after which the session viewed and bought nothing "
             "({dead} of {searches}, {share}).", dead=f"{dead:,}", searches=f"{searches:,}",
             share=f"{dead / max(searches, 1):.0%}"))  # fmt: skip

percent = {header(c): st.column_config.NumberColumn(header(c), format="percent")
           for c in ("view_rate", "purchase_rate")}  # fmt: skip
left, right = st.columns(2)
with left:
    st.subheader(t("Top queries"))
    st.dataframe(columns(queries.head(20)[["query", "searches", "shoppers", "view_rate",
                                           "purchase_rate"]]),
                 hide_index=True, width="stretch", column_config=percent)  # fmt: skip
with right:
    st.subheader(t("Trending"))
    rising = trending(queries)
    if rising.empty:
        st.caption(t("No query with 5+ searches grew from the period's first half to its second."))
    else:
        st.dataframe(columns(rising[["query", "searches", "earlier", "later", "growth"]]),
                     hide_index=True, width="stretch",
                     column_config={header("growth"): st.column_config.NumberColumn(format="%.1f×")})  # fmt: skip
        st.caption(t("Searches in the first and second half of the period; queries with 5+ "
                     "searches."))  # fmt: skip

left, right = st.columns(2)
with left:
    st.subheader(t("Searches that lead nowhere"))
    nowhere = queries.assign(dead_ends=(queries["searches"] * (1 - queries["view_rate"])).round())
    nowhere = nowhere[nowhere["dead_ends"] > 0].sort_values("dead_ends", ascending=False).head(15)
    st.dataframe(columns(nowhere[["query", "searches", "dead_ends", "view_rate"]]),
                 hide_index=True, width="stretch", column_config=percent)  # fmt: skip
    st.caption(t("Queries after which shoppers most often viewed nothing: check what the search "
                 "returns for them."))  # fmt: skip
with right:
    st.subheader(t("Unmet demand"))
    catalogue = cached(bq.catalogue_texts, store, shop_id=f.shop_id)
    unmet = set(unmatched_queries(queries["query"].tolist(), catalogue))
    gaps = queries[queries["query"].isin(unmet)].head(15)
    if gaps.empty:
        st.success(t("Every searched query matches an item title or category."))
    else:
        st.dataframe(columns(gaps[["query", "searches", "shoppers", "earlier", "later"]]),
                     hide_index=True, width="stretch")  # fmt: skip
        share = gaps["searches"].sum() / max(searches, 1)
        st.caption(t("Queries whose words match no item title or category: shoppers ask for "
                     "things the shop does not list ({share} of searches in the top 15).",
                     share=f"{share:.0%}"))  # fmt: skip

st.subheader(t("What searches ask for"))
asking = query_aspects(queries, cached(dq.categories, store, shop_id=f.shop_id))
if asking.empty:
    st.caption(t("No aspect of the product (colour, fabric, size …) is named by 10 or more "
                 "searches in this period."))  # fmt: skip
else:
    asking = asking.assign(aspect=[aspect_label(a) for a in asking["aspect"]])
    st.dataframe(columns(asking[["aspect", "searches", "share", "asked", "purchase_rate",
                                 "purchase_lift"]]),
                 hide_index=True, width="stretch",
                 column_config={**percent, header("share"): st.column_config.NumberColumn(
                     header("share"), format="percent"),
                     header("purchase_lift"): st.column_config.NumberColumn(format="%.2f×")})  # fmt: skip
    st.caption(t("Searches that name an aspect of the product, read like reviews (the words "
                 "they used, with their searches). A purchase lift below 1×: shoppers who ask "
                 "by this aspect buy less often than the average searcher — check that the "
                 "range and the search filters answer it."))  # fmt: skip
