"""A terminal that updates itself is not a crash.

MetaTrader 5's LiveUpdate downloads a new build in the background and applies it at a restart: the
terminal closes and a new ``terminal64.exe`` starts from the same folder (MetaTrader 5 help,
"Live Update": "the windows of the platform … are closed, the components are updated, and the
platform is then restarted"). The new process is not the app's child, so the supervisor sees its
terminal exit. Counting that as a crash, and starting a second copy in a folder the updated terminal
is about to claim, would make every update cost one unit of the crash budget (and, with several
updates close together, fail the lane).

A clean exit (code 0, or code unknown: an adopted terminal on a system that cannot tell) nobody asked for is
therefore watched for ``UPDATE_WAIT`` seconds: the lane shows the terminal as ``updating``; when a new
terminal serves the same folder in that time it is adopted (supervised, stopped with the app) and the
worker reconnects; otherwise the exit is counted as the crash it was. A crash (killed, non-zero code)
is counted at once, as before. The real terminal's exit code at an update is not documented: a clean
exit is modelled (see docs/REAL_TERMINAL.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from app.supervisor import Supervised
from app.terminal_process import TerminalProcess, run_inline
from multi_user.errors import DeskError

log = logging.getLogger("mt5desk.update")

# How long a terminal that exited cleanly has to come back by itself. Real: the update is downloaded
# already (WebInstall), applying it takes seconds to a minute; the simulator's relaunch takes ~1 s.
UPDATE_WAIT = {"mt5": 120.0, "sim": 15.0}
POLL = 0.2


def serving_terminal_pid(exe: Path, backend: str) -> int | None:
    """Pid of the terminal running from ``exe``'s folder now (blocking: run it off the GUI thread)."""
    if backend == "sim":
        from multi_user.mt5sim import control

        return control.terminal_pid(exe)
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return _windows_pid_of(exe)
    return None


def _windows_pid_of(exe: Path) -> int | None:  # pragma: no cover - Windows only; untested on a real PC
    import ctypes
    from ctypes import wintypes

    from multi_user.terminals import same_folder

    psapi, kernel32 = ctypes.WinDLL("psapi"), ctypes.WinDLL("kernel32")
    psapi.EnumProcesses.argtypes = [ctypes.POINTER(wintypes.DWORD), wintypes.DWORD, ctypes.POINTER(wintypes.DWORD)]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    kernel32.QueryFullProcessImageNameW.argtypes = [wintypes.HANDLE, wintypes.DWORD, wintypes.LPWSTR,
                                                    ctypes.POINTER(wintypes.DWORD)]
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    pids = (wintypes.DWORD * 4096)()
    got = wintypes.DWORD()
    if not psapi.EnumProcesses(pids, ctypes.sizeof(pids), ctypes.byref(got)):
        return None
    for pid in pids[: got.value // ctypes.sizeof(wintypes.DWORD)]:
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            continue
        try:
            buf, size = ctypes.create_unicode_buffer(1024), wintypes.DWORD(1024)
            if kernel32.QueryFullProcessImageNameW(handle, 0, buf, ctypes.byref(size)):
                image = Path(buf.value)
                if image.name.lower() == exe.name.lower() and same_folder(image.parent, exe.parent):
                    return int(pid)
        finally:
            kernel32.CloseHandle(handle)
    return None


class AdoptedExitCode:
    """How an adopted terminal (not our child) ended. Simulator: a terminal that exits cleanly removes its
    endpoint file, a killed one leaves it (-9). Windows: a handle opened at adoption gives the real code."""

    def __init__(self, exe: Path, backend: str, pid: int) -> None:
        self.exe, self.backend, self.pid = exe, backend, pid
        self._handle = None
        if backend != "sim" and sys.platform == "win32":  # pragma: no cover - Windows only
            import ctypes

            self._handle = ctypes.WinDLL("kernel32").OpenProcess(0x1000, False, pid)

    def __call__(self) -> int | None:
        if self.backend == "sim":
            from multi_user.mt5sim import ipc

            try:
                left = int(json.loads(ipc.endpoint_path(self.exe.parent).read_text())["pid"]) == self.pid
            except (OSError, ValueError, KeyError, TypeError):
                left = False
            return -9 if left else 0
        if self._handle:  # pragma: no cover - Windows only
            import ctypes

            kernel32, code = ctypes.WinDLL("kernel32"), ctypes.c_ulong()
            ok = kernel32.GetExitCodeProcess(self._handle, ctypes.byref(code))
            kernel32.CloseHandle(self._handle)
            self._handle = None
            return int(code.value) if ok else None
        return None


async def wait_for_relaunch(exe: Path, backend: str, old_pid: int | None, timeout: float,
                            run_io: Callable[..., Awaitable[Any]]) -> int | None:
    """The pid of a new terminal serving ``exe``'s folder within ``timeout`` seconds, else None."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pid = await run_io(serving_terminal_pid, exe, backend)
        if pid and pid != old_pid:
            return int(pid)
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(POLL)


class SelfUpdateWatch:
    """One lane's terminal: tells a self-update restart from a crash and adopts the updated terminal."""

    def __init__(self, terminal: TerminalProcess, sup: Supervised, *, spawn: Callable[[Awaitable[Any]], None],
                 on_back: Callable[[], Awaitable[None]], run_io: Callable[..., Awaitable[Any]] | None = None,
                 wait: float | None = None) -> None:
        self.terminal = terminal
        self.sup = sup
        self._spawn = spawn
        self._on_back = on_back
        self._run_io = run_io or run_inline
        self.wait = UPDATE_WAIT.get(terminal.backend, 120.0) if wait is None else wait

    def exited(self, code: int | None) -> bool:
        """Called for an exit nobody asked for. True: it may be an update and is being watched (the
        caller must not count it); False: a crash, the caller counts it."""
        if code not in (0, None) or self.sup.state != "running":
            return False
        old_pid = self.sup.pid
        how = "exited cleanly" if code == 0 else "exited"
        self.sup.updating(f"{how}; waiting up to {self.wait:.0f} s for it to restart itself "
                          "(a terminal update, LiveUpdate)")
        self._spawn(self._watch(code, old_pid))
        return True

    async def _watch(self, code: int | None, old_pid: int | None) -> None:
        pid = await wait_for_relaunch(self.terminal.exe, self.terminal.backend, old_pid, self.wait, self._run_io)
        if self.sup.state != "updating":  # stopped or restarted by the owner meanwhile
            return
        if pid is None:
            self.sup.exited(code, f"exited (code {code}) and did not restart itself within {self.wait:.0f} s")
            return
        log.info("terminal %s updated itself: adopting the new terminal (pid %s)", self.terminal.exe.parent, pid)
        self.terminal.adopt(pid, AdoptedExitCode(self.terminal.exe, self.terminal.backend, pid))
        self.sup.adopted(pid, f"updated itself and restarted (pid {pid}); not counted as a crash")
        await self._on_back()


def ipc_is_back(exe: Path, backend: str) -> bool:
    """Does the terminal of ``exe``'s folder listen again (blocking)? Simulator: its endpoint. Windows: a
    MetaTrader 5 pipe exists (its name is a hash we cannot compute, so any one counts; untested)."""
    if backend == "sim":
        from multi_user.mt5sim import control

        return control.terminal_pid(exe) is not None
    from multi_user.terminals import terminal_pipes

    return bool(terminal_pipes())


class IpcDropWatch:
    """The terminal's IPC went away but its process runs on (it restarts its pipe, e.g. around an update):
    the supervised worker waits for the app's word, so once the IPC is back the worker is told to
    reconnect. Attaching before that would let initialize() start a copy of its own."""

    def __init__(self, terminal: TerminalProcess, sup: Supervised, *, reconnect: Callable[[], Awaitable[None]],
                 spawn: Callable[[Awaitable[Any]], None], run_io: Callable[..., Awaitable[Any]] | None = None,
                 wait: float = 600.0, poll: float = 0.5) -> None:
        self.terminal, self.sup = terminal, sup
        self._reconnect, self._spawn = reconnect, spawn
        self._run_io = run_io or run_inline
        self.wait, self.poll = wait, poll
        self.watching = False

    def lost(self) -> None:
        """The worker says it lost the terminal and waits for a restart."""
        if self.watching or self.sup.state != "running":
            return  # a process exit is the supervisor's (or the update watch's) to handle
        self.watching = True
        self._spawn(self._watch())

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        try:
            while self.sup.state == "running" and loop.time() < deadline:
                if await self._run_io(ipc_is_back, self.terminal.exe, self.terminal.backend):
                    log.info("the terminal in %s answers again: reconnecting", self.terminal.exe.parent)
                    try:
                        await self._reconnect()
                        return
                    except DeskError as exc:  # not quite back yet: try again while it runs
                        log.warning("reconnecting to %s failed: %s", self.terminal.exe.parent, exc)
                await asyncio.sleep(self.poll)
        finally:
            self.watching = False
