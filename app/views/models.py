"""Models: a shop's versions per task with metrics against the baseline, the confusion matrix,
calibration, retrain, promote / rollback."""

import pandas as pd
import streamlit as st

from app.ui import charts
from app.ui.context import cached, missing, page_context
from app.ui.i18n import label, labeller, t
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
st.title(t("Models"))
st.caption(t("Shop **{shop}** · each shop has its own models; a version serves only if it beats "
             "its baseline and the active version on the shop's fixed test split.", shop=shop_id))  # fmt: skip
names = [task_spec.name for task_spec in all_tasks()]
task = (st.segmented_control(t("Task"), names, default=names[0], key="models_task",
                             format_func=labeller()) or names[0])  # fmt: skip
spec = get_task(task)
registry = ctx.registry

running = [j for j in list_jobs(ctx.settings, task=task, shop_id=shop_id)
           if j.get("state") == "running"]  # fmt: skip
if running and not st.session_state.get(job_key(task)):
    st.session_state[job_key(task)] = running[0]["job_id"]
if st.button(
    t("Retrain"),
    type="primary",
    key=f"retrain_{task}",
    disabled=bool(st.session_state.get(job_key(task))),
    help=t("Train a new version in the background on every label (human > rule > derived); it "
           "serves only if its {metric} beats its baseline and the active version.",
           metric=spec.metric),
):  # fmt: skip
    try:
        handle = start_retrain(ctx.settings, task, shop_id=shop_id)
        st.session_state[job_key(task)] = handle.job_id
    except ShopLensError as exc:
        st.error(str(exc))
job_progress(ctx.settings, task)

versions = registry.versions(shop_id, task)
if not versions:
    missing(t("Shop {shop} has no {task} model yet.", shop=shop_id, task=label(task)),
            t("`shoplens train {task} --shop {shop}` (or press Retrain)", task=task,
              shop=shop_id))  # fmt: skip
    st.stop()

active = next((v for v in versions if v.active), None)
if active is not None and active.forced:
    st.warning(t("The active version {version} was forced in with --force-promote: it did not "
                 "beat the version before it or its baseline on the test split.",
                 version=active.version), icon=":material/warning:")  # fmt: skip
if active is not None and active.metrics.get("is_baseline"):
    st.info(t("The baseline (TF-IDF + logistic regression) serves {task}: no trained model beat "
              "it on this shop's test split.", task=label(task)), icon=":material/info:")  # fmt: skip

table = pd.DataFrame(
    [{
        t("version"): v.version,
        t("active"): v.active,
        t("model"): v.model_type + (t(" (forced)") if v.forced else ""),
        t("created"): v.created_at,
        spec.metric: model_score(v.metrics, spec.metric),
        t("baseline {metric}", metric=spec.metric): baseline_score(v.metrics, spec.metric),
        t("accuracy"): (v.metrics.get("model") or {}).get("accuracy"),
        "ECE": (v.metrics.get("model") or {}).get("ece"),
        t("copied from"): v.copied_from or "",
    } for v in reversed(versions)]
)  # fmt: skip
st.dataframe(table, hide_index=True, width="stretch", column_config={
    c: st.column_config.NumberColumn(format="%.3f")
    for c in (spec.metric, t("baseline {metric}", metric=spec.metric), t("accuracy"), "ECE")})  # fmt: skip

version_names = table[t("version")].tolist()
active_name = active.version if active else None
chosen = st.selectbox(
    t("Version"), version_names,
    index=version_names.index(active_name) if active_name in version_names else 0,
    key=f"models_version_{task}",
)  # fmt: skip
row = next(v for v in versions if v.version == chosen)

c1, c2, c3 = st.columns([1, 1, 2])
force = c3.checkbox(t("Promote even if it does not beat the active version or its baseline"),
                    key=f"force_{task}")  # fmt: skip
if c1.button(t("Promote"), key=f"promote_{task}", disabled=chosen == active_name):
    try:
        decision = promote(ctx, shop_id, task, chosen, force=force)
        if decision.promoted:
            st.success(t("{version}: {reason}. Its predictions show once the rows are scored: "
                         "`shoplens score {task} --shop {shop}`.", version=chosen,
                         reason=decision.reason, task=task, shop=shop_id))  # fmt: skip
            st.rerun()
        else:
            st.warning(t("{version}: {reason}. Tick the box to promote it anyway.",
                         version=chosen, reason=decision.reason))  # fmt: skip
    except ShopLensError as exc:
        st.error(str(exc))
if c2.button(t("Roll back"), key=f"rollback_{task}", disabled=active is None):
    try:
        back = registry.rollback(shop_id, task)
        st.success(t("Rolled back: {version} is active again; every page shows its predictions.",
                     version=back))  # fmt: skip
        st.rerun()
    except ShopLensError as exc:
        st.error(str(exc))

left, right = st.columns(2)
model_metrics = row.metrics.get("model") or {}
with left:
    st.subheader(t("Confusion matrix (test split)"))
    matrix = model_metrics.get("confusion_matrix")
    if matrix:
        labels = list(model_metrics.get("per_class") or {}) or list(spec.labels)
        names_shown = [label(name) for name in labels]
        frame = pd.DataFrame(matrix, index=names_shown, columns=names_shown)
        st.plotly_chart(charts.confusion_figure(frame), width="stretch")
    elif model_metrics.get("reliability"):  # a forecast: every model on the same test window
        st.subheader(t("Against the baselines (test window)"))
        others = pd.DataFrame(row.metrics.get("baselines") or {}).T
        cols = [c for c in ("roc_auc", "pr_auc", "brier", "mean_predicted", "observed_rate",
                            "validation_roc_auc") if c in others]  # fmt: skip
        st.dataframe(others[cols].astype(float).round(3), width="stretch")
        st.caption(t("Test window from {cutoff}, horizon {days} days, {n} shoppers; the served "
                     "model is chosen on validation ({validation}).",
                     cutoff=row.metrics.get("test_cutoff"), days=row.metrics.get("horizon_days"),
                     n=f"{model_metrics.get('n', 0):,}",
                     validation=row.metrics.get("validation_cutoff")))  # fmt: skip
    else:
        st.caption(t("This version has no confusion matrix (it has no labelled test split)."))
with right:
    st.subheader(t("Calibration"))
    pairs = cached(pq.model_test_pairs, store, shop_id=shop_id, task=task, version=chosen)
    if len(pairs):
        st.plotly_chart(charts.calibration_figure(charts.calibration_bins(pairs)), width="stretch")
        st.caption(t("{n} test rows scored by this version in the store.", n=f"{len(pairs):,}"))
    elif model_metrics.get("reliability"):  # a forecast, on its test window
        table = pd.DataFrame(model_metrics["reliability"]).rename(columns={
            "mean_predicted": "confidence", "observed": "accuracy", "rows": "count"})  # fmt: skip
        st.plotly_chart(charts.calibration_figure(table, t("predicted probability"),
                                                  t("observed rate")), width="stretch")  # fmt: skip
        st.caption(t("Mean forecast {predicted} against an observed {observed}; Brier score "
                     "{brier}.", predicted=f"{model_metrics['mean_predicted']:.1%}",
                     observed=f"{model_metrics['observed_rate']:.1%}",
                     brier=f"{model_metrics['brier']:.3f}"))  # fmt: skip
    elif model_metrics.get("calibration"):  # measured on the test split when it was trained
        table = pd.DataFrame(model_metrics["calibration"])
        st.plotly_chart(charts.calibration_figure(table), width="stretch")
        st.caption(t("{n} test rows, measured when this version was trained; ECE {ece}.",
                     n=f"{int(table['count'].sum()):,}",
                     ece=f"{model_metrics.get('ece', 0):.3f}"))  # fmt: skip
    elif model_metrics.get("ece") is not None:
        st.metric(t("Expected calibration error"), f"{model_metrics['ece']:.3f}", border=True)
        st.caption(t("For the plot, score the shop with this version: `shoplens score {task}`.",
                     task=task))  # fmt: skip
    else:
        st.caption(t("No calibration data for this version."))
