"""Sessions behind the sign-in cookie: random tokens stored hashed, expiring, ended everywhere by
signing out, a password change or removing the account."""

from __future__ import annotations

import pytest

from accounts.service import create_account, remove_account, set_password
from accounts.sessions import end_sessions, resume, start_session

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def test_a_session_resumes_until_it_ends(store):
    create_account(store, "ana", PASSWORD, "merchant", "shop_a")
    create_account(store, "root", PASSWORD, "admin")
    first, second = start_session(store, "ana"), start_session(store, "ana")
    other = start_session(store, "root")
    assert first != second and len(first) == 43
    assert resume(store, first).shop_id == "shop_a" and resume(store, second).username == "ana"
    stored = store.query_df("SELECT token_hash FROM app_sessions")["token_hash"].tolist()
    assert first not in stored and len(stored) == 3  # only hashes are kept
    for forged in (None, "", "x" * 43, first[:-1], first + "A", "' OR 1=1 --"):
        assert resume(store, forged) is None
    assert end_sessions(store, "ana") == 2  # signing out ends every browser's session
    assert resume(store, first) is None and resume(store, second) is None
    assert resume(store, other).username == "root"


def test_expiry_password_change_and_removal_end_sessions(store):
    create_account(store, "ana", PASSWORD, "merchant", "shop_a")
    create_account(store, "root", PASSWORD, "admin")
    expired = start_session(store, "ana", hours=-1)
    assert resume(store, expired) is None
    token = start_session(store, "ana")
    set_password(store, "ana", "another long passphrase")
    assert resume(store, token) is None
    token = start_session(store, "ana")
    remove_account(store, "ana")
    assert resume(store, token) is None
