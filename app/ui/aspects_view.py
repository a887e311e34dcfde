""" "Customers say": aspect chips with their mention share and positive / negative split, the
quotes behind a chip, its trend, and the aspects most surely complained about per product."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import charts
from app.ui.context import Filters, cached, missing
from app.ui.explain_view import masked, quote
from app.ui.i18n import N_, aspect_label, columns, header, label, t, translator
from app.ui.metrics import time_bucket
from core.stats import MIN_SUPPORT, wilson_bounds
from core.text_insight import aspect_mentions, aspect_summary, top_complaints
from db import prediction_queries as pq
from db.store import Store

ALL = N_("All products")


def chip_label(row: pd.Series) -> str:
    """``size fit · 34 % of reviews · +62 % / −38 %`` (opinionated mentions split)."""
    opinionated = int(row["positive"] + row["negative"])
    split = (f" · +{row['positive'] / opinionated:.0%} / −{row['negative'] / opinionated:.0%}"
             if opinionated else t(" · no opinion"))  # fmt: skip
    return (
        t(
            "{aspect} · {share} of reviews",
            aspect=aspect_label(row["aspect"]),
            share=f"{row['share']:.0%}",
        )
        + split
    )


def customers_say(store: Store, f: Filters, key: str = "aspects") -> None:
    """The section, for the shop or one product in the filters' period."""
    mentions = cached(aspect_mentions, store, shop_id=f.shop_id, start=f.start, end=f.end,
                      category=f.category)  # fmt: skip
    st.subheader(t("What customers say"))
    if mentions.empty:
        missing(t("No aspect predictions for this period yet."),
                t("`shoplens train aspects --shop {shop}` then `shoplens score aspects --shop "
                  "{shop}` (the rules serve until people label sentences)", shop=f.shop_id))  # fmt: skip
        return
    products = mentions["title"].value_counts()
    all_products, tr = t(ALL), translator()
    choice = st.selectbox(t("Product"), [ALL, *products.index[:200]], key=f"{key}_product",
                          format_func=lambda p: all_products if p == ALL
                          else tr("{product} ({n} mentions)").format(product=p, n=products[p]))  # fmt: skip
    scope = mentions if choice == ALL else mentions[mentions["title"] == choice]
    reviews = scope["review_id"].nunique()
    summary = aspect_summary(scope.assign(scope="all"), ["scope"])
    st.caption(t("{mentions} aspect mentions in {reviews} reviews. Share: reviews that mention "
                 "the aspect; split: positive / negative among opinionated mentions. Pick a chip "
                 "for its quotes and trend.", mentions=f"{len(scope):,}", reviews=f"{reviews:,}"))  # fmt: skip
    labels = {chip_label(r): r["aspect"] for _, r in summary.iterrows()}
    picked = st.pills(t("Aspects"), list(labels), key=f"{key}_chip", label_visibility="collapsed")
    if picked:
        _aspect_detail(
            store, f, scope[scope["aspect"] == labels[picked]], (f.end - f.start).days + 1
        )
    st.subheader(t("Aspects most surely complained about"))
    table = top_complaints(aspect_summary(mentions, ["title", "category"]), ["title", "category"])
    if table.empty:
        st.success(t("No product has {n}+ opinionated mentions of an aspect yet.", n=MIN_SUPPORT))
        return
    st.caption(t("Product × aspect with {n}+ opinionated mentions, ordered by the lower bound of "
                 "the negative share's 95 % Wilson interval (sure, not just high).", n=MIN_SUPPORT))  # fmt: skip
    shown = table[
        [
            "title",
            "category",
            "aspect",
            "mentions",
            "negative",
            "positive",
            "negative_share",
            "negative_low",
            "negative_high",
        ]
    ]
    shares = {"negative_share": t("negative share"), "negative_low": t("95 % low"),
              "negative_high": t("95 % high")}  # fmt: skip
    st.dataframe(
        columns(shown.assign(aspect=shown["aspect"].map(aspect_label))),
        hide_index=True, width="stretch",
        column_config={header(c): st.column_config.NumberColumn(title, format="percent")
                       for c, title in shares.items()},
    )  # fmt: skip


def _aspect_detail(store: Store, f: Filters, rows: pd.DataFrame, days: int) -> None:
    left, right = st.columns(2)
    texts = pq.sentence_texts(store, f.shop_id, rows["target_id"].tolist())
    rows = rows.merge(texts[["target_id", "text"]], on="target_id", how="left")
    with left:
        for polarity in ("negative", "positive"):
            part = rows[rows["polarity"] == polarity].sort_values("confidence", ascending=False)
            st.markdown(f"**{label(polarity)}** ({len(part)})")
            for text in part["text"].dropna().drop_duplicates().head(3):
                quote(masked(text))
    with right:
        bucket = time_bucket(rows["ts"], days, len(rows) / max(days, 1))
        opinion = rows.assign(bucket=bucket, negative=rows["polarity"] == "negative")
        opinion = opinion[opinion["polarity"] != "neutral"]
        if opinion.empty:
            st.caption(t("No opinionated mention to draw a trend from."))
            return
        trend = opinion.groupby("bucket")["negative"].agg(["sum", "size"]).reset_index()
        bounds = wilson_bounds(trend["sum"], trend["size"])
        trend = trend.assign(share=trend["sum"] / trend["size"], low=bounds["low"],
                             high=bounds["high"], line=t("negative share"))  # fmt: skip
        st.plotly_chart(charts.trend_figure(trend, "bucket", "share", "line", t("negative share"),
                                            band=("low", "high")), width="stretch")  # fmt: skip
