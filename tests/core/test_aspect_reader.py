"""Tests for the fine-tuned aspect reader (core/aspect_reader.py) and its blend into the aspect
model (core/aspect_model.py), on the bundled sentence encoder."""

from __future__ import annotations

import io

import joblib
import numpy as np
import pytest

from common.errors import ShopLensError
from core.aspect_model import POLARITY_READERS, READER_MIN_LABELLED, fit_aspect_model
from core.aspect_reader import EPOCHS, OUTCOMES, AspectReader, fit_reader, fit_readers
from core.aspect_sets import APPAREL_SET

# opinions the apparel rules cannot read: "pools" and "swims" are not among their words
TRAIN = (
    [("the sleeves pool at my wrists", {"size_fit": "negative"})] * 4
    + [("i swim in it", {"size_fit": "negative"})] * 4
    + [("the hem sits just right", {"size_fit": "positive"})] * 4
    + [("the shade is gorgeous", {"colour": "positive"})] * 4
    + [("the shade looks muddy", {"colour": "negative"})] * 4
    + [("what a lovely day", {})] * 4
)


def _mentions(probs: np.ndarray) -> list[dict[str, str]]:
    names = APPAREL_SET.names
    return [{names[a]: OUTCOMES[int(p[a].argmax())] for a in range(len(names))
             if p[a].argmax() > 0} for p in probs]  # fmt: skip


PROGRESS: list[tuple[float, str]] = []  # what the module's reader reported while it trained


@pytest.fixture(scope="module")
def reader() -> AspectReader:
    sentences, gold = zip(*TRAIN, strict=True)
    return fit_reader(list(sentences), list(gold), APPAREL_SET, seed=0, epochs=EPOCHS,
                      progress=lambda done, message: PROGRESS.append((done, message)))  # fmt: skip


@pytest.mark.integration
def test_the_reader_learns_opinions_the_rules_do_not_know(reader: AspectReader) -> None:
    probs = reader.probabilities(["the sleeves pool at my wrists", "the shade is gorgeous",
                                  "the shade looks muddy", "what a lovely day"])  # fmt: skip
    assert probs.shape == (4, len(APPAREL_SET.names), len(OUTCOMES))
    np.testing.assert_allclose(probs.sum(axis=2), 1.0, rtol=1e-5)
    assert _mentions(probs) == [{"size_fit": "negative"}, {"colour": "positive"},
                                {"colour": "negative"}, {}]  # fmt: skip
    assert reader.probabilities([]).shape == (0, len(APPAREL_SET.names), len(OUTCOMES))
    assert [done for done, _ in PROGRESS] == [(e + 1) / EPOCHS for e in range(EPOCHS)]
    assert PROGRESS[-1][1] == f"aspect reader: epoch {EPOCHS} of {EPOCHS}"


@pytest.mark.integration
def test_a_stored_reader_reads_the_same(reader: AspectReader) -> None:
    sentences = ["i swim in it", "the hem sits just right", ""]
    before = reader.probabilities(sentences)
    buffer = io.BytesIO()
    joblib.dump(reader, buffer)
    assert "_net" not in reader.__getstate__()  # weights travel as arrays, not torch modules
    loaded = joblib.load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_allclose(loaded.probabilities(sentences), before, atol=1e-5)


@pytest.mark.integration
def test_one_pass_gives_the_vectors_and_the_readers_states(reader: AspectReader) -> None:
    from core.embeddings import embed_texts, embed_with_states

    sentences = ["the collar sits oddly on me", "", "a shade darker than the photo, sadly"]
    expected = embed_texts(sentences)  # first, so the vectors come from the encoder itself
    vectors, states = embed_with_states(sentences, reader.frozen)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    assert [s.shape[1] for s in states] == [384] * 3 and states[1].shape[0] == 2  # [CLS] [SEP]
    np.testing.assert_allclose(reader.probabilities(sentences, states=states),
                               reader.probabilities(sentences), atol=1e-5)  # fmt: skip


@pytest.mark.integration
def test_a_reader_refuses_another_encoder(reader: AspectReader) -> None:
    other = AspectReader(reader.aspect_set, reader.frozen, reader.weights, "another-encoder")
    with pytest.raises(ShopLensError, match="retrain the aspects task"):
        other.probabilities(["runs small"])


@pytest.mark.integration
def test_the_aspect_model_blends_the_reader_in_from_enough_labels() -> None:
    sentences, gold = (list(x) for x in zip(*TRAIN, strict=True))
    plain = fit_aspect_model(sentences, gold, min_positive=4)
    assert len(sentences) < READER_MIN_LABELLED
    assert plain.reader is None and plain.meta["reader"] is False
    blended = fit_aspect_model(sentences, gold, min_positive=4, reader=True)
    assert blended.reader is not None and blended.meta["reader"] is True
    # the further readers come from the next seeds and only read polarity
    assert [r.meta["seed"] for r in (blended.reader, *blended.polarity_readers)] == list(
        range(POLARITY_READERS)
    )
    # style and the others have too few labels here: the rules keep them
    assert set(blended.meta["rule_only_aspects"]) == set(APPAREL_SET.names) - {"size_fit", "colour"}
    found = [{m.aspect: m.polarity for m in ms} for ms in blended.extract(
        ["the sleeves pool at my wrists", "the shade looks muddy", "what a sunny day"])]  # fmt: skip
    assert found == [{"size_fit": "negative"}, {"colour": "negative", "style": "negative"}, {}]
    # the blend's ends: the readers alone (a mention's confidence is then the first reader's
    # probability of the aspect times the readers' mean probability of that polarity given a
    # mention) and the regressions alone (the same as the model without a reader)
    text = ["the shade is gorgeous", "i swim in it", "what a sunny day"]
    read = blended.reader.probabilities(text)
    mean = np.mean([r.probabilities(text) for r in (blended.reader, *blended.polarity_readers)], 0)
    blended.reader_weight = blended.reader_polarity_weight = 1.0
    ms = blended.extract(text)[0]
    assert [(m.aspect, m.polarity) for m in ms] == [("colour", "positive"), ("style", "positive")]
    colour, positive = APPAREL_SET.names.index("colour"), OUTCOMES.index("positive")
    expected = (1 - read[0, colour, 0]) * mean[0, colour, positive] / (1 - mean[0, colour, 0])
    assert ms[0].confidence == pytest.approx(expected, abs=1e-3)
    assert mean[0, colour, positive] != pytest.approx(read[0, colour, positive], abs=1e-4)
    del blended.polarity_readers  # as in a model stored before there were more readers
    buffer = io.BytesIO()
    joblib.dump(blended, buffer)
    older = joblib.load(io.BytesIO(buffer.getvalue()))
    assert older.polarity_readers == ()
    alone = older.extract(text)[0][0].confidence  # the one reader's probability, as it was
    assert alone == pytest.approx(read[0, colour, positive], abs=1e-3)
    blended.reader_weight = blended.reader_polarity_weight = 0.0
    assert blended.extract(text) == plain.extract(text)
    # with no share of polarity the further readers are not run at all
    blended.reader_weight, blended.polarity_readers = 0.5, ()
    expected_mentions = blended.extract(text)

    class Unread:
        def probabilities(self, *args: object) -> np.ndarray:
            raise AssertionError("a polarity reader ran with no share of polarity")

    blended.polarity_readers = (Unread(),)
    assert blended.extract(text) == expected_mentions


@pytest.mark.integration
def test_the_reader_reads_the_review_rating() -> None:
    # the same words, praised in 5-star reviews and blamed in 1-star ones
    sentences = ["the fabric is thin"] * 32 + ["what a lovely day"] * 8
    gold = [{"fabric": "positive"}] * 16 + [{"fabric": "negative"}] * 16 + [{}] * 8
    ratings = [5.0] * 16 + [1.0] * 16 + [None] * 8
    import torch

    before = torch.random.get_rng_state()
    reader = fit_reader(sentences, gold, APPAREL_SET, seed=0, ratings=ratings, epochs=30)
    assert torch.equal(torch.random.get_rng_state(), before)  # seeds only its own training
    assert reader.uses_ratings
    fabric = APPAREL_SET.names.index("fabric")
    probs = reader.probabilities(["the fabric is thin"] * 2, ratings=[5, 1])[:, fabric]
    positive, negative = OUTCOMES.index("positive"), OUTCOMES.index("negative")
    assert probs[0, positive] > probs[0, negative] and probs[1, negative] > probs[1, positive]
    buffer = io.BytesIO()
    joblib.dump(reader, buffer)
    stored = joblib.load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_allclose(
        stored.probabilities(["the fabric is thin"], ratings=[1])[:, fabric], probs[1:], atol=1e-5
    )


@pytest.mark.integration
def test_readers_from_several_seeds_share_one_pass_and_report_in_turn() -> None:
    sentences, gold = (list(x) for x in zip(*TRAIN, strict=True))
    seen: list[tuple[float, str]] = []
    first, second = fit_readers(sentences, gold, APPAREL_SET, seeds=(3, 4), epochs=2,
                                progress=lambda done, message: seen.append((done, message)))  # fmt: skip
    assert [done for done, _ in seen] == [0.25, 0.5, 0.75, 1.0]
    assert [m for _, m in seen][1:3] == ["aspect reader 1 of 2: epoch 2 of 2",
                                         "aspect reader 2 of 2: epoch 1 of 2"]  # fmt: skip
    alone = fit_reader(sentences, gold, APPAREL_SET, seed=4, epochs=2)
    for name, weights in second.weights.items():  # a seed trains the same with or without others
        np.testing.assert_allclose(weights, alone.weights[name], atol=1e-5)
    assert not np.allclose(first.weights["out"], second.weights["out"])
