"""The aspect model that takes over from the rules once people have labelled sentences.

Two small models on sentence embeddings (:mod:`core.embeddings`), both fed the rules' votes as
features, so the model starts where the rules are and learns where they fail:

- **detection**, one logistic regression per aspect over the sentence embedding, the rules'
  hits and polarity votes, and a *distilled rule score*: a logistic regression fitted on the
  shop's unlabelled sentences with the rules' hits as labels, which carries the seed words over
  to sentences that say the same thing in other words ("fly away" next to "slits");
- **polarity**, one logistic regression shared by all aspects over the embedding of the clauses
  that mention the aspect, the sentence embedding, the rules' polarity, the aspect and the star
  rating of the sentence's review (:func:`rating_features`; a sentence can come without one).

From :data:`READER_MIN_LABELLED` labelled sentences on, a fine-tuned reader
(:mod:`core.aspect_reader`) is blended in: detection probabilities are the mean of the
regressions' and the reader's, polarity probabilities 0.7 the regressions' and 0.3 the mean of
the reader's and those of :data:`POLARITY_READERS` - 1 more readers trained from other seeds
(they read only the sentences with a mention). An aspect with fewer than ``min_positive``
labelled mentions is left to the rules.
Both :class:`AspectModel` and :class:`RuleAspects` answer ``extract(sentences)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import numpy as np

from core.aspect_sets import APPAREL_SET, POLARITIES, AspectSet
from core.aspects import Mention, extract_aspects, split_clauses

Embed = Callable[[list[str]], np.ndarray]
READER_MIN_LABELLED = 300  # labelled sentences from which the fine-tuned reader is blended in
READER_WEIGHT = 0.5  # its share of the blend of detection probabilities
READER_POLARITY_WEIGHT = 0.3  # and of polarity probabilities (docs/models.md: how chosen)
# readers trained from other seeds whose polarity is averaged with the first's (detection reads
# the first only; docs/models.md)
POLARITY_READERS = 2
RATING_SCALE = 2.0  # the star rating's one-hot enters the polarity regression and the reader so


def _embed(texts: list[str]) -> np.ndarray:
    from core.embeddings import embed_texts

    return embed_texts(texts)


@dataclass
class RuleAspects:
    """The transparent rules as a predictor (the cold start and the baseline)."""

    aspect_set: AspectSet = APPAREL_SET
    model_type: str = "aspect_rules"

    def extract(self, sentences: Sequence[str], embed: Embed | None = None,
                ratings: Sequence[float | None] | None = None) -> list[list[Mention]]:  # fmt: skip
        return [extract_aspects(s, self.aspect_set) for s in sentences]


def _rule_features(mentions: list[Mention], names: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(4 * len(names))
    for m in mentions:
        i = names.index(m.aspect)
        out[4 * i] = 1.0
        out[4 * i + 1 + POLARITIES.index(m.polarity)] = 1.0
    return out


RATINGS = (1, 2, 3, 4, 5)  # the review's star rating a sentence can come with


def is_rating(value: float | None) -> TypeGuard[float]:
    """Whether ``value`` is a star rating the models read: a finite number from 1 to 5."""
    return value is not None and bool(np.isfinite(value)) and 1 <= float(value) <= 5


def first_invalid_rating(ratings: Sequence[float | None]) -> int | None:
    """The position of the first rating that is given but not 1-5 stars (None: there is none),
    for the API and the CLI to refuse it by its place."""
    return next((i for i, r in enumerate(ratings) if r is not None and not is_rating(r)), None)


def rating_features(ratings: Sequence[float | None] | None, n: int) -> np.ndarray:
    """(n, 6) one-hot of each sentence's review rating: unknown (a message, a text sent to the
    API without one, or a value that :func:`is_rating` refuses), 1, 2, 3, 4 or 5 stars
    (rounded)."""
    out = np.zeros((n, 1 + len(RATINGS)))
    out[:, 0] = 1.0
    if ratings is None:
        return out
    for i, r in enumerate(ratings):
        if is_rating(r):
            out[i, 0] = 0.0
            out[i, round(float(r))] = 1.0
    return out


def _mention_clauses(sentence: str, mention: Mention | None) -> str:
    if mention is None:
        return sentence
    clauses = [c for c in split_clauses(sentence)
               if any(t.lower() in c.lower() for t in mention.triggers)]  # fmt: skip
    return " ".join(clauses) or sentence


@dataclass
class AspectModel:
    """Detection and polarity models fitted on labelled sentences (see the module docstring)."""

    aspect_set: AspectSet
    detectors: dict[str, Any]  # aspect -> fitted LR, or None (the rules decide)
    distilled: Any  # aspect-wise LR on embeddings fitted to the rules' hits (or None)
    polarity: Any  # LR over mention features, or None (the rules' polarity)
    threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)
    model_type: str = "aspect_model"
    reader: Any = None  # a fine-tuned AspectReader blended in (core.aspect_reader), or None
    reader_weight: float = READER_WEIGHT
    # its share of polarity; None: reader_weight (models stored before the two were apart)
    reader_polarity_weight: float | None = None
    uses_ratings: bool = False  # polarity reads the review's star rating (rating_features)
    # further readers from other seeds: their polarity is averaged with the reader's
    polarity_readers: tuple[Any, ...] = ()

    def _detection_features(self, vectors: np.ndarray, rules: list[list[Mention]]) -> np.ndarray:
        names = self.aspect_set.names
        rule = (
            np.stack([_rule_features(r, names) for r in rules])
            if rules
            else np.zeros((0, 4 * len(names)))
        )
        soft = (np.column_stack([est.predict_proba(vectors)[:, 1] if est is not None
                                 else np.zeros(len(vectors)) for est in self.distilled])
                if self.distilled else np.zeros((len(vectors), len(names))))  # fmt: skip
        return np.hstack([vectors, rule, 2.0 * soft])

    def _polarity_features(self, sentences: Sequence[str], vectors: np.ndarray,
                           pairs: list[tuple[int, str, Mention | None]], embed: Embed,
                           stars: np.ndarray) -> np.ndarray:  # fmt: skip
        names = self.aspect_set.names
        clauses = embed([_mention_clauses(sentences[i], m) for i, _, m in pairs])
        width = stars.shape[1] if self.uses_ratings else 0
        rows = []
        for (i, aspect, m), clause in zip(pairs, clauses, strict=True):
            vote = np.zeros(3)
            if m is not None:
                vote[POLARITIES.index(m.polarity)] = 2.0
            rows.append(np.hstack([clause, vectors[i], vote, np.eye(len(names))[names.index(aspect)],
                                   RATING_SCALE * stars[i, :width]]))  # fmt: skip
        return (np.stack(rows) if rows
                else np.zeros((0, 2 * vectors.shape[1] + 3 + len(names) + width)))  # fmt: skip

    def extract(self, sentences: Sequence[str], embed: Embed | None = None,
                ratings: Sequence[float | None] | None = None) -> list[list[Mention]]:  # fmt: skip
        """The mentions in each sentence; ``ratings``: the star rating of each sentence's review
        (None, or None for a sentence: unknown)."""
        sentences = [str(s or "") for s in sentences]
        if not sentences:
            return []
        stars = rating_features(ratings, len(sentences))
        names = self.aspect_set.names
        rules = [extract_aspects(s, self.aspect_set) for s in sentences]
        # (sentences, aspects, absent / positive / negative / neutral), or None
        read: np.ndarray | None = None
        states: Sequence[Any] = ()
        if self.reader is not None and embed is None:  # the encoder's lower layers run once
            from core.embeddings import embed_with_states

            vectors, states = embed_with_states(sentences, self.reader.frozen)
            read = self.reader.probabilities(sentences, rules, ratings, states)
        else:  # a caller's own embedding (a cache, a test's): the readers' states apart
            vectors = (embed or _embed)(sentences)
            if self.reader is not None:
                from core.aspect_reader import lower_states

                states = lower_states(sentences, self.reader.frozen)
                read = self.reader.probabilities(sentences, rules, ratings, states)
        features = self._detection_features(vectors, rules)
        w = self.reader_weight
        found: list[list[tuple[str, float]]] = [[] for _ in sentences]
        for j, aspect in enumerate(names):
            est = self.detectors.get(aspect)
            if est is None:
                for i, r in enumerate(rules):
                    found[i] += [(m.aspect, m.confidence) for m in r if m.aspect == aspect]
                continue
            p = est.predict_proba(features)[:, 1]
            if read is not None:
                p = w * (1.0 - read[:, j, 0]) + (1.0 - w) * p
            for i in np.flatnonzero(p >= self.threshold):
                found[i].append((aspect, float(p[i])))
        pairs = [(i, a, next((m for m in rules[i] if m.aspect == a), None))
                 for i, hits in enumerate(found) for a, _ in hits]  # fmt: skip
        if self.polarity is not None and pairs:
            probs = self.polarity.predict_proba(
                self._polarity_features(sentences, vectors, pairs, embed or _embed, stars)
            )
            classes = [str(c) for c in self.polarity.classes_]
            if read is not None and self._reader_polarity_share() > 0:
                read = self._polarity_read(read, pairs, sentences, rules, ratings, states)
                probs = self._blend_polarity(probs, classes, read, pairs)
            polarity = [(classes[int(np.argmax(p))], float(np.max(p))) for p in probs]
        else:
            polarity = [
                (m.polarity if m else "neutral", m.confidence if m else 0.5) for _, _, m in pairs
            ]
        out: list[list[Mention]] = [[] for _ in sentences]
        detect_conf = {(i, a): c for i, hits in enumerate(found) for a, c in hits}
        for (i, aspect, m), (pol, pol_conf) in zip(pairs, polarity, strict=True):
            confidence = round(detect_conf[(i, aspect)] * pol_conf, 4)
            out[i].append(Mention(aspect, pol, confidence, m.triggers if m else ()))
        return out

    def _polarity_read(self, read: np.ndarray, pairs: list[tuple[int, str, Mention | None]],
                       sentences: list[str], rules: list[list[Mention]],
                       ratings: Sequence[float | None] | None,
                       states: Sequence[Any]) -> np.ndarray:  # fmt: skip
        """The reader's probabilities averaged with the :attr:`polarity_readers`' on the
        sentences with a mention (the others' rows stay the reader's, unread)."""
        readers = self.polarity_readers  # () in a model stored before there were more
        if not readers:
            return read
        rows = sorted({i for i, _, _ in pairs})
        texts = [sentences[i] for i in rows]
        stars = None if ratings is None else [ratings[i] for i in rows]
        kept = [states[i] for i in rows]  # the lower layers' states, worked out once
        total = read[rows].copy()
        for other in readers:
            total += other.probabilities(texts, [rules[i] for i in rows], stars, kept)
        out = read.copy()
        out[rows] = total / (1 + len(readers))
        return out

    def _blend_polarity(self, probs: np.ndarray, classes: list[str], read: np.ndarray,
                        pairs: list[tuple[int, str, Mention | None]]) -> np.ndarray:  # fmt: skip
        """The regression's polarity probabilities blended with the reader's, given that the
        aspect is mentioned (its positive / negative / neutral renormalised)."""
        from core.aspect_reader import OUTCOMES

        names = self.aspect_set.names
        columns = [OUTCOMES.index(c) for c in classes]
        rows = np.array([i for i, _, _ in pairs])
        aspects = np.array([names.index(a) for _, a, _ in pairs])
        given = read[rows, aspects][:, columns]
        given = given / np.maximum(given.sum(axis=1, keepdims=True), 1e-9)
        w = self._reader_polarity_share()
        return w * given + (1.0 - w) * probs

    def _reader_polarity_share(self) -> float:
        """The readers' share of polarity (0: the regression alone decides, nothing to read)."""
        w = self.reader_polarity_weight
        return self.reader_weight if w is None else w


def fit_aspect_model(
    sentences: Sequence[str], gold: Sequence[dict[str, str]], aspect_set: AspectSet = APPAREL_SET,
    unlabelled: Sequence[str] = (), embed: Embed | None = None, min_positive: int = 4,
    seed: int = 0, reader: bool | None = None,
    progress: Callable[[float, str], None] | None = None,
    ratings: Sequence[float | None] | None = None,
) -> AspectModel:  # fmt: skip
    """Fit detection and polarity on labelled ``sentences`` (``gold``: aspect → polarity per
    sentence); ``unlabelled`` sentences of the shop teach the distilled rule score. ``reader``:
    fine-tune an :class:`core.aspect_reader.AspectReader` and blend it in (None: from
    :data:`READER_MIN_LABELLED` labelled sentences on); ``progress`` is told of its epochs;
    ``ratings``: each sentence's review rating (None: none), which polarity then reads."""
    from sklearn.linear_model import LogisticRegression

    embed = embed or _embed
    names = aspect_set.names
    sentences = [str(s or "") for s in sentences]
    distilled: list[Any] = []
    pool = [str(s) for s in unlabelled if str(s).strip()]
    if len(pool) >= 50:
        pool_vectors = embed(pool)
        pool_hits = [{m.aspect for m in extract_aspects(s, aspect_set)} for s in pool]
        for aspect in names:
            y = np.array([aspect in h for h in pool_hits])
            distilled.append(LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
                             .fit(pool_vectors, y) if 5 <= y.sum() < len(y) - 5 else None)  # fmt: skip
    model = AspectModel(aspect_set, {}, distilled or None, None,
                        meta={"n_labelled": len(sentences), "n_unlabelled": len(pool)})  # fmt: skip
    vectors = embed(sentences)
    rules = [extract_aspects(s, aspect_set) for s in sentences]
    features = model._detection_features(vectors, rules)
    for aspect in names:
        y = np.array([aspect in g for g in gold])
        if y.sum() >= min_positive and (~y).sum() >= min_positive:
            model.detectors[aspect] = LogisticRegression(
                C=1.0, max_iter=2000, class_weight="balanced", random_state=seed
            ).fit(features, y)
        else:
            model.detectors[aspect] = None
    pairs = [(i, a, next((m for m in rules[i] if m.aspect == a), None))
             for i, g in enumerate(gold) for a in g if a in names]  # fmt: skip
    y_pol = [gold[i][a] for i, a, _ in pairs]
    if len(set(y_pol)) >= 2 and len(y_pol) >= 10:
        stars = rating_features(ratings, len(sentences))
        model.uses_ratings = bool((stars[:, 0] == 0).any())
        x_pol = model._polarity_features(sentences, vectors, pairs, embed, stars)
        if model.uses_ratings:  # also learn to read sentences that come without a rating
            unknown = x_pol.copy()
            unknown[:, -stars.shape[1] :] = RATING_SCALE * rating_features(None, 1)
            x_pol, y_pol = np.vstack([x_pol, unknown]), y_pol + y_pol
        model.polarity = LogisticRegression(C=0.5, max_iter=3000, class_weight="balanced",
                                            random_state=seed).fit(x_pol, y_pol)  # fmt: skip
    model.meta["rule_only_aspects"] = [a for a, d in model.detectors.items() if d is None]
    if reader is None:
        reader = len(sentences) >= READER_MIN_LABELLED
    if reader:
        from core.aspect_reader import fit_readers

        seeds = [seed + n for n in range(POLARITY_READERS)]
        model.reader, *others = fit_readers(sentences, gold, aspect_set, rules, seeds,
                                            progress=progress, ratings=ratings)  # fmt: skip
        model.polarity_readers = tuple(others)
        model.reader_polarity_weight = READER_POLARITY_WEIGHT
    model.meta["reader"] = bool(reader)
    return model


def cross_validate(
    sentences: Sequence[str], gold: Sequence[dict[str, str]], aspect_set: AspectSet = APPAREL_SET,
    unlabelled: Sequence[str] = (), folds: int = 5, seed: int = 0, embed: Embed | None = None,
    reader: bool | None = None, ratings: Sequence[float | None] | None = None,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Out-of-fold metrics (:func:`core.aspects.mention_metrics`) of the model and of the rules
    on the same labelled sentences (``reader`` and ``ratings`` as in :func:`fit_aspect_model`);
    given ratings, also ``model_without_ratings``: the same models reading the test sentences as
    if they came without one (a message, an API text)."""
    from sklearn.model_selection import KFold

    from core.aspects import mention_metrics

    sentences = list(sentences)
    predicted: list[dict[str, str]] = [{} for _ in sentences]
    unrated: list[dict[str, str]] = [{} for _ in sentences]

    def pick(idx: np.ndarray) -> list[float | None] | None:
        return None if ratings is None else [ratings[i] for i in idx]

    for train, test in KFold(folds, shuffle=True, random_state=seed).split(sentences):
        model = fit_aspect_model([sentences[i] for i in train], [gold[i] for i in train],
                                 aspect_set, unlabelled, embed, seed=seed, reader=reader,
                                 ratings=pick(train))  # fmt: skip
        texts = [sentences[i] for i in test]
        found = model.extract(texts, embed, pick(test))
        blind = model.extract(texts, embed) if ratings is not None else found
        for i, mentions, without in zip(test, found, blind, strict=True):
            predicted[i] = {m.aspect: m.polarity for m in mentions}
            unrated[i] = {m.aspect: m.polarity for m in without}
    rules = [{m.aspect: m.polarity for m in extract_aspects(s, aspect_set)} for s in sentences]
    extra = (
        {} if ratings is None else {"model_without_ratings": mention_metrics(list(gold), unrated)}
    )
    return {
        "model": mention_metrics(list(gold), predicted),
        **extra,
        "rules": mention_metrics(list(gold), rules),
    }
