"""Search behaviour: which queries the catalogue cannot answer (unmet demand) and which are
trending.

A query *matches* the catalogue when one of its words is found among the words of the shop's
item titles and categories, after a light normalisation (lower case; a plural ending dropped;
a word may be the start of a catalogue word, so "dress" matches "dresses"). Chinese queries, which
have no spaces, match when one of their two-character pieces occurs in a title or category.
Everything else is unmet demand: shoppers asked for something the shop does not list.

    >>> unmatched_queries(["linen dress", "swimsuit", "连衣裙"], ["Dresses", "Knits", "夏季连衣裙"])
    ['swimsuit']
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

_WORD = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u9fff]+")


def _stem(word: str) -> str:
    """A light English plural: dresses -> dress, blouses -> blouse, pants -> pant."""
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if len(w) >= 2}


def _cjk_pieces(text: str) -> set[str]:
    pieces: set[str] = set()
    for run in _CJK.findall(text):
        pieces |= {run[i : i + 2] for i in range(max(len(run) - 1, 1))}
    return pieces


class Catalogue:
    """The words of a shop's titles and categories, for matching queries."""

    def __init__(self, texts: Iterable[str]) -> None:
        texts = [str(t) for t in texts]
        self.words = set().union(*(_words(t) for t in texts)) if texts else set()
        self.cjk = "\n".join(t for t in texts if _CJK.search(t))
        self._prefixes = sorted(self.words)

    def matches(self, query: str) -> bool:
        """Whether a word (or a Chinese two-character piece) of ``query`` is in the catalogue."""
        for word in _words(query):
            if word in self.words or any(w.startswith(word) for w in self._prefixes):
                return True
        return any(piece in self.cjk for piece in _cjk_pieces(query))


def unmatched_queries(queries: Iterable[str], catalogue_texts: Iterable[str]) -> list[str]:
    """The queries that match nothing in the catalogue, in their order."""
    catalogue = Catalogue(catalogue_texts)
    return [q for q in queries if not catalogue.matches(str(q))]


def trending(queries: pd.DataFrame, min_searches: int = 5, top: int = 10) -> pd.DataFrame:
    """Queries whose searches grew most from the period's first half to its second (columns
    ``earlier`` and ``later``, as :func:`db.behaviour_queries.search_queries` gives them), with
    at least ``min_searches`` searches; ``growth`` is later / earlier (earlier + 1 when zero)."""
    q = queries[queries["searches"] >= min_searches].copy()
    q["growth"] = q["later"] / q["earlier"].clip(lower=1)
    q = q[q["later"] > q["earlier"]]
    return q.sort_values(["growth", "searches"], ascending=False).head(top).reset_index(drop=True)
