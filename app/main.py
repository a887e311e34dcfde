"""ShopLens dashboard: ``streamlit run app/main.py``.

The entry point logs the viewer in, draws the shared sidebar filters and shows the pages the
viewer's role allows; each page is a short script under ``app/pages/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run app/main.py` puts app/ on sys.path, not the repository root
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from app.auth import login_gate, logout_button  # noqa: E402
from app.ui.context import PageContext, allowed_pages, get_store  # noqa: E402
from app.ui.filters import render_sidebar  # noqa: E402

PAGES = [
    ("overview", "Overview", ":material/dashboard:"),
    ("behaviour", "Behaviour", ":material/timeline:"),
    ("sentiment", "Sentiment", ":material/sentiment_satisfied:"),
    ("intent", "Intent", ":material/support_agent:"),
    ("demand", "Demand", ":material/lightbulb:"),
    ("segments", "Segments", ":material/groups:"),
    ("explain", "Explain", ":material/manage_search:"),
    ("labelling", "Labelling", ":material/label:"),
    ("models", "Models", ":material/model_training:"),
]

st.set_page_config(page_title="ShopLens", page_icon=":material/storefront:", layout="wide")

store = get_store()
viewer = login_gate(store)
allowed = allowed_pages(viewer)
pages = [
    st.Page(f"pages/{key}.py", title=title, icon=icon, url_path=key)
    for key, title, icon in PAGES
    if key in allowed
]
if not pages:
    st.warning(f"The account **{viewer.username}** has no pages. Ask an admin to check its role.")
    st.stop()

navigation = st.navigation(pages)
st.sidebar.title("ShopLens")
logout_button()
with store.page_run():  # one read connection for the whole run (see PageStore)
    filters = render_sidebar(store, viewer)
    st.session_state["_ctx"] = PageContext(store=store, viewer=viewer, filters=filters)
    navigation.run()
