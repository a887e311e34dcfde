"""Aspect-based sentiment by transparent rules: which aspects a sentence speaks of, and the
writer's polarity on each (the cold start before people label; the trained model in
:mod:`core.aspect_model` takes over from it).

A sentence is cut into clauses (at commas, "but", "though", 但是 …). An aspect is mentioned in a
clause when one of its seed phrases occurs there (whole words; Chinese phrases as substrings;
the longest phrase wins where phrases overlap). Its polarity comes from votes in the clauses
that mention it: the aspect's own opinion phrases ("runs small": negative, weight 2) and general
opinion words ("love", "disappointed": weight 1), each flipped by a negation just before it
("not too short" is positive). No vote: neutral (mentioned without a clear opinion). Generic
praise words that are also an aspect's phrases ("beautiful" for style) only count for that
aspect when the clause names no other aspect ("the colour is beautiful" is about colour).

    >>> [(m.aspect, m.polarity) for m in extract_aspects("Love the color but it runs small.")]
    [('size_fit', 'negative'), ('colour', 'positive')]
    >>> extract_aspects("Love this top!")
    []
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.aspect_sets import APPAREL_SET, AspectSet

_CJK = re.compile(r"[\u3400-\u9fff]")
_CLAUSE = re.compile(
    r"[,;:()!?]|\s[-–—]\s|\.\s|\b(?:but|however|though|although|except|whereas|yet|otherwise)\b"
    r"|\band (?=(?:the|it|i|they|its|it's|this|that|but)\b)|[，；：、！？。]|但是|不过|可是|就是|只是",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|no|never|nothing|isn't|wasn't|aren't|weren't|don't|doesn't|didn't|won't|wouldn't|"
    r"hardly|without|nor|isnt|wasnt|dont|doesnt|didnt|wont)\s+(?:\w+\s+){0,2}$|(?:不|没|没有|并不|一点都不|一点也不)$",
    re.IGNORECASE,
)
POSITIVE_WORDS = (
    "love|loved|loves|lovely|great|perfect|perfectly|beautiful|beautifully|nice|good|gorgeous|"
    "amazing|excellent|wonderful|fantastic|awesome|happy|pleased|favorite|favourite|best|pretty|"
    "cute|stunning|flattering|glad|impressed|recommend|fine|well|ideal|superb|lovely|喜欢|很好|"
    "不错|满意|好看|漂亮|完美|值得|实惠|舒适|精致|仔细|好评|挺好|快|划算"
)
NEGATIVE_WORDS = (
    "disappointed|disappointing|disappointment|bad|terrible|awful|horrible|poor|poorly|cheap|"
    "ugly|weird|odd|strange|wrong|unfortunately|sadly|problem|issue|issues|annoying|hate|hated|"
    "worst|mess|sad|unhappy|return|returned|unflattering|off|失望|差|不好|难看|糟糕|退货|后悔|"
    "一般|垃圾|骗人|郁闷|差评|慢"
)
GENERIC = frozenset((POSITIVE_WORDS + "|" + NEGATIVE_WORDS).split("|"))


@dataclass(frozen=True)
class Mention:
    """One aspect a sentence speaks of, the writer's polarity on it, how sure the rule is, and
    the words that triggered it."""

    aspect: str
    polarity: str
    confidence: float
    triggers: tuple[str, ...]


def _phrase_pattern(phrases: list[str]) -> str:
    def one(p: str) -> str:
        body = r"\s+".join(re.escape(w) for w in p.split())
        return body if _CJK.search(p) else rf"(?<![\w'-]){body}(?![\w'-])"

    return "|".join(one(p) for p in sorted(set(phrases), key=len, reverse=True))


@dataclass(frozen=True)
class _Compiled:
    pattern: re.Pattern[str]
    kinds: dict[str, list[tuple[str, int, bool]]]  # phrase -> (aspect, vote, weak)
    opinion: re.Pattern[str]


@lru_cache(maxsize=32)
def _compile(aspect_set: AspectSet) -> _Compiled:
    kinds: dict[str, list[tuple[str, int, bool]]] = {}
    for aspect in aspect_set.aspects:
        for phrases, vote in ((aspect.terms, 0), (aspect.positive, 1), (aspect.negative, -1)):
            for phrase in phrases:
                key = " ".join(phrase.lower().split())
                weak = key in GENERIC and vote != 0
                entry = (aspect.name, vote, weak)
                if entry not in kinds.setdefault(key, []):
                    kinds[key].append(entry)
    pattern = re.compile(_phrase_pattern(list(kinds)), re.IGNORECASE)
    opinion = re.compile(_phrase_pattern((POSITIVE_WORDS + "|" + NEGATIVE_WORDS).split("|")),
                         re.IGNORECASE)  # fmt: skip
    return _Compiled(pattern, kinds, opinion)


def split_clauses(sentence: str) -> list[str]:
    """The clauses of a sentence (at commas, semicolons, contrast words, Chinese punctuation)."""
    return [c.strip() for c in _CLAUSE.split(sentence or "") if c and c.strip()]


def _negated(clause: str, start: int) -> bool:
    return bool(_NEGATION.search(clause[max(0, start - 40) : start]))


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def extract_aspects(sentence: str, aspect_set: AspectSet = APPAREL_SET) -> list[Mention]:
    """The aspects ``sentence`` speaks of, in the set's order, each with its polarity."""
    compiled = _compile(aspect_set)
    votes: dict[str, float] = {}
    strong: dict[str, bool] = {}
    triggers: dict[str, list[str]] = {}
    for clause in split_clauses(sentence):
        hits = [
            (m, compiled.kinds.get(_normal(m.group(0)), []))
            for m in compiled.pattern.finditer(clause)
        ]
        named = {a for _, entries in hits for a, _, weak in entries if not weak}
        in_clause: dict[str, float] = {}
        covered: list[tuple[int, int]] = []
        for match, entries in hits:
            flip = -1 if _negated(clause, match.start()) else 1
            for aspect, vote, weak in entries:
                if weak and (named - {aspect}):
                    continue
                in_clause[aspect] = in_clause.get(aspect, 0.0) + 2 * vote * flip
                strong[aspect] = strong.get(aspect, False) or vote != 0
                triggers.setdefault(aspect, []).append(match.group(0))
            covered.append(match.span())
        if not in_clause:
            continue
        general = 0.0
        for match in compiled.opinion.finditer(clause):
            if any(a <= match.start() < b for a, b in covered):
                continue  # already counted as an aspect phrase
            word = _normal(match.group(0))
            vote = 1 if word in POSITIVE_WORDS.split("|") else -1
            general += vote * (-1 if _negated(clause, match.start()) else 1)
        for aspect, value in in_clause.items():
            votes[aspect] = votes.get(aspect, 0.0) + value + general
    out = []
    for aspect in aspect_set.names:
        if aspect not in votes:
            continue
        value = votes[aspect]
        polarity = "positive" if value > 0 else "negative" if value < 0 else "neutral"
        confidence = 0.9 if strong.get(aspect) else 0.7 if polarity != "neutral" else 0.6
        out.append(Mention(aspect, polarity, confidence, tuple(dict.fromkeys(triggers[aspect]))))
    return out


NO_ASPECT = "none"


def encode_mentions(mentions: dict[str, str] | list[Mention]) -> str:
    """A sentence's aspects as one canonical label string, aspects in alphabetical order
    (``colour:positive;size_fit:negative``; ``none`` when it has none), so the same answer
    always reads the same, whoever gives it."""
    pairs = ({m.aspect: m.polarity for m in mentions} if isinstance(mentions, list)
             else dict(mentions))  # fmt: skip
    return ";".join(f"{a}:{p}" for a, p in sorted(pairs.items())) or NO_ASPECT


def decode_mentions(label: str | None) -> dict[str, str]:
    """The aspect → polarity map of a label string (:func:`encode_mentions`); malformed parts
    are an error naming them."""
    from common.errors import InputError

    out: dict[str, str] = {}
    text = (label or "").strip()
    if text in ("", NO_ASPECT):
        return out
    for part in text.split(";"):
        aspect, _, polarity = part.strip().partition(":")
        if not aspect or polarity not in ("positive", "negative", "neutral"):
            raise InputError(f"aspect label part {part[:60]!r} must read aspect:positive, "
                             "aspect:negative or aspect:neutral")  # fmt: skip
        out[aspect] = polarity
    return out


def mention_metrics(
    gold: list[dict[str, str]], predicted: list[dict[str, str]]
) -> dict[str, float]:
    """Aspect detection micro precision / recall / F1 over (sentence, aspect) pairs, polarity
    accuracy on the pairs found, and ``mention_f1``: micro-F1 where a hit needs the aspect and
    its polarity right (the promotion metric)."""
    tp = fp = fn = right = 0
    for g, p in zip(gold, predicted, strict=True):
        for aspect in set(g) | set(p):
            if aspect in g and aspect in p:
                tp += 1
                right += g[aspect] == p[aspect]
            elif aspect in g:
                fn += 1
            else:
                fp += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    joint = 2 * right / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return {"n": len(gold), "mentions": tp + fn, "precision": precision, "recall": recall,
            "detection_f1": f1, "polarity_accuracy": right / tp if tp else 0.0,
            "mention_f1": joint}  # fmt: skip
