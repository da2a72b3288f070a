"""How to start one of our Python modules as a child process, from source or from the frozen app,
and the environment every child (worker, terminal) gets.

From source: ``python -m MODULE``. In the PyInstaller build there is no interpreter to pass
``-m`` to, so the app's own exe is started with ``--child MODULE`` and main.py runs the module.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping

CHILD_FLAG = "--child"

# The master key opens every stored password; no child needs it (a worker gets one password over
# its pipe), and a terminal64.exe and any DLL an EA loads would see it.
KEY_VARIABLES = frozenset({"MT5_ENCRYPTION_KEY", "MT5_ENCRYPTION_KEYS"})
# Anything else that looks like a secret by its name (…_TOKEN, …_SECRET_…, …_PASSWORD, SSH_AUTH_SOCK, …).
_SECRET_NAME = re.compile(r"(^|_)(KEYS?|SECRETS?|TOKENS?|PASSWORDS?|PASSWD|PASS|PASSPHRASE|CREDENTIALS?|AUTH|"
                          r"APIKEY|API_KEY|PRIVATE|COOKIES?|DSN)(_|$)", re.IGNORECASE)
# ...or by its value: a URL with a password in it (postgres://user:pw@host/db).
_URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]+:[^/@\s]+@")


def python_module_command(module: str) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG, module]
    return [sys.executable, "-m", module]


def is_secret_variable(name: str, value: str) -> bool:
    return (name.upper() in KEY_VARIABLES or bool(_SECRET_NAME.search(name))
            or bool(_URL_WITH_PASSWORD.search(value)))


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: ours without the master key and anything secret.

    Everything else is kept on purpose (PATH, SystemRoot, TEMP, APPDATA, the Python and Qt
    variables, the data dir and simulator world), since a terminal or a Python child may need any
    of them and none of them opens anything.
    """
    env = os.environ if base is None else base
    return {k: v for k, v in env.items() if not is_secret_variable(k, v)}


@contextlib.contextmanager
def without_secrets() -> Iterator[None]:
    """Take the secret variables out of our own environment for a moment: for a library call that
    may start a child we cannot give an environment to (MetaTrader5's initialize() starting
    terminal64.exe from the command line's process). Not for threaded code."""
    saved = {k: v for k, v in os.environ.items() if is_secret_variable(k, v)}
    for k in saved:
        del os.environ[k]
    try:
        yield
    finally:
        os.environ.update(saved)
