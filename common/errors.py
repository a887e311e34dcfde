"""Errors a user can act on. The CLI prints their message (no traceback) and exits with
``exit_code``; the dashboard shows the message in place of the failed widget."""

from __future__ import annotations


class ShopLensError(Exception):
    """Base of every error whose message tells the user what to fix."""

    exit_code = 1


class InputError(ShopLensError):
    """Something the user gave (file, argument, form field) is not acceptable."""

    exit_code = 2
