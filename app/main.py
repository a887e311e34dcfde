"""ShopLens dashboard: ``streamlit run app/main.py``.

The entry point logs the viewer in, draws the shared sidebar filters and shows the pages the
viewer's role allows; each page is a short script under ``app/views/``, found by
:func:`app.ui.nav.discover_pages`.
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
from app.ui.context import PageContext, PageStore, allowed_pages, get_context  # noqa: E402
from app.ui.filters import render_sidebar  # noqa: E402
from app.ui.i18n import language_switch, t  # noqa: E402
from app.ui.nav import discover_pages  # noqa: E402

st.set_page_config(page_title="ShopLens", page_icon=":material/storefront:", layout="wide")

ctx = get_context()
store = ctx.store
assert isinstance(store, PageStore)  # get_context builds the app's stores


def _pages(keys: set[str] | None = None) -> list:
    return [
        st.Page(str(page.path), title=t(page.title), icon=page.icon, url_path=page.key)
        for page in discover_pages()
        if keys is None or page.key in keys
    ]


# before signing in, every page is registered (hidden), so a deep link such as /explain keeps
# its path through the sign-in form and opens once the viewer is known
viewer = login_gate(store, before_form=lambda: st.navigation(_pages(), position="hidden"))
pages = _pages(allowed_pages(viewer))
if not pages:
    st.warning(t("The account **{user}** has no pages. Ask an admin to check its role.",
                 user=viewer.username))  # fmt: skip
    st.stop()

navigation = st.navigation(pages)
st.sidebar.title("ShopLens")
language_switch()
logout_button(store=store)
with store.page_run():  # one read connection for the whole run (see PageStore)
    filters = render_sidebar(store, viewer)
    st.session_state["_ctx"] = PageContext(ctx=ctx, viewer=viewer, filters=filters)
    navigation.run()
