"""The simulator's IPC: length-prefixed JSON over loopback TCP, found through ``<folder>/.mt5sim/ipc.json``.

The endpoint file holds the terminal's pid, port and a random token (a client must present it),
and is written atomically when the terminal is ready. A file left by a dead terminal is stale:
its pid is not a live simulated terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import sys
from pathlib import Path
from typing import Any

STATE_DIR = ".mt5sim"
ENDPOINT = "ipc.json"
_LEN = struct.Struct(">I")


def endpoint_path(folder: Path) -> Path:
    return folder / STATE_DIR / ENDPOINT


def write_endpoint(folder: Path, info: dict[str, Any]) -> None:
    path = endpoint_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{ENDPOINT}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    os.replace(tmp, path)


def read_endpoint(folder: Path) -> dict[str, Any] | None:
    """The live terminal's endpoint for ``folder``, or None (no file, unreadable, or stale)."""
    try:
        info = json.loads(endpoint_path(folder).read_text())
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if pid_alive(pid, expect="mt5sim.terminal") else None


def remove_endpoint(folder: Path, pid: int) -> None:
    path = endpoint_path(folder)
    with contextlib.suppress(OSError, ValueError, KeyError):
        if int(json.loads(path.read_text())["pid"]) == pid:
            path.unlink()


def pid_alive(pid: int, expect: str | None = None) -> bool:
    """Is ``pid`` a running (not zombie) process, and, where we can tell, one whose command line has ``expect``?"""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _win_pid_alive(pid)
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            stat = (proc / "stat").read_text()
            if stat[stat.rindex(")") + 2] in "ZX":
                return False
            if expect is not None:
                return expect.encode() in (proc / "cmdline").read_bytes()
            return True
        except (OSError, ValueError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _win_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    code = ctypes.c_ulong()
    try:
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
    finally:
        kernel32.CloseHandle(handle)
    return bool(ok) and code.value == 259  # STILL_ACTIVE


def send(sock: socket.socket, obj: Any) -> None:
    data = json.dumps(obj, separators=(",", ":")).encode()
    sock.sendall(_LEN.pack(len(data)) + data)


def recv(sock: socket.socket) -> Any:
    """One message, or raises ConnectionError when the peer is gone."""
    head = _recv_exact(sock, _LEN.size)
    return json.loads(_recv_exact(sock, _LEN.unpack(head)[0]))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed the connection")
        buf += chunk
    return bytes(buf)
