"""How to start one of our Python modules as a child process, from source or from the frozen app.

From source: ``python -m MODULE``. In the PyInstaller build there is no interpreter to pass
``-m`` to, so the app's own exe is started with ``--child MODULE`` and main.py runs the module.
"""

from __future__ import annotations

import sys

CHILD_FLAG = "--child"


def python_module_command(module: str) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG, module]
    return [sys.executable, "-m", module]
