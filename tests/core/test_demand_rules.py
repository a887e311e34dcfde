"""Tests for core/demand_rules.py: sentence splitting and labelling functions."""

from __future__ import annotations

import pandas as pd
import pytest

from core.demand_rules import (
    LABELLING_FUNCTIONS,
    apply_rules,
    labelling_function_table,
    rule_labels,
    split_review_sentences,
    split_sentences,
)

pytestmark = pytest.mark.unit


def test_split_english_and_chinese():
    assert split_sentences("Nice top. Runs small!  Does it shrink? ok") == [
        "Nice top.", "Runs small!", "Does it shrink?", "ok",
    ]  # fmt: skip
    assert split_sentences("质量很好。颜色不错！有大码吗？") == [
        "质量很好。",
        "颜色不错！",
        "有大码吗？",
    ]
    assert split_sentences("") == []


@pytest.mark.parametrize(
    ("text", "label", "rule"),
    [
        ("Does it come in petite?", "question", "question_mark"),
        ("I wish it had pockets.", "feature_request", "wish_or_want"),
        ("Would be nice in more colors.", "feature_request", "wish_or_want"),
        ("It runs small and I returned it.", "complaint", "problem_words"),
        ("希望有更多颜色", "feature_request", "wish_or_want"),
        ("质量不好，退货了", "complaint", "problem_words"),
        ("Absolutely love it", "praise", "praise_words"),
        ("I ordered a medium.", "other", None),
    ],
)
def test_rules(text, label, rule):
    assert apply_rules(text) == (label, rule)


def test_rule_labels_frame_and_table():
    sentences = split_review_sentences(
        pd.DataFrame({"review_id": ["a"], "text": ["Love it. Hmm ok."]})
    )
    out = rule_labels(sentences)
    assert out["target_id"].tolist() == ["a:0", "a:1"]
    assert out["label"].tolist() == ["praise", "other"]
    assert out["rule_name"].tolist() == ["praise_words", "no_rule_fired"]
    assert len(labelling_function_table()) == len(LABELLING_FUNCTIONS)
