"""Models: versions with metrics, confusion matrix, calibration, retrain, promote / rollback."""

import pandas as pd
import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.jobs_view import job_key, job_progress
from common.errors import ShopLensError
from core import registry
from core.tasks import get_task, text_tasks
from db import prediction_queries as pq
from labeling.jobs import list_jobs, start_retrain

ctx = page_context(require_shop=False)
store, f = ctx.store, ctx.filters
st.title("Models")
task = (
    st.segmented_control("Task", text_tasks(), default="sentiment", key="models_task")
    or "sentiment"
)
labels = get_task(task).labels

running = [j for j in list_jobs(task=task) if j.get("state") == "running"]
if running and not st.session_state.get(job_key(task)):
    st.session_state[job_key(task)] = running[0]["job_id"]
shop_id = f.shop_id if f else "sample"
if st.button(
    "Retrain",
    type="primary",
    key=f"retrain_{task}",
    disabled=bool(st.session_state.get(job_key(task))),
    help="Train a new version in the background on every label (human > rule > derived); "
    "it becomes active only if its macro-F1 is at least the active one's.",
):
    try:
        handle = start_retrain(task, shop_id=shop_id)
        st.session_state[job_key(task)] = handle.job_id
    except ShopLensError as exc:
        st.error(str(exc))
job_progress(task)

versions = registry.list_versions(task)
if not versions:
    missing(f"No {task} model yet.", f"`shoplens train {task}` (or press Retrain)")
    st.stop()


def _model_metrics(version: dict) -> dict:
    metrics = version.get("metrics") or {}
    return metrics.get("model", metrics)


table = pd.DataFrame(
    [{
        "version": v["version"],
        "active": v.get("active", False),
        "created": v.get("created_at"),
        "macro-F1": _model_metrics(v).get("macro_f1"),
        "accuracy": _model_metrics(v).get("accuracy"),
        "ECE": _model_metrics(v).get("ece"),
        "TF-IDF+LR macro-F1": (v.get("metrics") or {}).get("baselines", {}).get("tfidf_lr", {}).get("macro_f1"),
    } for v in reversed(versions)]
)  # fmt: skip
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        c: st.column_config.NumberColumn(format="%.3f")
        for c in ("macro-F1", "accuracy", "ECE", "TF-IDF+LR macro-F1")
    },
)

names = table["version"].tolist()
active = registry.active_version(task)
chosen = st.selectbox(
    "Version",
    names,
    index=names.index(active) if active in names else 0,
    key=f"models_version_{task}",
)
meta = next(v for v in versions if v["version"] == chosen)

c1, c2, c3 = st.columns([1, 1, 2])
force = c3.checkbox("Promote even if macro-F1 is lower", key=f"force_{task}")
if c1.button("Promote", key=f"promote_{task}", disabled=chosen == active):
    try:
        if registry.promote(task, chosen, force=force, store=store if store.exists() else None):
            st.success(
                f"{chosen} is now the active {task} model. Rescore with `shoplens score {task}`."
            )
            st.rerun()
        else:
            st.warning(
                f"{chosen} has a lower test macro-F1 than {active}; tick the box to promote anyway."
            )
    except ShopLensError as exc:
        st.error(str(exc))
if c2.button("Roll back", key=f"rollback_{task}", disabled=active is None):
    try:
        back = registry.rollback(task, store=store if store.exists() else None)
        st.success(f"Rolled back: {back} is active again.")
        st.rerun()
    except ShopLensError as exc:
        st.error(str(exc))

left, right = st.columns(2)
model_metrics = _model_metrics(meta)
with left:
    st.subheader("Confusion matrix (test split)")
    matrix = model_metrics.get("confusion_matrix")
    version_labels = tuple(meta.get("labels") or labels)
    if matrix:
        frame = pd.DataFrame(matrix, index=version_labels, columns=version_labels)
        st.plotly_chart(charts.confusion_figure(frame), width="stretch")
    else:
        st.caption("This version has no stored confusion matrix.")
with right:
    st.subheader("Calibration")
    pairs = (
        cached(pq.model_test_pairs, store, task=task, version=chosen)
        if store.exists()
        else pd.DataFrame()
    )
    if len(pairs):
        st.plotly_chart(charts.calibration_figure(charts.calibration_bins(pairs)), width="stretch")
        st.caption(f"{len(pairs):,} test rows scored by this version in the store.")
    elif model_metrics.get("ece") is not None:
        st.metric("Expected calibration error", f"{model_metrics['ece']:.3f}", border=True)
        st.caption(f"For the plot, score the shop with this version: `shoplens score {task}`.")
    else:
        st.caption("No calibration data for this version.")
