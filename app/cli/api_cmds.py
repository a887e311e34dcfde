"""``shoplens serve`` (the scoring API) and ``shoplens api-token create|list|revoke``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from common.errors import InputError

if TYPE_CHECKING:
    from app.cli import Runtime

DEFAULT_PORT = 8093


def cmd_serve(args: argparse.Namespace, rt: Runtime) -> int:
    """Run the scoring API until interrupted."""
    import uvicorn

    from app.api import create_app

    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote:
        raise InputError(
            f"--host {args.host[:60]!r} serves beyond this machine without TLS; put a TLS proxy "
            "in front and pass --allow-remote, or keep the default 127.0.0.1"
        )
    app = create_app(rt.settings, rt.ctx)
    print(f"ShopLens scoring API on http://{args.host}:{args.port} (docs: /docs); Ctrl+C to stop.",
          flush=True)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", workers=1)
    return 0


def cmd_token_create(args: argparse.Namespace, rt: Runtime) -> int:
    """Create a token for one shop and print it once, on its own last line."""
    from accounts.api_tokens import create_token
    from db.shops import check_shop_id

    check_shop_id(args.shop)
    rt.store.init_schema()
    token = create_token(rt.store, args.shop, args.name)
    print(f"API token for shop {args.shop!r} ({args.name}); it is shown only now, keep it safe:")
    print(token)
    return 0


def cmd_token_list(args: argparse.Namespace, rt: Runtime) -> int:
    """List tokens (never the tokens themselves)."""
    from db.repo.api_tokens import listing

    if not rt.store.exists():
        print("No API tokens yet: `shoplens api-token create --shop SHOP`.")
        return 0
    rows = listing(rt.store)
    for r in rows.itertuples():
        state = "revoked" if r.revoked_at is not None and str(r.revoked_at) != "NaT" else "valid"
        print(f"{r.token_id}  {r.shop_id:<20} {r.name:<20} {r.created_at:%Y-%m-%d %H:%M}  {state}")
    if rows.empty:
        print("No API tokens yet: `shoplens api-token create --shop SHOP`.")
    return 0


def cmd_token_revoke(args: argparse.Namespace, rt: Runtime) -> int:
    """Revoke a token by its id; the server refuses it within a few seconds."""
    from accounts.api_tokens import revoke_token

    revoke_token(rt.store, args.token_id)
    print(f"Revoked API token {args.token_id}.")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` and ``api-token`` to the ``shoplens`` command."""
    serve = subparsers.add_parser("serve", help="run the scoring API for other systems")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--allow-remote", action="store_true",
                       help="listen beyond this machine (put TLS in front)")  # fmt: skip
    serve.set_defaults(handler=cmd_serve)

    token = subparsers.add_parser("api-token", help="create, list or revoke scoring-API tokens")
    sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="a new token for one shop (printed once)")
    create.add_argument("--shop", required=True)
    create.add_argument("--name", default="api", help="what uses it, e.g. crm")
    create.set_defaults(handler=cmd_token_create)
    sub.add_parser("list", help="every token, without the secret").set_defaults(
        handler=cmd_token_list
    )
    revoke = sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id", help="the 8 characters after sl_")
    revoke.set_defaults(handler=cmd_token_revoke)
