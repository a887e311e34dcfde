"""``shoplens setup-admin`` and ``shoplens users ...``: dashboard accounts from the command line.

The first admin's password is generated (or taken from ``[auth] admin_password`` in
``.streamlit/secrets.toml``), printed once and kept in ``$SHOPLENS_HOME/secrets/admin_password``
with mode 600. Passwords are never logged and never passed on the command line.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from accounts.service import (
    ROLES,
    assign_shops,
    create_account,
    generate_password,
    list_accounts,
    remove_account,
    set_password,
    validate_password,
)
from common.errors import InputError
from common.settings import Settings
from db.store import Store

if TYPE_CHECKING:
    from app.cli import Runtime

ADMIN_PASSWORD_FILE = "admin_password"
_MAX_PASSWORD_FILE_BYTES = 4096


def write_secret(path: Path, value: str) -> Path:
    """Write ``value`` to ``path`` readable by the owner only (folder 700, file 600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    os.chmod(path, 0o600)  # in case the file existed with wider permissions
    return path


def _auth_secrets(settings: Settings) -> Mapping[str, object]:
    auth = settings.secrets.get("auth") if isinstance(settings.secrets, Mapping) else None
    return auth if isinstance(auth, Mapping) else {}


def _store(settings: Settings) -> Store:
    store = Store.from_settings(settings.store)
    store.init_schema()
    return store


def read_password_file(path_text: str) -> str:
    """The password in the first line of a file (at most 4 KB; the file must exist)."""
    path = Path(path_text)
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_PASSWORD_FILE_BYTES + 1)
    except OSError as exc:  # missing, a folder, no permission, a name too long ...
        raise InputError(
            f"--password-file: cannot read {path_text[:200]!r} ({exc.strerror or exc})"
        ) from None
    if len(data) > _MAX_PASSWORD_FILE_BYTES:
        raise InputError(
            "--password-file: the file is larger than 4 KB; put only the password in it"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("--password-file: the file is not UTF-8 text") from None
    lines = text.splitlines()
    return validate_password(lines[0] if lines else "")


def _ask_password(args: argparse.Namespace) -> str:
    if args.password_file:
        return read_password_file(args.password_file)
    if not sys.stdin.isatty():
        raise InputError("no terminal to ask for the password: pass --password-file FILE")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise InputError("the two passwords differ")
    return validate_password(first)


def cmd_setup_admin(args: argparse.Namespace, rt: Runtime) -> int:
    """Create the first admin account (or, with --if-missing, do nothing when one exists)."""
    settings = rt.settings
    store = _store(settings)
    secret_path = settings.home / "secrets" / ADMIN_PASSWORD_FILE
    admins = list_accounts(store, role="admin")
    if admins:
        names = ", ".join(a.username for a in admins)
        if args.if_missing:
            print(f"An admin account exists ({names}); nothing to do.")
            return 0
        raise InputError(
            f"an admin account already exists ({names}); add more accounts with "
            "`shoplens users add` or reset a password with `shoplens users set-password`"
        )
    auth = _auth_secrets(settings)
    username = args.username or str(auth.get("admin_username") or "admin")
    configured = auth.get("admin_password")
    password = str(configured) if configured else generate_password()
    create_account(store, username, password, "admin")
    print(f"Created the admin account {username!r}.")
    if configured:
        print("Its password is the one in .streamlit/secrets.toml ([auth] admin_password).")
    else:
        write_secret(secret_path, password)
        print(f"Password (shown once): {password}")
        print(f"It is also stored, readable only by you, in {secret_path}")
    print(f"Sign in to the dashboard as {username!r}; add accounts with `shoplens users add`.")
    return 0


def cmd_users_add(args: argparse.Namespace, rt: Runtime) -> int:
    """Add a merchant, annotator or admin account."""
    settings = rt.settings
    store = _store(settings)
    password = generate_password() if args.generate else _ask_password(args)
    account = create_account(store, args.username, password, args.role, args.shop)
    shop = f" for shop {account.shop_id!r}" if account.shop_id else ""
    print(f"Added {account.role} {account.username!r}{shop}.")
    if args.generate:
        print(f"Password (shown once): {password}")
    return 0


def cmd_users_list(args: argparse.Namespace, rt: Runtime) -> int:
    """Print every account: username, role, shop, created."""
    accounts = list_accounts(_store(rt.settings))
    if not accounts:
        print("No accounts yet: run `shoplens setup-admin`.")
        return 0
    print(f"{'username':<24} {'role':<10} {'shop':<20} created (UTC)")
    for a in accounts:
        created = a.created_at.strftime("%Y-%m-%d %H:%M")
        print(f"{a.username:<24} {a.role:<10} {a.shop_id or '-':<20} {created}")
    return 0


def cmd_users_remove(args: argparse.Namespace, rt: Runtime) -> int:
    """Delete an account (never the last admin)."""
    remove_account(_store(rt.settings), args.username)
    print(f"Removed {args.username!r}.")
    return 0


def cmd_users_assign(args: argparse.Namespace, rt: Runtime) -> int:
    """Set the shops an annotator may see and label."""
    account = assign_shops(_store(rt.settings), args.username, args.shop)
    print(f"{account.username!r} labels shops: {account.shop_id or '(none yet)'}.")
    return 0


def cmd_users_set_password(args: argparse.Namespace, rt: Runtime) -> int:
    """Replace an account's password (prompt or --password-file)."""
    set_password(_store(rt.settings), args.username, _ask_password(args))
    print(f"Password of {args.username!r} changed.")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``setup-admin`` and ``users`` to the ``shoplens`` command."""
    setup = subparsers.add_parser(
        "setup-admin", help="create the first admin account and print how to sign in"
    )
    setup.add_argument("--if-missing", action="store_true", help="do nothing if an admin exists")
    setup.add_argument("--username", help="admin username (default: admin)")
    setup.set_defaults(handler=cmd_setup_admin)

    users = subparsers.add_parser("users", help="manage dashboard accounts")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = users_sub.add_parser("add", help="add an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--shop", help="a merchant's one shop, or an annotator's shops (SHOP[,SHOP...])"
    )
    source = add.add_mutually_exclusive_group()
    source.add_argument("--password-file", help="read the password from this file's first line")
    source.add_argument(
        "--generate", action="store_true", help="generate a password and print it once"
    )
    add.set_defaults(handler=cmd_users_add)

    listing = users_sub.add_parser("list", help="list accounts")
    listing.set_defaults(handler=cmd_users_list)

    remove = users_sub.add_parser("remove", help="delete an account")
    remove.add_argument("username")
    remove.set_defaults(handler=cmd_users_remove)

    assign = users_sub.add_parser("assign", help="set the shops an annotator labels")
    assign.add_argument("username")
    assign.add_argument("--shop", required=True, help="SHOP[,SHOP...] ('' for none)")
    assign.set_defaults(handler=cmd_users_assign)

    passwd = users_sub.add_parser("set-password", help="change an account's password")
    passwd.add_argument("username")
    passwd.add_argument("--password-file", help="read the password from this file's first line")
    passwd.set_defaults(handler=cmd_users_set_password)
