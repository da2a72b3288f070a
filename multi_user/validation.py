"""Checks for what the owner types: login, server, password. Each raises BadInput naming the field,
so a dialog can show the message next to it; nothing is stored before these pass."""

from __future__ import annotations

import unicodedata

from multi_user.errors import BadInput

MAX_LOGIN = 2**63 - 1  # MT5 logins are 64-bit; the Supabase column is bigint
MAX_SERVER = 128


def parse_login(value: str | int) -> int:
    if isinstance(value, bool):
        raise BadInput("The login must be a number, like 51234567.", field="login")
    text = str(value).strip()
    if not text:
        raise BadInput("Enter the account's login number.", field="login")
    if not text.isdigit() or not text.isascii():
        raise BadInput(f"The login must be a whole number (digits only), not {text[:40]!r}.", field="login")
    login = int(text)
    if login <= 0:
        raise BadInput("The login must be a positive number.", field="login")
    if login > MAX_LOGIN:
        raise BadInput("That login number is too large to be an MT5 login.", field="login")
    return login


def parse_server(value: str) -> str:
    server = (value or "").strip()
    if not server:
        raise BadInput("Enter the broker's server name, as shown in MT5 (e.g. MetaQuotes-Demo).", field="server")
    if len(server) > MAX_SERVER:
        raise BadInput(f"The server name is too long ({len(server)} characters; at most {MAX_SERVER}).",
                       field="server")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in server):
        raise BadInput("The server name contains control characters; type it as MT5 shows it.", field="server")
    return server


def check_password(value: str) -> str:
    if value is None or value == "":
        raise BadInput("Enter the account's password.", field="password")
    if "\n" in value or "\r" in value or "\0" in value:
        raise BadInput("The password cannot contain line breaks.", field="password")
    return value
