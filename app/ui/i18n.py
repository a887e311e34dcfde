"""The dashboard's language: English (the source text) or Simplified Chinese.

Every text a page shows goes through :func:`t`: the English source text is the key, the
Chinese catalogue (:mod:`app.ui.locale_zh`) its translation. Texts with values are templates
(``t("{n} reviews", n=12)``) so the translation can place the value where Chinese puts it.
A text missing from the catalogue shows in English (``tests/app/test_i18n.py`` fails on one).

The language is the viewer's choice in the sidebar, kept in the session and in the page's URL
(``?lang=zh``), so a shared link opens in the same language.

    >>> t("Reviews")
    'Reviews'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd

LANGUAGES = {"en": "English", "zh": "简体中文"}
_KEY = "lang"
MISSING: set[str] = set()  # texts shown in Chinese without a translation (tests read it)


def current() -> str:
    """The viewer's language code (``en`` outside a Streamlit run)."""
    import streamlit as st
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:  # the CLI, the API, a test
        return "en"
    if _KEY not in st.session_state:
        asked = st.query_params.get(_KEY)
        st.session_state[_KEY] = asked if asked in LANGUAGES else "en"
    return str(st.session_state[_KEY])


def N_(text: str) -> str:  # noqa: N802  (gettext's name for "mark for translation")
    """Mark a constant text for the catalogue; :func:`t` translates it where it is shown."""
    return text


def t(text: str, /, **values: Any) -> str:
    """``text`` in the viewer's language, with ``values`` filled into its ``{placeholders}``."""
    text = _translate(text, current())
    return text.format(**values) if values else text


def _translate(text: str, language: str) -> str:
    if language == "zh":
        from app.ui.locale_zh import ZH

        if text not in ZH:
            MISSING.add(text)
        return ZH.get(text, text)
    return text


def labeller() -> Callable[[Any], str]:
    """:func:`label` bound to the viewer's language now (a widget's ``format_func``)."""
    language = current()
    if language != "zh":
        return str

    from app.ui.locale_zh import VALUES

    return lambda value: VALUES.get(str(value), str(value))


def translator() -> Callable[[str], str]:
    """:func:`t` bound to the viewer's language now, for work done later, outside the page run
    (an export built when its button is clicked)."""
    language = current()
    return lambda text: _translate(text, language)


def label(value: Any) -> str:
    """A model's class or a known value (``complaint``, ``size_fit``, ``negative`` …) in the
    viewer's language; anything else as it is."""
    return labeller()(value)


def aspect_label(aspect: str) -> str:
    """An aspect's name as the pages write it: ``size fit`` / ``尺码合身``."""
    return label(aspect).replace("_", " ")


def day(value: date | pd.Timestamp, year: bool = True) -> str:
    """A date as the viewer reads it: ``27 Nov 2017`` / ``2017年11月27日``."""
    if current() == "zh":
        return (
            f"{value:%Y}年{value.month}月{value.day}日" if year else f"{value.month}月{value.day}日"
        )
    return f"{value:%d %b %Y}" if year else f"{value:%d %b}"


def header(name: str) -> str:
    """A table column's heading as a merchant reads it: ``purchase_rate`` shows as
    "purchase rate" (``user_id``: "user ID") in English and as 购买率 in Chinese; a heading
    already in words stays as it is. (Exports keep the data's own names in English.)"""
    if current() == "zh" or "_" not in name:
        return t(name)
    return " ".join("ID" if word == "id" else word for word in name.split("_") if word)


def columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its column headings in the viewer's language (:func:`header`), for the
    dashboard's tables; a table's ``column_config`` names its columns by the same headings."""
    return frame.rename(columns={c: header(str(c)) for c in frame.columns})


def language_switch() -> None:
    """The sidebar's language choice; it also sets ``?lang=`` so the link keeps it."""
    import streamlit as st

    current()
    choice = st.sidebar.radio("Language · 语言", list(LANGUAGES), format_func=LANGUAGES.__getitem__,
                              key=_KEY, horizontal=True)  # fmt: skip
    if choice == "en":
        st.query_params.pop(_KEY, None)
    else:
        st.query_params[_KEY] = choice
