"""Explain: paste or pick a text and see each text model's prediction and why."""

import streamlit as st

from app.ui.context import cached, page_context
from app.ui.explain_view import active_version, explain, masked, predict
from core.tasks import text_tasks
from db import prediction_queries as pq

ctx = page_context()
f, store = ctx.filters, ctx.store
st.title("Explain")
st.caption(
    "Each text model's prediction, its confidence and the words that drove it "
    "(integrated gradients). Texts are PII-masked first."
)

samples = cached(pq.review_predictions, store, shop_id=f.shop_id)
options = ["(paste your own)", *samples["review_id"].head(200).tolist()]
pick = st.selectbox("Pick a review", options, key="explain_pick")
default = "" if pick == options[0] else str(samples.set_index("review_id").at[pick, "text"])
text = st.text_area(
    "Text",
    value=default,
    height=110,
    key=f"explain_text_{pick}",
    placeholder="e.g. Love the colour but the zip broke after a week. Do you have it in XL?",
)
tasks = [t for t in text_tasks() if t in ("sentiment", "intent", "demand")]
highlights = st.toggle(
    "Word highlights (slower: about a second per model)", value=True, key="explain_why"
)

if not text.strip():
    st.info("Paste a text or pick a review to explain it.")
    st.stop()
safe = masked(text.strip())
if safe != text.strip():
    st.caption("Personal data was masked before the models saw the text.")
st.markdown(f"> {safe}")

for task, col in zip(tasks, st.columns(len(tasks)), strict=True):
    with col:
        st.subheader(task.title())
        version = active_version(task)
        if version is None:
            st.info(f"No {task} model yet: run `shoplens train {task}`.")
            continue
        if highlights:
            with st.spinner("Explaining…"):
                result = explain(task, version, safe)
            st.metric(
                "Prediction",
                result.label,
                f"confidence {result.confidence:.0%}",
                delta_color="off",
                border=True,
            )
            st.html(result.html)
            if result.delta is not None:
                st.caption(f"Attribution convergence error {abs(result.delta):.3f}")
        else:
            probs = predict(task, version, safe)
            label = max(probs, key=probs.get)
            st.metric(
                "Prediction",
                label,
                f"confidence {probs[label]:.0%}",
                delta_color="off",
                border=True,
            )
            st.bar_chart(probs, horizontal=True)
