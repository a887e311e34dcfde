"""Monitoring: is each serving text model still seeing what it was trained on, and still right
where people check it? Drift alerts point to the Models page to retrain."""

import pandas as pd
import streamlit as st

from app.ui import charts
from app.ui.context import cached, page_context
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
st.title("Monitoring")
st.caption(
    f"Shop **{f.shop_id}** · each serving text model against the rows it was trained on (its "
    f"fixed split), over the last {WINDOW_DAYS} days of rows that arrived since, and against "
    "fresh human labels."
)
tasks = [t.name for t in all_tasks() if t.kind in ("text_classification", "aspect_sentiment")]
reports = {name: cached(task_report, ctx.store, shop_id=f.shop_id, task=name) for name in tasks}
table = pd.DataFrame([{
    "task": name, "status": r["status"], "version": r["version"],
    "new rows": r.get("new_rows"), "PSI": (r.get("latest") or {}).get("psi"),
    "language shift": (r.get("latest") or {}).get("language_shift"),
    "unseen words": (r.get("latest") or {}).get("unseen_share"),
    "live accuracy": r["live"]["accuracy"] if r.get("live") else None,
    "fresh labels": r["live"]["labels"] if r.get("live") else None,
    "calibration error": r["live"]["ece"] if r.get("live") else None,
    "why": "; ".join(r["reasons"]),
} for name, r in reports.items()])  # fmt: skip
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"language shift": st.column_config.NumberColumn(format="percent"),
                            "unseen words": st.column_config.NumberColumn(format="percent"),
                            "live accuracy": st.column_config.NumberColumn(format="percent"),
                            "PSI": st.column_config.NumberColumn(format="%.3f")})  # fmt: skip
drifting = [name for name, r in reports.items() if r["status"] == "drift"]
if drifting:
    st.warning(f"Drift in {', '.join(drifting)}: retrain on the **Models** page (pick the task, "
               "press **Retrain**); the new version serves only if it beats the current one.",
               icon=":material/warning:")  # fmt: skip
else:
    st.success("No serving text model shows drift.")
st.caption(
    f"Alerts: PSI of the predicted labels > {THRESHOLDS['psi']}, a language's share moving by more "
    f"than {THRESHOLDS['language_shift']:.0%}, unseen words {THRESHOLDS['unseen_excess']:.0%} above "
    f"the reference's own rate, texts {THRESHOLDS['length_ratio']}× longer or shorter, or live "
    f"accuracy {THRESHOLDS['live_accuracy_drop']:.0%} below the test accuracy (or a calibration "
    f"error above {THRESHOLDS['live_ece']}) on 30+ fresh labels."
)
chosen = st.selectbox("Daily checks of", tasks, key="mon_task")
daily = reports[chosen].get("daily")
if daily is None or daily.empty:
    st.caption(f"No rows of {chosen} arrived since its serving version was trained.")
else:
    long = daily.melt("day", ["psi", "unseen_share", "language_shift"], "check", "value")
    st.plotly_chart(charts.trend_figure(long.dropna(), "day", "value", colour="check",
                                        y_title="value"), width="stretch")  # fmt: skip
