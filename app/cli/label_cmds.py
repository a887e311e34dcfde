"""``shoplens labelstudio ...``, ``shoplens label ...``, ``shoplens retrain`` and ``shoplens jobs``.

A thin layer over ``labeling/``: parse, call, print (JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.cli import Runtime


def _strategies() -> list[str]:
    from core.uncertainty import UNCERTAINTY_SIGNALS

    return list(UNCERTAINTY_SIGNALS)


def _print(payload: dict[str, Any], as_json: bool, text: str) -> None:
    print(json.dumps(payload, indent=2, default=str) if as_json else text)


# labelstudio start | stop | status -------------------------------------------------------------
def _labelstudio(args: argparse.Namespace, rt: Runtime) -> int:
    from labeling import server

    action = {"start": server.start, "stop": server.stop, "status": server.status}[args.action]
    if args.action == "start" and not server.is_initialised(rt.settings):
        print("First start: initialising Label Studio (about a minute) ...", file=sys.stderr)
    result = action(rt.settings)
    _print(result.to_dict(), args.json, result.message)
    return 0 if result.up or args.action == "stop" else 3


# label push | sync | status | webhook ------------------------------------------------------------
def _push(args: argparse.Namespace, rt: Runtime) -> int:
    from labeling.routing import push

    report = push(rt.ctx, args.task, args.n, args.strategy, args.diverse, args.shop)
    text = (
        f"{report.imported} new tasks sent to Label Studio project {report.project_id} "
        f"({report.selected} chosen by {report.strategy}{' + diverse' if report.diverse else ''}, "
        f"{report.resumed} resumed, {report.already_in_label_studio} were already there), "
        f"model {report.model_version}."
    )
    if report.selected + report.resumed == 0:
        text = f"Nothing to send: every scored {args.task} row is queued or labelled already."
    if report.reopened:
        text += (
            f" The previous project had vanished from Label Studio: {report.reopened} rows sent "
            "there but never answered are queued again (each shop's go with its next push); "
            "answers already pulled are kept."
        )
    _print(report.to_dict(), args.json, text)
    return 0


def _sync(args: argparse.Namespace, rt: Runtime) -> int:
    from labeling.sync import sync

    report = sync(rt.ctx, args.task, args.shop)
    if report.project_id is None:
        _print(report.to_dict(), args.json,
               f"Nothing to sync: no {args.task} rows of shop {args.shop} were sent to Label "
               f"Studio yet (`shoplens label push {args.task} --shop {args.shop}`).")  # fmt: skip
        return 0
    text = (
        f"{report.seen} annotations seen: {report.new} new, {report.updated} updated, "
        f"{report.deleted} deleted; {report.labels_written} human labels written, "
        f"{report.labels_removed} removed."
    )
    _print(report.to_dict(), args.json, text)
    return 0


def _status(args: argparse.Namespace, rt: Runtime) -> int:
    from labeling.sync import label_status

    status = label_status(rt.ctx, args.task, args.shop)
    agreement = "n/a" if status["agreement"] is None else f"{status['agreement']:.0%}"
    text = (
        f"{args.task}: {status['queued']} queued ({status['pending']} pending), "
        f"{status['human_labels']} human labels, agreement with the model {agreement}; "
        f"labels by source: {status['by_source']}"
    )
    _print(status, args.json, text)
    return 0


def _webhook(args: argparse.Namespace, rt: Runtime) -> int:
    from labeling import webhook
    from labeling.client import LabelStudioClient

    server = webhook.make_server(rt.ctx, args.port)
    projects = webhook.register(rt.ctx, LabelStudioClient.from_settings(rt.settings), args.port)
    print(
        f"Webhook receiver on http://{webhook.HOST}:{args.port}/ for {len(projects)} project(s); "
        "Ctrl+C to stop. Missed deliveries: `shoplens label sync TASK`.",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


# retrain and jobs -------------------------------------------------------------------------------
def _retrain(args: argparse.Namespace, rt: Runtime) -> int:
    if args.background:
        from labeling.jobs import start_retrain

        handle = start_retrain(rt.settings, args.task, args.shop, args.max_minutes)
        text = f"Retrain started as job {handle.job_id} (pid {handle.pid}): `shoplens jobs {handle.job_id}`"
        _print({"job_id": handle.job_id, "pid": handle.pid}, args.json, text)
        return 0
    from labeling.retrain import retrain

    bar = _progress_bar(args.json)
    report = retrain(rt.ctx, args.task, args.shop, progress=bar, max_minutes=args.max_minutes,
                     score=not args.no_score)  # fmt: skip
    if not args.json:
        print(file=sys.stderr)
    text = f"{args.task}: new version {report.new_version}: {report.decision}" + "".join(
        f"\nnote: {n}" for n in report.notes
    )
    _print(report.to_dict(), args.json, text)
    return 0


def _progress_bar(quiet: bool) -> Any:
    def show(fraction: float, message: str) -> None:
        if not quiet:
            print(f"\r[{'#' * int(30 * fraction):<30}] {fraction:4.0%} {message[:60]:<60}",
                  end="", file=sys.stderr, flush=True)  # fmt: skip

    return show


def _jobs(args: argparse.Namespace, rt: Runtime) -> int:
    from labeling.jobs import job_status, list_jobs

    if args.job_id:
        state = job_status(args.job_id, rt.settings)
        _print(state, args.json, f"{state['job_id']}: {state['state']} {state.get('progress', 0):.0%} "
                                 f"{state.get('message', '')}")  # fmt: skip
        return 0
    jobs = list_jobs(rt.settings, task=args.task)
    lines = [f"{j['job_id']}: {j['state']} {j.get('progress', 0):.0%} {j.get('message', '')}"
             for j in jobs] or ["no jobs"]  # fmt: skip
    _print({"jobs": jobs}, args.json, "\n".join(lines))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the labelling commands to the ``shoplens`` parser."""
    ls = subparsers.add_parser("labelstudio", help="start, stop or check the Label Studio server")
    ls.add_argument("action", choices=["start", "stop", "status"])
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=_labelstudio)

    label = subparsers.add_parser("label", help="send rows to Label Studio and bring labels back")
    sub = label.add_subparsers(dest="label_command", metavar="ACTION", required=True)
    p = sub.add_parser("push", help="send the N rows the active model is least sure of")
    p.add_argument("task")
    p.add_argument("--n", type=int, default=50, help="rows to send (default 50)")
    p.add_argument("--strategy", choices=_strategies(), default="entropy")
    p.add_argument("--diverse", action="store_true", help="one row per cluster of similar texts")
    p.set_defaults(handler=_push)
    p = sub.add_parser("sync", help="pull annotations (new, changed, deleted) from Label Studio")
    p.add_argument("task")
    p.set_defaults(handler=_sync)
    p = sub.add_parser("status", help="queue, human labels, agreement, labels by source")
    p.add_argument("task")
    p.set_defaults(handler=_status)
    p = sub.add_parser("webhook", help="receive Label Studio's annotation webhooks (foreground)")
    p.add_argument("--port", type=int, default=8092, help="port on 127.0.0.1 (default 8092)")
    p.set_defaults(handler=_webhook)
    for action_parser in sub.choices.values():
        action_parser.add_argument("--shop", default="sample", help="shop id (default sample)")
        action_parser.add_argument("--json", action="store_true", help="print JSON")

    p = subparsers.add_parser(
        "retrain", help="retrain a task with the human labels, promote if better"
    )
    p.add_argument("task")
    p.add_argument("--shop", default="sample")
    p.add_argument("--max-minutes", type=float, default=None, help="training time budget")
    p.add_argument("--background", action="store_true", help="run as a background job")
    p.add_argument("--no-score", action="store_true", help="do not score rows after promotion")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_retrain)

    p = subparsers.add_parser("jobs", help="background jobs and their progress")
    p.add_argument("job_id", nargs="?")
    p.add_argument("--task")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_jobs)
