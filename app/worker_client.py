"""The GUI-side client of one lane worker (a QProcess child speaking JSON lines).

Requests are awaited on the qasync loop, so the window never waits on a terminal. Pushes
(snapshots, health, mismatch) are delivered to a callback in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment

from multi_user import worker_protocol as wp
from multi_user.child_command import child_environment, python_module_command
from multi_user.errors import AuthorizationError, BadInput, BrokerUnreachable, IdentityMismatch, TerminalError

log = logging.getLogger("mt5desk.worker_client")

# Above the real package's longest waits: initialize() waits up to ~100 s for a terminal it starts
# (whatever its timeout), then the login its own 60 s; only then does the worker know the answer.
REQUEST_TIMEOUT = 180.0
MAX_LINE = 16 * 1024 * 1024  # a protocol line longer than this is dropped (the worker has gone wrong)


def child_process_environment() -> QProcessEnvironment:
    """Our environment without the master key or anything secret, for a QProcess child."""
    env = QProcessEnvironment()
    for name, value in child_environment().items():
        env.insert(name, value)
    return env


class WorkerError(TerminalError):
    """A request the worker answered with an error; ``kind`` is one of worker_protocol's ERR_*."""

    def __init__(self, kind: str, message: str, code: int | None = None) -> None:
        super().__init__(message, code)
        self.kind = kind


def raise_typed(error: dict[str, Any]) -> None:
    """Turn a worker's error answer back into the typed error the rest of the app expects."""
    kind, message, code = error.get("kind"), str(error.get("message")), error.get("code")
    if kind == wp.ERR_AUTH:
        exc: Exception = AuthorizationError(message, code)
    elif kind == wp.ERR_BROKER:
        exc = BrokerUnreachable(message, code)
    elif kind == wp.ERR_MISMATCH:
        exc = IdentityMismatch(message, code)
    elif kind == wp.ERR_BAD_REQUEST:
        exc = BadInput(message)
    else:
        exc = WorkerError(str(kind), message, code)
    exc.kind = kind  # type: ignore[attr-defined]
    raise exc


def worker_command(data_dir: str, backend: str, *, lane: str, terminal: str | None, portable: bool,
                   rate: float, timeout_ms: int, supervised: bool = False, log_level: str = "INFO") -> list[str]:
    cmd = [*python_module_command("multi_user.worker"), "--data-dir", data_dir, "--backend", backend,
           "--lane", lane, "--rate", str(rate), "--timeout-ms", str(timeout_ms), "--log-level", log_level]
    if terminal:
        cmd += ["--terminal", terminal]
    if portable:
        cmd.append("--portable")
    if supervised:
        cmd.append("--supervised")
    return cmd


Sent = tuple[str, int, "asyncio.Future[Any]", float]  # a request written by send(): op, id, its answer, when


class WorkerClient(QObject):
    def __init__(self, command: list[str], *, on_push: Callable[[dict[str, Any]], None],
                 on_exit: Callable[[int, bool], None], name: str = "worker",
                 request_timeout: float = REQUEST_TIMEOUT, max_line: int = MAX_LINE) -> None:
        super().__init__()
        self.command = command
        self.name = name
        self.request_timeout = request_timeout
        self.max_line = max_line
        self._on_push = on_push
        self._on_exit = on_exit
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        # Read buffer: bytes after the last newline, and how far of it is known to hold no newline,
        # so a long line arriving in many pieces is scanned once (linear, not quadratic).
        self._buf = bytearray()
        self._scanned = 0
        self._discarding = False  # inside a line longer than max_line: drop up to its newline
        self.failure: str | None = None  # why the client killed its worker (a hung request), for on_exit
        self._heard_at = 0.0  # loop time of the last bytes from the worker
        self._watchdog: asyncio.Task[None] | None = None
        self._hello: asyncio.Future[dict[str, Any]] | None = None
        self._stopping = False
        self._writing = False  # inside _write: output Qt reads meanwhile waits for the loop
        self._proc: QProcess | None = None
        self._exited: asyncio.Future[int] | None = None

    @property
    def pid(self) -> int | None:
        if self._proc is None or self._proc.state() == QProcess.ProcessState.NotRunning:
            return None
        return int(self._proc.processId()) or None

    @property
    def running(self) -> bool:
        return self.pid is not None

    async def start(self, timeout: float = 30.0) -> int:
        """Start the worker and complete the version handshake; returns its pid."""
        loop = asyncio.get_running_loop()
        self._stopping = False
        self.failure = None
        self._buf, self._scanned, self._discarding = bytearray(), 0, False
        self._hello = loop.create_future()
        self._exited = loop.create_future()
        if self._proc is not None and self._proc.state() == QProcess.ProcessState.NotRunning:
            self._proc.deleteLater()  # the one that crashed: nothing refers to it any more
        proc = QProcess(self)
        proc.setProgram(self.command[0])
        proc.setArguments(self.command[1:])
        proc.setProcessEnvironment(child_process_environment())
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._finished)
        proc.errorOccurred.connect(self._error)
        self._proc = proc
        proc.start()
        try:
            hello = await asyncio.wait_for(self._hello, timeout)
        except TimeoutError:
            await self.stop()
            raise WorkerError(wp.ERR_TERMINAL, f"{self.name} did not start within {timeout:.0f} s") from None
        if hello.get("type") == "fatal":
            await self.stop()
            raise TerminalError(str(hello.get("message")))
        if hello.get("protocol") != wp.PROTOCOL_VERSION:
            await self.stop()
            raise WorkerError(wp.ERR_TERMINAL, f"{self.name} speaks protocol {hello.get('protocol')}, "
                              f"this app speaks {wp.PROTOCOL_VERSION}: reinstall MT5 Desk")
        await self.request("hello", protocol=wp.PROTOCOL_VERSION)
        self._watchdog = loop.create_task(self._watch(), name=f"{self.name} watchdog")
        return int(hello["pid"])

    async def _watch(self) -> None:
        """Ping a worker that has been silent for a third of the request timeout: a hung one (a
        dedicated lane's, which gets no other requests) then fails the ping and is restarted."""
        loop = asyncio.get_running_loop()
        while self.running:
            quiet = self.request_timeout / 3
            await asyncio.sleep(max(0.05, self._heard_at + quiet - loop.time()))
            if loop.time() - self._heard_at >= quiet and not self._pending and self.running:
                with contextlib.suppress(TerminalError, BadInput):
                    await self.request("ping")

    def _stop_watchdog(self) -> asyncio.Task[None] | None:
        task, self._watchdog = self._watchdog, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            return task
        return None

    async def request(self, op: str, *, timeout: float | None = None, **fields: Any) -> Any:
        """Send one request and await its answer. A worker that writes nothing for ``timeout`` s
        while a request waits is hung: it is killed, so its owner sees it exit (``failure`` says why)
        and restarts it. A long request that reports progress (close_all) is never cut short."""
        return await self.answer(self.send(op, **fields), timeout=timeout)

    def send(self, op: str, **fields: Any) -> Sent:
        """Write one request now (``answer`` awaits it): a lane sends a switch whose password is at hand from the
        lock's grant itself, without waiting for a task's first turn ([P] 3)."""
        if self._proc is None or self.pid is None:
            raise WorkerError(wp.ERR_IPC, f"{self.name} is not running")
        loop = asyncio.get_running_loop()
        rid = next(self._ids)
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending[rid] = fut
        self._write(wp.encode({"id": rid, "op": op, **fields}))
        return op, rid, fut, loop.time()

    async def answer(self, sent: Sent, *, timeout: float | None = None) -> Any:
        op, _rid, fut, sent_at = sent
        timeout = self.request_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        try:
            while (remaining := max(sent_at, self._heard_at) + timeout - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(fut), remaining)
            if fut.done():
                return fut.result()
            reason = f"{self.name} did not answer {op!r} within {timeout:g} s"
            self._kill_hung(reason)
            raise WorkerError(wp.ERR_IPC, f"{reason}; it was stopped and is being restarted")
        finally:
            self.forget(sent)

    def forget(self, sent: Sent) -> None:
        """Nobody awaits this request's answer any more (its task ended before it could)."""
        self._pending.pop(sent[1], None)

    def notify(self, op: str, **fields: Any) -> None:
        """Send a request whose answer nobody awaits ([P] 3: a switch's reads ahead): without an id, so the worker
        does not answer it."""
        if self._proc is not None and self.pid is not None:
            self._write(wp.encode({"op": op, **fields}))

    def _write(self, data: bytes) -> None:
        """[P] 3: on POSIX QProcess only buffers a write until the loop's next turn; it goes down the pipe now (on
        Windows the write starts at once). With the pipe full, Qt may read the worker's output or see it exit
        meanwhile: _read_stdout and _finished leave that to the loop (no re-entry into the caller)."""
        proc = self._proc
        assert proc is not None
        proc.write(data)
        if sys.platform == "win32":
            return
        self._writing = True
        try:
            proc.waitForBytesWritten(0)
        finally:
            self._writing = False

    def _kill_hung(self, reason: str) -> None:
        proc = self._proc
        if proc is None or self._stopping or proc.state() == QProcess.ProcessState.NotRunning:
            return
        log.warning("%s; killing it", reason)
        self.failure = f"{reason}; killed as hung"
        proc.kill()  # _finished then reports a crash to the owner, who restarts it with backoff

    async def stop(self, timeout: float = 5.0) -> None:
        """Close stdin (the worker exits on EOF), wait, and kill it if it does not go."""
        proc = self._proc
        if proc is None:
            return
        self._stopping = True
        watchdog = self._stop_watchdog()
        if watchdog is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watchdog
        if proc.state() != QProcess.ProcessState.NotRunning:
            proc.closeWriteChannel()
            exited = self._exited
            try:
                if exited is not None:
                    await asyncio.wait_for(asyncio.shield(exited), timeout)
            except TimeoutError:
                log.warning("%s did not exit on EOF; killing it", self.name)
            if proc.state() != QProcess.ProcessState.NotRunning:
                proc.kill()
                proc.waitForFinished(2000)
        self._fail_pending(WorkerError(wp.ERR_IPC, f"{self.name} stopped"))
        self._proc = None
        proc.deleteLater()

    # ---- QProcess plumbing ----------------------------------------------------------------
    def _read_stdout(self) -> None:
        proc = self.sender()
        if not isinstance(proc, QProcess) or proc is not self._proc:
            return
        if self._writing:  # read by Qt inside _write: handled on the loop, never inside the caller's write
            asyncio.get_running_loop().call_soon(self._read_later, proc)
            return
        self.feed(bytes(proc.readAllStandardOutput().data()))

    def _read_later(self, proc: QProcess) -> None:
        if proc is self._proc:
            self.feed(bytes(proc.readAllStandardOutput().data()))

    def feed(self, data: bytes) -> None:
        """Take bytes read from the worker's stdout and dispatch every complete line in them."""
        with contextlib.suppress(RuntimeError):  # no running loop: fed directly (tests, benchmarks)
            self._heard_at = asyncio.get_running_loop().time()
        buf = self._buf
        buf += data
        start = 0
        while (nl := buf.find(b"\n", max(start, self._scanned))) >= 0:
            if self._discarding:
                self._discarding = False  # the oversized line ends here
            elif nl - start > self.max_line:
                self._report_long_line()
            elif buf[start:nl].strip():
                self._dispatch_safely(bytes(buf[start:nl]))
            start = self._scanned = nl + 1
        del buf[:start]
        self._scanned = len(buf)
        if self._discarding:
            buf.clear()
            self._scanned = 0
        elif len(buf) > self.max_line:
            buf.clear()
            self._scanned = 0
            self._discarding = True
            self._report_long_line()

    def _report_long_line(self) -> None:
        self._report(f"{self.name} wrote a line longer than {self.max_line // (1024 * 1024)} MB; it was dropped")

    def _report(self, message: str) -> None:
        log.warning("%s", message)
        self._dispatch_push({"type": "error", "code": None, "message": message})

    def _dispatch_safely(self, line: bytes) -> None:
        # One bad line (or a failing push handler) must not cost the lines after it.
        try:
            self._dispatch(line)
        except Exception:
            log.exception("%s: a line from the worker could not be handled", self.name)

    def _dispatch_push(self, msg: dict[str, Any]) -> None:
        try:
            self._on_push(msg)
        except Exception:
            log.exception("%s: handling a %r push failed", self.name, msg.get("type"))

    def _dispatch(self, line: bytes) -> None:
        try:
            msg = wp.decode(line)
        except ValueError:
            log.warning("%s wrote a line that is not protocol JSON", self.name)
            return
        if self._hello is not None and not self._hello.done() and msg.get("type") in ("hello", "fatal"):
            self._hello.set_result(msg)
            return
        rid = msg.get("id")
        if rid is not None and (isinstance(rid, bool) or not isinstance(rid, int | str)):
            self._report(f"{self.name} answered with an id that is not a string or an integer "
                         f"({type(rid).__name__}); the answer was dropped")
            return
        if rid is not None:
            fut = self._pending.get(rid)
            if fut is not None and not fut.done():
                if msg.get("ok"):
                    fut.set_result(msg.get("result"))
                else:
                    try:
                        raise_typed(msg.get("error") or {})
                    except Exception as exc:
                        fut.set_exception(exc)
            return
        self._dispatch_push(msg)

    def _read_stderr(self) -> None:
        proc = self.sender()
        if isinstance(proc, QProcess):
            for line in bytes(proc.readAllStandardError().data()).decode(errors="replace").splitlines():
                if line.strip():
                    log.info("[%s] %s", self.name, line)

    def _error(self, err: QProcess.ProcessError) -> None:
        if err == QProcess.ProcessError.FailedToStart and self._hello and not self._hello.done():
            self._hello.set_exception(WorkerError(wp.ERR_TERMINAL, f"{self.name} failed to start"))

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self.sender() is not self._proc:
            return
        if self._writing:  # seen by Qt inside _write: handled on the loop, never inside the caller's write
            asyncio.get_running_loop().call_soon(self._exit_seen, code)
            return
        self._exit_seen(code)

    def _exit_seen(self, code: int) -> None:
        self._stop_watchdog()
        if self._exited is not None and not self._exited.done():
            self._exited.set_result(code)
        self._fail_pending(WorkerError(wp.ERR_IPC, f"{self.name} exited"))
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(WorkerError(wp.ERR_TERMINAL, f"{self.name} exited during start-up"))
        crashed = not self._stopping
        with contextlib.suppress(Exception):
            self._on_exit(code, crashed)

    def _fail_pending(self, exc: Exception) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(exc)
        self._pending.clear()
