"""Search: what shoppers look for, what follows a search, and what the catalogue cannot answer."""

import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.explain_view import masked
from core.search import trending, unmatched_queries
from db import behaviour_queries as bq

PAGE = {
    "title": "Search",
    "icon": ":material/search:",
    "order": 25,
    "roles": ("merchant", "admin"),
}

ctx = page_context()
f, store = ctx.filters, ctx.store
st.title("Search")
st.caption(f"Shop **{f.shop_id}** · searches from {f.start:%d %b %Y} – {f.end:%d %b %Y}")
queries = cached(bq.search_queries, store, shop_id=f.shop_id, start=f.start, end=f.end)
if queries.empty:
    missing(
        "No searches in this period.",
        "Widen the period in the sidebar, or load events with search queries "
        "(`shoplens ingest FILE --kind events`, event type `search` with a `query`).",
    )
    st.stop()
# shoppers type what they like into a search box, personal data included
queries = queries.assign(query=[masked(q) for q in queries["query"]])
daily = cached(bq.search_daily, store, shop_id=f.shop_id, start=f.start, end=f.end)
searches = int(daily["searches"].sum())
dead = int(daily["dead_ends"].sum())


def weighted(col: str) -> float:
    """A per-query rate over all searches (weighted by each query's searches)."""
    return float((queries[col] * queries["searches"]).sum() / max(queries["searches"].sum(), 1))


cols = st.columns(4)
cols[0].metric("Searches", f"{searches:,}", border=True)
cols[1].metric("Distinct queries", f"{int(queries['query'].nunique()):,}"
               + ("+" if len(queries) >= 500 else ""), border=True)  # fmt: skip
cols[2].metric("Search → view", f"{weighted('view_rate'):.0%}", border=True,
               help="share of searches followed by a product view in the same session")  # fmt: skip
cols[3].metric("Search → purchase", f"{weighted('purchase_rate'):.0%}", border=True,
               help="share of searches followed by a purchase in the same session")  # fmt: skip

st.subheader("Searches per day")
st.plotly_chart(charts.trend_figure(daily.melt("day", ["searches", "dead_ends"], "series", "n"),
                                    "day", "n", colour="series", y_title="searches"),
                width="stretch")  # fmt: skip
st.caption(f"Dead ends: searches after which the session viewed and bought nothing "
           f"({dead:,} of {searches:,}, {dead / max(searches, 1):.0%}).")  # fmt: skip

percent = {c: st.column_config.NumberColumn(c.replace("_", " "), format="percent")
           for c in ("view_rate", "purchase_rate")}  # fmt: skip
left, right = st.columns(2)
with left:
    st.subheader("Top queries")
    st.dataframe(queries.head(20)[["query", "searches", "shoppers", "view_rate", "purchase_rate"]],
                 hide_index=True, width="stretch", column_config=percent)  # fmt: skip
with right:
    st.subheader("Trending")
    rising = trending(queries)
    if rising.empty:
        st.caption("No query with 5+ searches grew from the period's first half to its second.")
    else:
        st.dataframe(rising[["query", "searches", "earlier", "later", "growth"]], hide_index=True,
                     width="stretch",
                     column_config={"growth": st.column_config.NumberColumn(format="%.1f×")})  # fmt: skip
        st.caption("Searches in the first and second half of the period; queries with 5+ searches.")

left, right = st.columns(2)
with left:
    st.subheader("Searches that lead nowhere")
    nowhere = queries.assign(dead_ends=(queries["searches"] * (1 - queries["view_rate"])).round())
    nowhere = nowhere[nowhere["dead_ends"] > 0].sort_values("dead_ends", ascending=False).head(15)
    st.dataframe(nowhere[["query", "searches", "dead_ends", "view_rate"]], hide_index=True,
                 width="stretch", column_config=percent)  # fmt: skip
    st.caption("Queries after which shoppers most often viewed nothing: check what the search "
               "returns for them.")  # fmt: skip
with right:
    st.subheader("Unmet demand")
    catalogue = cached(bq.catalogue_texts, store, shop_id=f.shop_id)
    unmet = set(unmatched_queries(queries["query"].tolist(), catalogue))
    gaps = queries[queries["query"].isin(unmet)].head(15)
    if gaps.empty:
        st.success("Every searched query matches an item title or category.")
    else:
        st.dataframe(gaps[["query", "searches", "shoppers", "earlier", "later"]],
                     hide_index=True, width="stretch")  # fmt: skip
        share = gaps["searches"].sum() / max(searches, 1)
        st.caption(f"Queries whose words match no item title or category: shoppers ask for "
                   f"things the shop does not list ({share:.0%} of searches in the top 15).")  # fmt: skip
