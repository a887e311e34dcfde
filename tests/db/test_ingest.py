from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from common.errors import InputError
from db.ingest import IngestValidationError, ingest_file
from db.store import Store

pytestmark = pytest.mark.integration

EVENTS_CSV = """user_id,event_type,ts,item_id,category
u1,view,2024-05-01T10:00:00Z,i1,Dresses
u1,cart,2024-05-01T10:05:00Z,i1,Dresses
u1,purchase,2024-05-01T10:20:00Z,i1,Dresses
u1,view,2024-05-01T12:00:00Z,i2,Knits
u2,view,1714557600,i2,Knits
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def test_events_csv_loads_with_types_and_sessions(store: Store, tmp_path: Path) -> None:
    report = ingest_file(store, write(tmp_path, "e.csv", EVENTS_CSV), "events", shop_id="s1")
    assert (report.rows_read, report.rows_added, report.rows_rejected) == (5, 5, 0)
    df = store.query_df("SELECT * FROM events WHERE shop_id = 's1' ORDER BY user_id, ts")
    assert df["event_type"].tolist() == ["view", "cart", "purchase", "view", "view"]
    # Unix seconds and ISO text both become UTC timestamps
    assert str(df["ts"].iloc[4]) == "2024-05-01 10:00:00"
    # u1: events 10:00-10:20 form one session, 12:00 (100 min later) starts another
    u1 = df[df.user_id == "u1"]["session_id"].tolist()
    assert u1[0] == u1[1] == u1[2] != u1[3]
    assert u1[0] == "u1#20240501T100000"
    counts = store.table_counts("s1")
    assert (counts["users"], counts["items"], counts["shops"]) == (2, 2, 1)


def test_same_file_twice_and_overlapping_file_add_nothing(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", EVENTS_CSV)
    ingest_file(store, path, "events", shop_id="s1")
    again = ingest_file(store, path, "events", shop_id="s1")
    assert again.already_ingested and again.rows_added == 0
    # a different file holding the same events plus one new one
    overlap = write(
        tmp_path, "e2.csv", EVENTS_CSV + "u3,view,2024-05-02T09:00:00+02:00,i1,Dresses\n"
    )
    report = ingest_file(store, overlap, "events", shop_id="s1")
    assert (report.rows_added, report.rows_already_present) == (1, 5)
    assert store.table_counts("s1")["events"] == 6
    ts = store.query_df("SELECT ts FROM events WHERE user_id = 'u3'")["ts"].iloc[0]
    assert str(ts) == "2024-05-02 07:00:00"  # the offset was honoured


def test_parquet_and_jsonl_with_mapping(store: Store, tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "uid": ["a", "a", "b"],
            "behavior_type": ["pv", "buy", "cart"],
            "timestamp": [1511544070, 1511544170, 1511544270],
        }
    )
    parquet = tmp_path / "e.parquet"
    df.to_parquet(parquet)
    mapping = {"uid": "user_id", "behavior_type": "event_type", "timestamp": "ts"}
    report = ingest_file(store, parquet, "events", shop_id="p", mapping=mapping)
    assert report.rows_added == 3
    lines = [
        {"message_id": "m1", "text": "Where is my order?", "label_intent": "track_order"},
        {"message_id": "m2", "text": "我的订单在哪里？", "channel": "chat"},
    ]
    jsonl = write(tmp_path, "m.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    report = ingest_file(store, jsonl, "messages", shop_id="p")
    assert (report.rows_added, report.labels_added) == (2, 1)
    msgs = store.query_df("SELECT message_id, language, channel FROM messages ORDER BY 1")
    assert msgs.values.tolist() == [["m1", "en", "support"], ["m2", "zh", "chat"]]
    labels = store.query_df("SELECT task, target_id, label, source FROM labels")
    assert labels.values.tolist() == [["intent", "m1", "track_order", "derived"]]
    types = store.query_df("SELECT event_type FROM events WHERE shop_id = 'p' ORDER BY ts")
    assert types["event_type"].tolist() == ["view", "purchase", "cart"]


BAD_CASES = [
    ("user_id,event_type,ts\nu1,view,not-a-date\n", "ts", "timestamp"),
    ("user_id,event_type,ts\nu1,teleport,2024-05-01\n", "event_type", "one of view"),
    ("user_id,event_type,ts\nu1,view,1714557600000\n", "ts", "milliseconds"),
    ("user_id,event_type,ts\n,view,2024-05-01\n", "user_id", "required"),
]


@pytest.mark.parametrize(("content", "column", "expected"), BAD_CASES)
def test_bad_value_rejects_whole_file_and_names_row_column_value(
    store: Store, tmp_path: Path, content: str, column: str, expected: str
) -> None:
    good = "user_id,event_type,ts\nu0,view,2024-05-01\n"
    path = write(tmp_path, "bad.csv", good + content.split("\n", 1)[1])
    before = file_digest(store.db_path)
    with pytest.raises(IngestValidationError) as info:
        ingest_file(store, path, "events", shop_id="s1")
    err = info.value
    assert err.total == 1 and err.bad_rows == 1
    assert err.problems[0].row == 2 and err.problems[0].column == column
    assert expected in str(err) and "bad.csv" in str(err) and "--skip-bad" in str(err)
    assert file_digest(store.db_path) == before  # nothing written


def test_missing_required_column_lists_columns_and_the_fix(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", "who,event_type,ts\nu1,view,2024-05-01\n")
    with pytest.raises(IngestValidationError, match=r"--map YOUR_COLUMN=user_id") as info:
        ingest_file(store, path, "events")
    assert "The file's columns are: who, event_type, ts" in str(info.value)


def test_review_rules_rating_range_duplicate_ids_and_nul(store: Store, tmp_path: Path) -> None:
    content = (
        "review_id,text,rating\n"
        "r1,Lovely dress,5\n"
        "r2,Too small,7\n"
        "r1,Different text,4\n"
        'r3,"bad\x00byte",3\n'
    )
    with pytest.raises(IngestValidationError) as info:
        ingest_file(store, write(tmp_path, "r.csv", content), "reviews")
    found = {(p.row, p.column) for p in info.value.problems}
    assert found == {(2, "rating"), (3, "review_id"), (4, "text")}


def test_identical_duplicate_rows_collapse(store: Store, tmp_path: Path) -> None:
    content = "review_id,text,rating\nr1,Nice,5\nr1,Nice,5\n"
    report = ingest_file(store, write(tmp_path, "r.csv", content), "reviews")
    assert report.rows_added == 1


def test_texts_without_ids_get_ids_from_their_content(store: Store, tmp_path: Path) -> None:
    """A labelled review set with no id column (cat,label,review): each row's id is made from
    its cells; two identical reviews stay two; a second file repeating rows adds only the new."""
    first = "cat,label,review\n衣服,1,质量很好\n衣服,1,质量很好\n衣服,0,尺码偏小\n"
    mapping = {"label": "rating"}
    values = {"rating": {"1": "5", "0": "1"}}
    report = ingest_file(store, write(tmp_path, "a.csv", first), "reviews", shop_id="zh",
                         mapping=mapping, value_maps=values)  # fmt: skip
    assert report.rows_added == 3 and "made from its content" in report.summary()
    rows = store.query_df("SELECT review_id, text, rating FROM reviews WHERE shop_id = 'zh' "
                          "ORDER BY review_id")  # fmt: skip
    assert rows["review_id"].is_unique and rows["review_id"].str.match(r"^r[0-9a-f]{16}-\d$").all()
    assert sorted(rows["rating"]) == [1, 5, 5]
    again = first + "衣服,0,发货太慢了\n"
    report = ingest_file(store, write(tmp_path, "b.csv", again), "reviews", shop_id="zh",
                         mapping=mapping, value_maps=values)  # fmt: skip
    assert (report.rows_added, report.rows_already_present) == (1, 3)


def test_skip_bad_loads_good_rows_and_writes_reasons(store: Store, tmp_path: Path) -> None:
    content = "user_id,event_type,ts\nu1,view,2024-05-01\nu2,fly,2024-05-01\nu3,view,2024-13-45\n"
    path = write(tmp_path, "e.csv", content)
    report = ingest_file(store, path, "events", shop_id="s1", skip_bad=True)
    assert (report.rows_added, report.rows_rejected) == (1, 2)
    rejected = pd.read_csv(report.rejected_path)
    assert rejected["user_id"].tolist() == ["u2", "u3"]
    assert "event_type: expected one of" in rejected["reasons"].iloc[0]
    assert "ts: expected a timestamp" in rejected["reasons"].iloc[1]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("header.csv", b"user_id,event_type,ts\n", "no data rows"),
        (
            "latin1.csv",
            "user_id,event_type,ts\nJos\xe9,view,2024-05-01\n".encode("latin-1"),
            "UTF-8",
        ),
        ("x.xlsx", b"PK\x03\x04", "unknown file type"),
        ("bad.jsonl", b'{"user_id": "u1"}\n[1, 2]\n', "line 2 is not a JSON object"),
    ],
)
def test_unreadable_files_get_clear_errors(
    store: Store, tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        ingest_file(store, path, "events")
    assert store.table_counts()["events"] == 0


def test_bad_arguments(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", EVENTS_CSV)
    with pytest.raises(InputError, match="not a valid shop id"):
        ingest_file(store, path, "events", shop_id="x'; DROP TABLE events; --")
    with pytest.raises(InputError, match="unknown kind"):
        ingest_file(store, path, "orders")
    with pytest.raises(InputError, match="no column 'nope'"):
        ingest_file(store, path, "events", mapping={"nope": "user_id"})
    with pytest.raises(InputError, match="no such file"):
        ingest_file(store, tmp_path / "../../missing.csv", "events")


def test_hostile_column_names_are_only_identifiers(store: Store, tmp_path: Path) -> None:
    content = 'user_id,event_type,ts,"x"") FROM raw; DROP TABLE raw; --"\nu1,view,2024-05-01,1\n'
    report = ingest_file(store, write(tmp_path, "e.csv", content), "events")
    assert report.rows_added == 1 and len(report.ignored_columns) == 1


def test_taobao_slice_ingests_without_a_mapping(store: Store, shared_data: Path) -> None:
    """The real file's own column names (behavior_type, timestamp, category_id) are recognised
    and the report says how; nothing is ignored."""
    from db.queries import funnel

    path = shared_data / "taobao_user_behavior_sample" / "events.csv"
    report = ingest_file(store, path, "events", shop_id="taobao")
    assert report.rows_added == 84_287
    assert report.recognised_columns == {
        "category_id": "category", "behavior_type": "event_type", "timestamp": "ts"
    } or report.recognised_columns == {
        "behavior_type": "event_type", "timestamp": "ts", "category_id": "category"
    }  # fmt: skip
    assert report.ignored_columns == []
    assert "behavior_type -> event_type" in report.summary()
    assert store.query_df("SELECT count(DISTINCT category) n FROM events")["n"][0] > 100
    counts = store.table_counts("taobao")
    assert (counts["events"], counts["users"]) == (84_287, 814)
    mix = store.query_df("SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC")
    assert mix.values.tolist() == [
        ["view", 75_693],
        ["cart", 4_494],
        ["fav", 2_351],
        ["purchase", 1_749],
    ]
    f = funnel(store, "taobao")
    overall = f.iloc[0]
    assert overall["category"] == "All"
    assert overall["viewed"] >= overall["carted"] >= overall["purchased"] > 0
    buyers = store.query_df(
        "SELECT count(DISTINCT user_id) AS n FROM events WHERE event_type = 'purchase'"
    )["n"].iloc[0]
    assert buyers == 558  # 68.6 % of 814, as the data set's README states


def test_stray_quote_rejects_instead_of_reading_quotes_literally(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path, "r.csv", 'review_id,text\nr1,"said ""wow"" twice"\n"r2"""q""",x\n')
    with pytest.raises(InputError, match="inner quotes doubled"):
        ingest_file(store, path, "reviews")
    unsplit = write(tmp_path, "u.csv", 'review_id,text,rating\nr1,"Nice "dress" fits,5\nr2,ok,4\n')
    with pytest.raises(InputError, match="stray double quote") as info:
        ingest_file(store, unsplit, "reviews")
    assert "expected a column named" not in str(info.value)
    good = write(tmp_path, "g.csv", 'review_id,text\nr1,"said ""wow"" twice"\nr2,"a, b"\n')
    ingest_file(store, good, "reviews")
    texts = store.query_df("SELECT text FROM reviews ORDER BY review_id")["text"].tolist()
    assert texts == ['said "wow" twice', "a, b"]


def test_a_million_chinese_characters_load_from_csv(store: Store, tmp_path: Path) -> None:
    text = "好" * 1_000_000
    report = ingest_file(store, write(tmp_path, "r.csv", f"review_id,text\nr1,{text}\n"), "reviews")
    assert report.rows_added == 1
    stored = store.query_df("SELECT text, language FROM reviews")
    assert stored["text"].iloc[0] == text and stored["language"].iloc[0] == "zh"


def test_repeated_event_lines_load_once(store: Store, tmp_path: Path) -> None:
    line = "u1,view,2024-05-01T10:00:00Z,i1,Dresses\n"
    path = write(tmp_path, "e.csv", "user_id,event_type,ts,item_id,category\n" + line * 3)
    report = ingest_file(store, path, "events")
    assert (report.rows_read, report.rows_added) == (3, 1)


def test_carriage_returns_inside_quoted_values_keep_lf_files_readable(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b'review_id,text\nr0,"0\r"\nr1,"a\r\nb"\n')
    ingest_file(store, path, "reviews")
    texts = store.query_df("SELECT text FROM reviews ORDER BY review_id")["text"].tolist()
    assert texts == ["0\r", "a\r\nb"]


def test_common_field_names_are_recognised_and_an_explicit_map_wins(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path, "orders.csv",
                 "Customer ID,Event-Name,Created At,Product ID,Category Name,time\n"
                 "c1,pv,2024-05-01T10:00:00Z,p1,Shoes,1714557600\n"
                 "c1,buy,2024-05-01T10:05:00Z,p1,Shoes,1714557900\n")  # fmt: skip
    report = ingest_file(store, path, "events", shop_id="acme")
    assert report.recognised_columns == {
        "Customer ID": "user_id", "Event-Name": "event_type", "time": "ts",
        "Product ID": "item_id", "Category Name": "category",
    }  # fmt: skip  # "time" comes before "created_at" among the names of ts
    assert report.ignored_columns == ["Created At"]
    rows = store.query_df("SELECT user_id, event_type, item_id, category FROM events ORDER BY ts")
    assert rows.values.tolist() == [
        ["c1", "view", "p1", "Shoes"],
        ["c1", "purchase", "p1", "Shoes"],
    ]
    other = write(tmp_path, "orders2.csv", path.read_text().replace("c1,", "c2,"))
    report = ingest_file(store, other, "events", shop_id="acme", mapping={"Created At": "ts"})
    assert "Created At" not in report.recognised_columns and report.ignored_columns == ["time"]


def test_a_file_over_the_limits_is_refused_before_it_is_read(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small Parquet file can hold gigabytes of one dictionary-encoded text: its decoded size
    is measured (streaming) and checked before anything is loaded."""
    import duckdb

    import db.ingest_read as reader

    path = tmp_path / "dict.parquet"
    duckdb.connect().execute(
        "COPY (SELECT 'r' || i AS review_id, repeat('x', 1000) AS text FROM range(20000) t(i)) "
        f"TO '{path}' (FORMAT parquet, COMPRESSION zstd)"
    )
    assert path.stat().st_size < 200_000  # 20 MB of text in well under 0.2 MB
    monkeypatch.setattr(reader, "MAX_FILE_TEXT_BYTES", 10 * 1024**2)
    with pytest.raises(InputError, match=r"0\.0 GB of text once decoded.*Split it"):
        ingest_file(store, path, "reviews")
    monkeypatch.setattr(reader, "MAX_FILE_TEXT_BYTES", 100 * 1024**2)
    monkeypatch.setattr(reader, "MAX_FILE_ROWS", 10_000)
    with pytest.raises(InputError, match="holds 20,000 rows; one file may hold at most 10,000"):
        ingest_file(store, path, "reviews")
    assert store.table_counts().get("reviews", 0) == 0
    monkeypatch.setattr(reader, "MAX_FILE_ROWS", 50_000)
    report = ingest_file(store, path, "reviews", memory_mb=64)  # spills instead of failing
    assert report.rows_added == 20_000
