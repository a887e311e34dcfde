"""Monitoring: is each serving text model still seeing what it was trained on, and still right
where people check it? Drift alerts point to the Models page to retrain."""

import pandas as pd
import streamlit as st

from app.ui import charts
from app.ui.context import cached, page_context
from app.ui.i18n import columns, header, label, labeller, t
from app.ui.monitoring_view import task_report
from core.kinds.base import all_tasks
from core.monitoring import THRESHOLDS, WINDOW_DAYS

PAGE = {
    "title": "Monitoring",
    "icon": ":material/monitor_heart:",
    "order": 85,
    "roles": ("admin",),
}

ctx = page_context()
f = ctx.filters
st.title(t("Monitoring"))
st.caption(
    t("Shop **{shop}** · each serving text model against the rows it was trained on (its fixed "
      "split), over the last {days} days of rows that arrived since, and against fresh human "
      "labels.", shop=f.shop_id, days=WINDOW_DAYS)
)  # fmt: skip
tasks = [spec.name for spec in all_tasks() if spec.monitored]
reports = {name: cached(task_report, ctx.store, shop_id=f.shop_id, task=name) for name in tasks}
table = pd.DataFrame([{
    "task": label(name), "status": label(r["status"]), "version": r["version"],
    "new rows": r.get("new_rows"), "PSI": (r.get("latest") or {}).get("psi"),
    "language shift": (r.get("latest") or {}).get("language_shift"),
    "unseen words": (r.get("latest") or {}).get("unseen_share"),
    "live accuracy": r["live"]["accuracy"] if r.get("live") else None,
    "fresh labels": r["live"]["labels"] if r.get("live") else None,
    "calibration error": r["live"]["ece"] if r.get("live") else None,
    "why": "; ".join(r["reasons"]),
} for name, r in reports.items()])  # fmt: skip
percent = {header(c): st.column_config.NumberColumn(format="percent")
           for c in ("language shift", "unseen words", "live accuracy")}  # fmt: skip
st.dataframe(
    columns(table),
    hide_index=True,
    width="stretch",
    column_config={**percent, "PSI": st.column_config.NumberColumn(format="%.3f")},
)
drifting = [name for name, r in reports.items() if r["status"] == "drift"]
if drifting:
    st.warning(t("Drift in {tasks}: retrain on the **Models** page (pick the task, press "
                 "**Retrain**); the new version serves only if it beats the current one.",
                 tasks=", ".join(map(label, drifting))), icon=":material/warning:")  # fmt: skip
else:
    st.success(t("No serving text model shows drift."))
st.caption(
    t("Alerts: PSI of the predicted labels > {psi}, a language's share moving by more than "
      "{language}, unseen words {unseen} above the reference's own rate, texts {length}× longer "
      "or shorter, or live accuracy {accuracy} below the test accuracy (or a calibration error "
      "above {ece}) on 30+ fresh labels.", psi=THRESHOLDS["psi"],
      language=f"{THRESHOLDS['language_shift']:.0%}", unseen=f"{THRESHOLDS['unseen_excess']:.0%}",
      length=THRESHOLDS["length_ratio"], accuracy=f"{THRESHOLDS['live_accuracy_drop']:.0%}",
      ece=THRESHOLDS["live_ece"])
)  # fmt: skip
chosen = st.selectbox(t("Daily checks of"), tasks, key="mon_task", format_func=labeller())
daily = reports[chosen].get("daily")
if daily is None or daily.empty:
    st.caption(t("No rows of {task} arrived since its serving version was trained.",
                 task=label(chosen)))  # fmt: skip
else:
    long = daily.melt("day", ["psi", "unseen_share", "language_shift"], "check", "value")
    long = long.assign(check=long["check"].map(t))
    st.plotly_chart(charts.trend_figure(long.dropna(), "day", "value", colour="check",
                                        y_title=t("value")), width="stretch")  # fmt: skip
