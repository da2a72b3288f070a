"""The client side: the process-wide connection to one simulated terminal, as the real package has.

initialize() finds (or starts) the terminal of an install folder and attaches; every other call is
one request/answer over the IPC. A broken link (terminal killed) fails calls with the real IPC
errors until the next initialize(). As in the real package, a call has no timeout of its own: the
pipe is synchronous, so a terminal that stops answering blocks the call until it answers again
(-10005 exists only while initializing). When the folder's terminal is not listening, initialize()
starts one and waits up to LAUNCH_WAIT seconds for it, whatever its ``timeout`` (the real 100 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

from multi_user.mt5sim import errors as e
from multi_user.mt5sim import ipc, structures, world

DEFAULT_TIMEOUT = 60000  # ms, the real package's default
# seconds initialize() waits for a terminal it started to listen ("Pipe server didn't answer in %u sec");
# MT5SIM_LAUNCH_WAIT shortens it for tests
LAUNCH_WAIT = float(os.environ.get("MT5SIM_LAUNCH_WAIT") or 100)


class _Link:
    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.timeout_ms = DEFAULT_TIMEOUT
        self.error: tuple[int, str] = e.SUCCESS
        self.lock = threading.RLock()


_link = _Link()


def set_error(err: tuple[int, str]) -> None:
    _link.error = (int(err[0]), str(err[1]))


def last_error() -> tuple[int, str]:
    return _link.error


def drop() -> None:
    sock, _link.sock = _link.sock, None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def call(fn: str, timeout_ms: int | None = None, **kwargs: Any) -> Any:
    """One request to the terminal; the decoded result, with last_error() set from the answer."""
    with _link.lock:
        sock = _link.sock
        if sock is None:
            set_error(e.NO_IPC)
            return None
        try:
            # no per-call timeout: only login() bounds its own wait (its answer comes after ``timeout``)
            sock.settimeout(timeout_ms / 1000 if timeout_ms else None)
            ipc.send(sock, {"f": fn, "k": kwargs})
            answer = ipc.recv(sock)
        except TimeoutError:
            drop()
            set_error(e.IPC_TIMEOUT)
            return None
        except (OSError, ConnectionError, ValueError):
            drop()
            set_error(e.NO_IPC)
            return None
        set_error(tuple(answer["e"]))
        return structures.decode(answer["r"])


def _install_folder(path: str | None) -> tuple[Path | None, tuple[int, str]]:
    from multi_user.mt5sim import control

    if path is None:
        try:
            w = control.current_world()
            control.ensure_world(w)
        except Exception:
            return None, e.TERMINAL_NOT_FOUND
        return _last_used_install(w) or control.base_install(w).parent, e.SUCCESS
    p = Path(path).expanduser()
    exe = p / world.EXE_NAME if p.is_dir() else p
    if not exe.is_file() or not (exe.parent / world.MARKER).is_file():
        return None, e.process_create_failed(str(path))
    return exe.parent.resolve(), e.SUCCESS


def _last_used_install(world_dir: Path) -> Path | None:
    """As the real package does without a path: among the installed (non-portable) terminals, the one
    whose data folder was used last — which may change between two runs."""
    found = []
    for origin in (world_dir / "AppData" / "Terminal").glob("*/origin.txt"):
        ini = origin.parent / "config" / "terminal.ini"
        with contextlib.suppress(OSError):
            folder = Path(origin.read_text(encoding="utf-8").strip())
            if (folder / world.EXE_NAME).is_file():
                found.append((ini.stat().st_mtime_ns, folder))
    return max(found)[1] if found else None


def connect(path: str | None, timeout_ms: int, portable: bool) -> bool:
    """The transport part of initialize(): find or start the terminal and attach to it."""
    with _link.lock:
        return _connect(path, timeout_ms, portable)


def _connect(path: str | None, timeout_ms: int, portable: bool) -> bool:
    from multi_user.mt5sim import control

    drop()
    folder, err = _install_folder(path)
    if folder is None:
        set_error(err)
        return False
    info = ipc.read_endpoint(folder)
    if info is None:
        try:
            # a second copy when the folder's terminal is still starting: it exits, and we wait for the first
            control.start_terminal(folder, portable=portable, detached=True)
        except OSError:
            set_error(e.process_create_failed(str(path or folder / world.EXE_NAME)))
            return False
        info = control.wait_ready(folder, LAUNCH_WAIT)
        if info is None:
            set_error(e.ipc_init_failed(f"Pipe server didn't answer in {LAUNCH_WAIT:.0f} sec"))
            return False
    try:
        sock = socket.create_connection(("127.0.0.1", int(info["port"])), timeout=timeout_ms / 1000)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ipc.send(sock, {"token": info["token"], "pid": os.getpid()})
        hello = ipc.recv(sock)
    except TimeoutError:
        set_error(e.IPC_TIMEOUT)
        return False
    except (OSError, ConnectionError, ValueError, json.JSONDecodeError):
        set_error(e.NO_IPC)
        return False
    if not hello.get("ok"):
        sock.close()
        set_error(e.ipc_init_failed("Hash calculation failed"))
        return False
    _link.sock = sock
    _link.timeout_ms = timeout_ms
    set_error(e.SUCCESS)
    return True


def connected() -> bool:
    return _link.sock is not None


def timeout_ms() -> int:
    return _link.timeout_ms
