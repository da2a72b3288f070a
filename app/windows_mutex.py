"""A named mutex held while MT5 Desk runs, so the installer can refuse to replace a running app.

The installer (installer.nsi) opens the same name; on other systems this is a no-op.
"""

from __future__ import annotations

import sys

MUTEX_NAME = "Local\\MT5DeskRunning"


def hold_running_mutex() -> object | None:
    """Create (or open) the mutex and return its handle; keep the object alive while running."""
    if sys.platform != "win32":
        return None
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateMutexW.restype = ctypes.c_void_p
    handle = kernel32.CreateMutexW(None, False, MUTEX_NAME)
    return handle or None
