"""The active-account lock of a lane: who is logged into the terminal, and who waits, in order.

Pure state machine (no Qt, no I/O, time injected), so every interleaving can be tested. The lock
decides; the lane performs the login and the job and reports back:

- A granted request becomes the **holder** in phase ``switching`` (account state ``connecting``);
  the lane logs in, then calls ``switch_succeeded`` (phase ``active``, state ``live``) or
  ``switch_failed`` (holder dropped, account marked ``auth_error``/``offline``/``mismatch``,
  next request granted at once: a failure never stalls the queue).
- **Jobs before viewing, jobs in request order.** The queue is always: waiting jobs, oldest first,
  then at most one viewing request. A job never waits behind a viewing (or sweeping) holder: the
  viewer yields at once and goes back to the queue behind the jobs, so the owner returns to it
  afterwards. A job on the account being viewed runs in place, without a new login.
- ``activate`` (the owner clicked): a viewing or sweeping holder is replaced at once; the latest
  click wins over an older waiting view. While jobs run or wait, the view waits behind them.
  ``preempt=True`` (the owner confirmed "interrupt") cancels the running job only if it has not
  started yet (its login is still in progress).
- **A started job is never interrupted.** Closing positions cannot be half-undone, and the worker
  carries a request out to its end, so a job the worker has started runs to its end and reports
  its true outcome (``done``/``failed`` with its result). ``release``, ``activate(preempt=True)``
  and ``forget`` during a started job only decide what happens *after* it: the holder's ``then``
  says so (``"release"``/``"forget"``) and the lock event shows it. A job is reported ended
  only by ``job_finished`` (the worker answered) or ``worker_crashed`` (the worker is dead).
- ``sweep_next``: a sweep visit, granted only when the lock is free and nobody waits.
- ``worker_crashed``: the holder loses the lock (state ``offline``); a started job fails (its
  worker is gone), a job that had not started goes back to its place in the queue, a viewer goes
  back behind the jobs; nothing is granted until ``worker_ready``.

Every change is an event (``lock``, ``account_state``, ``job``) with a ``seq`` that grows by one,
so a consumer can tell that none was lost (app/lock_state.py). Job records and their events:
app/jobs.py.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any

from app.jobs import QUEUED, STARTED, Job
from app.lock_state import ACTIVE, SWITCHING, Holder, LockState, Request

VIEWING, JOB, SWEEP = "viewing", "job", "sweep"
FAIL_STATES = {"auth": "auth_error", "offline": "offline", "mismatch": "mismatch"}
THEN_RELEASE, THEN_FORGET = "release", "forget"


class ActiveAccountLock(LockState):
    def __init__(self, listener: Callable[[dict[str, Any]], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(listener, clock)
        self._ids = itertools.count(1)

    # ---- requests from the owner ----------------------------------------------------------
    def activate(self, account: str, preempt: bool = False) -> Request | None:
        h = self.holder
        changed = self._drop_other_viewers(account)  # the owner watches one account: the latest click wins
        if h is not None and h.account == account:
            if h.reason == JOB:
                changed = changed or h.then == THEN_RELEASE
                if h.then == THEN_RELEASE:
                    h.then = None  # the owner changed their mind: keep the terminal after the job
                h.resume_viewing = h.then is None  # watch it once its job is done
            elif h.reason == SWEEP:
                h.reason, changed = VIEWING, True
            if changed:
                self._emit_lock()
            return None
        if h is not None and h.reason == JOB:
            h.resume_viewing = False
        waiting = self._waiting(account)
        if waiting is not None and waiting.reason == JOB:
            waiting.resume_viewing = True  # its job keeps its place; viewing follows it
            self._grant_or_emit()
            return waiting
        if h is not None and h.reason == JOB and preempt and h.phase == SWITCHING:
            self._cancel_holder(f"cancelled: the owner switched to {account}")
            h = None
        if h is not None and h.reason in (VIEWING, SWEEP):
            self._drop_holder("idle")
        req = waiting or self._new(account, VIEWING, None)
        if waiting is None:
            self._enqueue(req)
        self._grant_or_emit()
        return req

    def run_job(self, account: str, kind: str, params: dict[str, Any] | None = None, *,
                priority: bool = False) -> Job:
        """Queue a job; an equal job (kind and params) already waiting or running on the account is returned.
        A ``priority`` job (a hard stop, a reset visit) waits ahead of the other jobs, after earlier
        priority jobs; it never interrupts the job that runs."""
        h, params = self.holder, dict(params or {})

        def same(j: Job | None) -> bool:
            return j is not None and j.kind == kind and j.params == params

        if h is not None and h.account == account and h.reason == JOB and same(h.job):
            if priority and not h.priority:  # should the worker die, it waits again as asked now
                h.priority = True
                self._emit_lock()
            return h.job
        existing = next((r for r in self.queue if r.account == account and same(r.job)), None)
        if existing is not None and existing.job is not None:
            if priority and not existing.priority:  # the same job, now urgent: it moves ahead
                self.queue.remove(existing)
                existing.priority = True
                self._enqueue(existing)
                self._emit_lock()
            return existing.job
        job = self.jobs.new(account, kind, params)
        req = self._new(account, JOB, job)
        req.priority = priority
        if h is not None and h.account == account and h.reason in (VIEWING, SWEEP):
            # the account already logged in: the job runs in place, no second login
            h.resume_viewing = h.reason == VIEWING
            h.reason, h.job, h.request_id, h.priority = JOB, job, req.id, priority
            if h.phase == ACTIVE:
                self.jobs.start(job)
            self._emit_lock()
            return job
        viewer = self._waiting(account)
        if viewer is not None and viewer.reason == VIEWING:
            self.queue.remove(viewer)  # the job takes that view's place and returns to viewing after
            req.resume_viewing = True
        self._enqueue(req)
        if h is not None and h.reason in (VIEWING, SWEEP):
            self._yield_viewer()
        self._grant_or_emit()
        return job

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
        if h.reason == JOB and h.phase == ACTIVE:
            if h.then is None:
                h.then, h.resume_viewing = THEN_RELEASE, False  # after the job: the job is never cut short
            self._emit_lock()
            return True
        if h.reason == JOB:
            self._cancel_holder("cancelled: released by the owner")
        else:
            self._drop_holder("idle")
        self._grant_or_emit()
        return True

    def cancel(self, account: str) -> bool:
        waiting = self._waiting(account)
        if waiting is not None:
            self._drop_waiting(waiting, "cancelled by the owner")
            return True
        h = self.holder
        if h is not None and h.account == account and h.phase == SWITCHING:
            if h.reason == JOB:
                self._cancel_holder("cancelled by the owner")
            else:
                self._drop_holder("idle")
            self._grant_or_emit()
            return True
        return False

    def cancel_job(self, job_id: str) -> bool:
        """Cancel one job if it has not started (a started job always runs to its end)."""
        h = self.holder
        if h is not None and h.job is not None and h.job.id == job_id and h.phase == SWITCHING:
            return self.cancel(h.account)
        waiting = next((r for r in self.queue if r.job is not None and r.job.id == job_id), None)
        if waiting is None:
            return False
        self._drop_waiting(waiting, "cancelled: it did not start in time")
        return True

    def forget(self, account: str) -> None:
        """The account was unlinked or moved to another lane."""
        for r in [r for r in self.queue if r.account == account]:
            self.queue.remove(r)
            if r.job is not None:
                self.jobs.cancel(r.job, "cancelled: the account was removed")
        h = self.holder
        if h is not None and h.account == account:
            if h.reason == JOB and h.phase == ACTIVE:
                h.then, h.resume_viewing = THEN_FORGET, False  # its job finishes first
                self._emit_lock()
                return
            if h.reason == JOB:
                self._cancel_holder("cancelled: the account was removed", state=None)
            else:
                self._drop_holder(None)
        self.states.pop(account, None)
        self._places.pop(account, None)
        self._grant_or_emit()

    def close(self, reason: str) -> None:
        """The lane stopped (its worker is gone): every job that has not ended ends now."""
        self.worker_up = False
        h, self.holder = self.holder, None
        if h is not None and h.job is not None and h.job.state == STARTED:
            self.jobs.fail(h.job, f"{reason} during the job; it may be partly done")
        elif h is not None and h.job is not None:
            self.jobs.cancel(h.job, f"cancelled: {reason} before it ran")
        for r in self.queue:
            if r.job is not None:
                self.jobs.cancel(r.job, f"cancelled: {reason} before it ran")
        self.queue = []
        self._emit_lock()

    # ---- reports from the lane ------------------------------------------------------------
    def switch_succeeded(self, account: str) -> None:
        h = self.holder
        if h is None or h.account != account or h.phase != SWITCHING:
            return
        h.phase = ACTIVE
        self._set_state(account, "live")
        self._emit_lock()
        if h.job is not None and h.job.state == QUEUED:
            self.jobs.start(h.job)

    def switch_failed(self, account: str, kind: str, message: str | None = None) -> None:
        h = self.holder
        if h is None or h.account != account or h.phase != SWITCHING:
            return  # a started job is ended only by its own report
        self.holder = None
        if h.job is not None:
            self.jobs.fail(h.job, message)
        self._set_state(account, FAIL_STATES.get(kind, "offline"), message)
        self._grant_or_emit()

    def job_finished(self, job_id: str, ok: bool, message: str | None = None, *,
                     result: dict[str, Any] | None = None, retcodes: Iterable[int] = ()) -> None:
        """The worker answered the job: its true outcome. A report about another job is ignored."""
        h = self.holder
        if h is None or h.job is None or h.job.id != job_id or h.job.state != STARTED:
            return
        self.jobs.finish(h.job, ok, message, result=result, retcodes=retcodes)
        if h.then == THEN_FORGET:
            self.holder = None
            self.states.pop(h.account, None)
            self._places.pop(h.account, None)
        elif h.resume_viewing and h.then is None:
            h.reason, h.job, h.resume_viewing = VIEWING, None, False
            if not ok:  # the job may have left the terminal's login in doubt: log in again
                h.phase = SWITCHING
                self._set_state(h.account, "connecting")
            if any(r.reason == JOB for r in self.queue):
                self._yield_viewer()
        else:
            self._drop_holder("idle")
        self._grant_or_emit()

    def worker_crashed(self) -> None:
        self.worker_up = False
        h = self.holder
        if h is not None:
            self.holder = None
            self._set_state(h.account, "offline", "the lane's worker stopped; restarting it")
            if h.job is not None and h.job.state == STARTED:
                self.jobs.fail(h.job, "the lane's worker stopped during the job; it may be partly done")
                if h.then == THEN_FORGET:
                    self.states.pop(h.account, None)
                elif h.resume_viewing and h.then is None and not self._viewer_waits():
                    self._enqueue(self._new(h.account, VIEWING, None))
            elif h.reason == JOB:
                self._enqueue(Request(h.request_id, h.account, JOB, h.job, self.clock(), h.resume_viewing,
                                      h.priority))
            elif h.reason == VIEWING and not self._viewer_waits():
                self._enqueue(Request(h.request_id, h.account, VIEWING, None, self.clock()))
        self._emit_lock()

    def worker_ready(self) -> None:
        self.worker_up = True
        self._grant_or_emit()

    def set_account_state(self, account: str, state: str, message: str | None = None) -> None:
        self._set_state(account, state, message)

    # ---- views ------------------------------------------------------------------------------
    # ---- internals --------------------------------------------------------------------------
    def _new(self, account: str, reason: str, job: Job | None) -> Request:
        return Request(next(self._ids), account, reason, job, self.clock())

    def _enqueue(self, req: Request) -> None:
        """Jobs first — priority jobs, then the others, each in request order; then the one viewing request."""
        if req.reason == JOB:
            order = (not req.priority, req.id)
            at = next((i for i, r in enumerate(self.queue) if r.reason != JOB or (not r.priority, r.id) > order),
                      len(self.queue))
            self.queue.insert(at, req)
        else:
            self._drop_other_viewers(req.account)
            own_jobs = [r for r in self.queue if r.account == req.account]
            if own_jobs:
                own_jobs[-1].resume_viewing = True  # viewing follows the account's last waiting job
            else:
                self.queue.append(req)

    def _yield_viewer(self) -> None:
        """A job waits: the viewing or sweeping holder steps aside and views again after the jobs."""
        h = self.holder
        if h is None or h.reason not in (VIEWING, SWEEP):
            return
        self._drop_holder("idle")
        if h.reason == VIEWING and not self._viewer_waits():
            self._enqueue(Request(h.request_id, h.account, VIEWING, None, self.clock()))

    def _viewer_waits(self) -> bool:
        return any(r.reason == VIEWING for r in self.queue)

    def _drop_other_viewers(self, account: str) -> bool:
        dropped = [r for r in self.queue if r.reason == VIEWING and r.account != account]
        for r in dropped:
            self.queue.remove(r)
            self._set_state(r.account, "idle")
        for r in self.queue:
            if r.account != account:
                r.resume_viewing = False
        return bool(dropped)

    def _waiting(self, account: str) -> Request | None:
        return next((r for r in self.queue if r.account == account), None)

    def _drop_waiting(self, req: Request, message: str) -> None:
        self.queue.remove(req)
        if req.job is not None:
            self.jobs.cancel(req.job, message)
        if self._waiting(req.account) is None:
            self._set_state(req.account, "idle")
        self._emit_lock()

    def _cancel_holder(self, message: str, state: str | None = "idle") -> None:
        """Drop a job holder whose job has not started (its login is still in progress)."""
        h = self.holder
        assert h is not None and h.job is not None and h.job.state == QUEUED
        self.jobs.cancel(h.job, message)
        self._drop_holder(state)

    def _drop_holder(self, state: str | None) -> None:
        h = self.holder
        if h is None:
            return
        self.holder = None
        if state is not None:
            self._set_state(h.account, state)

    def _grant_or_emit(self) -> None:
        if self.holder is None and self.worker_up and self.queue:
            req = self.queue.pop(0)
            self.holder = Holder(req.account, self.clock(), req.reason, req.job, SWITCHING, req.id,
                                 req.resume_viewing, priority=req.priority)
            self._set_state(req.account, "connecting")
        self._emit_lock()
