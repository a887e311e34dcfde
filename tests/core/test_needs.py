"""Tests for core/needs.py: needs as groups of need sentences, their names, quotes, the other
bucket and the quality measures the benchmark reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.needs import (
    NeedsConfig,
    group_needs,
    informative,
    matched_overlap,
    need_clause,
    need_quality,
)

THEMES = {
    "size": [
        "it runs small",
        "runs small in the bust",
        "this runs small, size up",
        "way too small",
    ],
    "colour": [
        "wish it came in more colors",
        "please make more colors",
        "wish there were more colors",
    ],
    "cami": ["it needs a cami underneath", "you need a cami under it", "needs a camisole under it"],
}


def _embed(texts: list[str]) -> np.ndarray:
    """Deterministic vectors: one axis per theme word family, plus a little per-text noise."""
    keys = ["small", "color", "cami"]
    rng = np.random.default_rng(0)
    rows = []
    for text in texts:
        v = np.array([1.0 if k in text else 0.0 for k in keys] + [0.05]) + rng.normal(0, 0.02, 4)
        rows.append(v / np.linalg.norm(v))
    return np.array(rows)


def _sentences(repeat: int = 4) -> pd.DataFrame:
    texts = [t for _ in range(repeat) for group in THEMES.values() for t in group]
    return pd.DataFrame({"target_id": [f"r{i}:0" for i in range(len(texts))], "text": texts})


@pytest.mark.unit
def test_needs_are_grouped_named_quoted_and_sorted_by_size() -> None:
    config = NeedsConfig(sentences_per_need=12, min_size=3)
    needs, assigned = group_needs(_sentences(), config, embed=_embed)
    named = needs[needs["need_id"] > 0]
    assert named["sentences"].tolist() == [16, 12, 12]  # size, then colour and cami
    assert "small" in named.iloc[0]["name"]
    assert {"colors", "cami"} <= set(" ".join(named["name"]).split())
    assert named["share"].sum() == pytest.approx(1.0)
    assert all(q in THEMES["size"] for q in named.iloc[0]["quotes"])
    assert len(set(named.iloc[0]["quotes"])) == 3  # distinct quotes
    assert set(assigned["need_id"]) == {1, 2, 3}
    again, _ = group_needs(_sentences().sample(frac=1, random_state=3), config, embed=_embed)
    assert again["name"].tolist() == needs["name"].tolist()  # input order does not matter


@pytest.mark.unit
def test_no_need_holds_more_than_the_cap_and_small_groups_go_to_other() -> None:
    texts = ["it runs small"] * 40 + ["wish it came in more colors"] * 6 + ["odd one out"]
    sentences = pd.DataFrame(
        {"target_id": [f"r{i:02d}:0" for i in range(len(texts))], "text": texts}
    )
    needs, assigned = group_needs(sentences, NeedsConfig(sentences_per_need=10, min_size=3),
                                  embed=_embed)  # fmt: skip
    other = needs[needs["need_id"] == 0]
    assert len(other) == 1 and other.iloc[0]["name"] == "other"
    assert assigned.set_index("target_id").loc["r46:0", "need_id"] == 0  # the odd one out
    assert needs.iloc[-1]["need_id"] == 0  # other comes last


@pytest.mark.unit
def test_empty_and_tiny_inputs() -> None:
    needs, assigned = group_needs(pd.DataFrame(columns=["target_id", "text"]), embed=_embed)
    assert needs.empty and assigned.empty
    one, assigned = group_needs(pd.DataFrame({"target_id": ["a:0"], "text": ["add pockets"]}),
                                embed=_embed)  # fmt: skip
    assert one["sentences"].sum() == 1 and len(assigned) == 1


@pytest.mark.unit
def test_groups_named_alike_are_one_need() -> None:
    """Two clusters of vectors whose sentences name them the same ("runs small") are one need,
    not two needs under one name."""
    texts = ["it runs small"] * 20 + ["runs small, size up"] * 20 + ["wish more colors"] * 20

    def two_small_clusters(batch: list[str]) -> np.ndarray:
        rows = np.zeros((len(batch), 3))
        for i, text in enumerate(batch):
            rows[i, 2 if "colors" in text else i % 2] = 1.0  # the small ones split in two
        return rows

    sentences = pd.DataFrame({"target_id": [f"r{i:02d}:0" for i in range(60)], "text": texts})
    config = NeedsConfig(sentences_per_need=20, max_share=0.9, min_size=2, runs=2)
    needs, _ = group_needs(sentences, config, two_small_clusters)
    named = needs[needs["need_id"] > 0]
    assert named["name"].is_unique and len(named) == 2
    assert named["sentences"].tolist() == [40, 20]


@pytest.mark.unit
def test_a_quote_must_say_enough_in_either_language() -> None:
    assert not informative("returned it.") and informative("I returned it, it runs small.")
    assert not informative("退货了") and informative("尺码偏小，建议买大一码")


@pytest.mark.unit
def test_need_clause_picks_the_complaint_not_the_praise() -> None:
    assert (
        need_clause("Pretty top, though i do think it runs large.") == "i do think it runs large."
    )
    assert need_clause("Love it!") == "Love it!"


@pytest.mark.unit
def test_quality_measures() -> None:
    a = np.array([0, 0, 1, 1, -1])
    assert matched_overlap(a, a) == 1.0
    assert matched_overlap(a, np.array([1, 1, 0, 0, -1])) == 1.0  # renamed groups match
    assert matched_overlap(a, np.array([0, 1, 0, 1, -1])) < 0.6
    quality = need_quality(_embed(_sentences(6)["text"].tolist()),
                           NeedsConfig(sentences_per_need=18, min_size=3))  # fmt: skip
    assert quality["needs"] == 3 and quality["largest_share"] <= 0.45
    assert quality["silhouette"] > 0.8 and quality["stability_overlap"] > 0.95


@pytest.mark.integration
def test_real_sentence_embeddings_group_paraphrases() -> None:
    texts = ["it runs small", "runs really small", "order a size up, it runs small",
             "wish it came in more colours", "would love more colors", "please add more colors",
             "needs a cami underneath", "you will need a camisole under it", "a cami is needed"]  # fmt: skip
    sentences = pd.DataFrame({"target_id": [f"r{i}:0" for i in range(len(texts))], "text": texts})
    _, assigned = group_needs(sentences, NeedsConfig(sentences_per_need=3, min_size=2, runs=5))
    groups = assigned["need_id"].tolist()
    assert groups[0] == groups[1] == groups[2] != groups[3]
    assert groups[3] == groups[4] == groups[5] != groups[6]
    assert groups[6] == groups[7]


@pytest.mark.integration
def test_needs_command_prints_the_shops_needs_as_json(ctx, store, capsys) -> None:
    """`shoplens needs --json` over the active demand model's need sentences, with quotes
    masked, products and trend; a clear error without a demand model or with a bad date."""
    import json

    from app.cli import main

    assert main(["needs"]) == 2  # an input error
    assert "no demand model" in capsys.readouterr().err
    _seed_demand(store)
    assert main(["needs", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    named = [n for n in answer["needs"] if n["name"] != "other"]
    assert {n["size"] for n in named} >= {12}
    assert any("small" in n["name"] for n in named) and any("colors" in n["name"] for n in named)
    quotes = " ".join(q for n in answer["needs"] for q in n["example_quotes"])
    assert "07700 900123" not in quotes  # personal data masked
    assert all(set(n["trend"]) == {"first_half", "second_half"} for n in answer["needs"])
    assert named[0]["top_products"][0]["sentences"] > 0
    assert main(["needs", "--since", "2024-13-01"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


VERSION = "v20240101-000000-000001"


def _seed_demand(store) -> None:  # noqa: ANN001
    """26 review sentences (14 "runs small" complaints, 12 colour requests; review i dated
    2024-01-(1 + i % 20)) scored by the active demand version :data:`VERSION`."""
    from datetime import datetime

    from core.demand_rules import split_review_sentences
    from core.scoring import prediction_frame
    from db.repo import predictions as prediction_repo
    from db.repo import texts as text_repo
    from db.repo.models import VersionRow, register_version, set_active

    texts = (["It runs small, order a size up."] * 12 + ["I wish it came in more colors."] * 12
             + ["Call me on 07700 900123, it runs small."] * 2)  # fmt: skip
    with store.write() as con:
        con.executemany(
            "INSERT INTO reviews (shop_id, review_id, item_id, rating, text, ts) "
            "VALUES ('sample', ?, ?, 3, ?, ?)",
            [
                (f"r{i:02d}", f"i{i % 3}", t, datetime(2024, 1, 1 + i % 20))
                for i, t in enumerate(texts)
            ],
        )
    sentences = split_review_sentences(text_repo.reviews(store, "sample"))
    text_repo.save_sentences(
        store, "sample", sentences.rename(columns={"target_id": "sentence_id"})
    )
    labels = ["complaint" if "small" in t else "feature_request" for t in sentences["text"]]
    probs = np.eye(5)[[0 if label == "feature_request" else 1 for label in labels]]
    frame = prediction_frame("sample", "demand", VERSION, ("feature_request", "complaint", "praise",
                             "question", "other"), sentences["target_id"], probs)  # fmt: skip
    prediction_repo.write(store, frame)
    register_version(store, VersionRow("sample", "demand", VERSION, "text_classification", "test",
                                       datetime(2024, 1, 1)))  # fmt: skip
    set_active(store, "sample", "demand", VERSION)


@pytest.mark.integration
def test_scoring_groups_needs_once_and_pages_read_the_stored_needs(ctx, store,
                                                                   monkeypatch) -> None:  # fmt: skip
    """The demand scoring job groups the version's need sentences and stores them; the page
    query then reads them (no clustering), counting and quoting only the period's sentences."""
    from datetime import date

    from core import text_insight
    from core.scoring import score_task

    _seed_demand(store)
    folder = ctx.registry.folder("sample", "demand", VERSION)
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text('{"labels": ["feature_request", "complaint", "praise", '
                                      '"question", "other"]}')  # fmt: skip
    assert score_task(ctx, "demand", "sample") == 0  # all scored already: only the grouping runs
    stored = store.query_df("SELECT need_id, name, sentences FROM need_groups "
                            f"WHERE shop_id = 'sample' AND model_version = '{VERSION}'")  # fmt: skip
    assert stored["sentences"].sum() == 26 and (stored["need_id"] > 0).sum() >= 2

    def no_clustering(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("grouped again")

    monkeypatch.setattr(text_insight, "group_needs", no_clustering)
    assert score_task(ctx, "demand", "sample") == 0  # nothing new: not grouped again
    needs = text_insight.shop_needs(store, "sample")
    assert needs["sentences"].sum() == 26 and set(needs["name"]) <= set(stored["name"])
    small = needs[needs["name"].str.contains("small")].iloc[0]
    assert small["sentences"] == 14 and small["quotes"][0] == "It runs small, order a size up."
    assert needs["need_id"].iloc[-1] == 0 or (needs["need_id"] > 0).all()  # other comes last
    week = text_insight.shop_needs(store, "sample", date(2024, 1, 1), date(2024, 1, 5))
    assert week["sentences"].sum() == 10  # reviews 0-4 (runs small), 20-23 (colours), 24 (small)
    assert dict(zip(week["name"], week["sentences"], strict=True)) == {
        small["name"]: 6,
        needs[needs["name"].str.contains("colors")]["name"].iloc[0]: 4,
    }
    wishes = text_insight.shop_needs(store, "sample", kinds=("feature_request",))
    assert wishes["sentences"].tolist() == [12] and "colors" in wishes["name"].iloc[0]
