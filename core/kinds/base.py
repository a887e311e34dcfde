"""What a task is, whatever it predicts: the seams every task kind fills in.

A task is one object registered with :func:`register_task`. Its *kind* (text classification,
behaviour prediction, recommendation, anomaly) supplies most of the behaviour; a concrete task
adds what is its own (where its rows and labels come from, its label set). Everything outside a
task's module asks the task, never ``if task == ...``:

- ``train``: a candidate model and its baseline, both evaluated on the shop's fixed test split;
- ``load_predictor``: a saved version, ready to predict;
- ``score``: predictions for the shop's rows, written through the store;
- ``evaluate``: a saved version's metrics on the current test split (for fair promotion);
- ``explain``: why one prediction (or :class:`NotExplainable`);
- ``labelling``: how Label Studio shows its rows and reads answers back (None: not labelled);
- ``pages``: the dashboard pages that show its output.

    >>> get_task("sentiment").kind, get_task("sentiment").metric
    ('text_classification', 'macro_f1')
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from common.errors import InputError, ShopLensError

if TYPE_CHECKING:
    from core.context import Context
    from core.engines import ScoringEngine

Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """A progress callback that reports nothing."""


class NotExplainable(ShopLensError):
    """The task's models cannot explain single predictions; the message says what to use."""


@dataclass
class Candidate:
    """A trained model (or a baseline) ready to be saved as a version.

    ``metrics`` are measured on the shop's fixed test split; ``write(folder)`` writes every file
    the task's :meth:`Task.load_predictor` needs; ``meta`` is stored beside them.
    """

    model_type: str
    metrics: dict[str, Any]
    meta: dict[str, Any]
    write: Callable[[Path], None]
    is_baseline: bool = False


def joblib_writer(obj: Any, filename: str) -> Callable[[Path], None]:
    """A ``Candidate.write`` that pickles ``obj`` (joblib) into ``filename`` of the folder."""

    def write(folder: Path) -> None:
        import joblib

        joblib.dump(obj, folder / filename)

    return write


@dataclass
class TrainOutcome:
    """What a task's training produced: the model, its baseline (same rows, same test split;
    None for a task that has none, e.g. an unsupervised one) and that test split's fingerprint."""

    model: Candidate
    baseline: Candidate | None
    test_fingerprint: str
    data_fingerprint: str
    labels_used: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LabellingSpec:
    """How a task's rows are labelled by people: the annotation template (``choices``: one label
    per row from ``choices``; the labelling layer renders it for Label Studio) and a one-line
    guide for annotators. An answer outside ``choices`` is refused, unless the spec is ``open``:
    then an annotator may type a new label (a lower-case name) where none fits, and it becomes
    one of the shop's labels (a new intent, say)."""

    template: str
    choices: tuple[str, ...]
    guide: str = ""
    open: bool = False


class Task(ABC):
    """One prediction task; see the module docstring for the seams."""

    kind: ClassVar[str]
    metric: ClassVar[str]  # the primary metric on the test split, higher is better

    def __init__(self, name: str, description: str, labels: Sequence[str] = (),
                 pages: Sequence[str] = (), order: int = 100) -> None:  # fmt: skip
        self.order = order  # where lists of tasks show it (then by name)
        self.name = name
        self.description = description
        self.labels = tuple(labels)
        self.pages = tuple(pages)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # --- training and evaluation -------------------------------------------------------------
    @abstractmethod
    def train(self, ctx: Context, shop_id: str, config: Any, progress: Progress) -> TrainOutcome:
        """Train a candidate and its baseline on the shop's data (see :class:`TrainOutcome`)."""

    @abstractmethod
    def evaluate(self, ctx: Context, shop_id: str, predictor: Any,
                 max_rows: int | None = None) -> tuple[dict[str, Any], str]:  # fmt: skip
        """A loaded version's metrics on the shop's current test split (its first ``max_rows``
        rows, as the version was measured), and that split's fingerprint."""

    # --- serving -----------------------------------------------------------------------------
    @abstractmethod
    def load_predictor(self, folder: Path, meta: dict[str, Any], device: str) -> Any:
        """A saved version (its folder and meta), ready to predict on ``device``."""

    # whether the Monitoring page checks the task's rows for drift: rows that are the shop's
    # stored texts (reviews, messages, review sentences), with a date and a language
    monitored: bool = False

    # whether :meth:`score` computes through the engine it is given (a distributed one
    # included); a task that cannot is scored on this machine only
    distributed: bool = False

    # whether scoring keeps the spread of each class's probability for the pages (a two-class
    # task whose label is the more probable class: db.repo.predictions.keep_spreads)
    spread_kept: bool = False

    @abstractmethod
    def score(self, ctx: Context, shop_id: str, version: str, engine: ScoringEngine,
              progress: Progress) -> int:  # fmt: skip
        """Write the version's predictions for the shop's rows it has not scored yet; returns
        how many rows were scored."""

    def explain(self, predictor: Any, text: str, n_steps: int = 20) -> Any:
        """Why the predictor says what it says about ``text``."""
        raise NotExplainable(f"{self.name} predictions cannot be explained word by word.")

    @property
    def explainable(self) -> bool:
        return type(self).explain is not Task.explain

    # --- labelling ---------------------------------------------------------------------------
    labelling: LabellingSpec | None = None

    def labelling_spec(self, ctx: Context, shop_id: str) -> LabellingSpec | None:
        """The labelling spec for one shop (a task whose choices are the shop's own, such as
        its aspect set, overrides this)."""
        return self.labelling

    def uncertainty_probs(self, probs: Sequence[dict[str, float]]) -> Any:
        """A probability matrix (rows: predictions, columns: classes) that the uncertainty
        signals rank for labelling; by default the stored probabilities, classes in the order
        they appear."""
        import numpy as np

        labels = list(dict.fromkeys(k for p in probs for k in p)) or list(self.labels)
        matrix = np.array([[float(p.get(label, 0.0)) for label in labels] for p in probs])
        if not matrix.size:
            return matrix.reshape(0, len(labels))
        sums = matrix.sum(axis=1, keepdims=True)
        return matrix / np.where(sums > 0, sums, 1.0)

    def label_set(self, ctx: Context, shop_id: str) -> tuple[str, ...]:
        """The labels a shop's model of this task predicts (a task whose labels are the shop's
        own, such as its intents, overrides this)."""
        return self.labels

    def labelling_rows(self, ctx: Context, shop_id: str, target_ids: Sequence[str]) -> pd.DataFrame:
        """``target_id``, ``text`` and context columns of the rows to show annotators
        (unmasked: the labelling layer masks personal data before anything leaves)."""
        raise ShopLensError(f"{self.name} rows are not sent to annotators.")

    def labelling_texts(self, ctx: Context, shop_id: str) -> pd.DataFrame:
        """``target_id`` and ``text`` of every row (diverse batches cluster on them)."""
        return self.labelling_rows(ctx, shop_id, [])[["target_id", "text"]]


# --- the registry ----------------------------------------------------------------------------
TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Register ``task`` under its name (once); returns it, so a module can write
    ``SENTIMENT = register_task(ReviewSentiment(...))``."""
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is registered twice")
    TASKS[task.name] = task
    return task


def unregister_task(name: str) -> None:
    """Remove a task (tests that register a toy task clean up with this)."""
    TASKS.pop(name, None)


def get_task(name: str) -> Task:
    """The registered task called ``name``; an :class:`InputError` lists the known ones."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        known = ", ".join(t.name for t in all_tasks())
        raise InputError(f"unknown task {str(name)[:80]!r}; choose one of: {known}") from None


def all_tasks(kind: str | None = None) -> list[Task]:
    """Every registered task (of one kind), in display order."""
    tasks = sorted(TASKS.values(), key=lambda t: (t.order, t.name))
    return [t for t in tasks if kind is None or t.kind == kind]


def labelled_tasks() -> list[Task]:
    """Tasks whose rows go to annotators."""
    return [t for t in all_tasks() if t.labelling is not None]


def tasks_on_page(page: str) -> list[Task]:
    """Tasks whose output a dashboard page shows."""
    return [t for t in all_tasks() if page in t.pages]
