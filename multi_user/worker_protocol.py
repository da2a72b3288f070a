"""The lane worker's wire protocol: one JSON object per line, each way.

The worker speaks first with a hello carrying its protocol version; the client checks it before
sending anything (credentials included). Requests carry an ``id``; the answer carries the same
``id`` with ``ok`` and either ``result`` or ``error``. Lines without ``id`` are pushes
(snapshots, health, mismatch reports). A request without ``id`` (the app's notify: ``prepare``) gets no answer.

Credentials travel only inside this pipe: never in argv, the environment, a file or a log line.
"""

from __future__ import annotations

import json
from typing import Any

PROTOCOL_VERSION = 1

# error kinds a request can fail with; the lane maps them to account states
ERR_AUTH = "auth"  # broker rejected the login (-6)
ERR_BROKER = "broker"  # the terminal has no connection to the broker: the login could not be checked
ERR_MISMATCH = "mismatch"  # terminal shows another account or another install
ERR_IPC = "ipc"  # terminal unreachable (-10004) or not answering (-10005)
ERR_TERMINAL = "terminal"  # any other terminal failure
ERR_BAD_REQUEST = "bad_request"
ERR_READ_ONLY = "read_only"  # investor login: trading refused

IPC_CODES = frozenset({-10001, -10002, -10004, -10005})


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":"), default=str) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any]:
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("a protocol line must be a JSON object")
    return obj


def error_kind(exc: BaseException) -> str:
    """Map a bridge exception to the error kind the lane understands."""
    from multi_user.errors import AuthorizationError, BadInput, BrokerUnreachable, IdentityMismatch, TerminalError

    if isinstance(exc, AuthorizationError):
        return ERR_AUTH
    if isinstance(exc, BrokerUnreachable):
        return ERR_BROKER
    if isinstance(exc, IdentityMismatch):
        return ERR_MISMATCH
    if isinstance(exc, TerminalError):
        return ERR_IPC if getattr(exc, "code", None) in IPC_CODES else ERR_TERMINAL
    if isinstance(exc, BadInput):
        return ERR_BAD_REQUEST
    return ERR_TERMINAL
