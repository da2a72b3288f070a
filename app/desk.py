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
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from app import last_values
from app.activity import ACTIVITY_FILE, ActivityLog, entry_for
from app.alerts import AlertEngine
from app.bots import BotManager
from app.copier import Copier
from app.deals_sync import DealsSync
from app.desk_accounts import AccountOps
from app.desk_activity import ActivityOps
from app.desk_health import HealthWatch
from app.desk_history import HistoryOps, read_recent
from app.desk_positions import PositionOps
from app.desk_rates import RatesOps
from app.desk_snapshots import SnapshotOps
from app.desk_sweep import SweepOps
from app.flatten import submit
from app.guard import Guard
from app.history import HistoryStore
from app.lane_password import PasswordReader
from app.lanes import SHARED, Lane, LaneAccount, LaneConfig
from app.reset_visits import ResetVisits
from app.settings import load_settings, save_settings
from app.supervisor import RestartPolicy
from multi_user.paths import history_path
from multi_user.terminals import default_shared_terminal, detect_installed_terminal, resolve_backend_name

log = logging.getLogger("mt5desk.desk")
T = TypeVar("T")

STATUS_FILE = "status.json"


class Desk(QObject, AccountOps, SweepOps, RatesOps, HistoryOps, PositionOps, ActivityOps, SnapshotOps):
    event = Signal(object)  # a dict; Signal(dict) made a QVariantMap copy per slot, 50 µs each ([P] 1)

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
        self._passwords = PasswordReader(self.data_dir)  # [P] 3: a switch's password, read on its own thread
        self._accounts: list[dict[str, Any]] = []
        self._lock_state: dict[str, Any] = {"event": "lock", "holder": None, "queue": [], "switching": None}
        self._states: dict[str, dict[str, Any]] = {}
        self._snapshots: dict[str, dict[str, Any]] = {}
        self._lane_events: dict[str, dict[str, dict[str, Any]]] = {}
        self._recorded: dict[str, float] = {}
        self._swept: dict[str, float] = {}
        self._temp_passwords: dict[str, str] = {}  # credentials being verified, memory only
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cancelled: set[str] = set()  # logins cancelled while the terminal was already logging in
        self._jobs: dict[str, dict[str, Any]] = {}  # jobs queued or started, by id
        self._logged: dict[str, float] = {}  # activity title+detail -> when, to fold repeats
        self._last_values_saved = 0.0
        self.rates: dict[str, dict[str, Any]] = {}  # "EUR/USD" -> {rate, symbol, time, asked}
        self._rates_asked = 0.0
        self.store = HistoryStore(history_path(self.data_dir), self.data_dir / STATUS_FILE)
        self.activity = ActivityLog(self.data_dir / ACTIVITY_FILE)
        self.health = HealthWatch(self)
        self.guard = Guard(self)  # [H] 2: prop-firm floors on the live snapshots
        self.reset_visits = ResetVisits(self)  # [H] 3: shared guarded accounts visited at their reset
        self.alerts = AlertEngine(self)  # [N]: alerts sent where the owner is (phone, chat, e-mail)
        self.deals = DealsSync(self.data_dir, io=self.io, emit=self.emit, spawn=self._spawn)  # [E] 1
        self.bots = BotManager(self)  # [I] bots per account, run in the lanes' workers
        self.copier = Copier(self)  # [J] the local trade copier
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
        previous = None
        if kind == "lock":
            if ev.get("lane") not in (None, SHARED):
                return  # a dedicated lane's private lock is not the shared terminal's lock
            self._lock_state = ev
        elif kind == "account_state":
            previous = (self._states.get(ev["account"]) or {}).get("state")
            self._states[ev["account"]] = ev
            holder = self.shared.lock.holder if self.shared is not None else None
            if holder is not None and holder.account == ev["account"] and holder.reason != "viewing" \
                    and ev.get("state") == "live":
                previous = "live"  # a sweep visit or a job: its own entries tell it, not "is live"
        elif kind in ("terminal", "worker"):
            self._lane_events.setdefault(ev["lane"], {})[kind] = ev
        elif kind == "job":
            self._track_job(ev)
        self.event.emit(ev)
        entry = entry_for(ev, self.name_of, previous)
        if entry is not None:
            self.log_activity(entry)

    def name_of(self, key: str) -> str:
        a = next((a for a in self._accounts if a["key"] == key), None)
        return f"{a['label']} ({a['login']})" if a and a.get("label") else key

    # ---- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        from multi_user.vault import Vault

        self._vault = await self.io(Vault.open, self.data_dir)
        self._passwords.credentials = self._vault.credentials
        if self.simulator and not self.settings.get("demo_linked"):
            await self.link_demo_accounts()
        await self.reload_accounts()  # the window lists the accounts before anything slower runs
        await self.guard.load()
        await self.alerts.start()
        self._key_file_notice()
        latest = await self.io(self.store.latest)
        stored = await self.io(last_values.load, self.data_dir)
        for key, snap in last_values.merge(latest, stored).items():
            # the last values from before the restart, with their own ts: shown with their age
            self._snapshots[key] = {"event": "snapshot", "account": key, **snap, "restored": True}
            self.event.emit(self._snapshots[key])
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
        await self.copier.load()
        self._timer.start()
        self._started = True
        self._spawn(self._resume())
        self._spawn(self.bots.restore())  # [I] the bots the owner chose to keep running
        self._spawn(self.io(self.store.compact))  # downsampling old history waits for nobody
        self._spawn(self.io(self.activity.prune))

    def _key_file_notice(self) -> None:
        """No OS keyring: the key that encrypts the passwords sits in a file. Say so in the window."""
        creds = getattr(self._vault, "credentials", None)
        if getattr(creds, "key_source", None) != "file":
            return
        from multi_user.paths import key_file_path

        path = key_file_path(self.data_dir)
        ev = {"event": "notice", "level": "warning", "title": "The encryption key is kept in a file",
              "message": f"No OS keyring works here, so the key that encrypts your passwords is kept in {path} "
                         "(readable only by you). Anyone who can read that file and the vault can read the "
                         "passwords: keep the data folder private, or set MT5_ENCRYPTION_KEY instead."}
        if self.settings.get("key_file_notice_logged"):
            self.event.emit(ev)  # shown in the window every start, logged in the activity log once
            return
        self.settings["key_file_notice_logged"] = True
        self._spawn(self.io(save_settings, self.data_dir, {"key_file_notice_logged": True}))
        self.emit(ev)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Orderly end: lanes (workers, terminals) stopped, jobs that never ran reported dropped,
        last values, history and the activity log flushed, the vault closed."""
        self._timer.stop()
        self.copier.stop()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.io(save_settings, self.data_dir, {"last_active": self.settings.get("last_active")})
        lanes = [lane for lane in [self.shared, *self.dedicated.values()] if lane is not None]
        await asyncio.gather(*(lane.stop() for lane in lanes), return_exceptions=True)
        for job in list(self._jobs.values()):
            started = job.get("state") == "started"
            self.emit({**job, "event": "job", "state": "failed" if started else "cancelled", "ts": time.time(),
                       "seq": None, "message": "interrupted because the app quit: check the positions" if started
                       else "dropped because the app quit"})
        with contextlib.suppress(Exception):
            await self.alerts.stop()  # after the lanes: a job the quit interrupted is alerted too
        with contextlib.suppress(Exception):
            await self.io(self._save_last_values)
        self.store.stop()
        self.store.on_state = None  # drop the store -> Desk reference (no cycle left for the GC)
        if self._vault is not None:
            with contextlib.suppress(Exception):
                await self.io(self._vault.close)
        await self.io(self._passwords.close)
        with contextlib.suppress(Exception):
            await self.io(self.activity.close)
        with contextlib.suppress(Exception):
            await self.io(self.guard.save)
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

    @property
    def started(self) -> bool:
        """The lanes run (before: the accounts may be listed, the terminals are still starting)."""
        return self._started

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

    async def history(self, key: str, since: float | None = None,
                      max_points: int = 20000) -> list[tuple[float, float, float]]:
        """(ts, balance, equity) of an account from since to now at the range's resolution (equity tiers:
        never all rows thinned in Python), read on the I/O thread."""
        rows = await self.io(read_recent, self.store.path, key, since, time.time(), max_points)
        return [(r[0], r[1], r[2]) for r in rows]

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
            if preempt:
                self.bots.yield_terminal(key)  # [I] a bot holding the terminal pauses between its calls

    def cancel(self, key: str) -> None:
        if self.shared is not None:
            holder = self.shared.lock.holder
            if self.shared.lock.cancel(key) and holder is not None and holder.account == key:
                self._cancelled.add(key)  # its login may still land on the terminal: see _on_snapshot

    def release(self) -> None:
        if self.shared is not None and self.shared.lock.holder is not None:
            self.shared.lock.release(self.shared.lock.holder.account)

    def close_all(self, key: str) -> None:
        lane = self.lane_of(key)
        if lane is not None and key in lane.accounts:
            lane.lock.run_job(key, "close_all")

    def flatten(self, key: str, priority: bool = False) -> str | None:
        """[H] 6: close the positions and delete the pending orders of ``key`` (app/flatten.py); the hard
        stop's flatten is a priority job, ahead of the other jobs on the shared terminal."""
        return submit(self, key, "flatten", priority)

    async def lane_action(self, lane: str, action: str) -> None:
        target = self.shared if lane == SHARED else next(
            (ln for ln in self.dedicated.values() if ln.name == lane), None)
        if target is None:
            return
        await target.action(action)
        where = "the shared terminal" if lane == SHARED else "its own terminal"
        if action == "stop":
            # the lock calls this a worker crash ("restarting it"); it is the owner's stop: no restart comes
            waiting = [r.account for r in target.lock.queue]
            for key in waiting:
                target.lock.set_account_state(key, "offline", f"{where} was stopped from the Terminals tab; "
                                                              "press Start there to log in again")
            self.log_activity({"kind": "terminal", "title": f"{where.capitalize()} stopped",
                               "detail": "stopped from the Terminals tab; it stays stopped until you press Start"
                                         + (f" ({len(waiting)} account(s) wait for it)" if waiting else "")})
        else:
            self.log_activity({"kind": "terminal", "title": f"{where.capitalize()} {action}ed",
                               "detail": "from the Terminals tab"})

    async def save_settings(self, settings: dict[str, Any]) -> None:
        if settings.get("base_currency") != self.settings.get("base_currency"):
            self._rates_asked = 0.0  # a new base currency: ask for its rates at once
        self.settings.update(settings)
        await self.io(save_settings, self.data_dir, self.settings)
        for lane in [self.shared, *self.dedicated.values()]:
            if lane is not None and lane.worker.running:
                with contextlib.suppress(Exception):
                    await lane.worker.request("stream", on=True, rate=float(self.settings["snapshot_rate"]))

    # ---- snapshots, staleness, status ---------------------------------------------------------
    def _password(self, key: str) -> Awaitable[str]:
        login, server = key.split("@", 1)
        return self._passwords.password(int(login), server, self._temp_passwords.get(key))  # [P] 3: read now

    def _every_second(self) -> None:
        now = time.time()
        self.health.check(now)
        self.guard.check(now, self._states)
        self.reset_visits.check(now)
        self._maybe_sweep(now)
        self._maybe_fetch_rates(now)
        self.copier.check(now)
        self.store.write_status({
            "pid": os.getpid(), "updated": now,
            "holder": (self._lock_state.get("holder") or {}).get("account"),
            "queue": [q.get("account") for q in self._lock_state.get("queue") or []],
            "accounts": {k: {"state": v.get("state"), **{f: (self._snapshots.get(k) or {}).get(f) for f in
                                                          ("balance", "equity", "currency", "ts")}}
                         for k, v in self._states.items()}})


def make_desk(data_dir: Path, backend: str = "auto") -> Desk:
    return Desk(data_dir, backend)
