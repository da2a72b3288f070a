"""Property test of the lock under any interleaving of owner requests, lane reports and worker crashes:
one holder at most, never also waiting; no account twice in the queue; the queue keeps its order;
every request that leaves the queue is served or visibly cancelled; events are numbered without
gaps and replaying them rebuilds the lock's state.

Jobs ([R] 1-3): a model of the worker carries out each job from its ``started`` event until the
rule ``job_done`` (the worker answers) or ``worker_crashed``. Invariants: job states only move
forward and end once; a job reported ended is not running in the worker; at most one job is
started (in flight) per worker; no job waits behind a viewing holder; jobs are granted in request
order; and at teardown, driving the lane to quiescence ends every job."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from app.lock import ActiveAccountLock

ACCOUNTS = st.sampled_from(["A", "B", "C", "D", "E"])
KINDS = st.sampled_from(["close_all", "verify"])
FORWARD = {None: {"queued"}, "queued": {"started", "failed", "cancelled"}, "started": {"done", "failed"}}
ENDS = {"done", "failed", "cancelled"}


class LockMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0
        self.events: list[dict] = []
        self.job_state: dict[str, str] = {}  # job id -> last state seen in an event
        self.job_order: dict[str, int] = {}  # job id -> request order
        self.priority: set[str] = set()  # jobs asked for as priority jobs (a hard stop, a reset visit)
        self.running: str | None = None  # the job the model worker carries out
        self.broken: list[str] = []
        self.forgotten: list[tuple[int, str]] = []  # (number of events before, account)
        self.lock = ActiveAccountLock(listener=self._on_event, clock=self.clock)
        self.lock.worker_ready()
        self.before_ids: list[int] = []
        self.mark = 0
        self.unlinked: str | None = None

    def clock(self) -> float:
        self.t += 1
        return self.t

    def _on_event(self, e: dict[str, Any]) -> None:
        self.events.append(e)
        if e["event"] != "job":
            return
        jid, state = e["id"], e["state"]
        prev = self.job_state.get(jid)
        if state not in FORWARD.get(prev, set()):
            self.broken.append(f"job {jid} moved {prev} -> {state}")
        self.job_state[jid] = state
        self.job_order.setdefault(jid, len(self.job_order))
        if state == "started":
            if self.running is not None:
                self.broken.append(f"job {jid} started while {self.running} still runs in the worker")
            self.running = jid  # the lane hands a started job to the worker at once
        if state in ENDS and self.running == jid:
            self.broken.append(f"job {jid} reported {state} while the worker still carries it out")

    def _before(self) -> None:
        self.before_ids = [r.id for r in self.lock.queue if not r.priority]
        self.before_prio = [r.id for r in self.lock.queue if r.priority]
        self.unlinked = None
        self.mark = len(self.events)

    # ---- the owner ----
    @rule(a=ACCOUNTS)
    def activate(self, a: str) -> None:
        self._before()
        self.lock.activate(a)

    @rule(a=ACCOUNTS)
    def activate_preempt(self, a: str) -> None:
        self._before()
        self.lock.activate(a, preempt=True)

    @rule(a=ACCOUNTS, kind=KINDS)
    def run_job(self, a: str, kind: str) -> None:
        self._before()
        self.lock.run_job(a, kind)

    @rule(a=ACCOUNTS, kind=KINDS)
    def run_priority_job(self, a: str, kind: str) -> None:
        self._before()
        self.priority.add(self.lock.run_job(a, kind, priority=True).id)

    @rule(a=ACCOUNTS)
    def cancel(self, a: str) -> None:
        self._before()
        self.lock.cancel(a)

    @rule()
    def release(self) -> None:
        self._before()
        self.lock.release()

    @rule(a=ACCOUNTS)
    def forget(self, a: str) -> None:
        """The account is unlinked."""
        self._before()
        self.lock.forget(a)
        self.unlinked = a  # its requests leave quietly: the desk announces the unlink (accounts event)
        self.forgotten.append((len(self.events), a))

    @rule(data=st.data())
    def verify_times_out(self, data: st.DataObject) -> None:
        """The link check gave up waiting: its job is cancelled unless it has started."""
        waiting = sorted(j for j, s in self.job_state.items() if s in ("queued", "started"))
        if waiting:
            self._before()
            self.lock.cancel_job(data.draw(st.sampled_from(waiting)))

    @rule(a=ACCOUNTS)
    def sweep(self, a: str) -> None:
        self._before()
        self.lock.sweep_next(a)

    # ---- the lane and its worker ----
    @rule()
    def switch_ok(self) -> None:
        self._before()
        if self.lock.holder is not None:
            self.lock.switch_succeeded(self.lock.holder.account)

    @rule(kind=st.sampled_from(["auth", "offline", "mismatch"]))
    def switch_failed(self, kind: str) -> None:
        self._before()
        if self.lock.holder is not None:
            self.lock.switch_failed(self.lock.holder.account, kind, "boom")

    @rule(ok=st.booleans())
    def job_done(self, ok: bool) -> None:
        self._before()
        jid, self.running = self.running, None  # the worker answered
        if jid is not None:
            self.lock.job_finished(jid, ok, result={"closed": 1, "failed": 0 if ok else 1})

    @rule(ok=st.booleans(), data=st.data())
    def stale_job_report(self, ok: bool, data: st.DataObject) -> None:
        """A late answer about a job that already ended changes nothing."""
        ended = sorted(j for j, s in self.job_state.items() if s in ENDS)
        if ended:
            self._before()
            n = len(self.events)
            self.lock.job_finished(data.draw(st.sampled_from(ended)), ok)
            assert len(self.events) == n

    @rule()
    def worker_crashed(self) -> None:
        self._before()
        self.running = None  # the worker process is gone, and its job with it
        self.lock.worker_crashed()

    @rule()
    def worker_ready(self) -> None:
        self._before()
        self.lock.worker_ready()

    # ---- invariants ----
    @invariant()
    def one_holder_never_also_waiting(self) -> None:
        queued = [r.account for r in self.lock.queue]
        assert len(queued) == len(set(queued)) or self._same_account_jobs_only(), queued
        if self.lock.holder is not None:
            assert self.lock.holder.account not in [r.account for r in self.lock.queue if r.reason != "job"]
            assert self.lock.worker_up

    def _same_account_jobs_only(self) -> bool:
        """An account may wait with two jobs of different kinds, never with two requests otherwise."""
        seen: set[tuple[str, str | None]] = set()
        for r in self.lock.queue:
            k = (r.account, r.job.kind if r.job else r.reason)
            if k in seen:
                return False
            seen.add(k)
        return True

    @invariant()
    def nothing_waits_while_the_lock_is_free_and_the_worker_is_up(self) -> None:
        if self.lock.worker_up and self.lock.holder is None:
            assert not self.lock.queue

    @invariant()
    def queue_order_is_kept(self) -> None:
        """Within each class (priority requests, the others) the order never changes; a request made
        priority in this step leaves the others' class, which keeps its order without it."""
        now = [r.id for r in self.lock.queue]
        for before in (self.before_ids, getattr(self, "before_prio", [])):
            survivors = [i for i in before if i in now]
            moved = {r.id for r in self.lock.queue if r.priority} if before is self.before_ids else set()
            survivors = [i for i in survivors if i not in moved]
            assert [i for i in now if i in survivors] == survivors

    @invariant()
    def requests_leave_the_queue_served_or_visibly(self) -> None:
        now = {r.id for r in self.lock.queue}
        step = self.events[self.mark:]
        if self.unlinked is not None:
            return
        for rid in self.before_ids:
            if rid in now:
                continue
            if self.lock.holder is not None and self.lock.holder.request_id == rid:
                continue
            assert any(e.get("account") for e in step if e["event"] in ("account_state", "job")), step

    @invariant()
    def jobs_move_forward_end_once_and_are_ended_only_when_stopped(self) -> None:
        assert not self.broken, self.broken

    @invariant()
    def at_most_one_job_in_flight_per_worker(self) -> None:
        started = [j for j, s in self.job_state.items() if s == "started"]
        assert len(started) <= 1, started
        assert started == ([self.running] if self.running else []), (started, self.running)

    @invariant()
    def no_job_waits_behind_a_viewing_holder(self) -> None:
        h = self.lock.holder
        jobs_waiting = [r for r in self.lock.queue if r.reason == "job"]
        if h is not None and h.reason in ("viewing", "sweep"):
            assert not jobs_waiting, (h, jobs_waiting)
        reasons = [r.reason for r in self.lock.queue]
        assert "job" not in reasons[reasons.index("viewing"):] if "viewing" in reasons else True, reasons

    @invariant()
    def jobs_run_in_request_order(self) -> None:
        """Priority jobs wait ahead of the others; each class in request order; a running ordinary job was
        asked before every waiting ordinary job (a priority job never interrupts the running one)."""
        waiting = [(r.job.id not in self.priority, self.job_order[r.job.id]) for r in self.lock.queue
                   if r.job is not None]
        assert waiting == sorted(waiting), waiting
        assert [not r.priority for r in self.lock.queue if r.job is not None] == [w[0] for w in waiting]
        h = self.lock.holder
        if h is not None and h.job is not None and h.job.id not in self.priority:
            # (a waiting job made priority later keeps its first place in the line: not checked here)
            others = [order for normal, order in waiting if normal]
            if others:
                assert self.job_order[h.job.id] < min(others), (h.job.id, waiting)

    @invariant()
    def events_are_gapless_and_replay_to_the_same_state(self) -> None:
        assert [e["seq"] for e in self.events] == list(range(1, len(self.events) + 1))
        if not self.events:
            return
        last_lock = [e for e in self.events if e["event"] == "lock"][-1]
        expected = self.lock.lock_event()
        assert {k: last_lock[k] for k in expected} == expected
        replayed: dict[str, str] = {}
        for e in self.events:
            if e["event"] == "account_state":
                replayed[e["account"]] = e["state"]
        current = {a: s for a, (s, _) in self.lock.states.items()}
        assert {a: s for a, s in replayed.items() if a in current} == current
        assert set(replayed) - set(current) <= {a for _, a in self.forgotten}  # only unlinked accounts drop out
        held = self.lock.holder.account if self.lock.holder is not None else None
        first: dict[str, int] = {}
        for i, r in enumerate(self.lock.queue):
            first.setdefault(r.account, i + 1)
        for account, place in first.items():
            if account != held:
                assert self.lock.states[account][0] == "waiting"
                assert self.lock.snapshot()["states"][account]["place"] == place

    def teardown(self) -> None:
        """Quiescence: the worker comes back, every login succeeds, every job is answered."""
        self.lock.worker_ready()
        for _ in range(100):
            h = self.lock.holder
            if self.running is not None:
                self.job_done(True)
            elif h is not None and h.phase == "switching":
                self.lock.switch_succeeded(h.account)
            else:
                break
        assert self.lock.holder is None or (self.lock.holder.reason != "job" and not self.lock.queue)
        unended = {j: s for j, s in self.job_state.items() if s not in ENDS}
        assert not unended, f"jobs that never ended: {unended}"
        assert not self.broken, self.broken


TestLockMachine = LockMachine.TestCase
TestLockMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
