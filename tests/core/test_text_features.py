"""Tests for core/text_features.py: bag-of-words terms that read English and Chinese."""

from __future__ import annotations

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from core.evaluation import fit_tfidf
from core.text_features import analyze

pytestmark = pytest.mark.unit


def test_english_terms_are_exactly_scikit_learns_word_bigrams() -> None:
    texts = ["Runs small, order UP a size!", "The fabric is soft; love it.", "a b", ""]
    ours = TfidfVectorizer(analyzer=analyze).fit(texts).get_feature_names_out()
    theirs = TfidfVectorizer(ngram_range=(1, 2)).fit(texts).get_feature_names_out()
    assert list(ours) == list(theirs)


def test_chinese_terms_share_words_and_character_bigrams() -> None:
    a, b = set(analyze("尺码偏小")), set(analyze("尺码有点偏小"))
    assert {"尺码", "偏小"} <= a & b
    assert TfidfVectorizer().build_analyzer()("尺码偏小") == ["尺码偏小"]  # the default: one token
    assert "起球" in analyze("衣服起球了，想退货")


def test_mixed_text_keeps_both_languages() -> None:
    terms = analyze("Love it 但是尺码偏小 XL please")
    assert {"love", "love it", "尺码", "偏小", "xl please"} <= set(terms)
    assert analyze("") == [] and analyze("！？") == []


def test_tfidf_baseline_learns_chinese_that_the_default_pattern_cannot() -> None:
    good = ["质量很好穿着舒服", "面料很舒服质量好", "颜色好看质量很好", "很舒服很满意"]
    bad = ["尺码偏小要退货", "起球了质量差", "尺码有点偏小", "质量差想退货"]
    texts, labels = good * 3 + bad * 3, ["pos"] * 12 + ["neg"] * 12
    model = fit_tfidf(texts, labels, ("neg", "pos"))
    probs = model.predict_proba(["尺码真的偏小", "穿着很舒服"])
    assert probs[0].argmax() == 0 and probs[1].argmax() == 1


def test_classifier_terms_add_chinese_character_trigrams_only() -> None:
    from core.text_features import classifier_terms

    assert classifier_terms("Runs small") == analyze("Runs small")  # English unchanged
    terms = classifier_terms("我不喜欢这个颜色")
    assert {"不喜欢", "喜欢这"} <= set(terms) and "不喜欢" not in analyze("我不喜欢这个颜色")
    assert set(analyze("我不喜欢这个颜色")) < set(terms)
    assert "尺码偏" not in analyze("尺码偏小")  # need names read analyze: no cut words
