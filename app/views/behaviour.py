"""Behaviour: funnel, daily traffic with a 7-day forecast, cohorts, top items, purchase and churn
forecasts per shopper, session conversion, risk."""

import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.i18n import columns, day, header, label, t
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
st.title(t("Behaviour"))
st.caption(
    t("Shop **{shop}** · {start} – {end} · {segment}", shop=f.shop_id, start=day(f.start),
      end=day(f.end), segment=t(dq.SEGMENTS[f.segment][0]))
)  # fmt: skip

traffic = cached(dq.daily_traffic, store, **args)
if traffic["sessions"].sum() == 0:
    missing(
        t("No shopper events in this period."),
        t("Widen the period in the sidebar, or load events: `shoplens ingest FILE --kind events`."),
    )
    st.stop()

st.subheader(t("Funnel: view → cart → purchase"))
total = cached(dq.funnel_by, store, by="total", **args)
left, right = st.columns([1, 2])
row = total.iloc[0]
left.plotly_chart(
    charts.funnel_totals_figure(int(row["view"]), int(row["cart"]), int(row["purchase"])),
    width="stretch",
)
by_category = cached(dq.funnel_by, store, by="category", **args)
right.plotly_chart(charts.funnel_figure(by_category), width="stretch")

st.subheader(t("Daily traffic and 7-day forecast"))
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
        name=t("Sessions: {segment}", segment=t(dq.SEGMENTS[f.segment][0])),
        reference=cached(dq.daily_traffic, store, **everyone),
        reference_name=t("Sessions: all shoppers"),
    )
st.plotly_chart(figure, width="stretch")
described = (
    t("linear trend plus a weekday effect (weekday effect only with 2+ weeks of history)")
    if method == "trend_weekday"
    else t("the same weekday of the last week (it beat the trend model in the backtest)")
)
if backtested["origins"]:
    pct = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
    check = t(
        " Backtest over the last {weeks} weeks (each forecast from the days before it): MASE "
        "{mase} for the trend model, {naive} for \"same weekday last week\" (MAPE {mape} vs "
        "{naive_mape}; below 1 beats last week's value on average).",
        weeks=backtested["origins"], mase=f"{backtested['mase']:.2f}",
        naive=f"{backtested['mase_seasonal_naive']:.2f}", mape=pct(backtested["mape"]),
        naive_mape=pct(backtested["mape_seasonal_naive"]),
    )  # fmt: skip
else:
    check = t(" Too little history to backtest (3+ weeks needed).")
st.caption(
    t("Forecast: {described}, band ≈ 95% from the errors.", described=described)
    + check
    + (
        ""
        if f.segment == "all"
        else t(" It forecasts all shoppers, as a segment is defined by the shown period.")
    )  # fmt: skip
)

left, right = st.columns(2)
with left:
    st.subheader(t("Weekly cohort retention"))
    cohorts = cached(dq.cohort_weeks, store, shop_id=f.shop_id)
    if len(cohorts):
        st.plotly_chart(charts.cohort_heatmap(cohorts), width="stretch")
with right:
    st.subheader(t("Top items"))
    items = cached(dq.top_items_period, store, **args)
    st.dataframe(
        columns(items[["item_id", "title", "category", "views", "carts", "purchases",
                       "purchase_rate"]]),
        hide_index=True,
        width="stretch",
        column_config={
            header("purchase_rate"): st.column_config.NumberColumn(t("view→buy"), format="percent")
        },
    )  # fmt: skip

st.subheader(t("Who will buy, who may leave"))
signals = shopper_signal_spec()  # which task and label each forecast comes from
left, right = st.columns(2)
for column, (task, positive, title, noun) in zip(
    (left, right),
    ((signals["purchase_task"], signals["purchase_label"], t("Purchase propensity"),
      t("The likeliest buyers, and why")),
     (signals["churn_task"], signals["churn_label"], t("Churn risk"),
      t("The most at risk of leaving, and why"))),
    strict=True,
):  # fmt: skip
    with column:
        version = ctx.ctx.registry.active(f.shop_id, task)
        spread = cached(pq.probability_histogram, store, shop_id=f.shop_id, task=task,
                        label=positive, two_class=True)  # fmt: skip
        if version is None or not spread["rows"].sum():
            st.markdown(f"**{title}**")
            missing(t("No {what} forecast yet.", what=title.lower()),
                    t(TRAIN_HINT, task=task, shop=f.shop_id))  # fmt: skip
            continue
        metrics = ctx.ctx.registry.version(f.shop_id, task, version).metrics
        horizon = metrics.get("horizon_days")
        st.markdown(t("**{title}: the next {days} days**", title=title, days=horizon))
        st.plotly_chart(
            charts.binned_histogram_figure(
                spread, t("forecast probability per shopper ({task})", task=label(task))),
            width="stretch",
        )  # fmt: skip
        test = metrics.get("model") or {}
        base = metrics.get("baseline") or {}
        if test.get("roc_auc") is not None:
            st.caption(
                t("{n} shoppers, as of the last day of events. On the latest held-out window: "
                  "ROC-AUC {auc} (RFM baseline {base}); forecast {predicted} against {observed} "
                  "observed.", n=f"{spread['rows'].sum():,}", auc=f"{test['roc_auc']:.2f}",
                  base=f"{(base.get('roc_auc') or 0):.2f}",
                  predicted=f"{test['mean_predicted']:.1%}",
                  observed=f"{test['observed_rate']:.1%}")
            )  # fmt: skip
        top = cached(pq.forecast_extremes, store, shop_id=f.shop_id, task=task, label=positive)
        st.markdown(f"*{noun}*")
        st.dataframe(columns(top), hide_index=True, width="stretch",
                     column_config={header("probability"): st.column_config.NumberColumn(
                         header("probability"), format="percent")})  # fmt: skip

left, right = st.columns(2)
with left:
    st.subheader(t("Session conversion"))
    spread = cached(pq.probability_histogram, store, shop_id=f.shop_id,
                    task="session_purchase", label="purchase", two_class=True)  # fmt: skip
    if spread["rows"].sum():
        st.plotly_chart(
            charts.binned_histogram_figure(spread, t("predicted purchase probability per session")),
            width="stretch",
        )
        high = spread.loc[spread["low"] >= 0.5, "rows"].sum()
        st.caption(t("{n} sessions scored · {high} likely to buy (p ≥ 0.5)",
                     n=f"{spread['rows'].sum():,}", high=f"{high:,}"))  # fmt: skip
    else:
        missing(t("No session-conversion model yet."),
                t(TRAIN_HINT, task="session_purchase", shop=f.shop_id))  # fmt: skip
with right:
    st.subheader(t("Flagged shoppers and sessions"))
    flags = cached(pq.risk_flags, store, shop_id=f.shop_id)
    if len(flags):
        st.markdown(t("**Risk model** (anomaly score, with its reason)"))
        st.dataframe(columns(flags), hide_index=True, width="stretch")
    else:
        st.caption(
            t("No risk scores yet: run `shoplens train risk --shop {shop}` then `shoplens score "
              "risk --shop {shop}` for anomaly scores with reasons.", shop=f.shop_id)
        )  # fmt: skip
    risky = cached(dq.risky_sessions, store, shop_id=f.shop_id, start=f.start, end=f.end)
    st.markdown(t("**Rules**, in this period"))
    if len(risky):
        st.dataframe(columns(risky), hide_index=True, width="stretch")
    else:
        st.success(t("No session in this period breaks a rule."))
    st.caption(
        t("Rules: bot-like speed (>60 events/min over 30+ events), cart hoarding (20+ cart adds, "
          "no purchase), scraping (200+ views, nothing else).")
    )  # fmt: skip
