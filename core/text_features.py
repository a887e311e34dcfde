"""Words of a text for bag-of-words models, in English and Chinese alike.

scikit-learn's default token pattern treats a run of Chinese characters up to the next
punctuation as one "word", so 尺码偏小 and 尺码有点偏小 share nothing and every TF-IDF model
over Chinese text learns nothing. :func:`analyze` is the analyzer ShopLens's TF-IDF models use
instead, chosen per stretch of text, so a shop with mixed languages works:

- Latin-script stretches: lower-cased words of two or more characters and their adjacent-pair
  bigrams, exactly what ``TfidfVectorizer(ngram_range=(1, 2))`` produces for English;
- Chinese stretches: the words of the ``jieba`` segmenter (loaded only when a text holds Chinese)
  and every pair of adjacent characters (character bigrams catch what segmentation splits
  differently: 偏小 in 尺码偏小 and 尺码有点偏小); the classifiers' :func:`classifier_terms`
  add character trigrams.

    >>> analyze("Runs small")
    ['runs', 'small', 'runs small']
    >>> set(analyze("尺码偏小")) & set(analyze("尺码有点偏小")) >= {'尺码', '偏小'}
    True
"""

from __future__ import annotations

import re
import threading

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"(?u)\b\w\w+\b")
_LOCK = threading.Lock()
_SEGMENTER: list[object] = []


def _segment(text: str) -> list[str]:
    with _LOCK:
        if not _SEGMENTER:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not ours
            jieba.initialize()
            _SEGMENTER.append(jieba)
    jieba = _SEGMENTER[0]
    return [w for w in jieba.lcut(text) if _CJK_RUN.fullmatch(w)]  # type: ignore[attr-defined]


def _latin(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def analyze(text: str) -> list[str]:
    """The terms of ``text`` (see the module docstring); an empty text has none."""
    return _terms(str(text or ""), trigrams=False)


def classifier_terms(text: str) -> list[str]:
    """:func:`analyze`'s terms plus every three adjacent characters of a Chinese stretch
    (不喜欢, 性价比, 很满意 are single cues a segmenter may split): what ShopLens's TF-IDF
    classifiers read. Need names keep :func:`analyze`'s terms, where a trigram that cuts a word
    would read as noise."""
    return _terms(str(text or ""), trigrams=True)


def _terms(text: str, trigrams: bool) -> list[str]:
    if not _CJK_RUN.search(text):
        return _latin(text)
    terms: list[str] = []
    last = 0
    for run in _CJK_RUN.finditer(text):
        terms += _latin(text[last : run.start()])
        chars = run.group(0)
        terms += _segment(chars)
        terms += [chars[i : i + 2] for i in range(len(chars) - 1)]
        if trigrams:
            terms += [chars[i : i + 3] for i in range(len(chars) - 2)]
        last = run.end()
    return terms + _latin(text[last:])
