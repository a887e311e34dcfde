"""Shop ids: what a valid one looks like."""

from __future__ import annotations

import re

from common.errors import InputError

SHOP_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_shop_id(shop_id: str) -> str:
    """A shop id is 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit."""
    if not isinstance(shop_id, str) or not SHOP_ID_PATTERN.match(shop_id):
        raise InputError(
            f"shop {str(shop_id)[:80]!r} is not a valid shop id: use 1-64 letters, digits, '_', "
            "'-' or '.', starting with a letter or digit (e.g. --shop acme-store)."
        )
    return shop_id
