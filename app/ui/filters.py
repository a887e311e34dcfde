"""The sidebar filters (shop, dates, category, segment), kept in ``st.session_state`` so they
carry across pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import streamlit as st

from app.ui.context import Filters, cached, can_see_shop
from app.ui.i18n import N_, t
from db import dashboard_queries as dq
from db.store import Store

ALL_CATEGORIES = N_("All categories")


def default_period(first: date, last: date) -> tuple[date, date]:
    """The period shown first: the last 7 days of data when there are at least two weeks of it
    (so the previous period exists for comparison), else the later half of the data."""
    span = (last - first).days + 1
    days = 7 if span >= 14 else max(1, span // 2)
    return last - timedelta(days=days - 1), last


def visible_shops(store: Store, viewer: Any) -> list[str]:
    """Shops with data that this viewer may see."""
    if not store.exists():
        return []
    return [s for s in cached(dq.shops, store) if can_see_shop(viewer, s)]


def _period(value: Any, fallback: tuple[date, date]) -> tuple[date, date]:
    # a date range input gives a 1-tuple while the second day is still being picked
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return value[0], value[1]
    return fallback


def render_sidebar(store: Store, viewer: Any) -> Filters | None:
    """Draw the filters and return the chosen ones; ``None`` when the viewer sees no data."""
    shops = visible_shops(store, viewer)
    sidebar = st.sidebar
    if not shops:
        return None
    if st.session_state.get("f_shop") not in shops:
        st.session_state["f_shop"] = shops[0]
    shop_id = sidebar.selectbox(t("Shop"), shops, key="f_shop", disabled=len(shops) == 1)

    first, last = cached(dq.data_span, store, shop_id=shop_id)
    if first is None:  # undated rows only (e.g. messages): pages still open on today
        first = last = date.today()
    default = default_period(first, last)
    if st.session_state.get("f_dates_shop") != shop_id:
        st.session_state["f_dates"] = default
        st.session_state["f_dates_shop"] = shop_id
    dates = sidebar.date_input(
        t("Period"), key="f_dates", min_value=first - timedelta(days=366), max_value=last
    )
    start, end = _period(dates, default)

    categories = [ALL_CATEGORIES, *cached(dq.categories, store, shop_id=shop_id)]
    all_label = t(ALL_CATEGORIES)
    segment_names = {key: t(name) for key, (name, _) in dq.SEGMENTS.items()}
    if st.session_state.get("f_category") not in categories:
        st.session_state["f_category"] = ALL_CATEGORIES
    category = sidebar.selectbox(
        t("Category"),
        categories,
        key="f_category",
        format_func=lambda c: all_label if c == ALL_CATEGORIES else c,
    )

    segment = sidebar.selectbox(
        t("Shopper segment"),
        list(dq.SEGMENTS),
        format_func=segment_names.__getitem__,
        key="f_segment",
    )
    return Filters(
        shop_id=shop_id,
        start=start,
        end=end,
        category=None if category == ALL_CATEGORIES else category,
        segment=segment,
    )
