"""The running application without widgets: lanes, the lock, history, and one stream of events.

The GUI and the headless host both drive a Desk and consume its ``event`` signal (dicts, as in
docs/ARCHITECTURE.md). Every blocking call (vault, history, files) runs on the Desk's single I/O
thread, every terminal call in a worker process; the GUI thread only routes events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from app.desk_accounts import AccountOps
from app.history import HistoryStore
from app.lanes import SHARED, Lane, LaneAccount, LaneConfig
from app.settings import load_settings, save_settings
from app.supervisor import RestartPolicy
from multi_user.paths import history_path
from multi_user.terminals import default_shared_terminal, detect_installed_terminal, resolve_backend_name

log = logging.getLogger("mt5desk.desk")
T = TypeVar("T")

STATUS_FILE = "status.json"
RECORD_EVERY = 30.0  # seconds between last-known-value writes to the vault, per account


class Desk(QObject, AccountOps):
    event = Signal(dict)

    def __init__(self, data_dir: Path, backend: str = "auto", *, timeout_ms: int = 60000,
                 policy_factory: Callable[[], RestartPolicy] = RestartPolicy) -> None:
        QObject.__init__(self)
        self.data_dir = Path(data_dir)
        self.backend = resolve_backend_name(backend)
        self.simulator = self.backend == "sim"
        self.settings: dict[str, Any] = load_settings(self.data_dir)
        self.timeout_ms = timeout_ms
        self.policy_factory = policy_factory
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-io")
        self._vault: Any = None  # lives on the I/O thread only
        self._accounts: list[dict[str, Any]] = []
        self._lock_state: dict[str, Any] = {"event": "lock", "holder": None, "queue": [], "switching": None}
        self._states: dict[str, dict[str, Any]] = {}
        self._snapshots: dict[str, dict[str, Any]] = {}
        self._lane_events: dict[str, dict[str, dict[str, Any]]] = {}
        self._recorded: dict[str, float] = {}
        self._swept: dict[str, float] = {}
        self._temp_passwords: dict[str, str] = {}  # credentials being verified, memory only
        self._tasks: set[asyncio.Task[Any]] = set()
        self.store = HistoryStore(history_path(self.data_dir), self.data_dir / STATUS_FILE)
        self.shared: Lane | None = None
        self.dedicated: dict[str, Lane] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._every_second)
        self._started = False

    # ---- plumbing ------------------------------------------------------------------------------
    async def io(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call on the Desk's I/O thread."""
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    def emit(self, ev: dict[str, Any]) -> None:
        ev.setdefault("ts", time.time())
        kind = ev.get("event")
        if kind == "lock":
            if ev.get("lane") not in (None, SHARED):
                return  # a dedicated lane's private lock is not the shared terminal's lock
            self._lock_state = ev
        elif kind == "account_state":
            self._states[ev["account"]] = ev
        elif kind in ("terminal", "worker"):
            self._lane_events.setdefault(ev["lane"], {})[kind] = ev
        self.event.emit(ev)

    # ---- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        from multi_user.vault import Vault

        self._vault = await self.io(Vault.open, self.data_dir)
        if self.simulator and not self.settings.get("demo_linked"):
            await self.link_demo_accounts()
        await self.io(self.store.compact)
        latest = await self.io(self.store.latest)
        for key, snap in latest.items():
            self._snapshots[key] = {"event": "snapshot", "account": key, **snap}
        await self.reload_accounts()
        loop = asyncio.get_running_loop()  # the writer reports from its own thread: hop to the loop
        self.store.on_state = lambda ev: loop.call_soon_threadsafe(self.emit, ev)
        self.store.start()
        configured = self.settings.get("shared_terminal") or self.settings.get("base_install")
        if not configured and self.backend == "mt5":  # [W] 8: resolve once, keep it across runs
            found = await self.io(detect_installed_terminal)
            if found is not None:
                configured = str(found)
                self.settings["shared_terminal"] = configured
                await self.io(save_settings, self.data_dir, {"shared_terminal": configured})
        terminal = await self.io(default_shared_terminal, self.backend, self.data_dir, configured)
        self.shared = self._make_lane(SHARED, terminal, portable=False)
        self.shared.set_accounts([self._lane_account(a) for a in self._accounts if a["mode"] == "shared"])
        for a in self._accounts:
            self._states.setdefault(a["key"], {"event": "account_state", "account": a["key"], "state": "idle"})
        starts = [self.shared.start()]
        for a in self._accounts:
            if a["mode"] == "dedicated":
                starts.append(self._start_dedicated(a))
        await asyncio.gather(*starts)
        self._timer.start()
        self._started = True
        self._spawn(self._resume())

    async def _resume(self) -> None:
        """After start: one sweep visit per idle shared account (when sweeps are on), then log the
        account the owner was watching last time back in."""
        lane = self.shared
        if lane is None:
            return
        if self.settings.get("sweep_enabled"):
            min_gap = 60.0 * float(self.settings.get("sweep_min_minutes") or 30)
            now = time.time()
            for key in list(lane.accounts):
                if now - float((self._snapshots.get(key) or {}).get("ts") or 0.0) < min_gap:
                    continue
                if lane.lock.sweep_next(key) is None:
                    break  # the owner asked for something meanwhile: theirs comes first
                self._swept[key] = now
                await self._wait_visit(key)
        last = self.settings.get("last_active")
        target = last if last in lane.accounts else next(iter(lane.accounts), None)
        if target is not None and lane.lock.holder is None and not lane.lock.queue:
            self.activate(target)

    async def _wait_visit(self, key: str, timeout: float = 20.0) -> None:
        done = asyncio.get_running_loop().create_future()

        def watch(ev: dict[str, Any]) -> None:
            lane = self.shared
            if lane is not None and (lane.lock.holder is None or lane.lock.holder.account != key) and not done.done():
                done.set_result(None)

        self.event.connect(watch)
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            log.warning("sweep visit of %s took longer than %.0f s", key, timeout)
        finally:
            self.event.disconnect(watch)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        self._timer.stop()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.io(save_settings, self.data_dir, {"last_active": self.settings.get("last_active")})
        lanes = [lane for lane in [self.shared, *self.dedicated.values()] if lane is not None]
        await asyncio.gather(*(lane.stop() for lane in lanes), return_exceptions=True)
        self.store.stop()
        if self._vault is not None:
            with contextlib.suppress(Exception):
                await self.io(self._vault.close)
        self._io.shutdown(wait=True)
        with contextlib.suppress(OSError):
            (self.data_dir / STATUS_FILE).unlink()

    def _make_lane(self, name: str, terminal: Path | None, *, portable: bool) -> Lane:
        start_terminal = terminal is not None and (self.simulator or portable)
        config = LaneConfig(name=name, data_dir=self.data_dir, backend=self.backend, terminal=terminal,
                            portable=portable, start_terminal=start_terminal,
                            rate=float(self.settings.get("snapshot_rate") or 1.0), timeout_ms=self.timeout_ms,
                            policy_factory=self.policy_factory, run_io=self.io)
        return Lane(config, emit=self.emit, password=self._password, on_snapshot=self._on_snapshot)

    @staticmethod
    def _lane_account(a: dict[str, Any]) -> LaneAccount:
        return LaneAccount(a["key"], int(a["login"]), a["server"])

    def lane_of(self, key: str) -> Lane | None:
        return self.dedicated.get(key) or self.shared

    # ---- queries (the GUI's view of the state) ------------------------------------------------
    def accounts(self) -> list[dict[str, Any]]:
        return list(self._accounts)

    def lock_state(self) -> dict[str, Any]:
        return dict(self._lock_state)

    def account_states(self) -> dict[str, dict[str, Any]]:
        return dict(self._states)

    def last_snapshot(self, key: str) -> dict[str, Any] | None:
        return self._snapshots.get(key)

    def lanes(self) -> list[dict[str, Any]]:
        out = []
        for name, events in self._lane_events.items():
            lane = self.shared if name == SHARED else next(
                (ln for ln in self.dedicated.values() if ln.name == name), None)
            if lane is None:
                continue
            out.append({"lane": name, "folder": (events.get("terminal") or events.get("worker") or {}).get("folder"),
                        "accounts": list(lane.accounts), **events})
        return out

    async def history(self, key: str, since: float | None = None) -> list[tuple[float, float, float]]:
        """(ts, balance, equity) of an account from the history store, read on the I/O thread."""
        return await self.io(self.store.read, key, since)

    def job_running(self) -> str | None:
        holder = self._lock_state.get("holder") or {}
        return holder.get("account") if holder.get("reason") == "job" else None

    # ---- commands ----------------------------------------------------------------------------------
    def activate(self, key: str, preempt: bool = False) -> None:
        if key in self.dedicated or self.shared is None:
            return  # a dedicated account is always live on its own terminal
        if key in self.shared.accounts:
            self.settings["last_active"] = key
            self.shared.lock.activate(key, preempt=preempt)

    def cancel(self, key: str) -> None:
        if self.shared is not None:
            self.shared.lock.cancel(key)

    def release(self) -> None:
        if self.shared is not None and self.shared.lock.holder is not None:
            self.shared.lock.release(self.shared.lock.holder.account)

    def close_all(self, key: str) -> None:
        lane = self.lane_of(key)
        if lane is not None and key in lane.accounts:
            lane.lock.run_job(key, "close_all")

    async def lane_action(self, lane: str, action: str) -> None:
        target = self.shared if lane == SHARED else next(
            (ln for ln in self.dedicated.values() if ln.name == lane), None)
        if target is not None:
            await target.action(action)

    async def save_settings(self, settings: dict[str, Any]) -> None:
        self.settings.update(settings)
        await self.io(save_settings, self.data_dir, self.settings)
        for lane in [self.shared, *self.dedicated.values()]:
            if lane is not None and lane.worker.running:
                with contextlib.suppress(Exception):
                    await lane.worker.request("stream", on=True, rate=float(self.settings["snapshot_rate"]))

    # ---- snapshots, staleness, status ---------------------------------------------------------
    async def _password(self, key: str) -> str:
        temp = self._temp_passwords.get(key)
        if temp is not None:
            return temp
        login, server = key.split("@", 1)
        return await self.io(self._vault.password, int(login), server)

    def _on_snapshot(self, key: str, data: dict[str, Any]) -> None:
        ev = {"event": "snapshot", "account": key, **data}
        self._snapshots[key] = ev
        self.store.add(key, float(ev.get("ts") or time.time()), float(data.get("balance") or 0.0),
                         float(data.get("equity") or 0.0), str(data.get("currency") or ""))
        state = self._states.get(key, {}).get("state")
        lane = self.lane_of(key)
        if state == "stale" and lane is not None and lane.lock.holder and lane.lock.holder.account == key:
            lane.lock.set_account_state(key, "live")
        self.emit(ev)
        now = time.monotonic()
        if now - self._recorded.get(key, 0.0) > RECORD_EVERY and self._vault is not None:
            self._recorded[key] = now
            login, server = key.split("@", 1)
            self._io.submit(self._record_quietly, int(login), server, data)

    def _record_quietly(self, login: int, server: str, data: dict[str, Any]) -> None:
        try:
            self._vault.record_snapshot(login, server, balance=float(data.get("balance") or 0.0),
                                        equity=float(data.get("equity") or 0.0),
                                        currency=str(data.get("currency") or ""), ts=float(data.get("ts") or 0.0))
        except Exception as exc:  # an unlinked account or a busy vault: the history keeps the value
            log.debug("could not record last values of %s@%s: %s", login, server, exc)

    def _every_second(self) -> None:
        now = time.time()
        stale_after = max(5.0, 5 * float(self.settings.get("snapshot_rate") or 1.0))
        for lane in [self.shared, *self.dedicated.values()]:
            holder = lane.lock.holder if lane is not None else None
            if holder is None or holder.phase != "active":
                continue
            snap = self._snapshots.get(holder.account)
            if self._states.get(holder.account, {}).get("state") == "live" and (
                    snap is None or now - float(snap.get("ts") or 0) > stale_after):
                lane.lock.set_account_state(holder.account, "stale", "no fresh values from the terminal")
        self._maybe_sweep(now)
        self.store.write_status({
            "pid": os.getpid(), "updated": now,
            "holder": (self._lock_state.get("holder") or {}).get("account"),
            "queue": [q.get("account") for q in self._lock_state.get("queue") or []],
            "accounts": {k: {"state": v.get("state"), **{f: (self._snapshots.get(k) or {}).get(f) for f in
                                                          ("balance", "equity", "currency", "ts")}}
                         for k, v in self._states.items()}})

    def _maybe_sweep(self, now: float) -> None:
        lane = self.shared
        if lane is None or not self.settings.get("sweep_enabled"):
            return
        if lane.lock.holder is not None or self._lock_state.get("queue"):
            return
        min_gap = 60.0 * float(self.settings.get("sweep_min_minutes") or 30)
        for key in lane.accounts:
            last = self._swept.get(key, 0.0)
            snap_ts = float((self._snapshots.get(key) or {}).get("ts") or 0.0)
            if now - last >= min_gap and now - snap_ts >= min_gap:
                self._swept[key] = now
                lane.lock.sweep_next(key)
                return


def make_desk(data_dir: Path, backend: str = "auto") -> Desk:
    return Desk(data_dir, backend)
