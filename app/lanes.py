"""Lanes: one terminal + one worker process each.

The shared lane serves many accounts one after another, as its ActiveAccountLock decides; a
dedicated lane is the same machinery with a single account that always holds its own lock, on
its own portable terminal. The lock decides who should be logged in; the lane performs the
login in its worker and reports back, so a failed or slow login never stalls the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.desk_positions import close_outcome as close_one_outcome
from app.flatten import close_outcome
from app.jobs import Job
from app.lane_password import PasswordPrefetch
from app.lane_switch import SwitchPath
from app.lock import ActiveAccountLock
from app.reset_visits import run_visit
from app.supervisor import RestartPolicy, Supervised
from app.terminal_process import TerminalProcess
from app.update_detect import IpcDropWatch, SelfUpdateWatch
from app.worker_client import WorkerClient, worker_command
from multi_user.errors import DeskError, TerminalError
from multi_user.paths import logs_dir

log = logging.getLogger("mt5desk.lanes")

SHARED = "shared"


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


@dataclass(frozen=True)
class LaneAccount:
    key: str
    login: int
    server: str


@dataclass
class LaneConfig:
    name: str
    data_dir: Path
    backend: str  # resolved: "mt5" | "sim"
    terminal: Path | None  # terminal64.exe; None: the real package finds the installed one
    portable: bool
    start_terminal: bool  # the app starts (and supervises) this terminal itself
    rate: float = 1.0
    timeout_ms: int = 60000
    policy_factory: Callable[[], RestartPolicy] = RestartPolicy
    run_io: Callable[..., Awaitable[Any]] | None = None  # runs a blocking call off the GUI thread


class Lane(SwitchPath):  # the login of a granted account: app/lane_switch.py
    def __init__(self, config: LaneConfig, *, emit: Callable[[dict[str, Any]], None],
                 password: Callable[[str], Awaitable[str]],
                 on_snapshot: Callable[[str, dict[str, Any]], None]) -> None:
        self.config = config
        self.name = config.name
        self._emit = emit
        self._password = password
        self._on_snapshot = on_snapshot
        self.accounts: dict[str, LaneAccount] = {}
        # A dedicated lane's one account: whenever its lock falls idle (a job, a cancel or a restart left
        # nobody holding it) the account takes its own terminal again. A failure state (wrong password,
        # offline, mismatch) is left standing with its reason: re-trying that would be a login storm.
        self.pinned: str | None = None
        self._ea_warned: dict[str, str] = {}
        self.lock = ActiveAccountLock(listener=self._lock_event)
        self._busy = False
        self._dispatched: str | None = None  # id of the last job handed to the worker
        self._checked: str | None = None  # id of the verify job whose own login checked the password
        self._swept: str | None = None  # a sweep visit whose snapshot came with its login's answer
        self._tasks: set[asyncio.Task[Any]] = set()
        self._prefetch = PasswordPrefetch(password, self._tasks)  # [P] 3: read as the lock grants
        self._worker_up = False
        self._stopping = False
        self._verify_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}  # by job id
        self._verify_jobs: dict[str, Job] = {}
        self._verify_errors: dict[str, Exception] = {}  # the typed error a failed check raises
        # other modules' jobs and worker pushes, kind -> handler (bots: app/bots.py; the copier: app/copier.py)
        self.job_runners: dict[str, Callable[[Lane, Job], Awaitable[tuple[bool, str, dict[str, Any], list[int]]]]] = {}
        self.push_hooks: dict[str, Callable[[Lane, dict[str, Any]], None]] = {}
        folder = str(config.terminal.parent) if config.terminal else None
        self.terminal: TerminalProcess | None = None
        self.terminal_sup: Supervised | None = None
        if config.start_terminal and config.terminal is not None:
            self.terminal = TerminalProcess(config.terminal, backend=config.backend, portable=config.portable,
                                            on_exit=self._terminal_exited, run_io=config.run_io,
                                            log_file=logs_dir(config.data_dir) / f"terminal-{_slug(self.name)}.log")
            self.terminal_sup = Supervised("terminal", self.name, folder, emit, self.terminal.start,
                                           config.policy_factory(), on_restarted=self._terminal_restarted)
        self.self_update = (SelfUpdateWatch(self.terminal, self.terminal_sup, spawn=self._spawn,
                                            on_back=self._terminal_restarted, run_io=config.run_io)
                            if self.terminal is not None and self.terminal_sup is not None else None)
        self.ipc_drop = (IpcDropWatch(self.terminal, self.terminal_sup, reconnect=self._terminal_restarted,
                                      spawn=self._spawn, run_io=config.run_io)
                         if self.terminal is not None and self.terminal_sup is not None else None)
        cmd = worker_command(str(config.data_dir), config.backend, lane=self.name,
                             terminal=str(config.terminal) if config.terminal else None,
                             portable=config.portable, rate=config.rate, timeout_ms=config.timeout_ms,
                             supervised=self.terminal is not None)
        self.worker = WorkerClient(cmd, on_push=self._push, on_exit=self._worker_exited, name=f"{self.name} worker")
        self.worker_sup = Supervised("worker", self.name, folder, emit, self._start_worker,
                                     config.policy_factory(), on_restarted=self._worker_restarted)

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self.terminal_sup is not None:
            await self.terminal_sup.start()
        await self.worker_sup.start()
        if self.worker_sup.state == "running":
            await self._worker_connected()

    async def stop(self) -> None:
        self._stopping = True
        await self.worker_sup.cancel_restart()
        await self.worker.stop()
        await self.worker_sup.stopped()
        if self.terminal_sup is not None and self.terminal is not None:
            await self.terminal_sup.cancel_restart()
            await self.terminal.stop()
            await self.terminal_sup.stopped()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.lock.close("the app stopped")  # the worker is gone: every job ends, none is left pending

    async def action(self, what: str) -> None:
        """Terminals panel: start, stop or restart this lane's processes."""
        if what == "stop":
            self._worker_up = False
            self.lock.worker_crashed()
            await self.worker.stop()
            await self.worker_sup.stopped()
            if self.terminal is not None and self.terminal_sup is not None:
                await self.terminal.stop()
                await self.terminal_sup.stopped()
        elif what in ("start", "restart"):
            if what == "restart":
                await self.action("stop")
            self._stopping = False
            await self.start()

    def pids(self) -> dict[str, int | None]:
        return {"terminal": self.terminal.pid if self.terminal else None, "worker": self.worker.pid}

    def set_accounts(self, accounts: list[LaneAccount]) -> None:
        wanted = {a.key: a for a in accounts}
        for key in list(self.accounts):
            if key not in wanted:
                self.lock.forget(key)
        self.accounts = wanted

    # ---- worker and terminal supervision --------------------------------------------------
    async def _start_worker(self) -> int:
        return await self.worker.start()

    async def _worker_connected(self) -> None:
        try:
            # our terminal is down (restarting, or updating itself): attaching now would let initialize()
            # start a copy itself; the worker attaches with "reconnect" once the terminal is back
            if self.terminal_sup is None or self.terminal_sup.state == "running":
                await self.worker.request("connect")
        except DeskError as exc:
            self._emit({"event": "error", "lane": self.name, "code": getattr(exc, "code", None),
                        "message": f"{self.name}: {exc}"})
        self._worker_up = True
        self.lock.worker_ready()
        self._pump()

    def _worker_exited(self, code: int, crashed: bool) -> None:
        self._worker_up = False
        if crashed and not self._stopping:
            self.lock.worker_crashed()
            self.worker_sup.exited(code, self.worker.failure)  # failure: killed as hung, and why

    async def _worker_restarted(self) -> None:
        await self._worker_connected()

    def _terminal_exited(self, code: int | None, crashed: bool) -> None:
        if crashed and not self._stopping and self.terminal_sup is not None:
            holder = self.lock.holder
            updating = self.self_update is not None and self.self_update.exited(code)  # LiveUpdate: no crash
            if holder is not None:
                self.lock.set_account_state(holder.account, "offline", "the terminal is updating itself"
                                            if updating else "terminal stopped; restarting it")
            if not updating:
                self.terminal_sup.exited(code)

    async def _terminal_restarted(self) -> None:
        try:
            if self._worker_up:
                await self.worker.request("reconnect")
                holder = self.lock.holder
                if holder is not None and holder.phase == "active":
                    self.lock.set_account_state(holder.account, "live")
        finally:
            self._pump()  # a login or job that waited for the terminal

    # ---- pushes from the worker ----------------------------------------------------------
    def _push(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        hook = self.push_hooks.get(str(kind))
        if hook is not None:
            hook(self, msg)
        elif kind == "snapshot":
            data = msg.get("data") or {}
            key = f"{data.get('login')}@{data.get('server')}"
            if key in self.accounts:
                self._on_snapshot(key, {**data, "lane": self.name})
                holder = self.lock.holder
                if holder is not None and holder.account == key and holder.reason == "sweep":
                    if holder.phase == "switching":
                        self._swept = key  # [P] 3: it came with the login's answer: released once live
                    else:
                        self.lock.release(key)  # a sweep visit needs one snapshot, then gives the lock back
        elif kind == "mismatch":
            key = f"{msg.get('login')}@{msg.get('server')}"
            message = (f"the terminal was switched to login {msg.get('actual_login')} on "
                       f"{msg.get('actual_server')} by another program; trading refused")
            self._emit({"event": "error", "lane": self.name, "account": key, "message": message})
            if self.lock.holder is not None and self.lock.holder.account == key:
                self.lock.release(key)
            self.lock.set_account_state(key, "mismatch", message)
        elif kind == "health":
            if msg.get("waiting_for") == "terminal restart" and self.ipc_drop is not None:
                self.ipc_drop.lost()  # the process may run on with its IPC gone for a while
            holder = self.lock.holder
            if holder is not None and holder.phase == "active":
                if msg.get("terminal_connected") is False:
                    err = ((msg.get("last_error") or {}).get("message")
                           or "the terminal has lost its connection to the broker")
                    self.lock.set_account_state(holder.account, "offline", err)
                elif msg.get("terminal_connected"):
                    self.lock.set_account_state(holder.account, "live")
            if msg.get("login") is not None:  # said during the login too, not only once active
                self._tell_ea_warning(f"{msg.get('login')}@{msg.get('server')}", msg.get("ea_warning"))
        elif kind == "error":
            self._emit({"event": "error", "lane": self.name, "code": msg.get("code"), "message": msg.get("message")})

    def _tell_ea_warning(self, account: str, warning: str | None) -> None:
        """[W] 5: Expert Advisors restart on every account change of the shared terminal; say so once per
        account, as a notice the window, the activity log and the headless stream show."""
        if not warning or account in self._ea_warned or account not in self.accounts:
            return  # once per account and run: its position count changes, the advice does not
        self._ea_warned[account] = warning
        self._emit({"event": "notice", "level": "warning", "lane": self.name, "account": account,
                    "title": "Expert Advisors on a switched terminal", "message": str(warning)})

    # ---- the lock drives logins and jobs -----------------------------------------------------
    def _lock_event(self, event: dict[str, Any]) -> None:
        if event.get("event") == "lock":
            # [P] 3: the password read, the worker's reads and the login's task start before the Desk hears of it
            self._read_ahead(self.lock.holder)
            holder = self.lock.holder
            if holder is not None and holder.phase == "switching":
                self._pump()  # only starts the login's task: nothing re-enters the lock
            else:
                asyncio.get_event_loop().call_soon(self._pump)
        self._emit({**event, "lane": self.name})
        if event.get("event") == "job" and event.get("state") in ("failed", "cancelled"):
            fut = self._verify_waiters.get(str(event.get("id")))
            if fut is not None and not fut.done():
                fut.set_exception(self._verify_errors.pop(str(event.get("id")), None) or TerminalError(
                    f"the check of {event.get('account')} did not complete: {event.get('message') or event['state']}"))

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _pump(self) -> None:
        """Carry out what the lock decided: one login or one job at a time in this lane's worker."""
        if self._busy or not self._worker_up or self._stopping:
            return
        if self.terminal_sup is not None and self.terminal_sup.state in ("starting", "crashed", "restarting",
                                                                         "updating"):
            return  # no login or job while our terminal is away: _terminal_restarted pumps again
        holder = self.lock.holder
        if holder is None:
            pinned = self.pinned
            if (pinned is not None and pinned in self.accounts and not self.lock.queue
                    and self.lock.states.get(pinned, ("idle", None))[0] == "idle"):
                self.lock.activate(pinned)
            return
        job = holder.job
        if holder.phase == "switching":
            if job is None and any(f.account == holder.account for f in self._verify_jobs.values()):
                return  # the check still holds a password of its own for this account: log in after it
            self._busy = True
            sent = self._send_switch_now(holder.account, job)
            task = self._spawn(self._switch(holder.account, job, sent))
            if sent is not None:  # cancelled before its first turn, the task never awaits the answer
                task.add_done_callback(lambda _t: self.worker.forget(sent))
        elif job is not None and job.state == "started" and job.id != self._dispatched:
            self._dispatched = job.id  # job ids are never reused: each job runs exactly once
            self._busy = True
            self._spawn(self._run_job(job))

    async def verify(self, key: str, timeout: float = 180.0) -> dict[str, Any]:
        """Check ``key``'s password with the broker as a short job (always a real login, also when
        the terminal already shows the account) and return its first snapshot (the link check)."""
        job = self.lock.run_job(key, "verify")
        if job.ended:
            raise TerminalError(f"the check of {key} did not complete: {job.message or job.state}")
        fut = self._verify_waiters.get(job.id)
        if fut is None:
            fut = self._verify_waiters[job.id] = asyncio.get_running_loop().create_future()
            self._verify_jobs[job.id] = job
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            self.lock.cancel_job(job.id)  # a started check runs to its end; the worker's request timeout bounds it
            raise TerminalError(f"the terminal did not check {key} within {timeout:.0f} s", -10005) from None
        finally:
            self._verify_waiters.pop(job.id, None)
            self._verify_jobs.pop(job.id, None)
            self._verify_errors.pop(job.id, None)
            asyncio.get_running_loop().call_soon(self._pump)  # a login held back for the check

    async def _run_job(self, job: Job) -> None:
        ok, message, result, retcodes, report = False, "", {}, [], True
        try:
            if job.kind == "verify":
                if self._checked != job.id:  # it runs on the account already logged in: log in again
                    acct = self.accounts[job.account]
                    password = await self._password(job.account)
                    await self.worker.request("switch", login=acct.login, password=password, server=acct.server,
                                              check_password=True)
                    del password
                snap = await self.worker.request("snapshot")
                ok, message, result = True, "credentials verified", {"verified": True}
                fut = self._verify_waiters.get(job.id)
                if fut is not None and not fut.done():
                    fut.set_result(snap)
            elif job.kind in ("close_all", "flatten"):  # flatten: pending orders deleted too ([H] 6)
                answer = await self.worker.request("close_all", **({"orders": True} if job.kind == "flatten" else {}))
                ok, result, retcodes, message = close_outcome(answer)
            elif job.kind == "close_position":  # [E] 3: one position, by its ticket
                answer = await self.worker.request("close_position", ticket=int(job.params.get("ticket") or 0))
                ok, message, result, retcodes = close_one_outcome(answer)
            elif job.kind == "reset_visit":  # [H] 3: the values at the firm's daily reset
                ok, message, result = await run_visit(self.worker, job.account, self._on_snapshot, self.name)
            elif job.kind in self.job_runners:
                ok, message, result, retcodes = await self.job_runners[job.kind](self, job)
            else:
                message = f"unknown job {job.kind!r}"
        except DeskError as exc:
            message = str(exc)
            if job.kind == "verify":
                self._verify_errors[job.id] = exc
            # no answer and the worker still runs: it may still be carrying the job out; the job
            # ends when the worker answers or is restarted (worker_crashed), never before
            report = not (self.worker.running and isinstance(exc.__context__, TimeoutError))
        except Exception as exc:  # a bug must end the job with an error, not leave it started
            log.exception("job %s failed", job.id)
            message = f"unexpected error: {type(exc).__name__}: {exc}"
            self._emit({"event": "error", "lane": self.name, "account": job.account, "message": message})
        finally:
            self._busy = False
            if report:
                self.lock.job_finished(job.id, ok, message, result=result, retcodes=retcodes)
            self._pump()
