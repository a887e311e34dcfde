"""Tokens for the scoring API: one shop each, shown once, stored hashed, compared in constant time.

A token reads as ``sl_<id>_<secret>``: the id (public, to list and revoke) finds the row, and the
SHA-256 of the whole token is compared with ``hmac.compare_digest``. A token grants predictions for
its one shop; it never reads another shop's data or models.

    >>> token = create_token(store, "acme", "crm")
    >>> check_token(store, token)
    'acme'
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from common.errors import InputError
from db.repo import api_tokens as repo
from db.store import Store

_TOKEN_RE = re.compile(r"^sl_([a-z0-9]{8})_([A-Za-z0-9_\-]{43})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_token(store: Store, shop_id: str, name: str = "api") -> str:
    """A new token for ``shop_id``; the only time the token itself is available."""
    if not _NAME_RE.match(name):
        raise InputError("--name: use 1-64 letters, digits, spaces and _ . -")
    token_id = secrets.token_hex(4)
    token = f"sl_{token_id}_{secrets.token_urlsafe(32)}"
    repo.add(store, token_id, _hash(token), shop_id, name, _now())
    return token


def check_token(store: Store, token: str | None) -> str | None:
    """The shop a token reads, or None (malformed, unknown or revoked)."""
    match = _TOKEN_RE.match(token or "")
    if match is None:
        return None
    found = repo.valid(store).get(match.group(1))
    if found is None:
        return None
    stored_hash, shop_id = found
    return shop_id if hmac.compare_digest(stored_hash, _hash(token or "")) else None


def revoke_token(store: Store, token_id: str) -> None:
    """Revoke a token by its id (the 8 characters after ``sl_``)."""
    if not re.fullmatch(r"[a-z0-9]{8}", token_id or "") or not repo.revoke(store, token_id, _now()):
        raise InputError(
            f"no valid API token with id {token_id[:20]!r} (see `shoplens api-token list`)"
        )
