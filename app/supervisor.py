"""Supervision of a lane's child processes (terminal, worker): notice a crash, restart with
exponential backoff, give up on a child that keeps crashing. Every transition is an event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("mt5desk.supervisor")

DEFAULT_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)


class RestartPolicy:
    """Exponential backoff, capped; more than ``max_crashes`` within ``window`` seconds → give up."""

    def __init__(self, delays: tuple[float, ...] = DEFAULT_DELAYS, max_crashes: int = 5, window: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.delays = delays
        self.max_crashes = max_crashes
        self.window = window
        self.clock = clock
        self._crashes: list[float] = []

    def crashed(self) -> float | None:
        now = self.clock()
        self._crashes = [t for t in self._crashes if now - t < self.window] + [now]
        if len(self._crashes) > self.max_crashes:
            return None
        return self.delays[min(len(self._crashes) - 1, len(self.delays) - 1)]

    def reset(self) -> None:
        self._crashes.clear()


class Supervised:
    """One supervised child. ``start`` launches it and returns its pid; the owner calls
    ``exited(code)`` when the process ends unexpectedly."""

    def __init__(self, kind: str, lane: str, folder: str | None, emit: Callable[[dict[str, Any]], None],
                 start: Callable[[], Awaitable[int]], policy: RestartPolicy | None = None,
                 on_restarted: Callable[[], Awaitable[None]] | None = None) -> None:
        self.kind = kind  # "terminal" | "worker"
        self.lane = lane
        self.folder = folder
        self._emit = emit
        self._start = start
        self._on_restarted = on_restarted
        self.policy = policy or RestartPolicy()
        self.pid: int | None = None
        self.state = "stopped"
        self.restarts = 0
        self.message: str | None = None
        self._restart_task: asyncio.Task[None] | None = None
        # While start() awaits the child, a death is start()'s to report (it fails): one restart per death.
        self._starting = False
        self._died_starting: str | None = None

    def event(self) -> dict[str, Any]:
        return {"event": self.kind, "lane": self.lane, "folder": self.folder, "pid": self.pid,
                "state": self.state, "restarts": self.restarts, "message": self.message}

    def _set(self, state: str, message: str | None = None) -> None:
        self.state, self.message = state, message
        self._emit(self.event())

    async def start(self) -> int | None:
        self._set("starting")
        self._starting, self._died_starting = True, None
        try:
            pid = await self._start()
        except Exception as exc:
            self._starting = False
            self.pid = None
            self.exited(None, f"could not start: {exc}")
            return None
        self._starting = False
        if self._died_starting is not None:  # it answered, then died before start() returned
            self.pid = None
            self.exited(None, self._died_starting)
            return None
        self.pid = pid
        self._set("running")
        return self.pid

    def exited(self, code: int | None, message: str | None = None) -> None:
        """The child ended without being asked to: record it and schedule a restart (or give up)."""
        if self._starting:
            self._died_starting = message or f"exited during start-up (code {code})"
            return
        if self.state in ("stopped", "failed", "restarting"):  # this death is already handled
            return
        self.pid = None
        reason = message or f"exited unexpectedly (code {code})"
        self._set("crashed", reason)
        delay = self.policy.crashed()
        if delay is None:
            self._set("failed", f"keeps crashing ({self.policy.max_crashes} times in "
                      f"{self.policy.window:.0f} s); not restarting. Last: {reason}")
            return
        self._set("restarting", f"restarting in {delay:g} s")
        self._restart_task = asyncio.get_event_loop().create_task(self._restart_after(delay))

    def updating(self, message: str) -> None:
        """The child exited the way a self-update does: not a crash (yet); ``exited`` later if it stays away."""
        self.pid = None
        self._set("updating", message)

    def adopted(self, pid: int, message: str) -> None:
        """A new copy of the child (started by the old one, e.g. after an update) is supervised now."""
        self.pid = pid
        self._set("running", message)

    async def _restart_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.restarts += 1
        pid = await self.start()
        if pid is not None and self._on_restarted is not None:
            try:
                await self._on_restarted()
            except Exception as exc:  # the lane reports its own errors; keep supervising
                log.warning("%s %s restarted, but the lane could not resume: %s", self.lane, self.kind, exc)

    async def restart_now(self) -> None:
        """Owner-requested restart (terminals panel): resets the crash history."""
        self.policy.reset()
        await self.cancel_restart()
        self.restarts += 1
        await self.start()

    async def cancel_restart(self) -> None:
        task, self._restart_task = self._restart_task, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def stopped(self) -> None:
        """Mark as stopped on purpose (the owner of the process has stopped it)."""
        await self.cancel_restart()
        self.pid = None
        self._set("stopped")
