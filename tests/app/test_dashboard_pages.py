"""Every page renders (seeded shop and empty store), and the key widgets act."""

from __future__ import annotations

import csv
import io

import pytest
from streamlit.testing.v1 import AppTest

from db.store import Store
from tests.app.conftest import download, make_viewer
from tests.app.dashboard_seed import SHOP

pytestmark = pytest.mark.integration

PAGES = [
    "overview", "behaviour", "search", "recommendations", "sentiment", "intent", "demand",
    "segments", "explain", "labelling", "models", "monitoring",
]  # fmt: skip
TITLES = {key: key.title() for key in PAGES}


def _problems(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_seeded_shop(seeded_store: Store, open_page, page: str) -> None:
    at = open_page(page)
    assert not _problems(at), _problems(at)
    assert TITLES[page] in [t.value for t in at.title]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_empty_store_with_the_fixing_command(
    store: Store, open_page, page: str
) -> None:
    at = open_page(page)
    assert not _problems(at), _problems(at)
    messages = " ".join(str(i.value) for i in at.info)
    assert "shoplens" in messages  # says which command fixes it


def test_overview_kpis_and_changes(seeded_store: Store, open_page) -> None:
    at = open_page("overview")
    # default period: the last 7 of 21 days, against the 7 days before
    assert at.session_state["f_dates"][0].isoformat() == "2024-03-15"
    assert int(_metric(at, "Sessions")) > 0
    assert _metric(at, "Average order value") != "–"  # seeded items have prices
    deltas = {m.label: m.delta for m in at.metric}
    assert deltas["Sessions"].endswith("%") and deltas["Conversion"].endswith("pp")
    assert float(_metric(at, "Sentiment index")) <= 1


def test_category_filter_changes_numbers_and_carries_across_pages(
    seeded_store: Store, open_page
) -> None:
    at = open_page("overview")
    all_sessions = int(_metric(at, "Sessions"))
    at.sidebar.selectbox(key="f_category").set_value("shoes").run()
    shoe_sessions = int(_metric(at, "Sessions"))
    assert 0 < shoe_sessions < all_sessions
    at.switch_page("views/behaviour.py").run()
    assert at.session_state["f_category"] == "shoes"
    assert not _problems(at)


def test_segment_filter_changes_numbers(seeded_store: Store, open_page) -> None:
    at = open_page("overview")
    everyone = int(_metric(at, "Buyers"))
    at.sidebar.selectbox(key="f_segment").set_value("browsers").run()
    assert int(_metric(at, "Buyers")) == 0 < everyone


def test_merchant_sees_only_their_shop_and_no_admin_pages(seeded_store: Store, open_page) -> None:
    from tests.app.dashboard_seed import seed_shop

    seed_shop(seeded_store, shop_id="other", users=5)
    at = open_page("overview", viewer=make_viewer("merchant", (SHOP,)))
    assert at.sidebar.selectbox(key="f_shop").options == [SHOP]
    with pytest.raises(Exception):  # noqa: B017 - the page is not registered for merchants
        at.switch_page("views/models.py").run()


def test_annotator_gets_only_the_labelling_page(seeded_store: Store, open_page) -> None:
    at = open_page("overview", viewer=make_viewer("annotator"))
    assert [t.value for t in at.title][0] == "Labelling"
    assert not _problems(at)


def test_an_annotator_without_shops_is_told_to_ask_an_admin(seeded_store: Store, open_page):
    from app.auth import Viewer

    at = open_page("overview", viewer=Viewer("lee", "annotator", ()))
    assert not at.exception
    assert any(
        "No shops are assigned" in i.value and "users assign lee" in i.value for i in at.info
    )
    other = open_page("overview", viewer=Viewer("kim", "annotator", ("elsewhere",)))
    assert not any(SHOP in str(o) for o in other.sidebar.selectbox)  # the seeded shop is not theirs


def test_segment_export_is_excel_safe_and_masked(
    seeded_store: Store, open_page, media_files
) -> None:
    at = open_page("segments")
    assert not _problems(at)
    data = download(at, "seg_export", media_files)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:3] == ["user_id", "sessions", "events"]
    blank = rows.index([])
    users = rows[1:blank]
    assert len(users) == int(_metric(at, "Shoppers"))
    summary = dict(r for r in rows[blank + 2 :] if len(r) == 2)
    assert summary["shoppers"] == str(len(users))
    # the buyers filter narrows the export
    at.selectbox(key="seg_buyers").set_value("yes")
    at.button[0].click()  # the form's submit button
    at.run()
    buyers = list(
        csv.reader(io.StringIO(download(at, "seg_export", media_files).decode("utf-8-sig")))
    )
    buyer_rows = buyers[1 : buyers.index([])]
    assert 0 < len(buyer_rows) < len(users)
    purchases = header.index("purchases")
    assert all(int(r[purchases]) > 0 for r in buyer_rows)


def test_a_large_segment_shows_its_most_active_shoppers_and_exports_them_all(
    seeded_store: Store, open_page, media_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.ui import segments

    monkeypatch.setattr(segments, "SHOWN_ROWS", 5)
    at = open_page("segments")
    assert not _problems(at)
    shown = at.dataframe[0].value
    total = int(_metric(at, "Shoppers").replace(",", ""))
    assert len(shown) == 5 < total
    assert shown["sessions"].is_monotonic_decreasing  # the most active first
    assert any(f"5 most active of {total:,}" in c.value for c in at.caption)
    rows = list(
        csv.reader(io.StringIO(download(at, "seg_export", media_files).decode("utf-8-sig")))
    )
    assert rows.index([]) - 1 == total  # the export holds every shopper


def test_retrain_button_starts_a_job_and_shows_progress(
    seeded_store: Store, open_page, monkeypatch, tmp_path
) -> None:
    from labeling import jobs

    started: list[str] = []

    def fake_start(settings, task: str, shop_id: str = "sample", **_: object) -> jobs.JobHandle:
        job_id = f"retrain-{task}-test"
        jobs.write_state(job_id, settings, job_id=job_id, kind="test", task=task, state="running",
                         progress=0.4, message="training epoch 1", started_at="2024-01-01T00:00:00")  # fmt: skip
        started.append(task)
        return jobs.JobHandle(job_id, 0, tmp_path / "state.json")

    monkeypatch.setattr(jobs, "start_retrain", fake_start)
    at = open_page("models")
    at.button(key="retrain_sentiment").click().run()
    assert started == ["sentiment"]
    assert at.session_state["retrain_job_sentiment"] == "retrain-sentiment-test"
    bars = at.get("progress")
    assert bars and "training epoch 1" in bars[0].proto.text
    assert not _problems(at)


def test_labelling_push_sends_rows_and_links_the_project(
    seeded_store: Store, open_page, monkeypatch
) -> None:
    from labeling import routing, server
    from labeling.routing import PushReport

    calls: list[tuple] = []

    def fake_push(store, task, n, strategy="entropy", diverse=False, shop_id="sample", **_):
        calls.append((task, n, strategy, diverse, shop_id))
        return PushReport(task, shop_id, "v-demo-1", strategy, diverse, project_id=7, imported=n)

    up = server.ServerStatus(up=True, url="http://127.0.0.1:8089", pid=1, message="running")
    monkeypatch.setattr(server, "status", lambda *a, **k: up)
    monkeypatch.setattr(routing, "push", fake_push)
    at = open_page("labelling")
    at.number_input(key="push_n_sentiment").set_value(5)
    at.button[0].click()  # the form's Push button
    at.run()
    assert calls == [("sentiment", 5, "entropy", False, SHOP)]
    assert any("Sent 5 rows" in s.value for s in at.success)
    links = at.get("link_button")
    assert any(link.proto.url == "http://127.0.0.1:8089/projects/7" for link in links)
    assert not _problems(at)


def test_behaviour_with_a_segment_forecasts_all_shoppers_beside_the_segment(
    seeded_store: Store, open_page
) -> None:
    import base64
    import json

    import numpy as np

    def values(y: object) -> list[float]:  # plotly sends numeric arrays base64-encoded
        if isinstance(y, dict):
            return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
        return list(y)

    def traffic_traces(at: AppTest) -> list[dict]:
        charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        traffic = next(c for c in charts if any(t.get("name") == "Forecast" for t in c["data"]))
        return traffic["data"]

    at = open_page("behaviour")
    assert [t["name"] for t in traffic_traces(at)] == ["Sessions", "95% band", "Forecast"]
    everyone = values(traffic_traces(at)[0]["y"])
    at.sidebar.selectbox(key="f_segment").set_value("buyers").run()
    assert not _problems(at)
    traces = {t["name"]: t for t in traffic_traces(at)}
    assert set(traces) == {"Sessions: Buyers", "Sessions: all shoppers", "95% band", "Forecast"}
    assert values(traces["Sessions: all shoppers"]["y"]) == everyone
    buyers = values(traces["Sessions: Buyers"]["y"])
    assert all(b <= e for b, e in zip(buyers, everyone, strict=True)) and sum(buyers) < sum(
        everyone
    )


def test_recommendations_page_says_where_categories_come_from_when_sasrec_serves(
    seeded_store: Store, open_page
) -> None:
    """SASRec ranks items only: its row of the method table has no category figure, and the
    page says which model ranks categories when it serves."""
    from datetime import datetime

    from db.repo.models import VersionRow, register_version, set_active

    scores = {"hr@10": 0.2, "ndcg@10": 0.1, "recall@50": 0.3}
    metrics = {"methods": {"recent": scores, "rerank": scores, "sasrec": scores},
               "categories": {"recent": scores, "rerank": scores}, "shoppers": 12,
               "model": scores}  # fmt: skip
    now = datetime(2024, 6, 1)
    row = VersionRow(SHOP, "recommend", "rec-1", "recommendation", "recommend_sasrec", now,
                     metrics=metrics)  # fmt: skip
    register_version(seeded_store, row)
    set_active(seeded_store, SHOP, "recommend", "rec-1")
    with seeded_store.write() as con:
        user = con.execute("SELECT min(user_id) FROM events WHERE shop_id = ?", [SHOP]).fetchone()
        con.execute("INSERT INTO recommendations VALUES (?, 'rec-1', ?, 1, 'i1', NULL, 0.5, ?)",
                    [SHOP, user[0], now])  # fmt: skip
    at = open_page("recommendations")
    assert not _problems(at), _problems(at)
    captions = [c.value for c in at.caption]
    assert any(c.startswith("sasrec rank items only") and "category re-ranker" in c
               for c in captions), captions  # fmt: skip
