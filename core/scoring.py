"""Scoring a shop's rows with its active model, and predicting texts or files with it.

Which rows, which model and how predictions are computed is the task's (``Task.score``); this
module is the entry point every caller uses and the shared shape of a prediction row.

    >>> score_task(ctx, "sentiment", "acme")
    1204
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from common.errors import InputError
from common.files import check_output, write_atomically
from core.engines import LocalEngine, ScoringEngine
from core.kinds.base import Progress, all_tasks, get_task, no_progress
from core.uncertainty import entropy, margin
from db.repo import predictions as prediction_repo
from db.shops import check_shop_id

if TYPE_CHECKING:
    from core.context import Context


def prediction_frame(
    shop_id: str, task: str, version: str, labels: Sequence[str], ids: Sequence[str],
    probs: np.ndarray, reasons: Sequence[str | None] | None = None,
    predicted: Sequence[str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Rows for the predictions table: label (the most probable class unless ``predicted`` is
    given), probabilities as JSON, entropy, margin and an optional reason per row."""
    now = datetime.now(UTC).replace(tzinfo=None)
    labels = list(labels)
    return pd.DataFrame(
        {
            "shop_id": shop_id, "task": task, "target_id": list(ids), "model_version": version,
            "label": list(predicted) if predicted is not None
            else [labels[i] for i in probs.argmax(axis=1)],
            "probs": [json.dumps({k: round(float(p), 6) for k, p in zip(labels, row, strict=True)})
                      for row in probs],
            "entropy": entropy(probs), "margin": margin(probs),
            "reason": list(reasons) if reasons is not None else None, "created_at": now,
        }
    )  # fmt: skip


def score_task(ctx: Context, task: str, shop_id: str, progress: Progress | None = None,
               engine: ScoringEngine | None = None) -> int:  # fmt: skip
    """Score the shop's rows that the active version of ``task`` has not scored yet; returns how
    many were scored. A shop without a model of its own gets a message saying how to get one."""
    spec = get_task(task)
    check_shop_id(shop_id)
    if engine is not None and engine.name != "local" and not spec.distributed:
        can = ", ".join(t.name for t in all_tasks() if t.distributed)
        raise InputError(f"{task} is scored on this machine only (drop --engine); the "
                         f"{engine.name} engine scores {can}")  # fmt: skip
    version = ctx.registry.require_active(shop_id, task)
    scored = spec.score(ctx, shop_id, version, engine or LocalEngine(), progress or no_progress)
    if spec.spread_kept and (
        scored or not prediction_repo.has_spreads(ctx.store, shop_id, task, version)
    ):  # nothing written and the spread kept: it still counts every row
        prediction_repo.keep_spreads(ctx.store, shop_id, task, version, spec.labels)
    return scored


def probability_frame(labels: Sequence[str], probs: np.ndarray) -> pd.DataFrame:
    """``label`` and one ``prob_<label>`` column per class."""
    out = pd.DataFrame(probs, columns=[f"prob_{label}" for label in labels])
    out.insert(0, "label", [labels[i] for i in probs.argmax(axis=1)] if len(probs) else [])
    return out


def predict_texts(ctx: Context, task: str, shop_id: str, texts: Sequence[str],
                  version: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Label and one ``prob_<label>`` column per class for each text, by the shop's active
    version (or ``version``)."""
    predictor = ctx.registry.load(shop_id, task, version)
    if not hasattr(predictor, "predict_proba"):
        raise InputError(f"{task} predictions are not one label per text: use `shoplens "
                         f"{task} --input FILE --text-column COL --output OUT.csv`")  # fmt: skip
    return probability_frame(predictor.labels, predictor.predict_proba(list(texts)))


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame, with errors that say what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist")
    kind = "Parquet" if path.suffix.lower() == ".parquet" else "CSV"
    try:
        df = pd.read_parquet(path) if kind == "Parquet" else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"input file {path} is empty") from None
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} as {kind}: {exc}") from None
    if df.empty:
        raise InputError(f"input file {path} has a header but no rows")
    return df


def predict_file(ctx: Context, task: str, shop_id: str, input_path: Path, text_column: str,
                 output_path: Path, overwrite: bool = False,
                 engine: ScoringEngine | None = None) -> int:  # fmt: skip
    """Predict every row of a CSV/Parquet file with the shop's active model and write a CSV:
    the input columns, ``label`` and one ``prob_<label>`` column per class, one output row per
    input row. The output is checked first (never the store, the runtime folder or the input;
    an existing file only with ``overwrite``) and written whole or not at all."""
    target = check_output(output_path, home=ctx.home, inputs=[input_path], overwrite=overwrite,
                          protected=[ctx.store.db_path, ctx.settings.models.models_dir])  # fmt: skip
    df = read_table(input_path)
    if text_column not in df.columns:
        raise InputError(
            f"{input_path} has no column {text_column!r}; its columns are: "
            f"{', '.join(map(str, df.columns))}"
        )
    texts = df[text_column].fillna("").astype(str).tolist()
    if engine is None:
        preds = predict_texts(ctx, task, shop_id, texts)
    else:  # a distributed engine: rows numbered, results put back in the file's order
        version = ctx.registry.require_active(shop_id, task)
        labels = list(ctx.registry.meta(shop_id, task, version).get("labels") or [])
        rows = pd.DataFrame({"target_id": [str(i) for i in range(len(texts))], "text": texts})
        got: dict[int, np.ndarray] = {}
        for ids, probs in engine.predict_texts(ctx, shop_id, task, version, rows):
            got.update({int(i): p for i, p in zip(ids, probs, strict=True)})
        preds = probability_frame(labels, np.vstack([got[i] for i in range(len(texts))]))
    # an input column named like an output one keeps its data under "<name>_input"
    clash = {c: f"{c}_input" for c in preds.columns if c in df.columns}
    out = pd.concat([df.rename(columns=clash).reset_index(drop=True), preds], axis=1)
    write_atomically(target, lambda tmp: out.to_csv(tmp, index=False))
    return len(out)


def aspect_predictor(ctx: Context, shop_id: str, task: str = "aspects"):  # noqa: ANN201
    """The shop's active aspect model, or the rules over the shop's aspect set when it has none
    (rules need no training)."""
    from core.aspect_model import RuleAspects
    from core.kinds.aspect_sentiment import shop_aspect_set

    if ctx.registry.active(shop_id, task):
        return ctx.registry.load(shop_id, task)
    return RuleAspects(shop_aspect_set(ctx, shop_id))


def _file_ratings(df: pd.DataFrame, column: str | None, path: Path) -> list[float | None] | None:
    """The rating column's stars per row (None where empty), refusing what is not 1-5."""
    if column is None:
        return None
    if column not in df.columns:
        raise InputError(f"{path} has no rating column {column!r}; its columns are: "
                         f"{', '.join(map(str, df.columns))}")  # fmt: skip
    from core.aspect_model import first_invalid_rating

    raw = df[column]
    blank = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
    numbers = pd.to_numeric(raw.where(~blank), errors="coerce").to_numpy(dtype=float)
    # a value that is not a number stays NaN, which is not a rating either
    stars = [None if empty else float(v) for empty, v in zip(blank, numbers, strict=True)]
    row = first_invalid_rating(stars)
    if row is not None:
        raise InputError(f"{path}: row {row} of column {column!r} holds {df[column].iloc[row]!r}, "
                         "not a rating: give 1-5 stars or leave it empty")  # fmt: skip
    return stars


def aspects_file(ctx: Context, shop_id: str, input_path: Path, text_column: str,
                 output_path: Path, overwrite: bool = False,
                 rating_column: str | None = None) -> int:  # fmt: skip
    """One CSV line per aspect mention in the texts of a CSV/Parquet file: ``row`` (0-based
    input row), ``sentence``, ``aspect``, ``polarity``, ``confidence``; rows without an aspect
    give no line; ``rating_column``: each text's review rating (1-5 stars, empty: none). Written
    whole or not at all; returns the number of lines."""
    from core.demand_rules import split_sentences

    target = check_output(output_path, home=ctx.home, inputs=[input_path], overwrite=overwrite,
                          protected=[ctx.store.db_path, ctx.settings.models.models_dir])  # fmt: skip
    df = read_table(input_path)
    if text_column not in df.columns:
        raise InputError(f"{input_path} has no column {text_column!r}; its columns are: "
                         f"{', '.join(map(str, df.columns))}")  # fmt: skip
    stars = _file_ratings(df, rating_column, input_path)
    rows, sentences = [], []
    for number, text in enumerate(df[text_column].fillna("").astype(str)):
        for sentence in split_sentences(text):
            rows.append(number)
            sentences.append(sentence)
    predictor = aspect_predictor(ctx, shop_id)
    found = predictor.extract(
        sentences, ratings=None if stars is None else [stars[r] for r in rows]
    )
    lines = [(row, sentence, m.aspect, m.polarity, round(m.confidence, 4))
             for row, sentence, mentions in zip(rows, sentences, found, strict=True)
             for m in mentions]  # fmt: skip
    out = pd.DataFrame(lines, columns=["row", "sentence", "aspect", "polarity", "confidence"])
    write_atomically(target, lambda tmp: out.to_csv(tmp, index=False))
    return len(out)
