"""A small webhook receiver for Label Studio's annotation events, on 127.0.0.1.

Label Studio posts ANNOTATION_CREATED / ANNOTATION_UPDATED / ANNOTATIONS_DELETED to the URL
registered for each ShopLens project. The receiver applies each delivery with the same upsert as
``shoplens label sync`` (:func:`labeling.sync.apply_annotations`), so a duplicate delivery stores
nothing twice. Label Studio does not retry a failed delivery: while the receiver is down, run
``shoplens label sync TASK`` to catch up.

Deliveries must carry the ``X-ShopLens-Key`` header registered with the webhook (derived from the
API token), so another local program cannot inject labels.

    >>> server = make_server(store, port=8092)
    >>> server.serve_forever()
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from common.settings import Settings, load_settings
from db.store import Store
from labeling.client import LabelStudioClient
from labeling.projects import project_id
from labeling.server import load_credentials
from labeling.sync import SyncReport, apply_annotations, parse_annotation

DEFAULT_PORT = 8092
HOST = "127.0.0.1"
KEY_HEADER = "X-ShopLens-Key"
ACTIONS = ["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"]
MAX_BODY = 5 * 1024 * 1024


def webhook_key(settings: Settings | None = None) -> str:
    """The shared secret a delivery must carry (a hash of the API token, never the token)."""
    creds = load_credentials(settings or load_settings())
    token = creds.token if creds else ""
    return hashlib.sha256(f"shoplens-webhook:{token}".encode()).hexdigest()[:32]


def handle_payload(store: Store, payload: dict[str, Any]) -> SyncReport | None:
    """Apply one delivery; None for actions and tasks that are not ShopLens annotations."""
    action = payload.get("action")
    if action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED"):
        record = parse_annotation(payload.get("annotation") or {}, payload.get("task") or {})
        return apply_annotations(store, [record]) if record else None
    if action in ("ANNOTATIONS_DELETED", "ANNOTATION_DELETED"):
        items = payload.get("annotations") or [payload.get("annotation") or {}]
        ids = [int(a["id"]) for a in items if a.get("id") is not None]
        return apply_annotations(store, [], deleted_ids=ids)
    return None


def make_server(
    store: Store, port: int = DEFAULT_PORT, key: str | None = None, host: str = HOST
) -> ThreadingHTTPServer:
    """A threaded HTTP server that applies deliveries to ``store`` (not yet serving)."""
    expected = key if key is not None else webhook_key()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if not hmac.compare_digest(self.headers.get(KEY_HEADER, ""), expected):
                self._answer(HTTPStatus.FORBIDDEN, {"error": "missing or wrong key"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "too large"})
                return
            try:
                payload = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._answer(HTTPStatus.BAD_REQUEST, {"error": "body is not JSON"})
                return
            report = handle_payload(store, payload)
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


def register(
    client: LabelStudioClient,
    tasks: list[str],
    port: int = DEFAULT_PORT,
    settings: Settings | None = None,
) -> list[int]:
    """Register the receiver's URL on each task's project (once); returns the project ids."""
    settings = settings or load_settings()
    url = f"http://{HOST}:{port}/"
    key = webhook_key(settings)
    registered = []
    for task in tasks:
        pid = project_id(task, settings)
        if pid is None:
            continue
        hooks = [h for h in client.list_webhooks(pid) if h.get("url") == url]
        if not hooks:
            client.create_webhook(pid, url, ACTIONS, headers={KEY_HEADER: key})
        registered.append(pid)
    return registered


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Serve ``server`` on a daemon thread (tests, and the app if it hosts the receiver)."""
    thread = threading.Thread(target=server.serve_forever, name="shoplens-webhook", daemon=True)
    thread.start()
    return thread
