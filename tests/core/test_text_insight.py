"""Tests for core/text_insight.py: aspect mentions read from the active aspect version."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from common.errors import InputError
from core.text_insight import MENTION_COLUMNS, aspect_mentions

pytestmark = pytest.mark.integration

VERSION = "aspects-test"
# one label per review sentence, in sentence order; the probabilities are the model's confidence
# per aspect
LABELS = ["size_fit:negative;colour:positive", "none", "fabric:neutral", "size_fit:negative"]


def _seed_aspects(store, labels: list[str]) -> None:  # noqa: ANN001
    from core.demand_rules import split_review_sentences
    from core.scoring import prediction_frame
    from db.repo import predictions as prediction_repo
    from db.repo import texts as text_repo
    from db.repo.models import VersionRow, register_version, set_active

    with store.write() as con:
        con.executemany(
            "INSERT INTO reviews (shop_id, review_id, item_id, rating, text, ts) "
            "VALUES ('sample', ?, 'i1', ?, ?, ?)",
            [(f"r{i}", 1 + i, f"Sentence number {i} of this review.", datetime(2024, 1, 1 + i))
             for i in range(len(labels))],
        )  # fmt: skip
    sentences = split_review_sentences(text_repo.reviews(store, "sample"))
    text_repo.save_sentences(
        store, "sample", sentences.rename(columns={"target_id": "sentence_id"})
    )
    aspects = ("size_fit", "colour", "fabric")
    probs = np.array([[0.9, 0.6, 0.1], [0.1, 0.1, 0.1], [0.2, 0.1, 0.7], [0.8, 0.0, 0.0]])
    frame = prediction_frame("sample", "aspects", VERSION, aspects,
                             sorted(sentences["target_id"]), probs[: len(labels)],
                             predicted=labels)  # fmt: skip
    prediction_repo.write(store, frame)
    register_version(store, VersionRow("sample", "aspects", VERSION, "aspect_sentiment", "test",
                                       datetime(2024, 1, 1)))  # fmt: skip
    set_active(store, "sample", "aspects", VERSION)


def test_one_row_per_mention_with_its_confidence_and_review(store) -> None:
    _seed_aspects(store, LABELS)
    got = aspect_mentions(store, "sample")
    assert list(got.columns) == MENTION_COLUMNS
    rows = got[["review_id", "aspect", "polarity", "confidence", "rating"]].values.tolist()
    assert rows == [["r0", "size_fit", "negative", 0.9, 1], ["r0", "colour", "positive", 0.6, 1],
                    ["r2", "fabric", "neutral", 0.7, 3],
                    ["r3", "size_fit", "negative", 0.8, 4]]  # fmt: skip
    assert got["ts"].tolist()[2] == datetime(2024, 1, 3)
    # the period's sentences only; a period without a mention is an empty frame, same columns
    assert aspect_mentions(store, "sample", date(2024, 1, 3), date(2024, 1, 4))[
        "review_id"
    ].tolist() == ["r2", "r3"]
    none = aspect_mentions(store, "sample", date(2024, 1, 2), date(2024, 1, 2))
    assert none.empty and list(none.columns) == MENTION_COLUMNS


def test_a_malformed_stored_label_is_an_error_that_names_it(store) -> None:
    _seed_aspects(store, ["size_fit:negative", "colour:great"])
    with pytest.raises(InputError, match="colour:great"):
        aspect_mentions(store, "sample")
