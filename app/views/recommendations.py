"""Recommendations: what each shopper is likely to want next, what goes with an item, and what to
promote to a segment; with how well the serving recommender did on held-out events."""

import pandas as pd
import streamlit as st

from app.ui.context import cached, missing, page_context
from app.ui.textdata import TRAIN_HINT
from db import behaviour_queries as bq
from db import dashboard_queries as dq

PAGE = {
    "title": "Recommendations",
    "icon": ":material/recommend:",
    "order": 27,
    "roles": ("merchant", "admin"),
}

ctx = page_context()
f, store = ctx.filters, ctx.store
st.title("Recommendations")
version = ctx.ctx.registry.active(f.shop_id, "recommend")
users = cached(bq.recommended_users, store, shop_id=f.shop_id, version=version) if version else []
if version is None or not users:
    missing("No recommendations for this shop yet.", TRAIN_HINT.format(task="recommend",
                                                                        shop=f.shop_id))  # fmt: skip
    st.stop()
metrics = ctx.ctx.registry.version(f.shop_id, "recommend", version).metrics
served = ctx.ctx.registry.version(f.shop_id, "recommend", version).model_type
st.caption(f"Shop **{f.shop_id}** · served: **{served.removeprefix('recommend_')}** "
           f"(version {version})")  # fmt: skip

with st.expander("How well each method predicts a shopper's next item (held-out last events)"):
    methods = pd.DataFrame(metrics.get("methods") or {}).T
    categories = pd.DataFrame(metrics.get("categories") or {}).T
    if len(methods):
        table = pd.DataFrame({
            "next item HR@10": methods["hr@10"], "next item NDCG@10": methods["ndcg@10"],
            "next item Recall@50": methods["recall@50"],
            "next category HR@10": categories.get("hr@10"),
        })  # fmt: skip
        st.dataframe(table.round(3), width="stretch")
        st.caption(f"Each shopper's last item event is held out ({metrics.get('shoppers', 0):,} "
                   "shoppers) and every method ranks all items; the served method was chosen on "
                   "the event before it.")  # fmt: skip

st.subheader("For a shopper")
user = st.selectbox("Shopper (most active first)", users, key="rec_user")
mine = cached(bq.shopper_recommendations, store, shop_id=f.shop_id, version=version,
              user_id=user)  # fmt: skip
st.dataframe(mine, hide_index=True, width="stretch",
             column_config={"score": st.column_config.NumberColumn(format="%.3f")})  # fmt: skip

st.subheader("For an item: shoppers who viewed this also…")
items = cached(dq.top_items_period, store, shop_id=f.shop_id, start=f.start, end=f.end,
               category=f.category, segment=f.segment)  # fmt: skip
if items.empty:
    st.caption("No item was viewed in this period.")
else:
    labels: dict[str, str] = {str(r.item_id): f"{r.item_id} · {r.title or r.category}"
                              for r in items.itertuples()}  # fmt: skip
    choices: list[str] = list(labels)
    item = st.selectbox("Item (most viewed in the period first)", choices,
                        format_func=lambda key: labels.get(key, key), key="rec_item")  # fmt: skip
    left, right = st.columns(2)
    for column, kind, title in ((left, "view", "…viewed"), (right, "purchase", "…bought")):
        also = cached(bq.also_touched, store, shop_id=f.shop_id, item_id=item, event_type=kind)
        column.markdown(f"**{title}**")
        if also.empty:
            column.caption("Nothing yet.")
        else:
            column.dataframe(also, hide_index=True, width="stretch",
                             column_config={"share": st.column_config.NumberColumn(
                                 format="percent")})  # fmt: skip

st.subheader(f"What to promote to: {dq.SEGMENTS[f.segment][0]}")
promote = cached(bq.segment_promotions, store, shop_id=f.shop_id, start=f.start, end=f.end,
                 segment=f.segment, version=version, category=f.category)  # fmt: skip
if promote.empty:
    st.caption("No shopper of this segment has a list; pick another segment in the sidebar.")
else:
    st.dataframe(promote, hide_index=True, width="stretch",
                 column_config={"share": st.column_config.NumberColumn(format="percent"),
                                "mean_rank": st.column_config.NumberColumn(format="%.1f")})  # fmt: skip
    st.caption("The items most often in the segment's shoppers' top-10 lists (shoppers active in "
               "the period; change the segment in the sidebar).")  # fmt: skip
