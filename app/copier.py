"""The local trade copier ([J]): masters' positions mirrored on their followers, in the running Desk.

Fed by the master's lane: its worker polls positions and orders every WATCH_INTERVAL s and pushes a
``copy_state`` when they change (multi_user/copy_worker.py). Each change queues a ``copy`` job on every
follower's lane, through its lock like any job; the job's one worker request (``copy_sync``) reads the
follower's tagged positions, reconciles them with the master's state and carries the actions out, so a
restart, a reconnect or a crashed terminal is repaired from the tags, never by replaying orders.

An order whose answer never came (the worker was killed as hung, the terminal died) is in doubt: it
is looked up by its tag — positions, orders, history — before an order for it is sent again, and only
once the follower's terminal has answered with no trace of it for DOUBT_SETTLE s.

Links live in <data>/copier.json (multi_user/copy_store.py), re-read within RELOAD_EVERY s so the
command line can change them while the app runs; the app's own changes (the Copier tab, a link's
baseline) are read-modify-writes under the file's lock, as the command line's are, so neither loses
the other's change. Every action and skip is a ``copy`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.copier_events import copy_event, summary
from app.jobs import END_STATES, Job
from multi_user.copy_model import CopyLink, netting_refusal
from multi_user.copy_reconcile import read_tag
from multi_user.copy_store import links_path, load_links, update_links

if TYPE_CHECKING:
    from app.desk import Desk
    from app.lanes import Lane

log = logging.getLogger("mt5desk.copier")

JOB = "copy"
WATCH_INTERVAL = 0.02  # s between a master's position polls (the latency target is 100 ms)
FOLLOWER_INTERVAL = 0.25  # s between a follower's polls (its mirrored positions, copies that vanished)
RELOAD_EVERY = 2.0
CHECK_EVERY = 10.0  # s: a follower whose copies differ from its master's positions is synced again
SKIP_RETRY = 60.0  # s: a skipped trade (slippage, no symbol) is tried again this often
DOUBT_SETTLE = 2.0
FAIL_RETRY = 30.0  # s: a refused order (market closed, no money) is tried again this much later
REQUEST_TIMEOUT = 30.0  # s without a word from the follower's worker during a sync: it is hung


class Copier:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.links: list[CopyLink] = []
        self.request_timeout = REQUEST_TIMEOUT
        self.watch_interval = WATCH_INTERVAL
        self.masters: dict[str, dict[str, Any]] = {}  # master key -> its last copy_state
        self.views: dict[str, dict[str, Any]] = {}  # follower key -> {positions, latency_ms, skipped, error}
        self._stamp: tuple[int, int] | None = None
        self._file = asyncio.Lock()  # one read or write of copier.json at a time in this app
        self._reloaded = 0.0
        self._first_seen: dict[tuple[str, int], float] = {}
        self._changed_at: dict[str, float] = {}
        self._watching: dict[str, int | None] = {}  # lane name -> worker pid the watch was asked of
        self._running: set[str] = set()
        self._dirty: set[str] = set()
        self._checked: dict[str, float] = {}
        self._doubts: dict[str, dict[int, dict[str, float]]] = {}  # follower -> ticket -> since/absent_since
        self._told: dict[tuple[str, int | str], str] = {}  # (follower, ticket or topic) -> last reason said
        self._skipped_at: dict[tuple[str, int | str], float] = {}
        self._stopped = False
        desk.event.connect(self._on_desk_event)

    # ---- links ----------------------------------------------------------------------------------
    async def load(self) -> None:
        await self._reload(force=True)

    async def _reload(self, force: bool = False) -> None:
        path = links_path(self.desk.data_dir)

        def read() -> tuple[tuple[int, int] | None, list[CopyLink] | None]:
            stamp = _stamp(path)
            if stamp == self._stamp and not force:
                return stamp, None
            return stamp, load_links(self.desk.data_dir)

        async with self._file:
            stamp, links = await self.desk.io(read)
            if links is not None:
                self._adopt(stamp, links)

    async def change_links(self, change: Callable[[list[CopyLink]], list[CopyLink]]) -> list[CopyLink]:
        """Apply ``change`` to the links as stored (not as last read) and store them; BadInput from
        ``change`` stores nothing. The links are in effect at once."""
        path = links_path(self.desk.data_dir)

        def write() -> tuple[tuple[int, int] | None, list[CopyLink]]:
            links = update_links(self.desk.data_dir, change)
            return _stamp(path), links

        async with self._file:
            stamp, links = await self.desk.io(write)
            self._adopt(stamp, links)
        return links

    def _adopt(self, stamp: tuple[int, int] | None, links: list[CopyLink]) -> None:
        old = {(lk.key, lk.created_at): lk for lk in self.links}
        for lk in links:  # a baseline taken here but not stored yet is kept (a reload may come first)
            was = old.get((lk.key, lk.created_at))
            if was is not None and was.started and not lk.started:
                lk.started, lk.baseline = True, list(was.baseline)
        self._stamp, self.links = stamp, links
        for lk in links:
            self.request_sync(lk.follower)

    def link_of(self, follower: str) -> CopyLink | None:
        return next((lk for lk in self.links if lk.follower == follower), None)

    async def set_paused(self, follower: str, paused: bool) -> None:
        """Pause or resume a link (the Copier panel); the file keeps it."""

        def change(links: list[CopyLink]) -> list[CopyLink]:
            for lk in links:
                if lk.follower == follower:
                    lk.paused = paused
            return links

        await self.change_links(change)

    # ---- the Desk's clock -------------------------------------------------------------------------
    def check(self, now: float) -> None:
        if now - self._reloaded >= RELOAD_EVERY:
            self._reloaded = now
            self.desk._spawn(self._reload())
        for lk in self.links:
            self._ensure_watch(lk.master, self.watch_interval)
            self._ensure_watch(lk.follower, FOLLOWER_INTERVAL)
            if now - self._checked.get(lk.follower, 0.0) >= CHECK_EVERY:
                self._checked[lk.follower] = now
                if self._differs(lk, now):
                    self.request_sync(lk.follower)

    def _lane(self, key: str) -> Lane | None:
        lane = self.desk.dedicated.get(key)
        if lane is not None:
            lane.push_hooks.setdefault("copy_state", lambda ln, msg: self._on_state(ln.name, msg))
            lane.push_hooks.setdefault("copy_sending", lambda ln, msg: self._on_sending(ln.name, msg))
            lane.job_runners.setdefault(JOB, lambda _ln, job: self._run_job(job))
        return lane

    def _ensure_watch(self, key: str, interval: float) -> None:
        lane = self._lane(key)
        if lane is None or not lane.worker.running or self._watching.get(lane.name) == lane.worker.pid:
            return
        self._watching[lane.name] = lane.worker.pid
        self.desk._spawn(self._watch(lane, interval))

    async def _watch(self, lane: Lane, interval: float) -> None:
        try:
            await lane.worker.request("copy_watch", on=True, interval=interval)
        except Exception as exc:  # the worker restarts: asked again with its new pid
            log.info("copy watch on %s not started: %s", lane.name, exc)
            self._watching.pop(lane.name, None)

    def _differs(self, lk: CopyLink, now: float) -> bool:
        """The follower's copies do not match the master's positions (beyond trades skipped lately)."""
        m, view = self.masters.get(lk.master), self.views.get(lk.follower)
        if m is None or view is None or lk.paused:
            return m is not None and view is None and not lk.paused
        wanted = {int(p["ticket"]) for p in m["positions"]} - (set() if lk.copy_open else set(lk.baseline))
        recent = {t for (f, t), _ in self._told.items() if f == lk.follower and isinstance(t, int)
                  and now - self._skipped_at.get((f, t), 0.0) < SKIP_RETRY}
        have = {t[0] for t in (read_tag(p) for p in view.get("positions") or []) if t}
        return (wanted - recent) != have

    # ---- pushes from the workers ------------------------------------------------------------------
    def _on_state(self, lane_name: str, msg: dict[str, Any]) -> None:
        data = msg.get("data") or {}
        key = f"{data.get('login')}@{data.get('server')}"
        if any(lk.master == key for lk in self.links):
            self._on_master(key, data)
        lk = self.link_of(key)
        if lk is not None:
            view = self.views.setdefault(key, {})
            before = {int(p["ticket"]) for p in view.get("positions") or []}
            view["positions"] = [p for p in data.get("positions") or [] if read_tag(p) is not None]
            view["equity"] = data.get("equity")
            view["margin_mode"] = data.get("margin_mode")
            if before - {int(p["ticket"]) for p in view["positions"]} and key not in self._running:
                self.request_sync(key)  # a copy vanished (its stop hit, the owner closed it): check

    def _on_master(self, key: str, data: dict[str, Any]) -> None:
        previous = self.masters.get(key)
        self.masters[key] = data
        taken = float(data.get("taken_at") or time.time())
        for p in list(data.get("positions") or []) + list(data.get("orders") or []):
            self._first_seen.setdefault((key, int(p["ticket"])), taken)
        if data.get("changed") or previous is None:
            self._changed_at[key] = taken
            now_open = {int(p["ticket"]) for p in list(data.get("positions") or []) + list(data.get("orders") or [])}
            for gone in [k for k in self._first_seen if k[0] == key and k[1] not in now_open]:
                del self._first_seen[gone]  # only open tickets need the time they were first seen
            for lk in self.links:
                if lk.master == key:
                    if not lk.started:
                        self._start_link(lk, data)
                    self.request_sync(lk.follower)

    def _start_link(self, lk: CopyLink, data: dict[str, Any]) -> None:
        """A new link: what the master already has open is left alone unless it copies open trades too."""
        lk.started = True
        lk.baseline = [int(p["ticket"]) for p in list(data.get("positions") or []) + list(data.get("orders") or [])]

        def keep(links: list[CopyLink]) -> list[CopyLink]:
            for stored in links:
                if (stored.key, stored.created_at) == (lk.key, lk.created_at) and not stored.started:
                    stored.started, stored.baseline = True, list(lk.baseline)
            return links

        self.desk._spawn(self.change_links(keep))

    def _on_sending(self, lane_name: str, msg: dict[str, Any]) -> None:
        lane = next((ln for k, ln in self.desk.dedicated.items() if ln.name == lane_name), None)
        if lane is None or lane.pinned is None:
            return
        self._doubts.setdefault(lane.pinned, {})[int(msg.get("master_ticket") or 0)] = {"since": time.time()}

    def _on_desk_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") == "account_state" and ev.get("state") == "live" and self.link_of(str(ev.get("account"))):
            asyncio.get_event_loop().call_soon(self.request_sync, str(ev.get("account")))  # back: catch up
        if ev.get("event") == "job" and ev.get("job") == JOB and ev.get("state") in END_STATES:
            follower = str(ev.get("account"))
            self._running.discard(follower)
            if follower in self._dirty:
                self._dirty.discard(follower)
                asyncio.get_event_loop().call_soon(self.request_sync, follower)

    # ---- syncing a follower ---------------------------------------------------------------------
    def request_sync(self, follower: str) -> None:
        lk = self.link_of(follower)
        if self._stopped or lk is None or lk.paused or lk.master not in self.masters:
            return
        if follower in self._running:
            self._dirty.add(follower)
            return
        problem = self._problem(lk)
        if problem is not None:
            self._tell(lk, "link", problem)
            return
        if self._told.pop((follower, "link"), None) is not None:  # the problem is gone: say so in the views
            self.views.get(follower, {}).get("skipped", {}).pop("link", None)
        lane = self._lane(follower)
        if lane is None:
            return
        self._running.add(follower)
        job = lane.lock.run_job(follower, JOB)
        if job.ended:
            self._running.discard(follower)

    def _problem(self, lk: CopyLink) -> str | None:
        for role in ("master", "follower"):
            if getattr(lk, role) not in self.desk.dedicated:
                return f"the {role} {getattr(lk, role)} has no terminal of its own: give it one to copy"
        state = (self.desk.account_states().get(lk.follower) or {}).get("state")
        if state in ("auth_error", "mismatch"):  # a copy job would log in again: per trade, a login storm
            return f"the follower {lk.follower} is not live ({state}): copying resumes when it is"
        account = next((a for a in self.desk.accounts() if a["key"] == lk.follower), None)
        if account is not None and account.get("investor"):
            return f"{lk.follower} is read-only (investor): it cannot follow"
        refusal = netting_refusal((self.masters.get(lk.master) or {}).get("margin_mode"),
                                  (self.views.get(lk.follower) or {}).get("margin_mode"), lk.follower)
        if refusal is not None:
            return refusal
        if self.desk.guard.is_blocked(lk.follower):
            return f"{lk.follower} is blocked by its risk guard (hard stop): no copy until it is re-armed"
        return None

    def _tell(self, lk: CopyLink, topic: int | str, reason: str, **fields: Any) -> None:
        """A skip or a problem, said once until its reason changes."""
        if self._told.get((lk.follower, topic)) == reason:
            return
        self._told[(lk.follower, topic)] = reason
        self._skipped_at[(lk.follower, topic)] = time.time()
        self.views.setdefault(lk.follower, {}).setdefault("skipped", {})[str(topic)] = reason
        self.desk.emit(copy_event(lk, action="skip", reason=reason, **fields))

    async def _run_job(self, job: Job) -> tuple[bool, str, dict[str, Any], list[int]]:
        follower = job.account
        lk = self.link_of(follower)
        lane = self._lane(follower)
        if lk is None or lane is None or lk.master not in self.masters:
            return True, "nothing to copy", {}, []
        master = self.masters[lk.master]
        doubts = self._doubts.get(follower, {})
        now = time.time()
        in_doubt = {str(t): (now - d["absent_since"] >= DOUBT_SETTLE if "absent_since" in d else False)
                    for t, d in doubts.items()}
        try:
            answer = await lane.worker.request(
                "copy_sync", timeout=self.request_timeout, link=lk.to_json(), in_doubt=in_doubt,
                master={k: master.get(k) for k in ("positions", "orders", "equity", "balance", "specs", "currency",
                                                   "margin_mode")})
        except Exception as exc:
            self.views.setdefault(follower, {})["error"] = str(exc)
            raise
        self._settle_doubts(follower, answer.get("resolved") or {})
        view = self.views.setdefault(follower, {})
        view.update(error=None, synced_at=time.time())
        for r in answer.get("results") or []:
            self._report(lk, r)
            if r.get("in_doubt"):
                asyncio.get_event_loop().call_later(1.0, self.request_sync, follower)  # look it up soon
            elif not r.get("ok"):
                asyncio.get_event_loop().call_later(FAIL_RETRY, self.request_sync, follower)
            elif r.get("kind") == "close" and "reversed" in str(r.get("reason")):
                self._dirty.add(follower)  # a reversed netting position: the new side opens next
        return summary(answer.get("results") or [])

    def _settle_doubts(self, follower: str, resolved: dict[str, str]) -> None:
        doubts = self._doubts.get(follower, {})
        for ticket, how in resolved.items():
            d = doubts.get(int(ticket))
            if d is None:
                continue
            if how in ("found", "retry"):
                doubts.pop(int(ticket), None)
            elif how == "absent":
                d.setdefault("absent_since", time.time())
                loop = asyncio.get_event_loop()
                loop.call_later(DOUBT_SETTLE + 0.1, self.request_sync, follower)

    def _report(self, lk: CopyLink, r: dict[str, Any]) -> None:
        ticket = int(r.get("master_ticket") or 0)
        if r.get("kind") == "skip":
            self._tell(lk, ticket, str(r.get("reason") or ""), master_position=ticket, symbol=r.get("symbol"))
            return
        self._told.pop((lk.follower, ticket), None)
        self.views.get(lk.follower, {}).get("skipped", {}).pop(str(ticket), None)
        doubts = self._doubts.get(lk.follower, {})
        if r.get("kind") in ("open", "place") and not r.get("in_doubt"):
            doubts.pop(ticket, None)
        now = time.time()
        since = (self._first_seen.get((lk.master, ticket)) if r.get("kind") in ("open", "place")
                 else self._changed_at.get(lk.master)) or now
        latency = round((now - since) * 1000, 1)
        if r.get("ok"):
            self.views.setdefault(lk.follower, {})["latency_ms"] = latency
        self.desk.emit(copy_event(lk, action=str(r.get("kind")), master_position=ticket, symbol=r.get("symbol"),
                                  volume=r.get("volume"), retcode=r.get("retcode"), latency_ms=latency,
                                  reason=None if r.get("ok") else str(r.get("message") or r.get("reason") or ""),
                                  ok=bool(r.get("ok")), follower_position=r.get("follower_ticket")))

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(TypeError, RuntimeError):
            self.desk.event.disconnect(self._on_desk_event)


def _stamp(path: Path) -> tuple[int, int] | None:
    """When and how big the links file is (a change by another process changes one of them)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size
