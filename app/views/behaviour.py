"""Behaviour: funnel, daily traffic with a 7-day forecast, cohorts, top items, purchase and churn
forecasts per shopper, session conversion, risk."""

import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.textdata import TRAIN_HINT
from core.forecast import best_forecast
from core.signals import shopper_signal_spec
from db import dashboard_queries as dq
from db import prediction_queries as pq

PAGE = {
    "title": "Behaviour",
    "icon": ":material/timeline:",
    "order": 20,
    "roles": ("merchant", "admin"),
}

ctx = page_context()
f, store = ctx.filters, ctx.store
args = {
    "shop_id": f.shop_id,
    "start": f.start,
    "end": f.end,
    "category": f.category,
    "segment": f.segment,
}
st.title("Behaviour")
st.caption(
    f"Shop **{f.shop_id}** · {f.start:%d %b %Y} – {f.end:%d %b %Y} · {dq.SEGMENTS[f.segment][0]}"
)

traffic = cached(dq.daily_traffic, store, **args)
if traffic["sessions"].sum() == 0:
    missing(
        "No shopper events in this period.",
        "Widen the period in the sidebar, or load events: `shoplens ingest FILE --kind events`.",
    )
    st.stop()

st.subheader("Funnel: view → cart → purchase")
total = cached(dq.funnel_by, store, by="total", **args)
left, right = st.columns([1, 2])
row = total.iloc[0]
left.plotly_chart(
    charts.funnel_totals_figure(int(row["view"]), int(row["cart"]), int(row["purchase"])),
    width="stretch",
)
by_category = cached(dq.funnel_by, store, by="category", **args)
right.plotly_chart(charts.funnel_figure(by_category), width="stretch")

st.subheader("Daily traffic and 7-day forecast")
# The forecast learns from all history up to the period end, not only the shown period. A
# shopper segment is defined by the shown period (who bought in it, who was new in it), so it
# has no history of its own: with a segment the forecast is of every shopper's traffic, drawn
# beside the segment's.
first, _ = cached(dq.data_span, store, shop_id=f.shop_id)
everyone = {**args, "segment": "all"}
history = cached(dq.daily_traffic, store, **{**everyone, "start": min(first, f.start)})
forecast, backtested, method = best_forecast(history, "sessions")
if f.segment == "all":
    figure = charts.traffic_figure(traffic, forecast)
else:
    figure = charts.traffic_figure(
        traffic,
        forecast,
        name=f"Sessions: {dq.SEGMENTS[f.segment][0]}",
        reference=cached(dq.daily_traffic, store, **everyone),
        reference_name="Sessions: all shoppers",
    )
st.plotly_chart(figure, width="stretch")
described = (
    "linear trend plus a weekday effect (weekday effect only with 2+ weeks of history)"
    if method == "trend_weekday"
    else "the same weekday of the last week (it beat the trend model in the backtest)"
)
if backtested["origins"]:
    pct = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
    check = (
        f" Backtest over the last {backtested['origins']} weeks (each forecast from the days "
        f"before it): MASE {backtested['mase']:.2f} for the trend model, "
        f'{backtested["mase_seasonal_naive"]:.2f} for "same weekday last week" (MAPE '
        f"{pct(backtested['mape'])} vs {pct(backtested['mape_seasonal_naive'])}; below 1 beats "
        "last week's value on average)."
    )
else:
    check = " Too little history to backtest (3+ weeks needed)."
st.caption(
    f"Forecast: {described}, band ≈ 95% from the errors."
    + check
    + (
        ""
        if f.segment == "all"
        else " It forecasts all shoppers, as a segment is defined by the shown period."
    )  # fmt: skip
)

left, right = st.columns(2)
with left:
    st.subheader("Weekly cohort retention")
    cohorts = cached(dq.cohort_weeks, store, shop_id=f.shop_id)
    if len(cohorts):
        st.plotly_chart(charts.cohort_heatmap(cohorts), width="stretch")
with right:
    st.subheader("Top items")
    items = cached(dq.top_items_period, store, **args)
    st.dataframe(
        items[["item_id", "title", "category", "views", "carts", "purchases", "purchase_rate"]],
        hide_index=True,
        width="stretch",
        column_config={
            "purchase_rate": st.column_config.NumberColumn("view→buy", format="percent")
        },
    )

st.subheader("Who will buy, who may leave")
signals = shopper_signal_spec()  # which task and label each forecast comes from
left, right = st.columns(2)
for column, (task, label, title, noun) in zip(
    (left, right),
    ((signals["purchase_task"], signals["purchase_label"], "Purchase propensity",
      "likeliest buyers"),
     (signals["churn_task"], signals["churn_label"], "Churn risk", "most at risk of leaving")),
    strict=True,
):  # fmt: skip
    with column:
        version = ctx.ctx.registry.active(f.shop_id, task)
        spread = cached(pq.probability_histogram, store, shop_id=f.shop_id, task=task,
                        label=label, two_class=True)  # fmt: skip
        if version is None or not spread["rows"].sum():
            st.markdown(f"**{title}**")
            missing(f"No {title.lower()} forecast yet.",
                    TRAIN_HINT.format(task=task, shop=f.shop_id))  # fmt: skip
            continue
        metrics = ctx.ctx.registry.version(f.shop_id, task, version).metrics
        horizon = metrics.get("horizon_days")
        st.markdown(f"**{title}: the next {horizon} days**")
        st.plotly_chart(
            charts.binned_histogram_figure(spread, f"forecast probability per shopper ({task})"),
            width="stretch",
        )
        test = metrics.get("model") or {}
        base = metrics.get("baseline") or {}
        if test.get("roc_auc") is not None:
            st.caption(
                f"{spread['rows'].sum():,} shoppers, as of the last day of events. On the latest "
                f"held-out window: ROC-AUC {test['roc_auc']:.2f} (RFM baseline "
                f"{(base.get('roc_auc') or 0):.2f}); forecast {test['mean_predicted']:.1%} "
                f"against {test['observed_rate']:.1%} observed."
            )
        top = cached(pq.forecast_extremes, store, shop_id=f.shop_id, task=task, label=label)
        st.markdown(f"*The {noun}, and why*")
        st.dataframe(top, hide_index=True, width="stretch",
                     column_config={"probability": st.column_config.NumberColumn(
                         "probability", format="percent")})  # fmt: skip

left, right = st.columns(2)
with left:
    st.subheader("Session conversion")
    spread = cached(pq.probability_histogram, store, shop_id=f.shop_id,
                    task="session_purchase", label="purchase", two_class=True)  # fmt: skip
    if spread["rows"].sum():
        st.plotly_chart(
            charts.binned_histogram_figure(spread, "predicted purchase probability per session"),
            width="stretch",
        )
        high = spread.loc[spread["low"] >= 0.5, "rows"].sum()
        st.caption(f"{spread['rows'].sum():,} sessions scored · {high:,} likely to buy (p ≥ 0.5)")
    else:
        missing("No session-conversion model yet.",
                TRAIN_HINT.format(task="session_purchase", shop=f.shop_id))  # fmt: skip
with right:
    st.subheader("Flagged shoppers and sessions")
    flags = cached(pq.risk_flags, store, shop_id=f.shop_id)
    if len(flags):
        st.markdown("**Risk model** (anomaly score, with its reason)")
        st.dataframe(flags, hide_index=True, width="stretch")
    else:
        st.caption(
            f"No risk scores yet: run `shoplens train risk --shop {f.shop_id}` then "
            f"`shoplens score risk --shop {f.shop_id}` for anomaly scores with reasons."
        )
    risky = cached(dq.risky_sessions, store, shop_id=f.shop_id, start=f.start, end=f.end)
    st.markdown("**Rules**, in this period")
    if len(risky):
        st.dataframe(risky, hide_index=True, width="stretch")
    else:
        st.success("No session in this period breaks a rule.")
    st.caption(
        "Rules: bot-like speed (>60 events/min over 30+ events), cart hoarding (20+ cart adds, "
        "no purchase), scraping (200+ views, nothing else)."
    )
