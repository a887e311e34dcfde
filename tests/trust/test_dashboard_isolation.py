"""Several shops in one store: a merchant reaches only their own shop's rows through every page,
filter, chart, explanation and export, even with tampered session state; hostile text in the
dashboard's text fields is shown, never executed, and never raises.

Uses the dashboard tests' fixtures (tests/app/conftest.py) and seed shop.
"""

from __future__ import annotations

# ruff: noqa: F811 - fixtures imported from tests/app/conftest.py are used as arguments
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from db.ingest import ingest_file
from tests.app.conftest import (  # noqa: F401
    download,
    make_viewer,
    media_files,
    open_page,
)
from tests.app.dashboard_seed import SHOP, seed_shop

pytestmark = pytest.mark.integration

OTHER = "rival"
SECRET = "ZQXSECRET"  # appears only in the other shop's rows
MERCHANT_PAGES = ["overview", "behaviour", "sentiment", "intent", "demand", "segments", "explain"]
HOSTILE_TEXT = [
    "'; DROP TABLE reviews; --",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://evil")',
    "../../etc/passwd",
    "表情😀 \u202eevil",
]


@pytest.fixture
def two_shops(store, tmp_path):
    """The demo shop plus a rival shop whose reviews, messages, items and users carry SECRET."""
    seed_shop(store)
    seed_shop(store, shop_id=OTHER, users=8, seed=3)
    reviews = tmp_path / "rival_reviews.csv"
    reviews.write_text(
        "review_id,item_id,user_id,rating,text,ts\n"
        + "".join(
            f"{SECRET}-r{i},{SECRET}-item,{SECRET}-user{i},{1 + i % 5},"
            f"{SECRET} review text number {i},2024-03-{10 + i}T10:00:00Z\n"
            for i in range(5)
        ),
        encoding="utf-8",
    )
    messages = tmp_path / "rival_messages.csv"
    messages.write_text(
        "message_id,user_id,text,ts\n"
        + "".join(
            f"{SECRET}-m{i},{SECRET}-user{i},{SECRET} where is my order {i},2024-03-{10 + i}T11:00:00Z\n"
            for i in range(5)
        ),
        encoding="utf-8",
    )
    events = tmp_path / "rival_events.csv"
    events.write_text(
        "user_id,event_type,ts,item_id,category\n"
        + "".join(
            f"{SECRET}-user{i % 3},{t},2024-03-{10 + i % 10}T12:{i:02d}:00Z,{SECRET}-item,{SECRET}cat\n"
            for i, t in enumerate(["view", "cart", "purchase", "view", "fav"] * 6)
        ),
        encoding="utf-8",
    )
    for path, kind in ((reviews, "reviews"), (messages, "messages"), (events, "events")):
        ingest_file(store, path, kind, shop_id=OTHER)
    return store


def _all_text(at: AppTest) -> str:
    """Every element's protobuf as text: labels, values, options, dataframes (Arrow bytes shown
    escaped, so ASCII ids stay readable), chart specs and download links."""
    parts: list[str] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def _problems(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.exception]


def _merchant() -> object:
    return make_viewer("merchant", (SHOP,))


@pytest.mark.parametrize("page", MERCHANT_PAGES)
def test_merchant_never_sees_another_shop(two_shops, open_page, page):
    # the session is tampered with: the shop filter names the rival shop, the category filter a
    # rival category, and the period covers everything
    at = open_page(
        page,
        viewer=_merchant(),
        state={"f_shop": OTHER, "f_category": f"{SECRET}cat"},
    )
    assert not _problems(at), _problems(at)
    assert at.sidebar.selectbox(key="f_shop").value == SHOP
    assert at.sidebar.selectbox(key="f_shop").options == [SHOP]
    assert SECRET not in _all_text(at)
    # every choice a selectbox or multiselect offers on the page stays inside the shop
    for widget in list(at.selectbox) + list(at.multiselect):
        assert not any(SECRET in str(o) for o in widget.options), widget.key


def test_admin_does_see_the_rival_shop(two_shops, open_page):
    """The check above can fail: an admin switching to the rival shop sees its rows."""
    at = open_page("explain", viewer=make_viewer("admin"), state={"f_shop": OTHER})
    assert at.sidebar.selectbox(key="f_shop").value == OTHER
    assert not _problems(at)
    assert SECRET in _all_text(at)


def test_segment_export_holds_only_the_merchants_shop(two_shops, open_page, media_files):
    at = open_page("segments", viewer=_merchant(), state={"f_shop": OTHER})
    assert not _problems(at)
    data = download(at, "seg_export", media_files).decode("utf-8-sig")
    assert SECRET not in data
    assert "u0" in data  # the demo shop's shoppers are there


def test_explain_text_field_takes_hostile_text(two_shops, open_page):
    at = open_page("explain", viewer=_merchant())
    assert not _problems(at)
    for text in [*HOSTILE_TEXT, "x" * 1_000_000]:
        at.text_area[0].input(text).run()
        assert not _problems(at), (text[:40], _problems(at))
        assert SECRET not in _all_text(at)
    counts = two_shops.table_counts()
    assert counts["reviews"] > 0 and counts["events"] > 0  # nothing was dropped


def test_tampered_filters_do_not_raise(two_shops, open_page):
    for state in (
        {"f_dates": (date(1900, 1, 1), date(2999, 12, 31))},
        {"f_dates": (date(2024, 3, 20), date(2024, 3, 1))},  # end before start
        {"f_category": "'; DROP TABLE events; --"},
        {"f_segment": "../../etc/passwd"},
    ):
        at = open_page("overview", viewer=_merchant(), state=state)
        assert not _problems(at), (state, _problems(at))
    assert two_shops.table_counts()["events"] > 0


def test_annotator_cannot_open_analytics_pages(two_shops, open_page):
    at = open_page("overview", viewer=make_viewer("annotator"))
    assert [t.value for t in at.title][0] == "Labelling"
    for page in MERCHANT_PAGES + ["models"]:
        with pytest.raises(Exception):  # noqa: B017 - the page is not registered for annotators
            at.switch_page(f"views/{page}.py").run()
