"""PyInstaller runtime hook: in `MT5 Desk-debug.exe`, also print the log to the console.

Both exes share one folder and one set of runtime hooks, so this looks at its own exe name. The GUI
logs only to <data dir>/logs; for support the debug exe wraps setup_logging to add a console
handler after the file handler is in place (setup_logging removes any handler added earlier).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def _install() -> None:
    if "-debug" not in Path(sys.executable).stem.lower():
        return
    import app.logging_setup as logging_setup

    original = logging_setup.setup_logging

    def setup_logging_with_console(*args, **kwargs):  # type: ignore[no-untyped-def]
        log_file = original(*args, **kwargs)
        root = logging.getLogger()
        for handler in list(root.handlers):
            # The CLI's own warnings-only stderr handler would print everything twice.
            if type(handler) is logging.StreamHandler:
                root.removeHandler(handler)
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(logging_setup.FORMAT))
        root.addHandler(console)
        print(f"MT5 Desk debug console; the log file is {log_file}", file=sys.stderr, flush=True)
        return log_file

    logging_setup.setup_logging = setup_logging_with_console


_install()
