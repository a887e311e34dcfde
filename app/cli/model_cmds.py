"""``shoplens`` model commands: train, evaluate, score, predict, explain, models (list, copy),
promote, rollback. Each is a thin wrapper over ``core/``; tasks come from the task registry."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import InputError, ShopLensError

if TYPE_CHECKING:
    from app.cli import Runtime

# `make run` builds first models with these: a small encoder sample and a per-task budget keep
# the tasks to a few minutes on 2 CPU cores.
FIRST_MODEL_OVERRIDES = {
    "max_minutes": 1.5,
    "epochs": 2,
    "max_train_examples": 800,
    "max_eval_examples": 600,
    "check_int8": True,
}


def _task_names() -> str:
    from core.tasks import all_tasks

    return " | ".join(t.name for t in all_tasks())


def _progress_bar(desc: str):  # noqa: ANN202
    from tqdm import tqdm

    bar = tqdm(total=100, desc=desc, unit="%", file=sys.stderr, leave=True)

    def update(fraction: float, message: str) -> None:
        bar.n = int(round(100 * min(max(fraction, 0.0), 1.0)))
        bar.set_postfix_str(message[:50], refresh=True)

    return bar, update


def _train_one(rt: Runtime, task: str, shop: str, overrides: dict[str, Any], force: bool) -> None:
    from core.tasks import check_target
    from core.training import TrainingConfig, train_task

    check_target(task, shop)  # before any output names the task
    config = TrainingConfig(**overrides)
    bar, update = _progress_bar(f"train {task}")
    try:
        result = train_task(rt.ctx, task, shop, config, progress=update, force_promote=force)
    finally:
        bar.close()
    print(result.summary())
    for note in result.notes:
        print(f"  note: {note}")


def cmd_train(args: argparse.Namespace, rt: Runtime) -> int:
    """Train one task, or every task (``--all``), optionally only those without a model."""
    from core.tasks import all_tasks

    overrides: dict[str, Any] = {}
    if args.all:
        overrides.update(FIRST_MODEL_OVERRIDES)
    for name in ("max_minutes", "epochs", "max_train_examples", "trainable_layers", "horizon_days",
                 "encoder_minutes"):  # fmt: skip
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    if args.all == bool(args.task):
        raise InputError("give one TASK or --all (e.g. `shoplens train sentiment`)")
    if not args.all:
        _train_one(rt, args.task, args.shop, overrides, args.force_promote)
        return 0
    for task in all_tasks():
        if args.if_missing and rt.ctx.registry.active(args.shop, task.name):
            print(f"{task.name}: shop {args.shop} has an active model already, skipped")
            continue
        try:
            _train_one(rt, task.name, args.shop, overrides, args.force_promote)
        except InputError as exc:  # a shop without messages or events: say so, go on
            print(f"{task.name}: skipped: {exc}")
    return 0


def cmd_evaluate(args: argparse.Namespace, rt: Runtime) -> int:
    """Print a version's stored test metrics and its baselines as JSON."""
    registry = rt.ctx.registry
    version = args.version or registry.require_active(args.shop, args.task)
    row = registry.version(args.shop, args.task, version)
    out = {"task": args.task, "shop": args.shop, "version": version, "active": row.active,
           "model_type": row.model_type, "forced": row.forced, **row.metrics}  # fmt: skip
    print(json.dumps(out, indent=2, default=str))
    return 0


def cmd_score(args: argparse.Namespace, rt: Runtime) -> int:
    """Score the rows of a task (or every task with an active model) that lack a prediction
    from the active version."""
    from core.engines import LocalEngine, make_engine
    from core.scoring import score_task
    from core.tasks import all_tasks, check_target, get_task

    if args.all == bool(args.task):
        raise InputError("give one TASK or --all (e.g. `shoplens score sentiment`)")
    engine = make_engine(args.engine, args.address)
    if args.all:
        tasks = [t.name for t in all_tasks() if rt.ctx.registry.active(args.shop, t.name)]
        if not tasks:
            print(
                f"shop {args.shop} has no active model yet: `shoplens train --all --shop {args.shop}`"
            )
    else:
        check_target(args.task, args.shop)  # before any output names the task
        tasks = [args.task]
    for task in tasks:
        here = args.all and engine.name != "local" and not get_task(task).distributed
        if here:
            print(f"{task}: scored on this machine (the {engine.name} engine does not score it)")
        bar, update = _progress_bar(f"score {task}")
        try:
            n = score_task(rt.ctx, task, args.shop, progress=update,
                           engine=LocalEngine() if here else engine)  # fmt: skip
        finally:
            bar.close()
        print(f"{task}: scored {n} rows in shop {args.shop}")
    return 0


def cmd_predict(args: argparse.Namespace, rt: Runtime) -> int:
    """Predict every row of a CSV/Parquet file into an output CSV."""
    from core.engines import make_engine
    from core.scoring import predict_file
    from core.tasks import check_target

    check_target(args.task, args.shop)
    engine = make_engine(args.engine, args.address) if args.engine != "local" else None
    n = predict_file(rt.ctx, args.task, args.shop, Path(args.input), args.text_column,
                     Path(args.output), overwrite=args.overwrite, engine=engine)  # fmt: skip
    print(f"wrote {n} rows to {args.output}")
    return 0


def cmd_explain(args: argparse.Namespace, rt: Runtime) -> int:
    """Explain one prediction as JSON (what the serving model's parts say, and why)."""
    from core.tasks import check_target

    spec = check_target(args.task, args.shop)
    if not args.text.strip():
        raise InputError("give a non-empty text to explain")
    predictor = rt.ctx.registry.load(args.shop, args.task)
    result = spec.explain(predictor, args.text, n_steps=args.steps)
    print(json.dumps(asdict(result), indent=2, default=str))
    return 0


def cmd_models(args: argparse.Namespace, rt: Runtime) -> int:
    """List a shop's model versions per task with their primary test metric and baseline."""
    from core.promotion import baseline_score, model_score
    from core.tasks import all_tasks, get_task

    if args.copy_from:
        return cmd_copy(args, rt)

    fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    for spec in [get_task(args.task)] if args.task else all_tasks():
        versions = rt.ctx.registry.versions(args.shop, spec.name)
        if not versions:
            print(f"{spec.name}: shop {args.shop} has no model yet "
                  f"(`shoplens train {spec.name} --shop {args.shop}`)")  # fmt: skip
        for v in versions:
            mark = "*" if v.active else " "
            forced = " (forced)" if v.forced else ""
            copied = f" copied from {v.copied_from}" if v.copied_from else ""
            print(f"{mark} {spec.name:10s} {v.version}  {v.model_type:16s} {spec.metric} "
                  f"{fmt(model_score(v.metrics, spec.metric))} (baseline "
                  f"{fmt(baseline_score(v.metrics, spec.metric))}){forced}{copied}")  # fmt: skip
    return 0


def cmd_copy(args: argparse.Namespace, rt: Runtime) -> int:
    """Copy another shop's version into this shop (and activate it unless --no-activate)."""
    from core.tasks import check_target

    if not args.task:
        raise InputError("name the task to copy, e.g. `shoplens models sentiment --copy-from acme`")
    check_target(args.task, args.shop)
    check_target(args.task, args.copy_from)
    registry = rt.ctx.registry
    version = args.version or registry.require_active(args.copy_from, args.task)
    new = registry.copy(args.task, version, args.copy_from, args.shop)
    text = f"{args.task}: {args.copy_from}/{version} copied to shop {args.shop} as {new}"
    if not args.no_activate:
        registry.activate(args.shop, args.task, new, action="copy")
        text += " (active; its metrics were measured on the other shop's data)"
    print(text)
    return 0


def cmd_promote(args: argparse.Namespace, rt: Runtime) -> int:
    """Activate a version if it beats the active one and its baseline (or with --force)."""
    from core.promotion import promote

    decision = promote(rt.ctx, args.shop, args.task, args.version, force=args.force)
    if not decision.promoted:
        raise ShopLensError(f"{args.task}: {decision.reason}; use --force to activate it anyway")
    print(f"{args.task}: {decision.reason}")
    if decision.forced:
        print("warning: this version was forced in; the Models page shows it as forced")
    return 0


def cmd_rollback(args: argparse.Namespace, rt: Runtime) -> int:
    """Re-activate the shop's previously active version."""
    print(f"{args.task}: {rt.ctx.registry.rollback(args.shop, args.task)} is active in shop "
          f"{args.shop}")  # fmt: skip
    return 0


def _shop(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shop", default="sample", help="shop id (default: sample)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the model commands to the ``shoplens`` parser."""
    tasks = _task_names()
    p = subparsers.add_parser("train", help="train a task's model for a shop (or --all)")
    p.add_argument("task", nargs="?", help=tasks)
    p.add_argument("--all", action="store_true", help="every task, with quick defaults")
    p.add_argument("--if-missing", action="store_true", help="skip tasks that have a model")
    p.add_argument("--max-minutes", type=float, help="wall-clock budget per task")
    p.add_argument("--epochs", type=int)
    p.add_argument("--max-train-examples", type=int, help="cap the encoder's training rows")
    p.add_argument("--trainable-layers", type=int, help="top layers to train; -1 = all")
    p.add_argument("--force-promote", action="store_true", help="activate even if not better")
    p.add_argument("--horizon-days", type=int,
                   help="forecast horizon of purchase / churn (default 7 / 28)")  # fmt: skip
    p.add_argument("--encoder-minutes", type=float,
                   help="a mostly Chinese shop's encoder extension (default: 40%% of "
                        "--max-minutes; 0: none; done once per shop)")  # fmt: skip
    _shop(p)
    p.set_defaults(handler=cmd_train)

    p = subparsers.add_parser("evaluate", help="print a model version's test metrics as JSON")
    p.add_argument("task", help=tasks)
    p.add_argument("--version")
    _shop(p)
    p.set_defaults(handler=cmd_evaluate)

    p = subparsers.add_parser("score", help="write predictions for rows not yet scored")
    p.add_argument("task", nargs="?", help=tasks)
    p.add_argument("--all", action="store_true", help="every task with an active model")
    p.add_argument("--engine", default="local", help="where to compute (default: local)")
    p.add_argument("--address", help="the cluster address of a distributed engine")
    _shop(p)
    p.set_defaults(handler=cmd_score)

    p = subparsers.add_parser("predict", help="predict a CSV/Parquet file into a CSV")
    p.add_argument("task", help=tasks)
    p.add_argument("--input", required=True)
    p.add_argument("--text-column", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--engine", default="local", help="where to compute (default: local)")
    p.add_argument("--address", help="the cluster address of a distributed engine")
    _shop(p)
    p.set_defaults(handler=cmd_predict)

    p = subparsers.add_parser("explain", help="why the model says what it says, as JSON")
    p.add_argument("task", help=tasks)
    p.add_argument("text")
    p.add_argument("--steps", type=int, default=20)
    _shop(p)
    p.set_defaults(handler=cmd_explain)

    p = subparsers.add_parser(
        "models",
        help="list a shop's model versions, or copy one from another shop",
        description="List a shop's versions per task. With --copy-from, copy another shop's "
        "version of TASK into --shop (an operator's explicit choice) and activate it.",
    )
    p.add_argument("task", nargs="?", help=tasks)
    p.add_argument("--copy-from", metavar="SHOP", help="copy TASK's model from this shop")
    p.add_argument("--version", help="with --copy-from: the version (default: its active one)")
    p.add_argument("--no-activate", action="store_true", help="with --copy-from: do not activate")
    _shop(p)
    p.set_defaults(handler=cmd_models)

    p = subparsers.add_parser("promote", help="activate a model version")
    p.add_argument("task", help=tasks)
    p.add_argument("version")
    p.add_argument("--force", action="store_true", help="activate even if not better (warned)")
    _shop(p)
    p.set_defaults(handler=cmd_promote)

    p = subparsers.add_parser("rollback", help="re-activate the previous model version")
    p.add_argument("task", help=tasks)
    _shop(p)
    p.set_defaults(handler=cmd_rollback)
