"""Model monitoring: does what a text model sees and says now still look like what it was trained
on, and is it still right where people check it?

**Reference**: the rows of the task's fixed split (:mod:`core.training`: the rows the serving
version was trained and tested on) and the version's predictions on them. **Current**: rows that
arrived since (not in the split), in a rolling window of the last :data:`WINDOW_DAYS` days of
their dates. Checks (thresholds in :data:`THRESHOLDS`, each with its reason in words):

- **prediction mix**: the population stability index (PSI) of the predicted labels, current
  against reference (0.1 = a moderate shift, 0.25 = a large one, by the usual rule of thumb);
- **language mix**: the largest change in the share of any language;
- **unseen words**: the share of the current texts' words (English words, single Chinese
  characters) that never occur in the reference texts, against the same share for a held-out
  fifth of the reference itself (what "new words" look like without drift);
- **new frequent words**: words in 3 %+ of the current texts and 5× rarer in the reference
  (an alert from three such words on, or from one in 5 %+ of the texts and 10× rarer);
- **text length**: the mean length, current over reference;
- **live accuracy** and **calibration**: agreement with fresh human labels from the labelling
  loop, with their count, against the version's test accuracy, and the expected calibration
  error of the predictions' confidence on them (at least :data:`MIN_LIVE_LABELS` labels).

    >>> profile = reference_profile(texts, languages, labels)
    >>> report = window_report(profile, new_texts, new_languages, new_labels)
    >>> report["alerts"]
    ['prediction mix moved: PSI 0.31 > 0.25', ...]
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

WINDOW_DAYS = 7
MIN_ROWS = 50
MIN_LIVE_LABELS = 30
THRESHOLDS = {
    "psi": 0.25,  # prediction mix
    "language_shift": 0.15,  # the largest change in one language's share
    "unseen_excess": 0.05,  # unseen-word share above the reference's own, absolute
    "length_ratio": 1.5,  # mean length, either way
    "new_frequent_words": 3,  # words common now (3 %+ of texts) and 5× rarer in training
    "live_accuracy_drop": 0.10,  # below the version's test accuracy
    "live_ece": 0.15,  # expected calibration error on fresh labels
}
_TOKEN = re.compile(r"[a-z]+|[\u3400-\u9fff]")


def _words(text: str) -> list[str]:
    return _TOKEN.findall(str(text).lower())


def psi(reference: dict[str, float], current: dict[str, float], eps: float = 1e-3) -> float:
    """Population stability index of two label mixes (shares; a label missing on one side
    counts as ``eps``)."""
    labels = set(reference) | set(current)
    total = 0.0
    for label in labels:
        r, c = max(reference.get(label, 0.0), eps), max(current.get(label, 0.0), eps)
        total += (c - r) * np.log(c / r)
    return float(total)


def _shares(values: pd.Series) -> dict[str, float]:
    counts = values.fillna("unknown").astype(str).value_counts(normalize=True)
    return {str(k): float(v) for k, v in counts.items()}


def _unseen(texts: pd.Series, vocabulary: set[str]) -> float:
    words = [w for t in texts for w in _words(t)]
    return float(sum(w not in vocabulary for w in words) / len(words)) if words else 0.0


@dataclass
class Profile:
    """What the reference looked like."""

    labels: dict[str, float]
    languages: dict[str, float]
    vocabulary: set[str]
    unseen_baseline: float
    mean_length: float
    rows: int
    doc_share: dict[str, float] | None = None  # share of texts each word occurs in


def _doc_share(texts: pd.Series) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(set(_words(t)))
    n = max(len(texts), 1)
    return {w: c / n for w, c in counts.items()}


def new_frequent_words(profile: Profile, texts: pd.Series, min_share: float = 0.03,
                       factor: float = 5.0) -> list[str]:  # fmt: skip
    """Words in at least ``min_share`` of the current texts and ``factor`` times rarer (per
    text) in the reference, most frequent first."""
    now = _doc_share(texts)
    before = profile.doc_share or {}
    found = [(w, s) for w, s in now.items()
             if s >= min_share and s >= factor * (before.get(w, 0.0) + 0.002) and len(w) > 1]  # fmt: skip
    return [w for w, _ in sorted(found, key=lambda ws: -ws[1])]


def reference_profile(texts: pd.Series, languages: pd.Series, labels: pd.Series,
                      seed: int = 0) -> Profile:  # fmt: skip
    """The reference profile; the unseen-word baseline is measured on a random fifth of the
    reference against a vocabulary built from the other four fifths."""
    texts = texts.fillna("").astype(str).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    held = rng.random(len(texts)) < 0.2
    inner = set(Counter(w for t in texts[~held] for w in _words(t)))
    return Profile(_shares(labels), _shares(languages), set(Counter(w for t in texts for w in _words(t))),
                   _unseen(texts[held], inner), float(texts.str.len().mean() or 0.0), len(texts),
                   _doc_share(texts))  # fmt: skip


def window_report(profile: Profile, texts: pd.Series, languages: pd.Series,
                  labels: pd.Series) -> dict[str, Any]:  # fmt: skip
    """The checks on one window of current rows, with the alerts they raise (in words)."""
    texts = texts.fillna("").astype(str)
    report: dict[str, Any] = {"rows": int(len(texts)), "alerts": []}
    if len(texts) < MIN_ROWS:
        report["note"] = f"fewer than {MIN_ROWS} new rows: not judged"
        return report
    mix = _shares(labels)
    langs = _shares(languages)
    report["psi"] = psi(profile.labels, mix)
    # a small window's mix wobbles: the PSI of a sample of n rows from an unchanged mix of k
    # labels is about (k - 1) / n, so that much is expected before anything moved
    k = sum(share >= 0.01 for share in profile.labels.values())
    report["psi_expected_noise"] = max(k - 1, 0) / len(texts)
    report["language_shift"] = max(abs(langs.get(k, 0.0) - profile.languages.get(k, 0.0))
                                   for k in set(langs) | set(profile.languages))  # fmt: skip
    report["unseen_share"] = _unseen(texts, profile.vocabulary)
    report["unseen_baseline"] = profile.unseen_baseline
    report["length_ratio"] = float(texts.str.len().mean() / max(profile.mean_length, 1.0))
    t = THRESHOLDS
    if report["psi"] - report["psi_expected_noise"] > t["psi"]:
        report["alerts"].append(f"prediction mix moved: PSI {report['psi']:.2f} > {t['psi']} "
                                f"(+{report['psi_expected_noise']:.2f} for the window's size)")  # fmt: skip
    if report["language_shift"] > t["language_shift"]:
        report["alerts"].append(
            f"language mix moved by {report['language_shift']:.0%} (now "
            + ", ".join(f"{k} {v:.0%}" for k, v in sorted(langs.items(), key=lambda kv: -kv[1])[:3])
            + ")"
        )
    excess = report["unseen_share"] - report["unseen_baseline"]
    if excess > t["unseen_excess"]:
        report["alerts"].append(f"{report['unseen_share']:.0%} of words never seen in training "
                                f"(normally {report['unseen_baseline']:.0%})")  # fmt: skip
    fresh = new_frequent_words(profile, texts)
    strong = new_frequent_words(profile, texts, min_share=0.05, factor=10.0)
    report["new_frequent_words"] = fresh[:10]
    if len(fresh) >= t["new_frequent_words"] or strong:
        report["alerts"].append("new frequent words: " + ", ".join((strong or fresh)[:6]))
    ratio = report["length_ratio"]
    if ratio > t["length_ratio"] or ratio < 1 / t["length_ratio"]:
        report["alerts"].append(f"texts are {ratio:.1f}× as long as in training")
    return report


def daily_monitor(profile: Profile, rows: pd.DataFrame,
                  window_days: int = WINDOW_DAYS) -> pd.DataFrame:  # fmt: skip
    """For each day of ``rows`` (columns ts, text, language, label): the window report over the
    ``window_days`` days to it. Columns: day, rows, psi, language_shift, unseen_share,
    length_ratio, alert (bool), reasons."""
    if rows.empty:
        return pd.DataFrame(columns=["day", "rows", "psi", "language_shift", "unseen_share",
                                     "length_ratio", "alert", "reasons"])  # fmt: skip
    rows = rows.assign(day=pd.to_datetime(rows["ts"]).dt.floor("D"))
    out = []
    for day in sorted(rows["day"].dropna().unique()):
        day = pd.Timestamp(day)
        window = rows[(rows["day"] > day - pd.Timedelta(days=window_days)) & (rows["day"] <= day)]
        r = window_report(profile, window["text"], window["language"], window["label"])
        out.append({"day": day.date(), "rows": r["rows"], "psi": r.get("psi"),
                    "language_shift": r.get("language_shift"), "unseen_share": r.get("unseen_share"),
                    "length_ratio": r.get("length_ratio"), "alert": bool(r["alerts"]),
                    "reasons": "; ".join(r["alerts"])})  # fmt: skip
    return pd.DataFrame(out)


def live_accuracy(pairs: pd.DataFrame, test_accuracy: float | None) -> dict[str, Any]:
    """Agreement of the version's predictions with fresh human labels (``label``, ``predicted``)
    and whether it dropped too far below the test accuracy."""
    n = int(len(pairs))
    out: dict[str, Any] = {"labels": n, "accuracy": None, "test_accuracy": test_accuracy,
                           "ece": None, "alert": None}  # fmt: skip
    if n == 0:
        return out
    correct = (pairs["label"] == pairs["predicted"]).to_numpy(dtype=float)
    accuracy = float(correct.mean())
    out["accuracy"] = accuracy
    if "probs" in pairs:  # calibration: is a 90 % confident prediction right 90 % of the time?
        import json

        confidence = np.array([max(json.loads(p).values()) if isinstance(p, str) else np.nan
                               for p in pairs["probs"]], dtype=float)  # fmt: skip
        known = ~np.isnan(confidence)
        if known.any():
            bins = np.clip((confidence[known] * 10).astype(int), 0, 9)
            gaps = [abs(confidence[known][bins == b].mean() - correct[known][bins == b].mean())
                    * (bins == b).sum() for b in np.unique(bins)]  # fmt: skip
            out["ece"] = float(sum(gaps) / known.sum())
    if (n >= MIN_LIVE_LABELS and test_accuracy is not None
            and accuracy < test_accuracy - THRESHOLDS["live_accuracy_drop"]):  # fmt: skip
        out["alert"] = (f"live accuracy {accuracy:.0%} on {n} fresh human labels, "
                        f"against {test_accuracy:.0%} on the test split")  # fmt: skip
    elif n >= MIN_LIVE_LABELS and out["ece"] is not None and out["ece"] > THRESHOLDS["live_ece"]:
        out["alert"] = (f"confidence no longer matches accuracy: calibration error "
                        f"{out['ece']:.2f} on {n} fresh human labels")  # fmt: skip
    return out


def monitor_task(ctx: Any, shop_id: str, task: str) -> dict[str, Any]:
    """The checks for one task's serving version on the shop: ``status`` (``ok``, ``drift``,
    ``no new rows``, ``no model``), the reasons, the latest window's report, the daily table
    and live accuracy."""
    from db.behaviour_queries import fresh_human_pairs, monitoring_rows

    version = ctx.registry.active(shop_id, task)
    out: dict[str, Any] = {"task": task, "version": version, "status": "no model", "reasons": []}
    if version is None:
        return out
    rows = monitoring_rows(ctx.store, shop_id, task, version)
    reference, current = rows[rows["reference"]], rows[~rows["reference"]]
    out.update({"reference_rows": int(len(reference)), "new_rows": int(len(current))})
    metrics = ctx.registry.version(shop_id, task, version).metrics
    live = live_accuracy(fresh_human_pairs(ctx.store, shop_id, task, version),
                         (metrics.get("model") or {}).get("accuracy"))  # fmt: skip
    out["live"] = live
    if reference.empty:
        out["status"] = "no reference"
        out["reasons"] = ["the task has no fixed split yet: train it once"]
        return out
    profile = reference_profile(reference["text"], reference["language"], reference["label"])
    daily = daily_monitor(profile, current.dropna(subset=["ts"]))
    out["daily"] = daily
    if not current.empty:
        last = pd.to_datetime(current["ts"]).max()
        window = current[pd.to_datetime(current["ts"]) > last - pd.Timedelta(days=WINDOW_DAYS)]
        out["latest"] = window_report(profile, window["text"], window["language"], window["label"])
        out["reasons"] = list(out["latest"]["alerts"])
    if live["alert"]:
        out["reasons"].append(live["alert"])
    judged = "psi" in out.get("latest", {}) or live["alert"]
    out["status"] = "drift" if out["reasons"] else ("ok" if judged else "no new rows")
    return out
