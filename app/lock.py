"""The active-account lock of a lane: who is logged into the terminal, and who waits, in order.

Pure state machine (no Qt, no I/O, time injected), so every interleaving can be tested. The lock
decides; the lane performs the login and reports back:

- A granted request becomes the **holder** in phase ``switching`` (account state ``connecting``);
  the lane logs in, then calls ``switch_succeeded`` (phase ``active``, state ``live``) or
  ``switch_failed`` (holder dropped, account marked ``auth_error``/``offline``/``mismatch``,
  next request granted at once: a failure never stalls the queue).
- ``activate`` (the owner clicked): a viewing or sweeping holder is replaced at once; a running
  job is not — the request waits, unless ``preempt=True`` (the owner confirmed), which aborts
  the job. Activating the holder again is a no-op (never a second login).
- ``run_job`` (a short job such as closing positions): waits behind a running job; replaces a
  viewing holder, whose request goes back to the FRONT of the queue so the owner returns to
  it afterwards (a job on the viewed account itself runs in place, without a new login).
- ``sweep_next``: a sweep visit, granted only when the lock is free and nobody waits.
- ``worker_crashed``: the holder loses the lock (state ``offline``); a viewing or job request is
  put back at the front; nothing is granted until ``worker_ready``.

Every change is an event (``lock``, ``account_state``, ``job``) with a ``seq`` that grows by one,
so a consumer can tell that none was lost.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

VIEWING, JOB, SWEEP = "viewing", "job", "sweep"
SWITCHING, ACTIVE = "switching", "active"
FAIL_STATES = {"auth": "auth_error", "offline": "offline", "mismatch": "mismatch"}


@dataclass
class Request:
    id: int
    account: str
    reason: str
    job: str | None
    requested_at: float
    resume_viewing: bool = False


@dataclass
class Holder:
    account: str
    since: float
    reason: str
    job: str | None
    phase: str
    request_id: int
    resume_viewing: bool = field(default=False, repr=False)  # a job on the viewed account returns to viewing


class ActiveAccountLock:
    def __init__(self, listener: Callable[[dict[str, Any]], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.listener = listener
        self.clock = clock
        self.holder: Holder | None = None
        self.queue: list[Request] = []
        self.states: dict[str, tuple[str, str | None]] = {}
        self.worker_up = False
        self._ids = itertools.count(1)
        self._seq = 0
        self._places: dict[str, int] = {}

    # ---- requests from the owner ----------------------------------------------------------
    def activate(self, account: str, preempt: bool = False) -> Request | None:
        h = self.holder
        if h is not None and h.account == account:
            if h.reason == JOB:
                h.resume_viewing = True  # watch it once its job is done
            elif h.reason == SWEEP:
                h.reason = VIEWING
                self._emit_lock()
            return None
        waiting = self._waiting(account)
        if waiting is not None and waiting.reason == JOB:
            return waiting  # its job keeps its place in the queue
        changed = self._drop_other_viewers(account)  # the owner watches one account: the latest click wins
        job_running = h is not None and h.reason == JOB
        jobs_waiting = any(r.reason == JOB for r in self.queue)  # only while the worker is down
        if (job_running and not preempt) or (jobs_waiting and not job_running):
            if waiting is None:
                waiting = self._new(account, VIEWING, None)
                self.queue.append(waiting)
                changed = True
            if changed:
                self._emit_lock()
            return waiting
        if waiting is not None:
            self.queue.remove(waiting)
        if h is not None:
            self._drop_holder("idle", aborted="the owner switched to another account" if h.reason == JOB else None)
        req = waiting or self._new(account, VIEWING, None)
        self.queue.insert(0, req)
        self._grant_or_emit()
        return req

    def run_job(self, account: str, job: str) -> Request | None:
        h = self.holder
        if h is not None and h.account == account and h.reason == JOB:
            return None  # its job is already running
        existing = self._waiting(account)
        if existing is not None and existing.reason == JOB:
            return existing  # one waiting job per account; closing positions twice is the same job
        req = self._new(account, JOB, job)
        self._emit_job(account, job, "queued")
        if h is not None and h.account == account and h.reason in (VIEWING, SWEEP):
            # a job on the account already logged in runs in place: no second login
            h.resume_viewing = h.reason == VIEWING
            h.reason, h.job, h.request_id = JOB, job, req.id
            self._emit_lock()
            if h.phase == ACTIVE:
                self._emit_job(account, job, "started")
            return req
        if existing is not None:
            # the account waits to be viewed: the job takes that place and returns to viewing after
            req.resume_viewing = True
            self.queue[self.queue.index(existing)] = req
            self._emit_lock()
            return req
        if h is not None and h.reason in (VIEWING, SWEEP):
            viewed = h.account if h.reason == VIEWING else None
            self._drop_holder("idle")
            self.queue.insert(0, req)
            if viewed is not None:
                self.queue.insert(1, self._new(viewed, VIEWING, None))
        else:
            self.queue.append(req)
        self._grant_or_emit()
        return req

    def sweep_next(self, account: str) -> Request | None:
        if self.holder is not None or self.queue or not self.worker_up:
            return None
        req = self._new(account, SWEEP, None)
        self.queue.append(req)
        self._grant_or_emit()
        return req

    def release(self, account: str | None = None) -> bool:
        h = self.holder
        if h is None or (account is not None and h.account != account):
            return False
        self._drop_holder("idle", aborted="released by the owner" if h.reason == JOB else None)
        self._grant_or_emit()
        return True

    def cancel(self, account: str) -> bool:
        waiting = self._waiting(account)
        if waiting is not None:
            self.queue.remove(waiting)
            if waiting.reason == JOB:
                self._emit_job(account, waiting.job, "aborted", "cancelled by the owner")
            self._set_state(account, "idle")
            self._emit_lock()
            return True
        h = self.holder
        if h is not None and h.account == account and h.phase == SWITCHING:
            self._drop_holder("idle", aborted="cancelled by the owner" if h.reason == JOB else None)
            self._grant_or_emit()
            return True
        return False

    def forget(self, account: str) -> None:
        """The account was unlinked or moved to another lane."""
        self.queue = [r for r in self.queue if r.account != account]
        if self.holder is not None and self.holder.account == account:
            self._drop_holder(None, aborted="the account was removed" if self.holder.reason == JOB else None)
        self.states.pop(account, None)
        self._places.pop(account, None)
        self._grant_or_emit()

    # ---- reports from the lane ------------------------------------------------------------
    def switch_succeeded(self, account: str) -> None:
        h = self.holder
        if h is None or h.account != account or h.phase != SWITCHING:
            return
        h.phase = ACTIVE
        self._set_state(account, "live")
        self._emit_lock()
        if h.reason == JOB:
            self._emit_job(account, h.job, "started")

    def switch_failed(self, account: str, kind: str, message: str | None = None) -> None:
        h = self.holder
        if h is None or h.account != account:
            return
        if h.reason == JOB:
            self._emit_job(account, h.job, "failed", message)
        self.holder = None
        self._set_state(account, FAIL_STATES.get(kind, "offline"), message)
        self._grant_or_emit()

    def job_finished(self, account: str, ok: bool, message: str | None = None) -> None:
        h = self.holder
        if h is None or h.account != account or h.reason != JOB:
            return
        self._emit_job(account, h.job, "done" if ok else "failed", message)
        if h.resume_viewing:
            h.reason, h.job, h.resume_viewing = VIEWING, None, False
            self._emit_lock()
            return
        self._drop_holder("idle")
        self._grant_or_emit()

    def worker_crashed(self) -> None:
        self.worker_up = False
        h = self.holder
        if h is not None:
            self.holder = None
            self._set_state(h.account, "offline", "the lane's worker stopped; restarting it")
            if h.reason in (VIEWING, JOB):
                self.queue.insert(0, Request(h.request_id, h.account, h.reason, h.job, self.clock(),
                                             h.resume_viewing))
        self._emit_lock()

    def worker_ready(self) -> None:
        self.worker_up = True
        self._grant_or_emit()

    def set_account_state(self, account: str, state: str, message: str | None = None) -> None:
        self._set_state(account, state, message)

    # ---- views ------------------------------------------------------------------------------
    def lock_event(self) -> dict[str, Any]:
        h = self.holder
        return {"event": "lock",
                "holder": None if h is None else {"account": h.account, "since": h.since, "reason": h.reason,
                                                  "job": h.job, "phase": h.phase},
                "queue": [{"account": r.account, "reason": r.reason, "job": r.job,
                           "requested_at": r.requested_at} for r in self.queue],
                "switching": h.account if h is not None and h.phase == SWITCHING else None}

    def snapshot(self) -> dict[str, Any]:
        return {**self.lock_event(), "seq": self._seq, "worker_up": self.worker_up,
                "states": {a: {"state": s, "message": m, "place": self._places.get(a)}
                           for a, (s, m) in self.states.items()},
                "requests": [asdict(r) for r in self.queue]}

    # ---- internals --------------------------------------------------------------------------
    def _new(self, account: str, reason: str, job: str | None) -> Request:
        return Request(next(self._ids), account, reason, job, self.clock())

    def _drop_other_viewers(self, account: str) -> bool:
        dropped = [r for r in self.queue if r.reason == VIEWING and r.account != account]
        for r in dropped:
            self.queue.remove(r)
            self._set_state(r.account, "idle")
        return bool(dropped)

    def _waiting(self, account: str) -> Request | None:
        return next((r for r in self.queue if r.account == account), None)

    def _drop_holder(self, state: str | None, aborted: str | None = None) -> None:
        h = self.holder
        if h is None:
            return
        self.holder = None
        if aborted and h.reason == JOB:
            self._emit_job(h.account, h.job, "aborted", aborted)
        if state is not None:
            self._set_state(h.account, state)

    def _grant_or_emit(self) -> None:
        if self.holder is None and self.worker_up and self.queue:
            req = self.queue.pop(0)
            self.holder = Holder(req.account, self.clock(), req.reason, req.job, SWITCHING, req.id,
                                 req.resume_viewing)
            self._set_state(req.account, "connecting")
        self._emit_lock()

    def _emit_lock(self) -> None:
        self._emit(self.lock_event())
        places = {r.account: i + 1 for i, r in enumerate(self.queue)}
        for account, place in places.items():
            if self._places.get(account) != place or self.states.get(account, ("",))[0] != "waiting":
                self._places[account] = place
                self.states[account] = ("waiting", None)
                self._emit({"event": "account_state", "account": account, "state": "waiting",
                            "place": place, "message": None})
        for account in [a for a in self._places if a not in places]:
            del self._places[account]

    def _set_state(self, account: str, state: str, message: str | None = None) -> None:
        if self.states.get(account) == (state, message):
            return
        self.states[account] = (state, message)
        if state != "waiting":
            self._places.pop(account, None)
        self._emit({"event": "account_state", "account": account, "state": state, "place": None,
                    "message": message})

    def _emit_job(self, account: str, job: str | None, state: str, message: str | None = None) -> None:
        self._emit({"event": "job", "account": account, "job": job, "state": state, "message": message})

    def _emit(self, event: dict[str, Any]) -> None:
        self._seq += 1
        event["seq"] = self._seq
        event.setdefault("ts", self.clock())
        if self.listener is not None:
            self.listener(event)
