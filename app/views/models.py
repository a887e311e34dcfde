"""Models: a shop's versions per task with metrics against the baseline, the confusion matrix,
calibration, retrain, promote / rollback."""

import pandas as pd
import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.jobs_view import job_key, job_progress
from common.errors import ShopLensError
from core.promotion import baseline_score, model_score, promote
from core.tasks import all_tasks, get_task
from db import prediction_queries as pq
from labeling.jobs import list_jobs, start_retrain

PAGE = {"title": "Models", "icon": ":material/model_training:", "order": 90, "roles": ("admin",)}

page = page_context()
store, f, ctx = page.store, page.filters, page.ctx
shop_id = f.shop_id
st.title("Models")
st.caption(f"Shop **{shop_id}** · each shop has its own models; a version serves only if it beats "
           "its baseline and the active version on the shop's fixed test split.")  # fmt: skip
names = [t.name for t in all_tasks()]
task = st.segmented_control("Task", names, default=names[0], key="models_task") or names[0]
spec = get_task(task)
registry = ctx.registry

running = [j for j in list_jobs(ctx.settings, task=task, shop_id=shop_id)
           if j.get("state") == "running"]  # fmt: skip
if running and not st.session_state.get(job_key(task)):
    st.session_state[job_key(task)] = running[0]["job_id"]
if st.button(
    "Retrain",
    type="primary",
    key=f"retrain_{task}",
    disabled=bool(st.session_state.get(job_key(task))),
    help="Train a new version in the background on every label (human > rule > derived); it "
    f"serves only if its {spec.metric} beats its baseline and the active version.",
):
    try:
        handle = start_retrain(ctx.settings, task, shop_id=shop_id)
        st.session_state[job_key(task)] = handle.job_id
    except ShopLensError as exc:
        st.error(str(exc))
job_progress(ctx.settings, task)

versions = registry.versions(shop_id, task)
if not versions:
    missing(f"Shop {shop_id} has no {task} model yet.",
            f"`shoplens train {task} --shop {shop_id}` (or press Retrain)")  # fmt: skip
    st.stop()

active = next((v for v in versions if v.active), None)
if active is not None and active.forced:
    st.warning(f"The active version {active.version} was forced in with --force-promote: it did "
               f"not beat the version before it or its baseline on the test split.",
               icon=":material/warning:")  # fmt: skip
if active is not None and active.metrics.get("is_baseline"):
    st.info(f"The baseline (TF-IDF + logistic regression) serves {task}: no trained model beat "
            "it on this shop's test split.", icon=":material/info:")  # fmt: skip

table = pd.DataFrame(
    [{
        "version": v.version,
        "active": v.active,
        "model": v.model_type + (" (forced)" if v.forced else ""),
        "created": v.created_at,
        spec.metric: model_score(v.metrics, spec.metric),
        f"baseline {spec.metric}": baseline_score(v.metrics, spec.metric),
        "accuracy": (v.metrics.get("model") or {}).get("accuracy"),
        "ECE": (v.metrics.get("model") or {}).get("ece"),
        "copied from": v.copied_from or "",
    } for v in reversed(versions)]
)  # fmt: skip
st.dataframe(table, hide_index=True, width="stretch", column_config={
    c: st.column_config.NumberColumn(format="%.3f")
    for c in (spec.metric, f"baseline {spec.metric}", "accuracy", "ECE")})  # fmt: skip

version_names = table["version"].tolist()
active_name = active.version if active else None
chosen = st.selectbox(
    "Version", version_names,
    index=version_names.index(active_name) if active_name in version_names else 0,
    key=f"models_version_{task}",
)  # fmt: skip
row = next(v for v in versions if v.version == chosen)

c1, c2, c3 = st.columns([1, 1, 2])
force = c3.checkbox("Promote even if it does not beat the active version or its baseline",
                    key=f"force_{task}")  # fmt: skip
if c1.button("Promote", key=f"promote_{task}", disabled=chosen == active_name):
    try:
        decision = promote(ctx, shop_id, task, chosen, force=force)
        if decision.promoted:
            st.success(f"{chosen}: {decision.reason}. Its predictions show once the rows are "
                       f"scored: `shoplens score {task} --shop {shop_id}`.")  # fmt: skip
            st.rerun()
        else:
            st.warning(f"{chosen}: {decision.reason}. Tick the box to promote it anyway.")
    except ShopLensError as exc:
        st.error(str(exc))
if c2.button("Roll back", key=f"rollback_{task}", disabled=active is None):
    try:
        back = registry.rollback(shop_id, task)
        st.success(f"Rolled back: {back} is active again; every page shows its predictions.")
        st.rerun()
    except ShopLensError as exc:
        st.error(str(exc))

left, right = st.columns(2)
model_metrics = row.metrics.get("model") or {}
with left:
    st.subheader("Confusion matrix (test split)")
    matrix = model_metrics.get("confusion_matrix")
    if matrix:
        labels = list(model_metrics.get("per_class") or {}) or list(spec.labels)
        frame = pd.DataFrame(matrix, index=labels, columns=labels)
        st.plotly_chart(charts.confusion_figure(frame), width="stretch")
    elif model_metrics.get("reliability"):  # a forecast: every model on the same test window
        st.subheader("Against the baselines (test window)")
        others = pd.DataFrame(row.metrics.get("baselines") or {}).T
        cols = [c for c in ("roc_auc", "pr_auc", "brier", "mean_predicted", "observed_rate",
                            "validation_roc_auc") if c in others]  # fmt: skip
        st.dataframe(others[cols].astype(float).round(3), width="stretch")
        st.caption(f"Test window from {row.metrics.get('test_cutoff')}, horizon "
                   f"{row.metrics.get('horizon_days')} days, {model_metrics.get('n', 0):,} "
                   f"shoppers; the served model is chosen on validation "
                   f"({row.metrics.get('validation_cutoff')}).")  # fmt: skip
    else:
        st.caption("This version has no confusion matrix (it has no labelled test split).")
with right:
    st.subheader("Calibration")
    pairs = cached(pq.model_test_pairs, store, shop_id=shop_id, task=task, version=chosen)
    if len(pairs):
        st.plotly_chart(charts.calibration_figure(charts.calibration_bins(pairs)), width="stretch")
        st.caption(f"{len(pairs):,} test rows scored by this version in the store.")
    elif model_metrics.get("reliability"):  # a forecast, on its test window
        table = pd.DataFrame(model_metrics["reliability"]).rename(columns={
            "mean_predicted": "confidence", "observed": "accuracy", "rows": "count"})  # fmt: skip
        st.plotly_chart(charts.calibration_figure(table, "predicted probability", "observed rate"),
                        width="stretch")  # fmt: skip
        st.caption(f"Mean forecast {model_metrics['mean_predicted']:.1%} against an observed "
                   f"{model_metrics['observed_rate']:.1%}; Brier score "
                   f"{model_metrics['brier']:.3f}.")  # fmt: skip
    elif model_metrics.get("calibration"):  # measured on the test split when it was trained
        table = pd.DataFrame(model_metrics["calibration"])
        st.plotly_chart(charts.calibration_figure(table), width="stretch")
        st.caption(f"{int(table['count'].sum()):,} test rows, measured when this version was "
                   f"trained; ECE {model_metrics.get('ece', 0):.3f}.")  # fmt: skip
    elif model_metrics.get("ece") is not None:
        st.metric("Expected calibration error", f"{model_metrics['ece']:.3f}", border=True)
        st.caption(f"For the plot, score the shop with this version: `shoplens score {task}`.")
    else:
        st.caption("No calibration data for this version.")
