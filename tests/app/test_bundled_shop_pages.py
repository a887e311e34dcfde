"""Every page on the bundled sample shop itself (data/sample/, loaded through ingestion), with one
prediction per row for every task so the text pages show their full content."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.sample import SAMPLE_SHOP, load_sample
from db.store import Store
from tests.app.test_dashboard_pages import PAGES, TITLES, _metric, _problems

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample shop loaded once for the module (about 30 s), copied per test; its need
    sentences grouped into needs as the demand scoring job does."""
    from bench.bench_pages import VERSION, add_predictions
    from core.text_insight import group_shop_needs

    home = tmp_path_factory.mktemp("sample_home")
    store = Store(home / "shoplens.duckdb")
    store.init_schema()
    load_sample(store)
    add_predictions(store)
    assert group_shop_needs(store, SAMPLE_SHOP, VERSION) >= 10
    yield home


@pytest.fixture
def sample_store(sample_home: Path, shoplens_home: Path) -> Store:
    shutil.copy(sample_home / "shoplens.duckdb", shoplens_home / "shoplens.duckdb")
    return Store(shoplens_home / "shoplens.duckdb")


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_the_bundled_shop(sample_store: Store, open_page, page: str) -> None:
    at = open_page(page)
    assert not _problems(at), _problems(at)
    assert TITLES[page] in [t.value for t in at.title]
    assert at.session_state["f_shop"] == SAMPLE_SHOP
    if page in ("overview", "behaviour", "search", "recommendations", "sentiment", "intent",
                "demand"):  # fmt: skip
        assert not at.info, [i.value for i in at.info]  # nothing reported missing
    if page == "search":  # the bundled shop's shoppers search by colour, fabric, size …
        tables = {tuple(d.value.columns): d.value for d in at.dataframe}
        asking = tables[("aspect", "searches", "share", "asked", "purchase rate", "purchase lift")]
        assert {"colour", "fabric", "size fit"} <= set(asking["aspect"])
    if page == "overview":
        assert int(_metric(at, "Sessions").replace(",", "")) > 1000
        # a rise in need sentences is bad news: a warning, with the reviews behind it
        rise = [w.value for w in at.warning if "need sentences" in w.value]
        assert rise and "mostly the need" in rise[0] and "Reviews behind it:" in rise[0], rise


def test_every_page_in_simplified_chinese(sample_store: Store, open_page, media_files) -> None:
    """The language switch: every page renders in Chinese with no text left untranslated, and
    the segment export's headers follow."""
    import csv
    import io

    from app.ui import i18n
    from app.ui.locale_zh import ZH
    from tests.app.conftest import download

    i18n.MISSING.clear()
    for page in PAGES:
        at = open_page(page, state={"lang": "zh"})
        assert not _problems(at), (page, _problems(at))
        assert ZH[TITLES[page]] in [t.value for t in at.title], page
        if page == "overview":
            assert _metric(at, "会话数")  # a KPI under its Chinese name
            assert "全部顾客" in at.sidebar.selectbox(key="f_segment").options
        if page == "segments":
            header = next(csv.reader(io.StringIO(
                download(at, "seg_export", media_files).decode("utf-8-sig"))))  # fmt: skip
            assert header[:3] == ["顾客 ID", "会话数", "行为数"]
    assert not i18n.MISSING, sorted(i18n.MISSING)
