"""Search behaviour: which queries the catalogue cannot answer (unmet demand) and which are
trending.

A query *matches* the catalogue when one of its words is found among the words of the shop's
item titles and categories, after a light normalisation (lower case; a plural ending dropped;
a word may be the start of a catalogue word, so "dress" matches "dresses"). Chinese queries, which
have no spaces, match when one of their two-character pieces occurs in a title or category.
Everything else is unmet demand: shoppers asked for something the shop does not list.

Queries are read for aspects like reviews are (:mod:`core.aspects`): "red dress" asks by colour,
"plus size jeans" by size and fit, "linen pants" by fabric. :func:`query_aspects` says how much
of the search traffic asks by each aspect, what it asks for, and whether those searches end in a
purchase as often as the rest.

    >>> unmatched_queries(["linen dress", "swimsuit", "连衣裙"], ["Dresses", "Knits", "夏季连衣裙"])
    ['swimsuit']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import pandas as pd

from core.aspect_sets import APPAREL_SET, AspectSet

_WORD = re.compile(r"[a-z0-9]+")
# aspect words that in a query name a style or a part rather than ask about the aspect:
# "button down shirt" is not a question about how well it is made
NOT_ASKED = frozenset({"button", "buttons", "zip", "zipper", "made"})
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
    ``earlier`` and ``later``, as :func:`db.behaviour_queries.search_activity` gives them per
    query), with at least ``min_searches`` searches; ``growth`` is later / earlier (earlier + 1
    when zero)."""
    q = queries[queries["searches"] >= min_searches].copy()
    q["growth"] = q["later"] / q["earlier"].clip(lower=1)
    q = q[q["later"] > q["earlier"]]
    return q.sort_values(["growth", "searches"], ascending=False).head(top).reset_index(drop=True)


def query_aspects(queries: pd.DataFrame, category_names: Iterable[str] = (),
                  aspect_set: AspectSet = APPAREL_SET, terms: int = 5,
                  min_searches: int = 10) -> pd.DataFrame:  # fmt: skip
    """Per aspect that searches ask by, most searched first: ``searches`` and distinct
    ``queries`` naming it, its ``share`` of all searches in ``queries``, the searches'
    ``view_rate`` and ``purchase_rate`` and ``purchase_lift`` (its purchase rate over that of all
    searches: below 1, shoppers who ask by this aspect buy less often than the rest), and
    ``asked``: the words they used most, with their searches ("red 34 · black 28").

    ``queries`` has a row per query with ``searches``, ``view_rate`` and ``purchase_rate``
    (per query, :func:`db.behaviour_queries.search_activity`). A word that names one of the shop's
    ``category_names`` is the product asked for, not an aspect of it ("knit top" in a shop with a
    Knits category is not a fabric question; 针织 in a shop with a 针织衫 category neither).
    Aspects asked by fewer than ``min_searches`` searches are left out: their rates say little."""
    from core.aspects import extract_aspects

    names = [str(c) for c in category_names]
    product = set().union(*(_words(c) for c in names)) if names else set()
    product_cjk = "\n".join(c for c in names if _CJK.search(c))

    def names_product(word: str) -> bool:
        if _CJK.search(word):
            return word in product_cjk
        return bool(_words(word)) and _words(word) <= product

    rows: dict[str, dict[str, float]] = {}
    asked: dict[str, Counter[str]] = {}
    for query, n, viewed, bought in zip(queries["query"].astype(str), queries["searches"],
                                        queries["view_rate"], queries["purchase_rate"],
                                        strict=True):  # fmt: skip
        for mention in extract_aspects(query, aspect_set):
            words = [w for w in mention.triggers
                     if w.lower() not in NOT_ASKED and not names_product(w)]  # fmt: skip
            if not words:
                continue
            row = rows.setdefault(mention.aspect, {"searches": 0.0, "queries": 0.0,
                                                   "views": 0.0, "purchases": 0.0})  # fmt: skip
            row["searches"] += n
            row["queries"] += 1
            row["views"] += n * viewed
            row["purchases"] += n * bought
            for w in words:
                asked.setdefault(mention.aspect, Counter())[w.lower()] += int(n)
    columns = ["aspect", "searches", "queries", "share", "view_rate", "purchase_rate",
               "purchase_lift", "asked"]  # fmt: skip
    rows = {a: r for a, r in rows.items() if r["searches"] >= min_searches}
    if not rows:
        return pd.DataFrame(columns=columns)
    total = float(queries["searches"].sum())
    overall = float((queries["searches"] * queries["purchase_rate"]).sum()) / max(total, 1.0)
    out = pd.DataFrame([{"aspect": a, **r} for a, r in rows.items()])
    out["share"] = out["searches"] / max(total, 1.0)
    out["view_rate"] = out["views"] / out["searches"]
    out["purchase_rate"] = out["purchases"] / out["searches"]
    out["purchase_lift"] = out["purchase_rate"] / overall if overall > 0 else float("nan")
    out["asked"] = [" · ".join(f"{w} {c}" for w, c in asked[a].most_common(terms))
                    for a in out["aspect"]]  # fmt: skip
    out[["searches", "queries"]] = out[["searches", "queries"]].astype(int)
    return out.sort_values(["searches", "aspect"], ascending=[False, True])[columns].reset_index(
        drop=True
    )
