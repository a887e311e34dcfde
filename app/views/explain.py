"""Explain: paste or pick a text and see each text model's prediction and why."""

import streamlit as st

from app.ui.context import cached, page_context
from app.ui.explain_view import masked, quote, show_prediction
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
st.title("Explain")
st.caption(
    "Each text model's prediction, its confidence and what drove it: the encoder's words "
    "(integrated gradients) and the TF-IDF part's terms. Texts are PII-masked first."
)

samples = cached(pq.review_predictions, store, shop_id=f.shop_id)
options = ["(paste your own)", *samples["review_id"].head(200).tolist()]
pick = st.selectbox("Pick a review", options, key="explain_pick")
# a picked review is masked before it is shown, even in the text box
default = "" if pick == options[0] else masked(str(samples.set_index("review_id").at[pick, "text"]))
text = st.text_area(
    "Text",
    value=default,
    height=110,
    key=f"explain_text_{pick}",
    placeholder="e.g. Love the colour but the zip broke after a week. Do you have it in XL?",
)
tasks = [t.name for t in tasks_on_page("explain") if t.explainable]
highlights = st.toggle(
    "Word highlights (slower: about a second per model)", value=True, key="explain_why"
)

if not text.strip():
    st.info("Paste a text or pick a review to explain it.")
    st.stop()
safe = masked(text.strip())
if safe != text.strip():
    st.caption("Personal data was masked before the models saw the text.")
quote(safe)

for task, col in zip(tasks, st.columns(len(tasks)), strict=True):
    with col:
        st.subheader(task.title())
        version = ctx.registry.active(f.shop_id, task)
        if version is None:
            st.info(f"No {task} model yet: run `shoplens train {task} --shop {f.shop_id}`.")
            continue
        try:
            show_prediction(ctx, f.shop_id, task, version, safe, highlights)
        except ShopLensError as exc:
            st.error(str(exc))
