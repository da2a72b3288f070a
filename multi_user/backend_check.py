"""``python -m multi_user.backend_check``: does this installation carry the real MetaTrader5 package?

The Windows build runs it inside the frozen app (``MT5 Desk-debug.exe --child multi_user.backend_check``)
and fails when the package was left out: PyInstaller does not follow ``importlib.import_module``, and
a trader's app without the package could only ever talk to the simulator. Exit 0 and the package's
version when it imports, else exit 3 with the reason.
"""

from __future__ import annotations

import importlib
import sys

from multi_user.backend import REAL_PACKAGE


def main() -> int:
    try:
        module = importlib.import_module(REAL_PACKAGE)
    except ImportError as exc:
        print(f"error: the {REAL_PACKAGE} package is not in this installation: {exc}", file=sys.stderr)
        return 3
    print(f"{REAL_PACKAGE} {getattr(module, '__version__', '?')} from {getattr(module, '__file__', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
