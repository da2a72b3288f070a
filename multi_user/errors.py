"""Typed errors with the process exit code each one maps to.

Messages are for the trader: plain words, never a password, never a token.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2  # bad input or usage
EXIT_TERMINAL = 3  # terminal or authorization failure
EXIT_VAULT = 4  # vault locked or damaged


class DeskError(Exception):
    """Base of every error MT5 Desk reports to the trader."""

    exit_code = EXIT_USAGE


class BadInput(DeskError):
    """Input that fails validation; nothing was stored."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # which input field is wrong, so a dialog can show it next to the field


class TerminalError(DeskError):
    """A terminal could not be reached, started or used. `code` is MT5's last_error() code when known."""

    exit_code = EXIT_TERMINAL

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class AuthorizationError(TerminalError):
    """The broker rejected the login (MT5 error -6)."""


class BrokerUnreachable(TerminalError):
    """A login could not be checked: the terminal has no connection to the broker (network or
    broker down). Not a verdict on the password."""


class IdentityMismatch(TerminalError):
    """The terminal is logged into another account or is another install than the one asked for."""


class VaultError(DeskError):
    """The vault or its key is locked, damaged, or from another key."""

    exit_code = EXIT_VAULT
