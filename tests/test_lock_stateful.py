"""Property test of the lock under any interleaving of owner requests, lane reports and worker crashes:
one holder at most, never also waiting; no account twice in the queue; the queue keeps its order;
every request that leaves the queue is served or visibly cancelled; events are numbered without
gaps and replaying them rebuilds the lock's state."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from app.lock import ActiveAccountLock

ACCOUNTS = st.sampled_from(["A", "B", "C", "D", "E"])


class LockMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0
        self.events: list[dict] = []
        self.lock = ActiveAccountLock(listener=self.events.append, clock=self.clock)
        self.lock.worker_ready()
        self.before_ids: list[int] = []
        self.mark = 0

    def clock(self) -> float:
        self.t += 1
        return self.t

    def _before(self) -> None:
        self.before_ids = [r.id for r in self.lock.queue]
        self.mark = len(self.events)

    # ---- the owner ----
    @rule(a=ACCOUNTS)
    def activate(self, a: str) -> None:
        self._before()
        self.lock.activate(a)

    @rule(a=ACCOUNTS)
    def activate_preempt(self, a: str) -> None:
        self._before()
        # a confirmed preemption moves the owner's request to the front: documented, so not an order change
        self.before_ids = [i for i in self.before_ids if i not in {r.id for r in self.lock.queue if r.account == a}]
        self.lock.activate(a, preempt=True)

    @rule(a=ACCOUNTS)
    def run_job(self, a: str) -> None:
        self._before()
        self.lock.run_job(a, "close_all")

    @rule(a=ACCOUNTS)
    def cancel(self, a: str) -> None:
        self._before()
        self.lock.cancel(a)

    @rule()
    def release(self) -> None:
        self._before()
        self.lock.release()

    @rule(a=ACCOUNTS)
    def sweep(self, a: str) -> None:
        self._before()
        self.lock.sweep_next(a)

    # ---- the lane ----
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
        if self.lock.holder is not None:
            self.lock.job_finished(self.lock.holder.account, ok)

    @rule()
    def worker_crashed(self) -> None:
        self._before()
        self.lock.worker_crashed()

    @rule()
    def worker_ready(self) -> None:
        self._before()
        self.lock.worker_ready()

    # ---- invariants ----
    @invariant()
    def one_holder_never_also_waiting(self) -> None:
        queued = [r.account for r in self.lock.queue]
        assert len(queued) == len(set(queued)), queued
        if self.lock.holder is not None:
            assert self.lock.holder.account not in queued
            assert self.lock.worker_up

    @invariant()
    def nothing_waits_while_the_lock_is_free_and_the_worker_is_up(self) -> None:
        if self.lock.worker_up and self.lock.holder is None:
            assert not self.lock.queue

    @invariant()
    def queue_order_is_kept(self) -> None:
        now = [r.id for r in self.lock.queue]
        survivors = [i for i in self.before_ids if i in now]
        assert [i for i in now if i in survivors] == survivors

    @invariant()
    def requests_leave_the_queue_served_or_visibly(self) -> None:
        now = {r.id for r in self.lock.queue}
        step = self.events[self.mark:]
        for rid in self.before_ids:
            if rid in now:
                continue
            if self.lock.holder is not None and self.lock.holder.request_id == rid:
                continue
            # it was granted and then finished/failed in the same step, or dropped: either way an
            # event about its account was emitted in this step
            assert any(e.get("account") for e in step if e["event"] in ("account_state", "job")), step

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
        assert replayed == {a: s for a, (s, _) in self.lock.states.items()}
        for i, r in enumerate(self.lock.queue):
            assert self.lock.states[r.account][0] == "waiting"
            assert self.lock.snapshot()["states"][r.account]["place"] == i + 1


TestLockMachine = LockMachine.TestCase
TestLockMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
