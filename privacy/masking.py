"""PII masking: emails, phone numbers, card numbers, ID numbers and street addresses become
placeholders.

Applied before any shopper text leaves the store for a person: Label Studio tasks, CSV exports and
the Explain view. Masking is pattern-based (no model), so it is fast, deterministic and works on
English and Chinese text; its limits are listed in ``docs/privacy.md``. Patterns are matched on a
normalised view of the text (Unicode NFKC, so full-width digits and letters count; zero-width
characters and soft hyphens dropped, so ``jane\u200b@example.com`` is still an email); what is
replaced is the original span, and the rest of the text is left exactly as written.

Keys are never masked into placeholders (the export would lose them): an id that contains
personal data is replaced by a stable pseudonym instead (:func:`pseudonymise`).

    >>> mask_pii("Call me on +86 138 0013 8000 or mail li.wei@example.cn")
    'Call me on [PHONE] or mail [EMAIL]'
    >>> mask_pii("Order 4111 1111 1111 1112 arrived, size US 8, $129.99")
    'Order 4111 1111 1111 1112 arrived, size US 8, $129.99'
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields

import pandas as pd

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
CARD = "[CARD]"
ID_NUMBER = "[ID]"
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
    ids: bool = True
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
    def from_settings(cls, settings: object) -> PiiConfig:
        """The config from the settings' ``[privacy]`` secrets table (every kind on without one)."""
        secrets = getattr(settings, "secrets", {}) or {}
        privacy = secrets.get("privacy") if isinstance(secrets, Mapping) else None
        return cls.from_mapping(privacy if isinstance(privacy, Mapping) else None)


# --- emails -----------------------------------------------------------------------------------
# Unicode letters and digits count (jöhn@exämple.de, 张三@例子.中国); Chinese has no spaces, so
# a Chinese address may take the words around it with it (more is masked, never less).
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[^\W_][\w.%+-]{0,63}@[^\W_][\w-]{0,62}(?:\.[\w-]{1,63})*"
    r"\.[^\W\d_]{2,24}(?!\w)"
)

# --- card numbers: 13-19 digits, optionally grouped by spaces, dots, dashes or a line break,
# Luhn-valid -----------------------------------------------------------------------------------
_CARD_RE = re.compile(r"(?<![\d+])\d(?:(?:[ .\-]|\r?\n)?\d){12,18}(?![\d])")


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


# --- Chinese resident ID numbers: 18 characters, birth date inside, ISO 7064 check digit --------
_CN_ID_RE = re.compile(
    r"(?<![\dA-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"(?![\dA-Za-z])"
)
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_valid(number: str) -> bool:
    """True when an 18-character Chinese resident ID number has the right check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _CN_ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def _mask_cn_id(match: re.Match[str]) -> str:
    return ID_NUMBER if cn_id_valid(match.group(0)) else match.group(0)


# --- phone numbers ------------------------------------------------------------------------------
_SEP = r"[ .\-]"
_PHONE_PATTERNS = [
    # international: +44 20 7946 0958, +86 138 0013 8000, +1 (415) 555-0132, 0049 30 1234567
    rf"(?<![\w+])(?:\+|00)\d{{1,3}}(?:{_SEP}?\(?\d{{1,5}}\)?){{1,6}}(?!\d)",
    # Chinese mobile: 13800138000, 138 0013 8000, 138-0013-8000, and with the country code
    # written without a plus: 8613800138000, 86 138 0013 8000
    r"(?<![\d.,])(?:86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}(?![\d])",
    # a trunk code in brackets: (020) 7946 0958, (0)20 7946 0958
    r"(?<![\w])\(0\d{0,4}\)[ ]?\d{1,4}(?:[ .\-]?\d{2,8}){1,3}(?![\d])",
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


_INVISIBLE = frozenset(
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
)


def _normalised(text: str) -> tuple[str, list[int], list[int]]:
    """``text`` as the patterns see it (NFKC per character, invisible characters dropped), with
    the original start and end index of every normalised character."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, char in enumerate(text):
        if char in _INVISIBLE:
            continue
        folded = unicodedata.normalize("NFKC", char) if ord(char) > 127 else char
        for piece in folded:
            chars.append(piece)
            starts.append(i)
            ends.append(i + 1)
    return "".join(chars), starts, ends


def _sub(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    """A masker: ``pattern`` matched on the normalised text, each changed match replaced in the
    original (invisible characters inside a match go with it)."""

    def mask(text: str) -> str:
        plain, starts, ends = _normalised(text)
        out: list[str] = []
        last = 0
        for match in pattern.finditer(plain):
            if match.end() == match.start():
                continue
            new = replace(match)
            if new == match.group(0):
                continue
            start, end = starts[match.start()], ends[match.end() - 1]
            out += [text[last:start], new]
            last = end
        return "".join(out) + text[last:] if out else text

    return mask


_MASKERS: list[tuple[str, Callable[[str], str]]] = [
    ("emails", _sub(_EMAIL_RE, lambda m: EMAIL)),
    # ID numbers and cards before phones: their digits would otherwise read as phone numbers
    ("ids", _sub(_CN_ID_RE, _mask_cn_id)),
    ("cards", _sub(_CARD_RE, _mask_card)),
    ("phones", _sub(_PHONE_RE, _mask_phone)),
    ("addresses", _sub(_ADDRESS_RE, _mask_address)),
]


def mask_pii(text: str, config: PiiConfig | None = None) -> str:
    """Replace emails, phone numbers, Luhn-valid card numbers, Chinese resident ID numbers and
    recognisable street addresses in ``text`` with ``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[ID]``
    and ``[ADDRESS]``.

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


def pseudonymise(value: str, key: bytes, prefix: str = "id") -> str:
    """A stable pseudonym for an id that contains personal data (``jane@example.com`` as a user
    id): the same id and key give the same pseudonym, so an export keeps its key column and its
    rows stay joinable, while the id itself is not shown. Ids without personal data come back
    unchanged.

        >>> pseudonymise("jane@example.com", b"k") == pseudonymise("jane@example.com", b"k")
        True
        >>> pseudonymise("u123", b"k")
        'u123'
    """
    if not isinstance(value, str) or mask_pii(value) == value:
        return value
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
    return f"{prefix}-{digest}"


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
