"""Dashboard accounts (``app_users``): rows in, rows out; hashing and rules live in ``accounts``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.errors import InputError
from db.store import Store

AccountRow = tuple[str, str, str | None, datetime]  # username, role, shop_id, created_at


def insert(store: Store, username: str, password_hash: str, role: str, shop_id: str | None,
           created_at: datetime) -> None:  # fmt: skip
    """Add an account; an :class:`InputError` when the name is taken."""
    with store.write() as con:
        row = con.execute(
            "SELECT count(*) FROM app_users WHERE username = ?", [username]
        ).fetchone()
        if row and row[0]:
            raise InputError(f"the username {username[:64]!r} is already taken")
        con.execute(
            "INSERT INTO app_users (username, password_hash, role, shop_id, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [username, password_hash, role, shop_id, created_at],
        )


def _exists(con: Any, username: str) -> bool:
    row = con.execute("SELECT count(*) FROM app_users WHERE username = ?", [username]).fetchone()
    return bool(row and row[0])


def update_hash(store: Store, username: str, password_hash: str) -> bool:
    """Replace an account's password hash; False when there is no such account."""
    with store.write() as con:
        if not _exists(con, username):
            return False
        con.execute("UPDATE app_users SET password_hash = ? WHERE username = ?",
                    [password_hash, username])  # fmt: skip
        # a new password signs every browser out
        con.execute("DELETE FROM app_sessions WHERE username = ?", [username])
    return True


def update_shops(store: Store, username: str, shop_id: str | None) -> bool:
    """Replace an account's shop assignment (comma-separated shop ids); False when there is no
    such account."""
    with store.write() as con:
        if not _exists(con, username):
            return False
        con.execute("UPDATE app_users SET shop_id = ? WHERE username = ?", [shop_id, username])
    return True


def delete(store: Store, username: str, keep_one_admin: bool = True) -> str | None:
    """Delete an account; returns why not ("missing", "last_admin") or None when deleted."""
    with store.write() as con:
        row = con.execute("SELECT role FROM app_users WHERE username = ?", [username]).fetchone()
        if row is None:
            return "missing"
        admins = con.execute("SELECT count(*) FROM app_users WHERE role = 'admin'").fetchone()
        if keep_one_admin and row[0] == "admin" and admins and admins[0] <= 1:
            return "last_admin"
        con.execute("DELETE FROM app_users WHERE username = ?", [username])
        con.execute("DELETE FROM app_sessions WHERE username = ?", [username])
    return None


def rows(store: Store, role: str | None = None) -> list[AccountRow]:
    """Every account (of one role), by username; never the hashes."""
    with store.read() as con:
        found = con.execute(
            "SELECT username, role, shop_id, created_at FROM app_users "
            "WHERE CAST($role AS VARCHAR) IS NULL OR role = $role ORDER BY username",
            {"role": role},
        ).fetchall()
    return [(str(r[0]), str(r[1]), r[2], r[3]) for r in found]


def with_hash(store: Store, username: str) -> tuple[AccountRow, str] | None:
    """The account and its password hash (for checking a sign-in), or None."""
    with store.read() as con:
        row = con.execute(
            "SELECT username, role, shop_id, created_at, password_hash FROM app_users "
            "WHERE username = ?",
            [username],
        ).fetchone()
    return None if row is None else ((row[0], row[1], row[2], row[3]), row[4])


def count(store: Store) -> int:
    """How many accounts exist (0 when the store does not exist yet)."""
    if not store.exists():
        return 0
    with store.read() as con:
        row = con.execute("SELECT count(*) FROM app_users").fetchone()
    return int(row[0]) if row else 0


def add_session(store: Store, token_hash: str, username: str, created_at: datetime,
                expires_at: datetime) -> None:  # fmt: skip
    """Record a signed-in browser (and drop expired sessions while at it)."""
    with store.write() as con:
        con.execute("DELETE FROM app_sessions WHERE expires_at <= ?", [created_at])
        con.execute(
            "INSERT INTO app_sessions (token_hash, username, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            [token_hash, username, created_at, expires_at],
        )


def session_account(store: Store, token_hash: str, now: datetime) -> AccountRow | None:
    """The account of an unexpired session, or None."""
    if not store.exists():
        return None
    with store.read() as con:
        row = con.execute(
            "SELECT u.username, u.role, u.shop_id, u.created_at FROM app_sessions s "
            "JOIN app_users u USING (username) WHERE s.token_hash = ? AND s.expires_at > ?",
            [token_hash, now],
        ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), row[2], row[3])


def end_sessions(store: Store, username: str) -> int:
    """Delete every session of an account; returns how many there were."""
    with store.write() as con:
        row = con.execute(
            "SELECT count(*) FROM app_sessions WHERE username = ?", [username]
        ).fetchone()
        con.execute("DELETE FROM app_sessions WHERE username = ?", [username])
    return int(row[0]) if row else 0
