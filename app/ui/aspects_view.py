""" "Customers say": aspect chips with their mention share and positive / negative split, the
quotes behind a chip, its trend, and the aspects most surely complained about per product."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import charts
from app.ui.context import Filters, cached, missing
from app.ui.explain_view import masked, quote
from app.ui.metrics import time_bucket
from core.stats import MIN_SUPPORT, wilson_bounds
from core.text_insight import aspect_mentions, aspect_summary, top_complaints
from db import prediction_queries as pq
from db.store import Store

ALL = "All products"


def chip_label(row: pd.Series) -> str:
    """``size fit · 34 % of reviews · +62 % / −38 %`` (opinionated mentions split)."""
    opinionated = int(row["positive"] + row["negative"])
    split = (f" · +{row['positive'] / opinionated:.0%} / −{row['negative'] / opinionated:.0%}"
             if opinionated else " · no opinion")  # fmt: skip
    return f"{str(row['aspect']).replace('_', ' ')} · {row['share']:.0%} of reviews{split}"


def customers_say(store: Store, f: Filters, key: str = "aspects") -> None:
    """The section, for the shop or one product in the filters' period."""
    mentions = cached(aspect_mentions, store, shop_id=f.shop_id, start=f.start, end=f.end,
                      category=f.category)  # fmt: skip
    st.subheader("What customers say")
    if mentions.empty:
        missing("No aspect predictions for this period yet.",
                f"`shoplens train aspects --shop {f.shop_id}` then `shoplens score aspects "
                f"--shop {f.shop_id}` (the rules serve until people label sentences)")  # fmt: skip
        return
    products = mentions["title"].value_counts()
    choice = st.selectbox("Product", [ALL, *products.index[:200]], key=f"{key}_product",
                          format_func=lambda t: t if t == ALL else f"{t} ({products[t]} mentions)")  # fmt: skip
    scope = mentions if choice == ALL else mentions[mentions["title"] == choice]
    reviews = scope["review_id"].nunique()
    summary = aspect_summary(scope.assign(scope="all"), ["scope"])
    st.caption(f"{len(scope):,} aspect mentions in {reviews:,} reviews. Share: reviews that "
               "mention the aspect; split: positive / negative among opinionated mentions. Pick "
               "a chip for its quotes and trend.")  # fmt: skip
    labels = {chip_label(r): r["aspect"] for _, r in summary.iterrows()}
    picked = st.pills("Aspects", list(labels), key=f"{key}_chip", label_visibility="collapsed")
    if picked:
        _aspect_detail(
            store, f, scope[scope["aspect"] == labels[picked]], (f.end - f.start).days + 1
        )
    st.subheader("Aspects most surely complained about")
    table = top_complaints(aspect_summary(mentions, ["title", "category"]), ["title", "category"])
    if table.empty:
        st.success(f"No product has {MIN_SUPPORT}+ opinionated mentions of an aspect yet.")
        return
    st.caption(f"Product × aspect with {MIN_SUPPORT}+ opinionated mentions, ordered by the lower "
               "bound of the negative share's 95 % Wilson interval (sure, not just high).")  # fmt: skip
    st.dataframe(
        table[["title", "category", "aspect", "mentions", "negative", "positive", "negative_share",
               "negative_low", "negative_high"]],
        hide_index=True, width="stretch",
        column_config={"negative_share": st.column_config.NumberColumn("negative share", format="percent"),
                       "negative_low": st.column_config.NumberColumn("95 % low", format="percent"),
                       "negative_high": st.column_config.NumberColumn("95 % high", format="percent")},
    )  # fmt: skip


def _aspect_detail(store: Store, f: Filters, rows: pd.DataFrame, days: int) -> None:
    left, right = st.columns(2)
    texts = pq.sentence_texts(store, f.shop_id, rows["target_id"].tolist())
    rows = rows.merge(texts[["target_id", "text"]], on="target_id", how="left")
    with left:
        for polarity, title in (("negative", "Negative"), ("positive", "Positive")):
            part = rows[rows["polarity"] == polarity].sort_values("confidence", ascending=False)
            st.markdown(f"**{title}** ({len(part)})")
            for text in part["text"].dropna().drop_duplicates().head(3):
                quote(masked(text))
    with right:
        bucket = time_bucket(rows["ts"], days, len(rows) / max(days, 1))
        opinion = rows.assign(bucket=bucket, negative=rows["polarity"] == "negative")
        opinion = opinion[opinion["polarity"] != "neutral"]
        if opinion.empty:
            st.caption("No opinionated mention to draw a trend from.")
            return
        trend = opinion.groupby("bucket")["negative"].agg(["sum", "size"]).reset_index()
        bounds = wilson_bounds(trend["sum"], trend["size"])
        trend = trend.assign(share=trend["sum"] / trend["size"], low=bounds["low"],
                             high=bounds["high"], line="negative share")  # fmt: skip
        st.plotly_chart(charts.trend_figure(trend, "bucket", "share", "line", "negative share",
                                            band=("low", "high")), width="stretch")  # fmt: skip
