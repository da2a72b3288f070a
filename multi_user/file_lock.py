"""An exclusive lock on a file for a read-modify-write shared by processes (the app and the CLI).

``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows: the OS drops the lock when its holder ends,
however it ends, so a stale lock cannot exist. Waiting is bounded: a holder that never lets go (a hung
process) gives ``LockBusy`` (a DeskError with the reason) after ``timeout`` s, never a hang.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from multi_user.errors import DeskError

POLL = 0.01  # s between attempts while another process holds the lock


class LockBusy(DeskError):
    """Another process held the lock for longer than anyone should."""


def try_lock(fh: object) -> bool:
    """Take the lock on the open file ``fh`` without waiting; False when another process holds it."""
    fd = fh.fileno()  # type: ignore[attr-defined]
    if sys.platform == "win32":
        import msvcrt

        fh.seek(0)  # type: ignore[attr-defined]
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):
        return False
    return True


def release(fh: object) -> None:
    """Let go of the lock taken by :func:`try_lock`."""
    fd = fh.fileno()  # type: ignore[attr-defined]
    if sys.platform == "win32":
        import msvcrt

        fh.seek(0)  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def locked(path: Path, timeout: float = 10.0) -> Iterator[None]:
    """Hold the exclusive lock on ``path`` (made if missing, never deleted) for the ``with`` block."""
    with open(path, "a+b") as fh:
        deadline = time.monotonic() + timeout
        while not try_lock(fh):
            if time.monotonic() >= deadline:
                raise LockBusy(f"{path} stayed locked by another MT5 Desk process for {timeout:.0f} s")
            time.sleep(POLL)  # bounded by the deadline: another process is between its read and its write
        try:
            yield
        finally:
            release(fh)
