"""What customers say, ready to show: aspect mentions with their support and bounds, and needs
with their size, trend, products, aspects and quotes.

Both read the active versions' predictions through :mod:`db.prediction_queries` (so a rollback
shows the rolled-back-to version at once) and return plain frames that the pages, the CLI and
the API share.

    >>> summary = aspect_summary(mentions, ["category"])   # one row per category and aspect
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from core.aspects import decode_mentions
from core.needs import Embed, NeedsConfig, distinct_texts, group_needs
from core.stats import MIN_SUPPORT, wilson_bounds
from db import prediction_queries as pq
from db.repo import needs as needs_repo
from db.store import Store

ASPECT_TASK = "aspects"
DEMAND_TASK = "demand"
NEED_KINDS = ("feature_request", "complaint", "question")
MENTION_COLUMNS = ["target_id", "review_id", "user_id", "item_id", "title", "category", "rating",
                   "ts", "aspect", "polarity", "confidence"]  # fmt: skip


def aspect_mentions(store: Store, shop_id: str, start: date | None = None, end: date | None = None,
                    category: str | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per aspect mention in the period's review sentences (the active aspect model's
    predictions): :data:`MENTION_COLUMNS`."""
    import json

    rows = pq.sentence_predictions(store, shop_id, ASPECT_TASK, start=start, end=end,
                                   category=category, strict=True)  # fmt: skip
    if rows.empty:
        return pd.DataFrame(columns=MENTION_COLUMNS)
    # a week of a large shop is tens of thousands of sentences but few distinct labels: each
    # label is decoded once, and only the sentences with a mention have their JSON read
    labels = rows["label"].fillna("").astype(str).tolist()
    decoded = {label: decode_mentions(label) for label in set(labels)}
    at, aspects, polarities = [], [], []
    for i, label in enumerate(labels):
        for aspect, polarity in decoded[label].items():
            at.append(i)
            aspects.append(aspect)
            polarities.append(polarity)
    if not at:
        return pd.DataFrame(columns=MENTION_COLUMNS)
    probs = rows["probs"].tolist()
    parsed = {i: json.loads(probs[i]) if isinstance(probs[i], str) and probs[i] else {}
              for i in set(at)}  # fmt: skip
    out = rows.iloc[at][MENTION_COLUMNS[:8]].reset_index(drop=True)
    return out.assign(aspect=aspects, polarity=polarities,
                      confidence=[float(parsed[i].get(a, 0.0)) for i, a in zip(at, aspects,
                                                                                strict=True)])  # fmt: skip


def aspect_summary(mentions: pd.DataFrame, keys: list[str],
                   reviews: pd.Series | None = None) -> pd.DataFrame:  # fmt: skip
    """Per group of ``keys`` and aspect: ``mentions``, ``positive``, ``negative``, ``neutral``,
    the negative share of opinionated mentions with its Wilson bounds (``negative_low``,
    ``negative_high``), and ``share``: the share of the group's reviews that mention the aspect
    (``reviews``: reviews per group, indexed by the keys; default: reviews with any mention)."""
    columns = [*keys, "aspect", "mentions", "reviews", "share", "positive", "negative", "neutral",
               "negative_share", "negative_low", "negative_high"]  # fmt: skip
    if mentions.empty:
        return pd.DataFrame(columns=columns)
    counts = (mentions.assign(n=1).pivot_table(index=[*keys, "aspect"], columns="polarity",
                                               values="n", aggfunc="sum", fill_value=0)
              .reindex(columns=["positive", "negative", "neutral"], fill_value=0).reset_index())  # fmt: skip
    counts["mentions"] = counts[["positive", "negative", "neutral"]].sum(axis=1)
    reviewed = mentions.groupby([*keys, "aspect"])["review_id"].nunique().rename("aspect_reviews")
    counts = counts.merge(reviewed.reset_index(), on=[*keys, "aspect"])
    per_group = reviews if reviews is not None else mentions.groupby(keys)["review_id"].nunique()
    per_group = per_group.rename("reviews").reset_index()
    counts = counts.merge(per_group, on=keys, how="left")
    counts["share"] = counts["aspect_reviews"] / counts["reviews"].clip(lower=1)
    opinionated = counts["positive"] + counts["negative"]
    counts["negative_share"] = counts["negative"] / opinionated.clip(lower=1)
    bounds = wilson_bounds(counts["negative"], opinionated)
    counts["negative_low"], counts["negative_high"] = bounds["low"], bounds["high"]
    return counts[columns].sort_values([*keys, "mentions"], ascending=[True] * len(keys) + [False])


def top_complaints(summary: pd.DataFrame, keys: list[str], min_support: int = MIN_SUPPORT,
                   limit: int = 10) -> pd.DataFrame:  # fmt: skip
    """The groups' aspects most surely complained about: at least ``min_support`` opinionated
    mentions, ordered by the lower Wilson bound of the negative share."""
    opinionated = summary["positive"] + summary["negative"]
    ranked = summary[opinionated >= min_support].sort_values(
        ["negative_low", "mentions"], ascending=[False, False]
    )
    return ranked.head(limit).reset_index(drop=True)


def shop_needs(store: Store, shop_id: str, start: date | None = None, end: date | None = None,
               category: str | None = None, kinds: tuple[str, ...] = NEED_KINDS,
               config: NeedsConfig | None = None, top: int = 3) -> pd.DataFrame:  # fmt: skip
    """The period's needs among the sentences the active demand model calls a need (the
    grouping :func:`group_shop_needs` stored for that version; sentences it has not grouped yet
    are grouped now by :func:`core.needs.group_needs`), each with ``need_id``, ``name``,
    ``sentences``, ``share``, ``quotes``,
    ``top_products`` (title and sentences), ``aspects`` (the aspects its sentences mention most,
    when an aspect model has scored them) and ``trend`` (sentences in the first and second half
    of the period)."""
    predicted = pq.sentence_predictions(store, shop_id, DEMAND_TASK, start=start, end=end,
                                        category=category, strict=True)  # fmt: skip
    wanted = predicted[predicted["label"].isin(kinds)]
    config = config or NeedsConfig()
    stored = pq.need_memberships(store, shop_id, wanted["target_id"].tolist())
    if len(wanted) and len(stored) == len(wanted):  # grouped by the scoring job
        needs, assigned = _needs_of_members(store, shop_id, stored, config.quotes), stored
    else:  # not grouped yet (an older version, or a scoring job still running): group now
        texts = pq.sentence_texts(store, shop_id, wanted["target_id"].tolist())
        needs, assigned = group_needs(wanted[["target_id"]].merge(texts[["target_id", "text"]],
                                                                  on="target_id"), config)  # fmt: skip
    if needs.empty:
        return needs.assign(top_products=[], aspects=[], trend=[])
    rows = assigned.merge(wanted[["target_id", "title", "ts"]], on="target_id")
    aspects = pq.sentence_predictions(store, shop_id, ASPECT_TASK, start=start, end=end,
                                      category=category, strict=True)  # fmt: skip
    aspects = aspects[aspects["target_id"].isin(rows["target_id"])]  # the needs' sentences only
    aspect_of = {
        t: list(decode_mentions(label))
        for t, label in zip(aspects["target_id"], aspects["label"], strict=True)
    }
    middle = rows["ts"].min() + (rows["ts"].max() - rows["ts"].min()) / 2 if len(rows) else None
    extra: dict[str, list[Any]] = {"top_products": [], "aspects": [], "trend": []}
    parts = dict(tuple(rows.groupby("need_id")))
    for need_id in needs["need_id"]:
        part = parts.get(need_id, rows.iloc[:0])
        products = part["title"].value_counts().head(top)
        extra["top_products"].append(
            [{"title": str(t), "sentences": int(n)} for t, n in products.items()]
        )
        said = pd.Series([a for t in part["target_id"] for a in aspect_of.get(t, [])], dtype=str)
        extra["aspects"].append(said.value_counts().head(top).index.tolist())
        early = int((part["ts"] <= middle).sum()) if middle is not None else 0
        extra["trend"].append({"first_half": early, "second_half": int(len(part) - early)})
    return needs.assign(**extra)


def _needs_of_members(store: Store, shop_id: str, members: pd.DataFrame,
                      quotes: int) -> pd.DataFrame:  # fmt: skip
    """Needs as :func:`core.needs.group_needs` returns them, from stored memberships: sizes and
    shares within ``members``, quotes among them (informative first, then closest to the
    need's centre, distinct texts)."""
    needs = members.groupby(["need_id", "name"]).size().rename("sentences").reset_index()
    needs["share"] = needs["sentences"] / len(members)
    needs["is_other"] = needs["need_id"] == 0
    needs = needs.sort_values(["is_other", "sentences", "name"], ascending=[True, False, True])
    ranked = members.sort_values(["need_id", "informative", "similarity", "target_id"],
                                 ascending=[True, False, False, True])  # fmt: skip
    candidates = ranked.groupby("need_id").head(4 * quotes)
    text_of = dict(pq.sentence_texts(store, shop_id, candidates["target_id"].tolist())
                   [["target_id", "text"]].itertuples(index=False))  # fmt: skip
    chosen = {int(need_id): distinct_texts((str(text_of.get(t, "")) for t in part["target_id"]),
                                           quotes)
              for need_id, part in candidates.groupby("need_id")}  # fmt: skip
    needs["quotes"] = [chosen.get(int(n), []) for n in needs["need_id"]]
    return needs[["need_id", "name", "sentences", "share", "quotes"]].reset_index(drop=True)


def group_shop_needs(store: Store, shop_id: str, version: str, config: NeedsConfig | None = None,
                     embed: Embed | None = None) -> int:  # fmt: skip
    """Group every sentence the demand ``version`` calls a need (:data:`NEED_KINDS`) into needs
    and store them for that version (:mod:`db.repo.needs`), so pages read needs instead of
    clustering; returns the number of needs (the other bucket included)."""
    predicted = pq.sentence_predictions(store, shop_id, DEMAND_TASK, version=version)
    wanted = predicted[predicted["label"].isin(NEED_KINDS)]
    texts = pq.sentence_texts(store, shop_id, wanted["target_id"].tolist())
    needs, members = group_needs(texts[["target_id", "text"]], config, embed)
    return needs_repo.replace(store, shop_id, version, needs, members)
