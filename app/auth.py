"""Who is looking at the dashboard, and what they may see.

Every page starts with ``viewer = login_gate(store)``: it returns the signed-in :class:`Viewer`
from the session, or draws a login form and stops the page. A merchant sees only their own
shop's analytics; an annotator only the labelling page; an admin everything, models included.

    >>> Viewer("ana", "merchant", ("shop_a",)).can_see_shop("shop_b")
    False
    >>> sorted(Viewer("lee", "annotator", ("acme",)).pages_allowed)
    ['labelling']

AppTests skip the form with ``at.session_state["viewer"] = Viewer(...)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from accounts.service import Account, authenticate
from accounts.sessions import COOKIE, SESSION_HOURS, end_sessions, resume, start_session
from accounts.throttle import SignInThrottle
from app.ui.i18n import label, t
from app.ui.nav import ROLES, role_pages
from common.errors import InputError
from db.repo import accounts as account_repo
from db.store import Store

SESSION_KEY = "viewer"
_COOKIE_TO_SET, _COOKIE_TO_CLEAR = "_shoplens_cookie_to_set", "_shoplens_cookie_to_clear"


@dataclass(frozen=True)
class Viewer:
    """The signed-in person: ``shop_ids`` None means every shop (admins); a merchant has one, an
    annotator the shops an admin assigned (possibly none)."""

    username: str
    role: str  # merchant | annotator | admin
    shop_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.role == "merchant" and not self.shop_ids:
            raise ValueError("a merchant viewer needs the shop ids they may see")
        if self.role != "admin" and self.shop_ids is None:
            raise ValueError(f"a {self.role} sees the shops assigned to them, not every shop")

    @classmethod
    def from_account(cls, account: Account) -> Viewer:
        """The viewer for a stored account: merchants their shop, annotators their assigned
        shops, admins every shop."""
        return cls(account.username, account.role, account.shop_ids)

    def can_see_shop(self, shop_id: str) -> bool:
        """True when this viewer may see rows of ``shop_id``."""
        return self.shop_ids is None or shop_id in self.shop_ids

    @property
    def pages_allowed(self) -> set[str]:
        """The page keys this viewer's role may open."""
        return set(role_pages(self.role))

    def can_see_page(self, page_key: str) -> bool:
        """True when this viewer's role may open ``page_key``."""
        return page_key in role_pages(self.role)

    def visible_shops(self, shop_ids: Iterable[str]) -> list[str]:
        """The subset of ``shop_ids`` this viewer may see, in order (for shop pickers)."""
        return [s for s in shop_ids if self.can_see_shop(s)]

    def check_shop(self, shop_id: str) -> str:
        """``shop_id`` if visible, else :class:`InputError` (for functions behind a page)."""
        if not self.can_see_shop(shop_id):
            raise InputError(f"{self.username} may not see shop {shop_id!r}")
        return shop_id


# One throttle per app process, shared by every browser session (a new tab resets nothing).
THROTTLE = SignInThrottle()


def _source() -> str:
    """Where a sign-in comes from: the browser's address as the server sees it."""
    try:
        return str(st.context.ip_address or "unknown")
    except (AttributeError, RuntimeError):
        return "unknown"


def _login_form(store: Store) -> None:
    state = st.session_state
    st.title("ShopLens")
    st.caption(t("Sign in with the account an admin created for you (`shoplens users add`)."))
    with st.form("shoplens_login"):
        username = st.text_input(t("Username"), max_chars=64)
        password = st.text_input(t("Password"), type="password", max_chars=1024)
        submitted = st.form_submit_button(t("Sign in"))
    if not submitted:
        return
    username = username.strip()
    attempt = THROTTLE.reserve(_source(), username)  # counted before the password is checked
    if not attempt.allowed:
        st.error(t("Too many failed sign-ins. Wait {seconds} seconds and try again.",
                   seconds=max(1, round(attempt.wait_s))))  # fmt: skip
        return
    account = authenticate(store, username, password)
    if account is None:
        st.error(t("Wrong username or password."))
        return
    THROTTLE.succeeded(attempt)
    state[SESSION_KEY] = Viewer.from_account(account)
    # the cookie is written on the next run, once the page is drawn for the signed-in viewer
    state[_COOKIE_TO_SET] = start_session(store, account.username)
    st.rerun()


def _session_cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except (AttributeError, RuntimeError):  # no browser request (a bare script run)
        return None
    return value if isinstance(value, str) else None


def _write_cookie(token: str | None) -> None:
    """Set (or, with None, delete) the session cookie in the browser. Streamlit cannot send a
    Set-Cookie header from a script, so a zero-height component writes it; the token is only a
    random key to a server-side session (see :mod:`accounts.sessions`)."""
    import streamlit.components.v1 as components

    if token is None:
        cookie = f"{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict"
    else:
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", token):
            return
        cookie = f"{COOKIE}={token}; Path=/; Max-Age={int(SESSION_HOURS * 3600)}; SameSite=Strict"
    components.html(
        "<script>(function(){var c=" + json.dumps(cookie) + ";"
        "if (window.top.location.protocol === 'https:') c += '; Secure';"
        "try { window.parent.document.cookie = c; } catch (e) { document.cookie = c; }"
        "})();</script>",
        height=0,
    )


def login_gate(store: Store, before_form: Callable[[], object] | None = None) -> Viewer:
    """The signed-in viewer; otherwise draw the login form and stop the page (``st.stop()``).

    A browser that signed in earlier brings its session cookie: while the session holds, a
    reload, a second tab or a deep link (``/explain``) opens signed in, on the page asked for.
    ``before_form`` runs before the form is drawn (the entry point registers its pages there, so
    a deep link's path survives signing in)."""
    state = st.session_state
    viewer = state.get(SESSION_KEY)
    if isinstance(viewer, Viewer):
        token = state.pop(_COOKIE_TO_SET, None)
        if token:
            _write_cookie(token)
        return viewer
    if state.pop(_COOKIE_TO_CLEAR, False):
        _write_cookie(None)
    else:
        account = resume(store, _session_cookie())
        if account is not None:
            viewer = Viewer.from_account(account)
            state[SESSION_KEY] = viewer
            return viewer
    if before_form is not None:
        before_form()
    if not account_repo.count(store):
        st.title("ShopLens")
        st.info(
            t("No accounts yet. Create the admin account with `shoplens setup-admin` (it prints "
              "the username and where the password is stored), then reload this page.")
        )  # fmt: skip
        st.stop()
    _login_form(store)
    st.stop()
    raise RuntimeError("unreachable: st.stop() ends the script run")  # pragma: no cover


def logout_button(container: Any = None, store: Store | None = None) -> None:
    """Show who is signed in and a *Sign out* button (in the sidebar unless told otherwise).
    Signing out ends the account's sessions in every browser (with ``store``)."""
    target = container if container is not None else st.sidebar
    viewer = st.session_state.get(SESSION_KEY)
    if not isinstance(viewer, Viewer):
        return
    shops = ", ".join(viewer.shop_ids) if viewer.shop_ids else t("all shops")
    target.caption(t("Signed in as **{user}** ({role}, {shops})", user=viewer.username,
                     role=label(viewer.role), shops=shops))  # fmt: skip
    if target.button(t("Sign out"), key="shoplens_logout"):
        if store is not None:
            end_sessions(store, viewer.username)
        st.session_state.pop(SESSION_KEY, None)
        st.session_state[_COOKIE_TO_CLEAR] = True
        st.rerun()
