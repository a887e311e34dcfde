"""Account rules: weak passwords are refused with the reason."""

from __future__ import annotations

import pytest

from accounts.service import validate_password
from common.errors import InputError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaa", "fewer than 5 different characters"),
        ("abababababab", "fewer than 5 different characters"),
        ("1234567890", "most common passwords"),
        ("Password123!", "most common passwords"),
        ("qwertyuiop99", "keyboard or alphabet run"),
        ("zyxwvutsrqpo", "keyboard or alphabet run"),
        ("short", "at least 10 characters"),
    ],
)
def test_weak_passwords_are_refused(password, reason):
    with pytest.raises(InputError, match=reason):
        validate_password(password)


@pytest.mark.parametrize("password", ["correct horse battery", "e2e-password-123456",
                                      "Tulip-Orbit-Ledger-42"])  # fmt: skip
def test_reasonable_passwords_pass(password):
    assert validate_password(password) == password
