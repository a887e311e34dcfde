"""The dashboard's Simplified Chinese: every text a page shows has a translation that keeps its
placeholders, and the helpers fall back to English outside a page."""

from __future__ import annotations

import ast
import csv
import io
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from app.ui import i18n
from app.ui.locale_zh import VALUES, ZH

pytestmark = pytest.mark.unit

APP = Path(__file__).resolve().parents[2] / "app"


def _marked_texts() -> dict[str, str]:
    """Every literal text passed to ``t(...)`` or ``N_(...)`` under app/, with its file."""
    found: dict[str, str] = {}
    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("t", "N_") and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):  # fmt: skip
                found.setdefault(node.args[0].value, path.name)
    return found


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w*)\}", text))


def test_every_marked_text_has_a_translation() -> None:
    marked = _marked_texts()
    assert len(marked) > 300  # the scan sees the pages
    missing = {text: where for text, where in marked.items() if text not in ZH}
    assert not missing, missing


def test_translations_keep_their_placeholders_and_are_chinese() -> None:
    wrong = [k for k, v in ZH.items() if _placeholders(k) != _placeholders(v)]
    assert not wrong, wrong
    han = re.compile(r"[\u4e00-\u9fff]")
    untranslated = [k for k, v in {**ZH, **VALUES}.items() if not han.search(v)
                    and k not in ("psi", "PSI")]  # fmt: skip
    assert not untranslated, untranslated


def test_texts_named_elsewhere_are_translated() -> None:
    """Segment names, task descriptions and the model classes a page shows."""
    from core.aspect_sets import APPAREL_SET
    from core.demand_rules import DEMAND_LABELS
    from core.tasks import all_tasks
    from db.dashboard_queries import SEGMENTS

    assert {name for name, _ in SEGMENTS.values()} <= set(ZH)
    assert {task.description for task in all_tasks()} <= set(ZH)
    assert {task.name for task in all_tasks()} <= set(VALUES)
    assert set(APPAREL_SET.names) | set(DEMAND_LABELS) <= set(VALUES)


def test_outside_a_page_texts_stay_english_and_fill_their_values() -> None:
    assert i18n.current() == "en"
    assert i18n.t("week {n}", n=3) == "week 3"
    assert i18n.label("complaint") == "complaint"
    assert i18n.day(date(2017, 11, 27)) == "27 Nov 2017"
    # table headings read as words; a heading already in words stays as it is
    frame = pd.DataFrame({"user_id": ["u1"], "purchase_rate": [0.5], "language shift": [0.1]})
    assert list(i18n.columns(frame)) == ["user ID", "purchase rate", "language shift"]


def test_column_settings_name_their_columns_by_the_tables_headings() -> None:
    """A table's ``column_config`` key must be the heading :func:`i18n.columns` gave the column
    (``header("purchase_rate")``); ``t("purchase_rate")`` is the data's name in English, so the
    setting (a percent format, a label) would silently miss its column."""
    keyed_by_t = re.compile(r"\bt\([^()]*\)\s*:\s*st\.column_config")
    found = [
        f"{path.relative_to(APP.parent)}:{n}"
        for path in sorted(APP.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if keyed_by_t.search(line)
    ]
    assert not found, found


def test_chinese_translations_and_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "current", lambda: "zh")
    assert i18n.t("week {n}", n=3) == "第 3 周"
    assert i18n.label("complaint") == "抱怨" and i18n.label("Dress") == "Dress"
    assert i18n.day(date(2017, 11, 27)) == "2017年11月27日"
    assert i18n.day(date(2017, 11, 27), year=False) == "11月27日"
    frame = pd.DataFrame({"user_id": ["u1"], "share": [0.5]})
    assert list(i18n.columns(frame)) == ["顾客 ID", "占比"]
    assert i18n.labeller()("size_fit") == "尺码合身"
    later = i18n.translator()  # bound now: still Chinese when called after the page run
    monkeypatch.setattr(i18n, "current", lambda: "en")
    assert later("Shoppers") == "顾客数" and i18n.t("Shoppers") == "Shoppers"


def test_segment_export_headers_follow_the_language() -> None:
    """Column and summary headers are translated; ids are still recognised (pseudonymised)."""
    from app.ui.segments import segment_csv

    users = pd.DataFrame({"user_id": ["alice@example.com"], "sessions": [3]})
    data = segment_csv(users, {"shoppers": 1}, "每个活跃顾客", id_key=b"k",
                       header=lambda c: i18n._translate(c, "zh"))  # fmt: skip
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["顾客 ID", "会话数"]
    assert "alice" not in rows[1][0] and rows[1][1] == "3"
    assert rows[3] == ["汇总", "数值"] and rows[4] == ["分群", "每个活跃顾客"]
    assert rows[5] == ["顾客数", "1"]
