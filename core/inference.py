"""Scoring: the active model's label, class probabilities, entropy and margin for a task's rows,
written to the ``predictions`` table; and predictions for any CSV/Parquet file.

Only rows without a prediction from the active version are scored. Results are written in short
transactions (``WRITE_CHUNK`` rows each) so the dashboard and other jobs get the store in between.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from common.errors import InputError
from core.registry import load_model
from core.tasks import get_task
from core.uncertainty import entropy, margin

if TYPE_CHECKING:
    from db.store import Store

WRITE_CHUNK = 512
Progress = Callable[[float, str], None]


def predict_texts(task: str, texts: list[str], version: str | None = None) -> pd.DataFrame:
    """Label and one ``prob_<label>`` column per class for each text (the active version unless
    ``version`` is given)."""
    model = load_model(task, version)
    return _frame(model.labels, model.predict_proba(list(texts)))


def _frame(labels: tuple[str, ...], probs: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame(probs, columns=[f"prob_{label}" for label in labels])
    out.insert(0, "label", [labels[i] for i in probs.argmax(axis=1)] if len(probs) else [])
    return out


def unscored_rows(store: Store, task: str, shop_id: str, version: str) -> pd.DataFrame:
    """The task's texts that have no prediction from ``version`` yet."""
    texts = get_task(task).load_texts(store, shop_id)
    done = store.query_df(
        "SELECT target_id FROM predictions WHERE shop_id = ? AND task = ? AND model_version = ?",
        [shop_id, task, version],
    )
    return texts[~texts["target_id"].isin(done["target_id"])].reset_index(drop=True)


def prediction_rows(
    shop_id: str, task: str, version: str, labels: tuple[str, ...], ids: list[str],
    probs: np.ndarray,
) -> pd.DataFrame:  # fmt: skip
    """Rows for the predictions table from a probability matrix."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return pd.DataFrame(
        {
            "shop_id": shop_id, "task": task, "target_id": ids, "model_version": version,
            "label": [labels[i] for i in probs.argmax(axis=1)],
            "probs": [json.dumps({k: round(float(p), 6) for k, p in zip(labels, row, strict=True)})
                      for row in probs],
            "entropy": entropy(probs), "margin": margin(probs), "created_at": now,
        }
    )  # fmt: skip


def write_predictions(store: Store, rows: pd.DataFrame) -> None:
    """Insert (or replace) prediction rows in one short transaction."""
    with store.write() as con:
        con.register("new_predictions", rows)
        con.execute(
            "INSERT OR REPLACE INTO predictions (shop_id, task, target_id, model_version, label, "
            "probs, entropy, margin, created_at) SELECT shop_id, task, target_id, model_version, "
            "label, probs::JSON, entropy, margin, created_at FROM new_predictions"
        )


def score_task(
    store: Store, task: str, shop_id: str = "sample", progress: Progress | None = None,
    batch_size: int = 16,
) -> int:  # fmt: skip
    """Predict every row of ``task`` in ``shop_id`` that lacks a prediction from the active
    version; returns how many rows were scored."""
    if not get_task(task).trainable:
        from core.risk import score_risk_to_store

        return score_risk_to_store(store, shop_id)
    model = load_model(task)
    todo = unscored_rows(store, task, shop_id, model.version)
    for start in range(0, len(todo), WRITE_CHUNK):
        chunk = todo.iloc[start : start + WRITE_CHUNK]
        probs = model.predict_proba(chunk["text"].fillna("").tolist(), batch_size)
        ids = chunk["target_id"].tolist()
        write_predictions(store, prediction_rows(shop_id, task, model.version, model.labels, ids,
                                                 probs))  # fmt: skip
        if progress:
            progress(min(1.0, (start + len(chunk)) / len(todo)), f"{start + len(chunk)} scored")
    return len(todo)


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame, with errors that say what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist")
    try:
        df = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"input file {path} is empty") from None
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, ValueError) as exc:
        raise InputError(
            f"cannot read {path} as {'Parquet' if path.suffix == '.parquet' else 'CSV'}: {exc}"
        ) from None
    if df.empty:
        raise InputError(f"input file {path} has a header but no rows")
    return df


def predict_file(task: str, input_path: Path, text_column: str, output_path: Path) -> int:
    """Predict every row of a CSV/Parquet file and write a CSV: the input columns, ``label`` and
    one ``prob_<label>`` column per class, one output row per input row. Returns the row count."""
    df = read_table(input_path)
    if text_column not in df.columns:
        raise InputError(
            f"{input_path} has no column {text_column!r}; its columns are: {', '.join(map(str, df.columns))}"
        )
    texts = df[text_column].fillna("").astype(str).tolist()
    preds = predict_texts(task, texts)
    # an input column named like an output one keeps its data under "<name>_input"
    clash = {c: f"{c}_input" for c in preds.columns if c in df.columns}
    out = pd.concat([df.rename(columns=clash).reset_index(drop=True), preds], axis=1)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(output_path, index=False)
    return len(out)
