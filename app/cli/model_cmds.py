"""``shoplens`` model commands: train, evaluate, score, predict, explain, models, promote,
rollback. Each is a thin wrapper over ``core/``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from common.errors import InputError, ShopLensError
from db.store import Store

# `make run` builds first models with these: a small encoder sample and a per-task budget keep
# the four tasks to a few minutes on 2 CPU cores.
FIRST_MODEL_OVERRIDES = {
    "max_minutes": 1.5,
    "epochs": 2,
    "max_train_examples": 800,
    "max_eval_examples": 600,
    "check_int8": True,
}


def _progress_bar(desc: str):  # noqa: ANN202
    from tqdm import tqdm

    bar = tqdm(total=100, desc=desc, unit="%", file=sys.stderr, leave=True)

    def update(fraction: float, message: str) -> None:
        bar.n = int(round(100 * min(max(fraction, 0.0), 1.0)))
        bar.set_postfix_str(message[:50], refresh=True)

    return bar, update


def _store() -> Store:
    return Store.from_settings()


def _train_one(store: Store, task: str, overrides: dict, force: bool) -> int:
    from core.tasks import check_target
    from core.training import TrainingConfig, train_task

    check_target(task, overrides.get("shop_id", "sample"))  # before any output names the task
    config = TrainingConfig(**overrides)
    bar, update = _progress_bar(f"train {task}")
    try:
        result = train_task(store, task, config, progress=update, force_promote=force)
    finally:
        bar.close()
    model, tfidf = result.metrics["model"], result.metrics["baselines"]["tfidf_lr"]
    state = "promoted (active)" if result.promoted else "kept; the active version scores higher"
    print(f"{task} {result.version}: test macro-F1 {model['macro_f1']:.3f} "
          f"(TF-IDF+LR {tfidf['macro_f1']:.3f}), accuracy {model['accuracy']:.3f}, "
          f"{result.train_seconds:.0f} s; {state}")  # fmt: skip
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train one task, or every text task (``--all``), optionally only those without a model."""
    from core.registry import active_version
    from core.tasks import text_tasks

    overrides: dict = {"shop_id": args.shop}
    if args.all:
        overrides.update(FIRST_MODEL_OVERRIDES)
    for name in ("max_minutes", "epochs", "max_train_examples", "trainable_layers"):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    if args.all == bool(args.task):
        raise InputError("give one TASK or --all (e.g. `shoplens train sentiment`)")
    store = _store()
    if not args.all:
        return _train_one(store, args.task, overrides, args.force_promote)
    for task in text_tasks():
        if args.if_missing and active_version(task):
            print(f"{task}: already has an active model, skipped")
            continue
        try:
            _train_one(store, task, overrides, args.force_promote)
        except InputError as exc:  # a shop without messages or events: say so, go on
            print(f"{task}: skipped: {exc}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print a version's stored test metrics and its baselines as JSON."""
    from core.registry import active_version, list_versions

    version = args.version or active_version(args.task)
    match = [v for v in list_versions(args.task) if v["version"] == version]
    if not match:
        raise ShopLensError(f"No {args.task} model version {version!r}: train one first.")
    v = match[0]
    out = {"task": args.task, "version": version, "active": v["active"], **v["metrics"]}
    print(json.dumps(out, indent=2))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score the rows of a task that lack a prediction from the active version."""
    from core.inference import score_task
    from core.tasks import check_target

    check_target(args.task, args.shop)  # before any output names the task

    bar, update = _progress_bar(f"score {args.task}")
    try:
        n = score_task(_store(), args.task, shop_id=args.shop, progress=update)
    finally:
        bar.close()
    print(f"{args.task}: scored {n} rows in shop {args.shop}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict every row of a CSV/Parquet file into an output CSV."""
    from core.inference import predict_file

    n = predict_file(args.task, Path(args.input), args.text_column, Path(args.output))
    print(f"wrote {n} rows to {args.output}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Explain one prediction as JSON (words, scores, convergence delta)."""
    from core.explain import explain_text

    if not args.text.strip():
        raise InputError("give a non-empty text to explain")
    print(json.dumps(asdict(explain_text(args.task, args.text, n_steps=args.steps)), indent=2))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List model versions per task with their test macro-F1."""
    from core.registry import list_versions
    from core.tasks import text_tasks

    for task in [args.task] if args.task else text_tasks():
        versions = list_versions(task)
        if not versions:
            print(f"{task}: no model yet (`shoplens train {task}`)")
        for v in versions:
            f1 = v["metrics"].get("model", {}).get("macro_f1")
            mark = "*" if v["active"] else " "
            f1_text = f"{f1:.3f}" if f1 is not None else "n/a"
            print(f"{mark} {task:10s} {v['version']}  macro-F1 {f1_text}  "
                  f"plan {v.get('plan', '?')}  {v.get('train_seconds', 0):.0f} s")  # fmt: skip
    return 0


def _store_if_exists() -> Store | None:
    store = _store()
    return store if store.exists() else None


def cmd_promote(args: argparse.Namespace) -> int:
    """Activate a version (only if it is at least as good, unless --force)."""
    from core.registry import promote

    if promote(args.task, args.version, force=args.force, store=_store_if_exists()):
        print(f"{args.task}: {args.version} is active")
        return 0
    raise ShopLensError(
        f"{args.version} has a lower test macro-F1 than the active {args.task} model; "
        "use --force to activate it anyway"
    )


def cmd_rollback(args: argparse.Namespace) -> int:
    """Re-activate the previously active version."""
    from core.registry import rollback

    print(f"{args.task}: {rollback(args.task, store=_store_if_exists())} is active")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the model commands to the ``shoplens`` parser."""
    p = subparsers.add_parser("train", help="train a task's model (or --all)")
    p.add_argument("task", nargs="?", help="sentiment | intent | demand | purchase")
    p.add_argument("--all", action="store_true", help="every text task, with quick defaults")
    p.add_argument("--if-missing", action="store_true", help="skip tasks that have a model")
    p.add_argument("--max-minutes", type=float, help="wall-clock budget per task")
    p.add_argument("--epochs", type=int)
    p.add_argument("--max-train-examples", type=int, help="cap the encoder's training rows")
    p.add_argument("--trainable-layers", type=int, help="top layers to train; -1 = all")
    p.add_argument("--force-promote", action="store_true", help="activate even if not better")
    p.add_argument("--shop", default="sample")
    p.set_defaults(handler=cmd_train)

    p = subparsers.add_parser("evaluate", help="print a model version's test metrics as JSON")
    p.add_argument("task")
    p.add_argument("--version")
    p.set_defaults(handler=cmd_evaluate)

    p = subparsers.add_parser("score", help="write predictions for rows not yet scored")
    p.add_argument("task")
    p.add_argument("--shop", default="sample")
    p.set_defaults(handler=cmd_score)

    p = subparsers.add_parser("predict", help="predict a CSV/Parquet file into a CSV")
    p.add_argument("task")
    p.add_argument("--input", required=True)
    p.add_argument("--text-column", required=True)
    p.add_argument("--output", required=True)
    p.set_defaults(handler=cmd_predict)

    p = subparsers.add_parser("explain", help="word attributions for one text, as JSON")
    p.add_argument("task")
    p.add_argument("text")
    p.add_argument("--steps", type=int, default=20)
    p.set_defaults(handler=cmd_explain)

    p = subparsers.add_parser("models", help="list model versions")
    p.add_argument("task", nargs="?")
    p.set_defaults(handler=cmd_models)

    p = subparsers.add_parser("promote", help="activate a model version")
    p.add_argument("task")
    p.add_argument("version")
    p.add_argument("--force", action="store_true")
    p.set_defaults(handler=cmd_promote)

    p = subparsers.add_parser("rollback", help="re-activate the previous model version")
    p.add_argument("task")
    p.set_defaults(handler=cmd_rollback)
