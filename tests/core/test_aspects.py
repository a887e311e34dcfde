"""Tests for aspect-based sentiment: the rules (core/aspects.py), aspect sets
(core/aspect_sets.py), the trained model (core/aspect_model.py) and the aspects task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.errors import InputError
from core.aspect_model import (
    RuleAspects,
    first_invalid_rating,
    fit_aspect_model,
    rating_features,
)
from core.aspect_sets import parse_aspect_set
from core.aspects import (
    decode_mentions,
    encode_mentions,
    extract_aspects,
    mention_metrics,
    split_clauses,
)

# sentence -> what an annotator would mark (the regression list of tricky cases)
TRICKY = {
    "Love the color but it runs small.": {"colour": "positive", "size_fit": "negative"},
    "Love this top!": {},  # overall praise: no aspect
    "I went down a size.": {"size_fit": "neutral"},  # sizing advice without a judgement
    "Not too short, not too long.": {"size_fit": "positive"},  # negated complaints
    "It was not see through at all.": {"fabric": "positive"},
    "The color is beautiful.": {"colour": "positive"},  # not style: the clause names colour
    "Beautiful dress, very flattering.": {"style": "positive"},
    "The material is see-through and it pilled after one wash.": {"fabric": "negative"},
    "The quality is poor and the seams ripped.": {"quality": "negative"},
    "Great price on sale!": {"price": "positive"},
    "it shipped fast and arrived on time": {"delivery": "positive"},
    "sadly, i returned it.": {"service": "negative"},
    "this will not disappoint": {},
    "质量很好，穿着很舒服，就是尺码偏小": {
        "quality": "positive",
        "comfort": "positive",
        "size_fit": "negative",
    },  # fmt: skip
    "衣服起球了，想退货": {"fabric": "negative", "service": "negative"},
    "质量很一般": {"quality": "negative"},
    "价格实惠，发货速度快": {"price": "positive", "delivery": "positive"},
    "没有色差": {"colour": "positive"},
}


@pytest.mark.unit
@pytest.mark.parametrize("sentence", list(TRICKY))
def test_rules_on_tricky_sentences(sentence: str) -> None:
    assert {m.aspect: m.polarity for m in extract_aspects(sentence)} == TRICKY[sentence]


@pytest.mark.unit
def test_mentions_carry_their_trigger_words_and_confidence() -> None:
    (size,) = extract_aspects("It runs small.")
    assert size.triggers == ("runs small",) and size.confidence == 0.9
    assert split_clauses("soft, but thin; 好看但是贵") == ["soft", "thin", "好看", "贵"]


@pytest.mark.unit
def test_label_strings_round_trip_and_refuse_garbage() -> None:
    label = encode_mentions({"size_fit": "negative", "colour": "positive"})
    assert label == "colour:positive;size_fit:negative"  # canonical: alphabetical
    assert decode_mentions(label) == {"size_fit": "negative", "colour": "positive"}
    assert encode_mentions({}) == "none" and decode_mentions("none") == {}
    with pytest.raises(InputError, match="aspect:positive"):
        decode_mentions("fit:great")


@pytest.mark.unit
def test_mention_metrics_count_detection_and_polarity() -> None:
    gold = [{"size_fit": "negative"}, {"colour": "positive", "fabric": "neutral"}, {}]
    pred = [{"size_fit": "positive"}, {"colour": "positive"}, {"price": "positive"}]
    m = mention_metrics(gold, pred)
    assert (m["precision"], m["recall"]) == (2 / 3, 2 / 3)
    assert m["detection_f1"] == pytest.approx(2 / 3)
    assert m["polarity_accuracy"] == 0.5 and m["mention_f1"] == pytest.approx(1 / 3)


@pytest.mark.unit
def test_a_shop_defines_its_own_aspects_in_any_language() -> None:
    raw = ('{"name": "electronics", "aspects": [{"name": "battery", "description": "charge",'
           ' "terms": ["battery", "电池"], "negative": ["drains fast", "不耐用"],'
           ' "positive": ["lasts all day"]}]}')  # fmt: skip
    own = parse_aspect_set(raw)
    assert own.names == ("battery",)
    found = extract_aspects("The battery drains fast.", own)
    assert [(m.aspect, m.polarity) for m in found] == [("battery", "negative")]
    assert [(m.aspect, m.polarity) for m in extract_aspects("电池不耐用", own)] == [
        ("battery", "negative")]  # fmt: skip
    assert extract_aspects("It runs small.", own) == []  # apparel words mean nothing here


@pytest.mark.unit
@pytest.mark.parametrize(("raw", "message"), [
    ("{", "not valid JSON"),
    ('{"aspects": []}', "1 to 40 aspects"),
    ('{"aspects": [{"name": "Bad Name", "terms": ["x"]}]}', "lower-case"),
    ('{"aspects": [{"name": "fit"}]}', "has no phrase"),
    ('{"aspects": [{"name": "fit", "terms": "size"}]}', "list of phrases"),
    ('{"aspects": [{"name": "fit", "terms": ["a"]}, {"name": "fit", "terms": ["b"]}]}', "twice"),
])  # fmt: skip
def test_bad_aspect_sets_say_what_to_fix(raw: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_aspect_set(raw, "aspects.json")


@pytest.mark.unit
def test_a_text_of_several_sentences_reads_an_opinion_over_a_neutral_mention() -> None:
    import core.tasks  # noqa: F401  (registers the aspects task)
    from core.aspects import Mention
    from core.kinds.aspect_sentiment import text_polarity
    from core.kinds.base import get_task

    class Stub:  # what a model finds in each sentence
        def extract(self, sentences: list[str]) -> list[list[Mention]]:
            return [[Mention("size_fit", "negative", 0.8, ("runs small",)),
                     Mention("colour", "positive", 0.9, ("colour",))],
                    [Mention("size_fit", "neutral", 0.95, ())]][: len(sentences)]  # fmt: skip

    result = get_task("aspects").explain(Stub(), "Love the colour but it runs small. Got an XL?")
    assert result.label == "colour:positive;size_fit:negative"  # not the later neutral one
    assert result.prob == 0.8
    assert ("size_fit", None, 0.25) in result.triggers  # every sentence's words still shown
    assert ("size_fit", "runs small", -1.0) in result.triggers and not result.terms
    weak, strong = Mention("fabric", "positive", 0.6, ()), Mention("fabric", "negative", 0.7, ())
    assert text_polarity([weak, strong]) == [strong] and text_polarity([strong, weak]) == [strong]


def _fake_embed(texts: list[str]) -> np.ndarray:
    """Vectors that know two words the rules do not: 'slits' (style) and 'bag' (fit)."""
    words = ["slits", "bag", "love", "hate", "small"]
    out = np.array([[1.0 if w in t.lower() else 0.0 for w in words] + [0.1] for t in texts])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.mark.unit
def test_the_model_learns_what_the_rules_miss() -> None:
    sentences = (["slits on both sides, love them"] * 6 + ["the slits flap around, hate it"] * 6
                 + ["a bag on me, hate it"] * 6 + ["love this"] * 8 + ["it runs small"] * 6)  # fmt: skip
    gold = ([{"style": "positive"}] * 6 + [{"style": "negative"}] * 6
            + [{"size_fit": "negative"}] * 6 + [{}] * 8 + [{"size_fit": "negative"}] * 6)  # fmt: skip
    model = fit_aspect_model(sentences, gold, embed=_fake_embed, min_positive=4)
    test = ["those slits, love them", "hate the slits", "a bag, hate it", "love this", "runs small"]
    found = [{m.aspect: m.polarity for m in ms} for ms in model.extract(test, _fake_embed)]
    assert found == [{"style": "positive"}, {"style": "negative"}, {"size_fit": "negative"}, {},
                     {"size_fit": "negative"}]  # fmt: skip
    rules = [{m.aspect: m.polarity for m in ms} for ms in RuleAspects().extract(test)]
    assert rules[0] == {} and rules[2] == {}  # what the rules alone miss
    assert model.meta["rule_only_aspects"] == ["colour", "fabric", "quality", "comfort", "price",
                                               "delivery", "service"]  # fmt: skip


@pytest.mark.unit
def test_ratings_become_one_hot_stars_with_unknown_for_the_rest() -> None:
    stars = rating_features([5, 1.0, None, float("nan"), 0, 7, 3.4], 7)
    assert stars.argmax(axis=1).tolist() == [5, 1, 0, 0, 0, 0, 3]
    assert stars.sum(axis=1).tolist() == [1.0] * 7
    assert rating_features(None, 2).tolist() == [[1.0, 0, 0, 0, 0, 0]] * 2
    # 0.6 would round to one star; it is not a rating, as the API and the CLI say
    assert rating_features([0.6, 5.4], 2).argmax(axis=1).tolist() == [0, 0]


@pytest.mark.unit
def test_the_first_rating_that_is_not_one_to_five_stars_is_found_by_its_place() -> None:
    assert first_invalid_rating([None, 1, 5.0, 3.5]) is None
    assert first_invalid_rating([4, None, 0.6, 9]) == 2
    assert first_invalid_rating([float("nan")]) == 0
    assert first_invalid_rating([]) is None


@pytest.mark.unit
def test_the_model_reads_polarity_from_the_review_rating() -> None:
    # the same words, praised in 5-star reviews and blamed in 1-star ones ("thin" can be either)
    sentences = ["the fabric is thin"] * 16 + ["love this"] * 8
    gold = [{"fabric": "positive"}] * 8 + [{"fabric": "negative"}] * 8 + [{}] * 8
    ratings = [5.0] * 8 + [1.0] * 8 + [None] * 8
    model = fit_aspect_model(sentences, gold, embed=_fake_embed, ratings=ratings)
    assert model.uses_ratings
    found = model.extract(["the fabric is thin"] * 2, _fake_embed, ratings=[5, 1])
    assert [[(m.aspect, m.polarity) for m in ms] for ms in found] == [
        [("fabric", "positive")], [("fabric", "negative")]]  # fmt: skip
    # without a rating it still finds the aspect, and a model fitted without ratings ignores them
    assert [m.aspect for m in model.extract(["the fabric is thin"], _fake_embed)[0]] == ["fabric"]
    plain = fit_aspect_model(sentences, gold, embed=_fake_embed)
    assert not plain.uses_ratings
    assert len({m.polarity for ms in plain.extract(["the fabric is thin"] * 2, _fake_embed,
                                                   ratings=[5, 1]) for m in ms}) == 1  # fmt: skip


@pytest.mark.integration
def test_aspects_task_trains_rules_first_then_a_model_and_scores(ctx, store) -> None:
    from core.kinds.aspect_sentiment import save_aspect_set, shop_aspect_set
    from core.scoring import score_task
    from core.training import TrainingConfig, train_task
    from db import prediction_queries as pq
    from tests.core.conftest import seed_labels, seed_reviews

    seed_reviews(store, [(f"r{i}", 2, "It runs small. Love the color!") for i in range(30)]
                 + [(f"s{i}", 5, "So soft.") for i in range(30)])  # fmt: skip
    first = train_task(ctx, "aspects", "sample", TrainingConfig())
    assert first.model_type == "aspect_rules" and first.promoted
    assert score_task(ctx, "aspects", "sample") == 90
    labels = pq.task_predictions(store, "sample", "aspects").set_index("target_id")["label"]
    assert labels["r0:0"] == "size_fit:negative" and labels["r0:1"] == "colour:positive"
    assert labels["s0:0"] == "fabric:positive"
    assert "runs small" in pq.task_predictions(store, "sample", "aspects")["reason"].iloc[0]
    # people label: the model must beat the rules on the shop's test split to serve
    seed_labels(store, "aspects", [(f"r{i}:0", "size_fit:negative", "human") for i in range(30)]
                + [(f"s{i}:0", "fabric:positive;comfort:positive", "human") for i in range(30)])  # fmt: skip
    second = train_task(ctx, "aspects", "sample", TrainingConfig())
    metrics = second.metrics
    assert metrics["baseline"]["name"] == "aspect_rules" and metrics["n_test"] > 0
    assert metrics["model"]["mention_f1"] > metrics["baseline"]["mention_f1"]  # comfort: model
    # the shop's own aspect set replaces the default
    save_aspect_set(ctx, "sample", '{"aspects": [{"name": "feel", "terms": ["soft"]}]}', "x")
    assert shop_aspect_set(ctx, "sample").names == ("feel",)
    with pytest.raises(InputError, match="has no phrase"):
        save_aspect_set(ctx, "sample", '{"aspects": [{"name": "feel"}]}', "x")
    assert shop_aspect_set(ctx, "sample").names == ("feel",)  # a refused set changes nothing


@pytest.mark.integration
def test_aspects_cli_writes_one_line_per_mention(ctx, store, tmp_path, capsys) -> None:
    from app.cli import main

    source = tmp_path / "in.csv"
    pd.DataFrame({"body": ["Runs small. Love the colour!", "Love it!", ""]}).to_csv(
        source, index=False
    )
    out = tmp_path / "out.csv"
    assert (
        main(["aspects", "--input", str(source), "--text-column", "body", "--output", str(out)])
        == 0
    )
    lines = pd.read_csv(out)
    assert lines[["row", "aspect", "polarity"]].values.tolist() == [
        [0, "size_fit", "negative"], [0, "colour", "positive"]]  # fmt: skip
    assert lines["sentence"].tolist() == ["Runs small.", "Love the colour!"]
    assert main(["aspects", "--input", str(source), "--text-column", "nope", "--output",
                 str(tmp_path / "x.csv")]) != 0  # fmt: skip
    assert "no column 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
    # a rating column is read, and a value that is not 1-5 stars is refused by its row
    rated = tmp_path / "rated.csv"
    pd.DataFrame({"body": ["Runs small.", "Love it!"], "stars": [2, ""]}).to_csv(rated, index=False)
    args = ["aspects", "--input", str(rated), "--text-column", "body", "--output"]
    assert main([*args, str(tmp_path / "r.csv"), "--rating-column", "stars"]) == 0
    assert pd.read_csv(tmp_path / "r.csv")["aspect"].tolist() == ["size_fit"]
    pd.DataFrame({"body": ["a", "b"], "stars": [4, "great"]}).to_csv(rated, index=False)
    assert main([*args, str(tmp_path / "y.csv"), "--rating-column", "stars"]) != 0
    assert "row 1 of column 'stars' holds 'great'" in capsys.readouterr().err
    assert main([*args, str(tmp_path / "y.csv"), "--rating-column", "score"]) != 0
    assert "no rating column 'score'" in capsys.readouterr().err
    assert not (tmp_path / "y.csv").exists()
