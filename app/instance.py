"""One owner of a data dir at a time: the GUI, the headless host, or a CLI command driving a terminal.

Two apps on one data dir would fight over its terminals (and leave orphans), so each takes an
exclusive OS lock on ``<data>/owner.lock`` for as long as it runs: ``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows. The OS drops the lock when the process ends, however it ends (kill -9
included), so a stale lock cannot exist; the lock file itself is never deleted. Who holds it (pid,
kind, since) is written next to it in ``owner.json`` so a second start can name the owner.

The second one gets ``DataDirBusy`` (exit code 5) with a message naming the owner.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from multi_user.errors import DeskError
from multi_user.file_lock import release, try_lock

EXIT_BUSY = 5  # the data dir is owned by another running MT5 Desk
LOCK_FILE = "owner.lock"
INFO_FILE = "owner.json"
KIND_NAMES = {"gui": "GUI", "headless": "headless host", "cli": "command line"}


@dataclass(frozen=True)
class OwnerInfo:
    pid: int | None
    kind: str
    since: float | None
    what: str = ""  # e.g. "accounts link" for a CLI owner

    def describe(self) -> str:
        name = KIND_NAMES.get(self.kind, self.kind)
        if self.what:
            name = f"{name}: {self.what}"
        return f"{name}, pid {self.pid}" if self.pid else name


class DataDirBusy(DeskError):
    """Another MT5 Desk process owns the data dir."""

    exit_code = EXIT_BUSY

    def __init__(self, message: str, owner: OwnerInfo) -> None:
        super().__init__(message)
        self.owner = owner


def _open_lock(data_dir: Path) -> IO[bytes]:
    # open() makes a non-inheritable fd, so workers and terminals we start never hold the lock
    return open(Path(data_dir) / LOCK_FILE, "a+b")


def read_owner(data_dir: Path) -> OwnerInfo:
    """What the owner wrote about itself; fields are None when it has not written yet."""
    try:
        raw = json.loads((Path(data_dir) / INFO_FILE).read_text(encoding="utf-8"))
        return OwnerInfo(int(raw["pid"]), str(raw["kind"]), float(raw.get("since") or 0) or None,
                         str(raw.get("what") or ""))
    except (OSError, ValueError, KeyError, TypeError):
        return OwnerInfo(None, "another MT5 Desk", None)


def busy_message(owner: OwnerInfo) -> str:
    return f"MT5 Desk is already running on this data dir ({owner.describe()})"


class DataDirOwner:
    """The held lock; ``release()`` (or leaving the ``with`` block) gives the data dir up."""

    def __init__(self, data_dir: Path, fh: IO[bytes], info: OwnerInfo) -> None:
        self.data_dir = Path(data_dir)
        self.info = info
        self._fh: IO[bytes] | None = fh

    @property
    def held(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is None:
            return
        with contextlib.suppress(OSError):
            if read_owner(self.data_dir).pid == self.info.pid:
                (self.data_dir / INFO_FILE).unlink()
        release(fh)
        fh.close()

    def __enter__(self) -> DataDirOwner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def acquire(data_dir: Path, kind: str, what: str = "") -> DataDirOwner:
    """Own ``data_dir`` as ``kind`` ("gui", "headless", "cli"), or raise DataDirBusy naming the owner."""
    fh = _open_lock(data_dir)
    if not try_lock(fh):
        fh.close()
        owner = _wait_for_info(data_dir)
        raise DataDirBusy(busy_message(owner), owner)
    info = OwnerInfo(os.getpid(), kind, time.time(), what)
    _write_info(Path(data_dir), info)
    return DataDirOwner(Path(data_dir), fh, info)


def current_owner(data_dir: Path) -> OwnerInfo | None:
    """Who owns ``data_dir`` now, or None if nobody does (probed by taking the lock for an instant)."""
    if not (Path(data_dir) / LOCK_FILE).exists():
        return None
    fh = _open_lock(data_dir)
    try:
        if try_lock(fh):
            release(fh)
            return None
    finally:
        fh.close()
    return _wait_for_info(data_dir)


def _wait_for_info(data_dir: Path, timeout: float = 1.0) -> OwnerInfo:
    """The owner writes its info right after it takes the lock; give it that instant to do so."""
    deadline = time.monotonic() + timeout
    while True:
        owner = read_owner(data_dir)
        if owner.pid is not None and _alive(owner.pid):
            return owner
        if time.monotonic() >= deadline:
            return OwnerInfo(None, "another MT5 Desk", None)
        time.sleep(0.02)  # bounded: at most `timeout`, only while the owner is starting


def _alive(pid: int) -> bool:
    if sys.platform == "win32":
        return True  # no cheap check without pywin32; the lock itself says someone runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _write_info(data_dir: Path, info: OwnerInfo) -> None:
    tmp = data_dir / f"{INFO_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"pid": info.pid, "kind": info.kind, "since": info.since, "what": info.what}),
                   encoding="utf-8")
    os.replace(tmp, data_dir / INFO_FILE)
