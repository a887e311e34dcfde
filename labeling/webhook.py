"""A small webhook receiver for Label Studio's annotation events, on 127.0.0.1.

Label Studio posts ANNOTATION_CREATED / ANNOTATION_UPDATED / ANNOTATIONS_DELETED to the URL
registered for each ShopLens project. The receiver applies each delivery with the same upsert as
``shoplens label sync`` (:func:`labeling.sync.apply_annotations`), so a duplicate delivery stores
nothing twice. Label Studio does not retry a failed delivery: while the receiver is down, run
``shoplens label sync TASK`` to catch up.

Trust: a delivery must carry the ``X-ShopLens-Key`` header registered with the webhook (derived
from the Label Studio API token, which only this ShopLens home holds; without it the receiver
refuses to start). Its shop, task and row are never read from the payload's data: they come from
what ShopLens recorded when it sent the row (the project id and Label Studio task id in the
queue), and a label outside the task's label set is refused (422).

    >>> server = make_server(ctx, port=8092)
    >>> server.serve_forever()
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from core.kinds.base import get_task
from db.repo import labelling as repo
from labeling.client import LabelStudioClient
from labeling.server import LabelStudioError, load_credentials
from labeling.sync import SyncReport, apply_annotations, parse_annotation
from labeling.templates import is_valid_label, raw_label

if TYPE_CHECKING:
    from common.settings import Settings
    from core.context import Context

DEFAULT_PORT = 8092
HOST = "127.0.0.1"
KEY_HEADER = "X-ShopLens-Key"
ACTIONS = ["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"]
MAX_BODY = 5 * 1024 * 1024


class RefusedDelivery(ValueError):
    """A delivery that names a label the task does not offer."""


def webhook_key(settings: Settings) -> str:
    """The shared secret a delivery must carry (a keyed hash of the API token, never the token).
    Without Label Studio's credentials there is no secret and the receiver must not start."""
    creds = load_credentials(settings)
    if creds is None or not creds.token:
        raise LabelStudioError(
            "The webhook receiver has no secret yet: start Label Studio once with "
            "`shoplens labelstudio start` (it creates the API token the key derives from)."
        )
    return hmac.new(creds.token.encode(), b"shoplens-webhook", hashlib.sha256).hexdigest()[:40]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def handle_payload(ctx: Context, payload: dict[str, Any]) -> SyncReport | None:
    """Apply one delivery; None for actions and rows that are not ShopLens's."""
    action = payload.get("action")
    if action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED"):
        annotation = payload.get("annotation") or {}
        ls_task = payload.get("task") or {}
        project = payload.get("project") or {}
        pid = _int(project.get("id") if isinstance(project, dict) else project)
        pid = pid if pid is not None else _int(ls_task.get("project"))
        ls_task_id = _int(ls_task.get("id") or annotation.get("task"))
        if pid is None or ls_task_id is None or _int(annotation.get("id")) is None:
            return None
        row = repo.queued_targets(ctx.store, pid).get(ls_task_id)
        if row is None:
            return None  # not a row ShopLens sent to that project
        spec = get_task(row[1])
        labelling = spec.labelling_spec(ctx, row[0])
        label = raw_label(labelling, annotation.get("result")) if labelling else None
        if label is not None and labelling is not None and not is_valid_label(labelling, label):
            raise RefusedDelivery(f"label {label[:80]!r} is not one of the {spec.name} labels")
        model_label = (ls_task.get("data") or {}).get("model_label")
        record = parse_annotation(annotation, ls_task_id, row, model_label, labelling)
        return apply_annotations(ctx.store, [record]) if record else None
    if action in ("ANNOTATIONS_DELETED", "ANNOTATION_DELETED"):
        items = payload.get("annotations") or [payload.get("annotation") or {}]
        ids = [i for i in (_int(a.get("id")) for a in items if isinstance(a, dict)) if i]
        return apply_annotations(ctx.store, [], deleted_ids=ids)
    return None


def make_server(ctx: Context, port: int = DEFAULT_PORT, key: str | None = None,
                host: str = HOST) -> ThreadingHTTPServer:  # fmt: skip
    """A threaded HTTP server that applies deliveries to the context's store (not yet serving).
    Without a key it derives one from Label Studio's token, and refuses to start without it."""
    expected = key if key else webhook_key(ctx.settings)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if not hmac.compare_digest(self.headers.get(KEY_HEADER, ""), expected):
                self._answer(HTTPStatus.FORBIDDEN, {"error": "missing or wrong key"})
                return
            length = _int(self.headers.get("Content-Length")) or 0
            if length > MAX_BODY or length < 0:
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "too large"})
                return
            try:
                payload = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(payload, dict):
                    raise ValueError
            except ValueError:
                self._answer(HTTPStatus.BAD_REQUEST, {"error": "body is not a JSON object"})
                return
            try:
                report = handle_payload(ctx, payload)
            except RefusedDelivery as exc:
                self._answer(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)})
                return
            self._answer(HTTPStatus.OK, report.to_dict() if report else {"ignored": True})

        def do_GET(self) -> None:  # noqa: N802
            self._answer(HTTPStatus.OK, {"status": "UP"})

        def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return  # deliveries are counted in the reports, not logged line by line

    return ThreadingHTTPServer((host, port), Handler)


def register(ctx: Context, client: LabelStudioClient, port: int = DEFAULT_PORT) -> list[int]:
    """Register the receiver's URL on every recorded project (once); returns the project ids."""
    url = f"http://{HOST}:{port}/"
    key = webhook_key(ctx.settings)
    registered: list[int] = []
    for entry in repo.projects(ctx.store):
        if entry.project_id in registered:
            continue
        hooks = [h for h in client.list_webhooks(entry.project_id) if h.get("url") == url]
        if not hooks:
            client.create_webhook(entry.project_id, url, ACTIONS, headers={KEY_HEADER: key})
        registered.append(entry.project_id)
    return registered


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Serve ``server`` on a daemon thread (tests, and the app if it hosts the receiver)."""
    thread = threading.Thread(target=server.serve_forever, name="shoplens-webhook", daemon=True)
    thread.start()
    return thread
