"""Recommendations: what each shopper is likely to want next, what goes with an item, and what to
promote to a segment; with how well the serving recommender did on held-out events."""

import pandas as pd
import streamlit as st

from app.ui.context import cached, missing, page_context
from app.ui.i18n import columns, header, t
from app.ui.textdata import TRAIN_HINT
from db import behaviour_queries as bq
from db import dashboard_queries as dq

PAGE = {
    "title": "Recommendations",
    "icon": ":material/recommend:",
    "order": 27,
    "roles": ("merchant", "admin"),
}
# an item viewed by more shoppers in the period has "also viewed" counted among a fixed sample of
# about this many of them (the week's most viewed item of a 100M-event log: 128k shoppers)
ALSO_VIEWED_SAMPLE = 20_000

ctx = page_context()
f, store = ctx.filters, ctx.store
st.title(t("Recommendations"))
version = ctx.ctx.registry.active(f.shop_id, "recommend")
users = cached(bq.recommended_users, store, shop_id=f.shop_id, version=version) if version else []
if version is None or not users:
    missing(t("No recommendations for this shop yet."),
            t(TRAIN_HINT, task="recommend", shop=f.shop_id))  # fmt: skip
    st.stop()
metrics = ctx.ctx.registry.version(f.shop_id, "recommend", version).metrics
served = ctx.ctx.registry.version(f.shop_id, "recommend", version).model_type
st.caption(t("Shop **{shop}** · served: **{method}** (version {version})", shop=f.shop_id,
             method=served.removeprefix("recommend_"), version=version))  # fmt: skip

with st.expander(t("How well each method predicts a shopper's next item (held-out last events)")):
    methods = pd.DataFrame(metrics.get("methods") or {}).T
    categories = pd.DataFrame(metrics.get("categories") or {}).T
    if len(methods):
        table = pd.DataFrame({
            t("next item HR@10"): methods["hr@10"], t("next item NDCG@10"): methods["ndcg@10"],
            t("next item Recall@50"): methods["recall@50"],
            t("next category HR@10"): categories.get("hr@10"),
        })  # fmt: skip
        st.dataframe(table.round(3), width="stretch")
        items_only = [m for m in methods.index if m not in categories.index]
        if items_only:  # e.g. SASRec: it ranks items; categories come from the re-ranker
            st.caption(t("{methods} rank items only: when one serves, next categories come from "
                         "the category re-ranker.", methods=", ".join(items_only)))  # fmt: skip
        st.caption(t("Each shopper's last item event is held out ({n} shoppers) and every method "
                     "ranks all items; the served method was chosen on the event before it.",
                     n=f"{metrics.get('shoppers', 0):,}"))  # fmt: skip

st.subheader(t("For a shopper"))
user = st.selectbox(t("Shopper (most active first)"), users, key="rec_user")
mine = cached(bq.shopper_recommendations, store, shop_id=f.shop_id, version=version,
              user_id=user)  # fmt: skip
st.dataframe(columns(mine), hide_index=True, width="stretch",
             column_config={header("score"): st.column_config.NumberColumn(format="%.3f")})  # fmt: skip

st.subheader(t("For an item: shoppers who viewed this in the period also…"))
items = cached(dq.top_items_period, store, shop_id=f.shop_id, start=f.start, end=f.end,
               category=f.category, segment=f.segment)  # fmt: skip
if items.empty:
    st.caption(t("No item was viewed in this period."))
else:
    labels: dict[str, str] = {str(r.item_id): f"{r.item_id} · {r.title or r.category}"
                              for r in items.itertuples()}  # fmt: skip
    choices: list[str] = list(labels)
    item = st.selectbox(t("Item (most viewed in the period first)"), choices,
                        format_func=lambda key: labels.get(key, key), key="rec_item")  # fmt: skip
    left, right = st.columns(2)
    for column, kind, title in ((left, "view", t("…viewed")), (right, "purchase", t("…bought"))):
        # views of a very popular item are counted among a fixed sample of its shoppers
        also = cached(bq.also_touched, store, shop_id=f.shop_id, item_id=item, event_type=kind,
                      start=f.start, end=f.end,
                      sample_above=ALSO_VIEWED_SAMPLE if kind == "view" else None)  # fmt: skip
        column.markdown(f"**{title}**")
        if also.empty:
            column.caption(t("Nothing yet."))
        else:
            column.dataframe(columns(also), hide_index=True, width="stretch",
                             column_config={header("share"): st.column_config.NumberColumn(
                                 format="percent")})  # fmt: skip
            one_in = int(also.attrs.get("sampled_one_in", 1))
            if one_in > 1:
                column.caption(t("Counted among a fixed sample of 1 in {n} of the item's shoppers "
                                 "(a very popular item); shares are within about 1 point.",
                                 n=one_in))  # fmt: skip

st.subheader(t("What to promote to: {segment}", segment=t(dq.SEGMENTS[f.segment][0])))
promote = cached(bq.segment_promotions, store, shop_id=f.shop_id, start=f.start, end=f.end,
                 segment=f.segment, version=version, category=f.category)  # fmt: skip
if promote.empty:
    st.caption(t("No shopper of this segment has a list; pick another segment in the sidebar."))
else:
    st.dataframe(columns(promote), hide_index=True, width="stretch",
                 column_config={header("share"): st.column_config.NumberColumn(format="percent"),
                                header("mean_rank"): st.column_config.NumberColumn(format="%.1f")})  # fmt: skip
    st.caption(t("The items most often in the segment's shoppers' top-10 lists (shoppers active "
                 "in the period; change the segment in the sidebar)."))  # fmt: skip
