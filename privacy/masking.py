"""PII masking: emails, phone numbers, card numbers and street addresses become placeholders.

Applied before any shopper text leaves the store for a person: Label Studio tasks, CSV exports and
the Explain view. Masking is pattern-based (no model), so it is fast, deterministic and works on
English and Chinese text; its limits are listed in ``docs/privacy.md``.

    >>> mask_pii("Call me on +86 138 0013 8000 or mail li.wei@example.cn")
    'Call me on [PHONE] or mail [EMAIL]'
    >>> mask_pii("Order 4111 1111 1111 1112 arrived, size US 8, $129.99")
    'Order 4111 1111 1111 1112 arrived, size US 8, $129.99'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields

import pandas as pd

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
CARD = "[CARD]"
ADDRESS = "[ADDRESS]"


@dataclass(frozen=True)
class PiiConfig:
    """Which kinds of personal data to mask; every kind is on by default.

    Set from the ``[privacy]`` table of ``.streamlit/secrets.toml`` (see :meth:`from_settings`),
    e.g. ``addresses = false`` keeps street addresses visible.
    """

    emails: bool = True
    phones: bool = True
    cards: bool = True
    addresses: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, object] | None) -> PiiConfig:
        """A config from a mapping of kind -> bool; unknown keys are an error (likely a typo)."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown [privacy] settings {unknown}; expected some of {sorted(known)}"
            )
        return cls(**{name: bool(value) for name, value in values.items()})

    @classmethod
    def from_settings(cls, settings: object | None = None) -> PiiConfig:
        """The config from ``load_settings().secrets["privacy"]`` (all kinds on when absent)."""
        if settings is None:
            from common.settings import load_settings

            settings = load_settings()
        secrets = getattr(settings, "secrets", {}) or {}
        privacy = secrets.get("privacy") if isinstance(secrets, Mapping) else None
        return cls.from_mapping(privacy if isinstance(privacy, Mapping) else None)


# --- emails -----------------------------------------------------------------------------------
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
    r"\.[A-Za-z]{2,24}\b"
)

# --- card numbers: 13-19 digits, optionally grouped by spaces or dashes, Luhn-valid -------------
_CARD_RE = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?![\d])")


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn checksum that every payment card number does."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD if luhn_valid(digits) else match.group(0)


# --- phone numbers ------------------------------------------------------------------------------
_SEP = r"[ .\-]"
_PHONE_PATTERNS = [
    # international: +44 20 7946 0958, +86 138 0013 8000, +1 (415) 555-0132, 0049 30 1234567
    rf"(?<![\w+])(?:\+|00)\d{{1,3}}(?:{_SEP}?\(?\d{{1,5}}\)?){{1,6}}(?!\d)",
    # Chinese mobile: 13800138000, 138 0013 8000, 138-0013-8000
    r"(?<![\d.,])1[3-9]\d(?:[ \-]?\d{4}){2}(?![\d])",
    # North American: (415) 555-0132, 415-555-0132, 415.555.0132, 1-800-555-0199
    rf"(?<![\d.,])(?:1{_SEP})?(?:\(\d{{3}}\) ?|\d{{3}}{_SEP})\d{{3}}{_SEP}\d{{4}}(?![\d])",
    # European / UK numbers with a trunk 0: 020 7946 0958, 07700 900123, 01 23 45 67 89, 030/1234567
    r"(?<![\d.,/])0\d{1,4}(?:[ .\-/]\d{2,8}){1,4}(?![\d])",
    r"(?<![\d.,])0\d{9,10}(?![\d])",
]
# never start inside a longer run of digit groups (tracking numbers, order ids)
_PHONE_RE = re.compile(r"(?<!\d[ .\-])(?:" + "|".join(f"(?:{p})" for p in _PHONE_PATTERNS) + ")")


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    n_digits = sum(c.isdigit() for c in text)
    # fewer than 9 digits is a date, a price or a short code, more than 15 is no phone (E.164)
    return PHONE if 9 <= n_digits <= 15 else text


# --- street addresses ---------------------------------------------------------------------------
_STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Way|Place|Pl|"
    "Square|Sq|Terrace|Close|Crescent|Highway|Hwy|Parkway|Pkwy|Row|Gardens|Mews|Hill|Walk"
)
_EN_STREET = (
    r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'\-]*\s+){1,3}"
    rf"(?:{_STREET_TYPES}|{_STREET_TYPES.lower()})\b\.?"
    r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
)
_EN_UNIT = r"\b(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm)\.?\s*#?\s*\d{1,5}[A-Za-z]?\b"
_UK_POSTCODE = r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b"
_ZH_DIGITS = r"[0-9０-９一二三四五六七八九十百零]"
_ZH_ADDRESS = (
    r"(?:[\u4e00-\u9fff]{2,3}?(?:省|自治区))?"
    r"(?:[\u4e00-\u9fff]{2,3}?市)?"
    r"(?:[\u4e00-\u9fff]{1,4}?(?:区|县|镇))?"
    r"[\u4e00-\u9fff]{1,6}?(?:大道|路|街|巷|弄|胡同)"
    rf"\s*{_ZH_DIGITS}{{1,5}}\s*号"
    rf"(?:\s*(?:{_ZH_DIGITS}{{1,4}}|[A-Za-z])\s*(?:号楼|栋|幢|座|单元|楼|层|室|号))*"
)
_ADDRESS_RE = re.compile(f"(?:{_ZH_ADDRESS})|(?:{_EN_STREET})|(?:{_EN_UNIT})|(?:{_UK_POSTCODE})")
# Chinese has no spaces, so a match may start with the words that introduce the address
# ("地址", "寄到"); those are kept visible.
_ZH_LEAD_INS = ("收货地址", "地址", "寄到", "送到", "发到", "住在", "位于", "址", "到", "在", "是")


def _mask_address(match: re.Match[str]) -> str:
    text = match.group(0)
    for lead_in in _ZH_LEAD_INS:
        if text.startswith(lead_in) and len(text) > len(lead_in) + 4:
            return lead_in + ADDRESS
    return ADDRESS


_MASKERS: list[tuple[str, Callable[[str], str]]] = [
    ("emails", lambda text: _EMAIL_RE.sub(EMAIL, text)),
    # cards before phones: a 16-digit grouped card would otherwise look like a phone number
    ("cards", lambda text: _CARD_RE.sub(_mask_card, text)),
    ("phones", lambda text: _PHONE_RE.sub(_mask_phone, text)),
    ("addresses", lambda text: _ADDRESS_RE.sub(_mask_address, text)),
]


def mask_pii(text: str, config: PiiConfig | None = None) -> str:
    """Replace emails, phone numbers, Luhn-valid card numbers and recognisable street addresses in
    ``text`` with ``[EMAIL]``, ``[PHONE]``, ``[CARD]`` and ``[ADDRESS]``.

    ``config`` picks the kinds (default: all). Non-strings (None, NaN) come back unchanged.

        >>> mask_pii("Ship to 12 Baker Street, Apt 4B; card 4111-1111-1111-1111")
        'Ship to [ADDRESS], [ADDRESS]; card [CARD]'
    """
    if not isinstance(text, str) or not text:
        return text
    config = config or PiiConfig()
    for kind, masker in _MASKERS:
        if getattr(config, kind):
            text = masker(text)
    return text


def mask_texts(texts: Iterable[str], config: PiiConfig | None = None) -> list[str]:
    """:func:`mask_pii` over a sequence of texts."""
    config = config or PiiConfig()
    return [mask_pii(t, config) for t in texts]


def mask_frame(
    df: pd.DataFrame, columns: Iterable[str], config: PiiConfig | None = None
) -> pd.DataFrame:
    """A copy of ``df`` with the text ``columns`` masked (missing values stay missing).

    Raises ``KeyError`` naming a column that ``df`` lacks, so a renamed column is not silently
    left unmasked.
    """
    columns = list(columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"mask_frame: columns {missing} are not in the frame {list(df.columns)}")
    config = config or PiiConfig()
    out = df.copy()
    for column in columns:
        out[column] = out[column].map(lambda v: mask_pii(v, config) if isinstance(v, str) else v)
    return out
