"""Signed-in browsers that survive a reload: a random token in a cookie, its hash in the store.

After a correct password :func:`start_session` makes a 256-bit random token; the browser keeps
it in a cookie (``SameSite=Strict``, expiring with the session) and the store keeps only its
SHA-256, the account and the expiry (``app_sessions``). A reload, a second tab or a deep link
brings the cookie, and :func:`resume` finds the account again while the session holds. Signing
out (:func:`end_sessions`), a password change and removing the account end every session of the
account, in every browser. The token carries no data, so there is nothing to forge: a token
that is not in the store, or has expired, signs nobody in.

    >>> token = start_session(store, "ana")
    >>> resume(store, token).username
    'ana'
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from accounts.service import Account
from db.repo import accounts as repo
from db.store import Store

COOKIE = "shoplens_session"
SESSION_HOURS = 8.0
_TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_session(store: Store, username: str, hours: float = SESSION_HOURS) -> str:
    """A new session of ``username``; returns the token for the cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    repo.add_session(store, _hash(token), username, now, now + timedelta(hours=hours))
    return token


def resume(store: Store, token: str | None) -> Account | None:
    """The account a cookie's token signs in, or None (unknown, expired or malformed)."""
    if not isinstance(token, str) or len(token) != _TOKEN_LENGTH:
        return None
    row = repo.session_account(store, _hash(token), _now())
    return None if row is None else Account(*row)


def end_sessions(store: Store, username: str) -> int:
    """Sign ``username`` out everywhere; returns how many sessions ended."""
    return repo.end_sessions(store, username)
