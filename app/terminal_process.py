"""A terminal the app starts itself (QProcess child): ``terminal64.exe [/portable]`` or the simulator's.

Terminals the app started must not outlive it. The simulated terminal is told our pid and exits
when we die; on Windows the real terminal is put in a job object that kills it when our last
handle closes (see multi_user.job_object), so even a killed GUI leaves no orphan terminals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QIODevice, QObject, QProcess

from app.worker_client import child_process_environment
from multi_user.errors import TerminalError
from multi_user.terminals import terminal_command, terminal_pipes

log = logging.getLogger("mt5desk.terminal")

READY_TIMEOUT = 30.0
MT5_READY_TIMEOUT = 100.0  # the real package's own wait for a terminal it starts


async def run_inline(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


class TerminalProcess(QObject):
    def __init__(self, exe: Path, *, backend: str, portable: bool,
                 on_exit: Callable[[int | None, bool], None],
                 run_io: Callable[..., Awaitable[Any]] | None = None, log_file: Path | None = None) -> None:
        super().__init__()
        self.log_file = log_file
        self._run_io = run_io or run_inline
        self.exe = exe
        self.backend = backend
        self.portable = portable
        self._on_exit = on_exit
        self._proc: QProcess | None = None
        self._stopping = False
        self._exited: asyncio.Future[int] | None = None
        self._adopted: int | None = None  # a terminal we did not start (it updated itself), see app/update_detect
        self._adopted_watch: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        if self._adopted is not None:
            return self._adopted
        if self._proc is None or self._proc.state() == QProcess.ProcessState.NotRunning:
            return None
        return int(self._proc.processId()) or None

    async def start(self) -> int:
        if not self.exe.exists():
            raise TerminalError(f"terminal not found: {self.exe}", -10003)
        await self._drop_adopted()
        if self.backend == "sim":
            await self._stop_foreign_sim_terminal()
        pipes_before = await self._run_io(terminal_pipes) if self.backend == "mt5" else set()
        cmd = terminal_command(self.exe, backend=self.backend, portable=self.portable, exit_with_pid=os.getpid())
        loop = asyncio.get_running_loop()
        self._exited = loop.create_future()
        self._stopping = False
        if self._proc is not None and self._proc.state() == QProcess.ProcessState.NotRunning:
            self._proc.deleteLater()  # the one that crashed: nothing refers to it any more
        proc = QProcess(self)
        proc.setProgram(cmd[0])
        proc.setArguments(cmd[1:])
        proc.setWorkingDirectory(str(self.exe.parent))
        proc.setProcessEnvironment(child_process_environment())  # not the master key, nor any secret
        proc.setStandardOutputFile(QProcess.nullDevice())
        if self.log_file is not None:  # the terminal's own console output, for support
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            proc.setStandardErrorFile(str(self.log_file), QIODevice.OpenModeFlag.Append)
        proc.finished.connect(self._finished)
        self._proc = proc
        proc.start()
        if not proc.waitForStarted(10000):
            self._proc = None
            raise TerminalError(f"could not start the terminal {self.exe}: {proc.errorString()}", -10003)
        pid = int(proc.processId())
        if self.backend == "mt5":
            from multi_user.job_object import kill_with_parent

            kill_with_parent(pid)
            await self._wait_mt5_ready(pid, pipes_before)
        else:
            await self._wait_sim_ready(pid)
        log.info("terminal started: %s (pid %s)", self.exe.parent, pid)
        return pid

    async def _wait_sim_ready(self, pid: int) -> None:
        """Wait (off the GUI thread) until the simulated terminal answers on its IPC endpoint."""
        from multi_user.mt5sim import control

        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        while loop.time() < deadline:
            if self.pid is None:
                raise TerminalError(f"the terminal in {self.exe.parent} exited during start-up", -10003)
            ready = await self._run_io(control.terminal_pid, self.exe)
            if ready == pid:
                return
            await asyncio.sleep(0.05)
        raise TerminalError(f"the terminal in {self.exe.parent} did not start within {READY_TIMEOUT:.0f} s", -10005)

    async def _wait_mt5_ready(self, pid: int, before: set[str]) -> None:
        """Wait until the real terminal opens its IPC pipe. The worker must not call initialize() sooner:
        with no pipe yet the package starts a second terminal64.exe from the same folder and waits
        ~100 s for it. The pipe's name is a hash we cannot compute, so a new one is taken as ours."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MT5_READY_TIMEOUT
        while loop.time() < deadline:
            if self.pid is None:
                raise TerminalError(f"the terminal in {self.exe.parent} exited during start-up", -10003)
            if await self._run_io(terminal_pipes) - before:
                return
            await asyncio.sleep(0.25)
        # unconfirmed on a live terminal: go on, the worker's initialize() then waits on its own
        log.warning("no new MetaTrader 5 pipe %.0f s after starting %s (pid %s)", MT5_READY_TIMEOUT,
                    self.exe.parent, pid)

    async def _stop_foreign_sim_terminal(self) -> None:
        # A terminal left running for this folder (by a previous run or by a client's initialize)
        # is replaced by one we own, so supervision covers it.
        from multi_user.mt5sim import control

        if await self._run_io(control.terminal_pid, self.exe):
            await self._run_io(control.stop_terminal, self.exe)

    def adopt(self, pid: int, exit_code: Callable[[], int | None] | None = None) -> None:
        """Supervise a terminal this object did not start: the copy an updating terminal started itself.
        ``exit_code`` tells how it ended (blocking; None: cannot be known)."""
        from multi_user.mt5sim.ipc import pid_alive

        self._adopted, self._stopping = pid, False

        async def watch() -> None:
            while await self._run_io(pid_alive, pid):
                await asyncio.sleep(0.25)
            if self._adopted == pid:
                self._adopted = None
                code = await self._run_io(exit_code) if exit_code is not None else None
                log.warning("terminal %s (adopted, pid %s) exited (code %s)", self.exe.parent, pid, code)
                self._on_exit(code, not self._stopping)

        self._adopted_watch = asyncio.get_running_loop().create_task(watch())

    async def _drop_adopted(self) -> None:
        pid, task = self._adopted, self._adopted_watch
        self._adopted = self._adopted_watch = None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if pid is None:
            return
        if self.backend == "sim":
            from multi_user.mt5sim import control

            await self._run_io(control.stop_terminal, self.exe)
        else:  # pragma: no cover - Windows: TerminateProcess; the job object does the same when we die
            import signal

            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)

    async def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        await self._drop_adopted()
        proc = self._proc
        if proc is None:
            return
        if proc.state() != QProcess.ProcessState.NotRunning:
            proc.terminate()
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                if self._exited is not None:
                    await asyncio.wait_for(asyncio.shield(self._exited), timeout)
            if proc.state() != QProcess.ProcessState.NotRunning:
                proc.kill()
                proc.waitForFinished(2000)
        self._proc = None
        proc.deleteLater()

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self.sender() is not self._proc:
            return
        if self._exited is not None and not self._exited.done():
            self._exited.set_result(code)
        crashed = not self._stopping
        if crashed:
            log.warning("terminal %s exited (code %s)", self.exe.parent, code)
        self._on_exit(code, crashed)
