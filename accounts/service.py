"""Local dashboard accounts: scrypt-hashed passwords, roles, and a merchant's one shop.

Passwords are hashed with ``hashlib.scrypt`` (standard library) and a random 16-byte salt per
user, and compared in constant time. The hash string records its parameters, so they can be
raised later without invalidating stored accounts:

    >>> stored = hash_password("correct horse battery")
    >>> stored.startswith("scrypt$16384$8$1$")
    True
    >>> verify_password("correct horse battery", stored), verify_password("wrong", stored)
    (True, False)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from common.errors import InputError
from db.repo import accounts as repo
from db.store import Store

ROLES = ("merchant", "annotator", "admin")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # scrypt hashes anything, but a 1 MB "password" is an attack
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")
_SHOP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class Account:
    """One dashboard login, without its password hash."""

    username: str
    role: str
    shop_id: str | None  # a merchant's shop; an annotator's assigned shops, comma-separated
    created_at: datetime

    @property
    def shop_ids(self) -> tuple[str, ...] | None:
        """The shops this account may see: None for an admin (every shop), otherwise the
        assigned ones (an annotator without any sees none)."""
        if self.role == "admin":
            return None
        return tuple(s for s in (self.shop_id or "").split(",") if s)


def _shown(name: str) -> str:
    """A name as quoted in a message: never more than 40 characters of it."""
    return repr(name if len(name) <= 40 else name[:40] + "...")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The scrypt hash of ``password`` as ``scrypt$N$r$p$salt$hash`` (base64 parts)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the ``stored`` hash; constant-time comparison."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt,
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=2**26,
        )
    except ValueError:  # a malformed stored hash never matches
        return False
    return hmac.compare_digest(digest, expected)


# A hash of a random password, checked when the username is unknown so that a wrong username
# takes as long as a wrong password (no user enumeration by timing).
@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def generate_password() -> str:
    """A random 20-character URL-safe password (about 120 bits)."""
    return secrets.token_urlsafe(15)


def validate_username(username: str) -> str:
    """``username`` if it is 1-64 letters, digits, ``_ . @ -`` (starting alphanumeric)."""
    if not isinstance(username, str) or not _USERNAME_RE.match(username):
        shown = _shown(username) if isinstance(username, str) else "(not text)"
        raise InputError(
            f"invalid username {shown}: use 1-64 letters, digits and _ . @ - "
            "(starting with a letter or digit)"
        )
    return username


# Passwords of 10+ characters that appear near the top of every leaked-password list, and the
# keyboard and alphabet runs they are built from.
COMMON_PASSWORDS = frozenset(["1234567890", "0123456789", "12345678910", "123456789a", "1q2w3e4r5t", "1qaz2wsx3edc", "qwertyuiop", "asdfghjkl", "zxcvbnm123", "qwerty1234", "qwerty12345", "password12", "password123", "password1234", "passw0rd123", "iloveyou12", "administrator", "admin12345", "admin123456", "letmein123", "welcome123", "changeme123", "abc1234567", "abcdefghij", "football12", "baseball12", "sunshine12", "princess12", "trustno1234", "monkey1234", "dragon1234", "starwars12", "shoplens123", "superman12", "michael123", "987654321a", "9876543210", "1111111111", "0000000000", "5555555555"])  # fmt: skip
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "01234567890")


def _weakness(password: str) -> str | None:
    """Why ``password`` is too easy to guess, or None."""
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or lowered.rstrip("!.1") in COMMON_PASSWORDS:
        return "it is one of the most common passwords"
    if len(set(lowered)) < 5:
        return "it uses fewer than 5 different characters"
    for run in _RUNS:
        for size in range(len(lowered), 7, -1):  # 8+ characters in keyboard or alphabet order
            if any(
                lowered[i : i + size] in (run + run[::-1]) for i in range(len(lowered) - size + 1)
            ):
                return "it is mostly a keyboard or alphabet run"
    return None


def validate_password(password: str) -> str:
    """``password`` if its length is within the accepted range and it is not trivially
    guessable (a common password, a run such as ``qwertyuiop``, or fewer than 5 different
    characters such as ``aaaaaaaaaa``)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    weakness = _weakness(password)
    if weakness:
        raise InputError(
            f"the password is too easy to guess: {weakness}. Use a passphrase of several "
            "unrelated words."
        )
    return password


def validate_role(role: str, shop_id: str | None) -> str | None:
    """Check a role and its shops; returns the shops as stored. A merchant needs exactly one
    shop, an annotator works on the shops an admin assigns (comma-separated, none allowed until
    assigned), an admin sees every shop and takes none."""
    if role not in ROLES:
        raise InputError(f"unknown role {_shown(role)}: use one of {', '.join(ROLES)}")
    if role == "merchant":
        if not shop_id or not _SHOP_RE.match(shop_id):
            raise InputError(
                "a merchant account needs --shop SHOP_ID (1-64 letters, digits, _ . -)"
            )
        return shop_id
    if role == "annotator":
        shops = [s.strip() for s in (shop_id or "").split(",") if s.strip()]
        bad = [s for s in shops if not _SHOP_RE.match(s)]
        if bad or len(shops) > 100:
            raise InputError(
                f"--shop: {_shown(bad[0]) if bad else 'too many shops'} is not a shop id; give "
                "the annotator's shops as SHOP[,SHOP...] (1-64 letters, digits, _ . - each)"
            )
        return ",".join(dict.fromkeys(shops)) or None
    if shop_id:
        raise InputError(f"a {role} account sees every shop; leave out --shop")
    return None


def assign_shops(store: Store, username: str, shops: str | None) -> Account:
    """Set the shops an annotator may label (replacing the earlier assignment)."""
    account = next((a for a in list_accounts(store) if a.username == username), None)
    if account is None:
        raise InputError(f"no account named {_shown(username)}")
    if account.role != "annotator":
        raise InputError(
            f"{_shown(username)} is a {account.role}; only annotators are assigned shops"
        )
    stored = validate_role("annotator", shops)
    repo.update_shops(store, username, stored)
    return Account(account.username, account.role, stored, account.created_at)


def create_account(
    store: Store, username: str, password: str, role: str, shop_id: str | None = None
) -> Account:
    """Add a dashboard account; raises :class:`InputError` if the name is taken or invalid."""
    validate_username(username)
    validate_password(password)
    shop_id = validate_role(role, shop_id)
    created_at = datetime.now(UTC).replace(tzinfo=None)
    repo.insert(store, username, hash_password(password), role, shop_id, created_at)
    return Account(username, role, shop_id, created_at)


def set_password(store: Store, username: str, password: str) -> None:
    """Replace an account's password."""
    validate_password(password)
    if not repo.update_hash(store, username, hash_password(password)):
        raise InputError(f"no account named {_shown(username)}")


def remove_account(store: Store, username: str) -> None:
    """Delete an account; the last admin cannot be removed."""
    refused = repo.delete(store, username)
    if refused == "missing":
        raise InputError(f"no account named {_shown(username)}")
    if refused == "last_admin":
        raise InputError("cannot remove the last admin account")


def list_accounts(store: Store, role: str | None = None) -> list[Account]:
    """Every account (optionally of one role), sorted by username; never the hashes."""
    return [Account(*row) for row in repo.rows(store, role)]


def authenticate(store: Store, username: str, password: str) -> Account | None:
    """The account if ``username`` and ``password`` match, else ``None`` (same time either way)."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    if len(username) > 64 or len(password) > MAX_PASSWORD_LENGTH:
        verify_password("x", _dummy_hash())
        return None
    found = repo.with_hash(store, username)
    if found is None:
        verify_password(password, _dummy_hash())
        return None
    account, stored = found
    if not verify_password(password, stored):
        return None
    return Account(*account)
