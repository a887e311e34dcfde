"""Labelling: uncertain rows waiting per task, push to Label Studio, sync, progress, agreement."""

import streamlit as st

from app.ui.context import cached, missing, page_context
from app.ui.metrics import format_value
from common.errors import ShopLensError
from core.tasks import get_task, labelled_tasks
from core.uncertainty import UNCERTAINTY_SIGNALS
from db import prediction_queries as pq
from labeling import server
from labeling.projects import project_id
from labeling.routing import push
from labeling.sync import label_status, sync

PAGE = {
    "title": "Labelling",
    "icon": ":material/label:",
    "order": 80,
    "roles": ("annotator", "admin"),
}

page = page_context()
f, store, ctx = page.filters, page.store, page.ctx
st.title("Labelling")
status = server.status(ctx.settings)
if status.up:
    st.success(f"Label Studio is running at {status.url}", icon=":material/check_circle:")
else:
    missing(
        "Label Studio is not running: pushing and syncing need it.", "`shoplens labelstudio start`"
    )

names = [t.name for t in labelled_tasks()]
task = st.segmented_control("Task", names, default=names[0], key="label_task") or names[0]
spec = get_task(task)
st.caption(spec.description)
version = ctx.registry.active(f.shop_id, task)
if version is None or not cached(pq.scored_count, store, shop_id=f.shop_id, task=task):
    missing(
        f"No {task} predictions yet in shop {f.shop_id}: uncertain rows come from its model.",
        f"`shoplens train {task} --shop {f.shop_id}` then `shoplens score {task} --shop {f.shop_id}`",
    )
    version = None

labels_now = label_status(ctx, task, shop_id=f.shop_id)
waiting = cached(pq.uncertain_waiting, store, shop_id=f.shop_id, task=task) if version else 0
c = st.columns(5)
c[0].metric(
    "Uncertain, waiting",
    f"{waiting:,}",
    border=True,
    help="The active model's predictions with margin < 0.2, not yet sent.",
)
c[1].metric("In Label Studio", f"{labels_now['queued']:,}", border=True)
c[2].metric("Human labels", f"{labels_now['human_labels']:,}", border=True)
c[3].metric(
    "Model agrees with humans", format_value(labels_now["agreement"], "percent"), border=True
)
c[4].metric(
    "Annotators agree", format_value(labels_now["annotator_agreement"], "percent"), border=True
)

left, right = st.columns(2)
with left, st.form(f"push_{task}"):
    st.markdown("**Send uncertain rows to Label Studio**")
    n = st.number_input("How many rows", 1, 1000, 20, key=f"push_n_{task}")
    strategy = st.selectbox("Pick by", list(UNCERTAINTY_SIGNALS), key=f"push_strategy_{task}")
    diverse = st.checkbox("Diverse batch (avoid near-duplicates)", key=f"push_diverse_{task}")
    pushed = st.form_submit_button(
        "Push", type="primary", disabled=not status.up or version is None
    )
if pushed:
    try:
        with st.spinner("Sending rows to Label Studio…"):
            report = push(ctx, task, int(n), strategy=strategy, diverse=diverse, shop_id=f.shop_id)
        st.success(
            f"Sent {report.imported} rows ({report.already_in_label_studio} were already there)."
        )
        if report.project_id is not None:
            st.link_button(
                "Label them in Label Studio", f"{status.url}/projects/{report.project_id}"
            )
    except ShopLensError as exc:
        st.error(str(exc))
with right:
    st.markdown("**Bring answers back**")
    pid = project_id(store, f.shop_id, task)
    if pid is not None:
        st.link_button(
            "Open the project in Label Studio",
            f"{status.url}/projects/{pid}",
            disabled=not status.up,
        )
    if st.button("Sync now", key=f"sync_{task}", disabled=not status.up):
        try:
            with st.spinner("Reading annotations…"):
                result = sync(ctx, task, shop_id=f.shop_id)
            st.success(
                f"Synced {result.seen} annotations: {result.new} new, {result.updated} changed, "
                f"{result.deleted} deleted; {result.labels_written} labels written."
            )
        except ShopLensError as exc:
            st.error(str(exc))
    st.caption(
        "Labels used for training, by source: "
        + (", ".join(f"{k} {v:,}" for k, v in labels_now["by_source"].items()) or "none yet")
    )

st.subheader("Annotators")
annotators = cached(pq.annotator_stats, store, shop_id=f.shop_id, task=task)
if annotators.empty:
    st.caption("No annotations yet.")
else:
    st.dataframe(
        annotators,
        hide_index=True,
        width="stretch",
        column_config={
            "model_agreement": st.column_config.NumberColumn("agrees with model", format="percent")
        },
    )
