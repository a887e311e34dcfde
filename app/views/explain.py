"""Explain: paste or pick a text and see each text model's prediction and why."""

import streamlit as st

from app.ui.context import cached, page_context
from app.ui.explain_view import masked, quote, show_prediction
from app.ui.i18n import label, t
from common.errors import ShopLensError
from core.tasks import tasks_on_page
from db import prediction_queries as pq

PAGE = {
    "title": "Explain",
    "icon": ":material/manage_search:",
    "order": 70,
    "roles": ("merchant", "admin"),
}

page = page_context()
f, store, ctx = page.filters, page.store, page.ctx
st.title(t("Explain"))
st.caption(
    t("Each text model's prediction, its confidence and what drove it: the encoder's words "
      "(integrated gradients) and the TF-IDF part's terms. Texts are PII-masked first.")
)  # fmt: skip

samples = cached(pq.review_predictions, store, shop_id=f.shop_id)
options = ["(paste your own)", *samples["review_id"].head(200).tolist()]
paste = t(options[0])
pick = st.selectbox(t("Pick a review"), options, key="explain_pick",
                    format_func=lambda o: paste if o == options[0] else o)  # fmt: skip
# a picked review is masked before it is shown, even in the text box
default = "" if pick == options[0] else masked(str(samples.set_index("review_id").at[pick, "text"]))
text = st.text_area(
    t("Text"),
    value=default,
    height=110,
    key=f"explain_text_{pick}",
    placeholder=t("e.g. Love the colour but the zip broke after a week. Do you have it in XL?"),
)
tasks = [spec.name for spec in tasks_on_page("explain") if spec.explainable]
highlights = st.toggle(
    t("Word highlights (slower: about a second per model)"), value=True, key="explain_why"
)

if not text.strip():
    st.info(t("Paste a text or pick a review to explain it."))
    st.stop()
safe = masked(text.strip())
if safe != text.strip():
    st.caption(t("Personal data was masked before the models saw the text."))
quote(safe)

for task, col in zip(tasks, st.columns(len(tasks)), strict=True):
    with col:
        st.subheader(label(task).title())
        version = ctx.registry.active(f.shop_id, task)
        if version is None:
            st.info(t("No {task} model yet: run `shoplens train {task} --shop {shop}`.",
                      task=task, shop=f.shop_id))  # fmt: skip
            continue
        try:
            show_prediction(ctx, f.shop_id, task, version, safe, highlights)
        except ShopLensError as exc:
            st.error(str(exc))
