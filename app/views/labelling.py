"""Labelling: uncertain rows waiting per task, push to Label Studio, sync, progress, agreement."""

import streamlit as st

from app.ui.context import cached, missing, page_context
from app.ui.i18n import columns, header, label, labeller, t
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
st.title(t("Labelling"))
status = server.status(ctx.settings)
if status.up:
    st.success(t("Label Studio is running at {url}", url=status.url),
               icon=":material/check_circle:")  # fmt: skip
else:
    missing(
        t("Label Studio is not running: pushing and syncing need it."),
        "`shoplens labelstudio start`",
    )

names = [spec.name for spec in labelled_tasks()]
task = (st.segmented_control(t("Task"), names, default=names[0], key="label_task",
                             format_func=labeller()) or names[0])  # fmt: skip
spec = get_task(task)
st.caption(t(spec.description))
version = ctx.registry.active(f.shop_id, task)
if version is None or not cached(pq.scored_count, store, shop_id=f.shop_id, task=task):
    missing(
        t("No {task} predictions yet in shop {shop}: uncertain rows come from its model.",
          task=label(task), shop=f.shop_id),
        f"`shoplens train {task} --shop {f.shop_id}` then `shoplens score {task} --shop {f.shop_id}`",
    )  # fmt: skip
    version = None

labels_now = label_status(ctx, task, shop_id=f.shop_id)
waiting = cached(pq.uncertain_waiting, store, shop_id=f.shop_id, task=task) if version else 0
c = st.columns(5)
c[0].metric(
    t("Uncertain, waiting"),
    f"{waiting:,}",
    border=True,
    help=t("The active model's predictions with margin < 0.2, not yet sent."),
)
c[1].metric(t("In Label Studio"), f"{labels_now['queued']:,}", border=True)
c[2].metric(t("Human labels"), f"{labels_now['human_labels']:,}", border=True)
c[3].metric(
    t("Model agrees with humans"), format_value(labels_now["agreement"], "percent"), border=True
)
c[4].metric(
    t("Annotators agree"), format_value(labels_now["annotator_agreement"], "percent"), border=True
)

left, right = st.columns(2)
with left, st.form(f"push_{task}"):
    st.markdown(t("**Send uncertain rows to Label Studio**"))
    n = st.number_input(t("How many rows"), 1, 1000, 20, key=f"push_n_{task}")
    strategy = st.selectbox(t("Pick by"), list(UNCERTAINTY_SIGNALS), key=f"push_strategy_{task}",
                            format_func=labeller())  # fmt: skip
    diverse = st.checkbox(t("Diverse batch (avoid near-duplicates)"), key=f"push_diverse_{task}")
    pushed = st.form_submit_button(
        t("Push"), type="primary", disabled=not status.up or version is None
    )
if pushed:
    try:
        with st.spinner(t("Sending rows to Label Studio…")):
            report = push(ctx, task, int(n), strategy=strategy, diverse=diverse, shop_id=f.shop_id)
        st.success(
            t("Sent {n} rows ({already} were already there).", n=report.imported,
              already=report.already_in_label_studio)
        )  # fmt: skip
        if report.project_id is not None:
            st.link_button(
                t("Label them in Label Studio"), f"{status.url}/projects/{report.project_id}"
            )
    except ShopLensError as exc:
        st.error(str(exc))
with right:
    st.markdown(t("**Bring answers back**"))
    pid = project_id(store, f.shop_id, task)
    if pid is not None:
        st.link_button(
            t("Open the project in Label Studio"),
            f"{status.url}/projects/{pid}",
            disabled=not status.up,
        )
    if st.button(t("Sync now"), key=f"sync_{task}", disabled=not status.up):
        try:
            with st.spinner(t("Reading annotations…")):
                result = sync(ctx, task, shop_id=f.shop_id)
            st.success(
                t("Synced {seen} annotations: {new} new, {updated} changed, {deleted} deleted; "
                  "{written} labels written.", seen=result.seen, new=result.new,
                  updated=result.updated, deleted=result.deleted, written=result.labels_written)
            )  # fmt: skip
        except ShopLensError as exc:
            st.error(str(exc))
    st.caption(
        t("Labels used for training, by source: {sources}",
          sources=", ".join(f"{label(k)} {v:,}" for k, v in labels_now["by_source"].items())
          or t("none yet"))
    )  # fmt: skip

st.subheader(t("Annotators"))
annotators = cached(pq.annotator_stats, store, shop_id=f.shop_id, task=task)
if annotators.empty:
    st.caption(t("No annotations yet."))
else:
    st.dataframe(
        columns(annotators),
        hide_index=True,
        width="stretch",
        column_config={
            header("model_agreement"): st.column_config.NumberColumn(t("agrees with model"),
                                                                format="percent")
        },
    )  # fmt: skip
