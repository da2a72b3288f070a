"""The active-account lock, rule by rule (the stateful property test is test_lock_stateful.py)."""

from __future__ import annotations

from app.lock import ActiveAccountLock


class Clock:
    t = 100.0

    def __call__(self) -> float:
        self.t += 1
        return self.t


def make() -> tuple[ActiveAccountLock, list[dict]]:
    events: list[dict] = []
    lock = ActiveAccountLock(listener=events.append, clock=Clock())
    lock.worker_ready()
    return lock, events


def states(lock: ActiveAccountLock) -> dict[str, str]:
    return {a: s for a, (s, _) in lock.states.items()}


def test_activate_grants_a_free_lock_then_switch_makes_it_live() -> None:
    lock, events = make()
    lock.activate("A")
    assert lock.holder.account == "A" and lock.holder.phase == "switching"
    assert states(lock) == {"A": "connecting"}
    assert events[-1]["event"] == "lock" and events[-1]["switching"] == "A"
    lock.switch_succeeded("A")
    assert lock.holder.phase == "active" and states(lock)["A"] == "live"


def test_activating_the_holder_again_does_not_log_in_again() -> None:
    lock, events = make()
    lock.activate("A")
    lock.switch_succeeded("A")
    n = len(events)
    assert lock.activate("A") is None
    assert len(events) == n and lock.holder.phase == "active"


def test_a_click_replaces_a_viewer_at_once() -> None:
    lock, _ = make()
    lock.activate("A")
    lock.switch_succeeded("A")
    lock.activate("B")
    assert lock.holder.account == "B" and states(lock) == {"A": "idle", "B": "connecting"}


def test_a_running_job_makes_a_click_wait_and_preempt_never_cuts_a_started_job_short() -> None:
    lock, events = make()
    job = lock.run_job("A", "close_all")
    lock.switch_succeeded("A")
    assert [e["state"] for e in events if e["event"] == "job"] == ["queued", "started"]
    lock.activate("B")
    assert lock.holder.account == "A" and [r.account for r in lock.queue] == ["B"]
    assert events[-1] == {**events[-1], "event": "account_state", "account": "B", "state": "waiting", "place": 1}
    lock.activate("C", preempt=True)
    assert lock.holder.account == "A" and job.state == "started"  # the worker is still closing positions
    assert [r.account for r in lock.queue] == ["C"]  # C's click replaced B's pending view
    lock.job_finished(job.id, True, "closed 2", result={"closed": 2, "failed": 0})
    assert lock.holder.account == "C" and job.state == "done"


def test_preempt_cancels_a_job_whose_login_is_still_in_progress() -> None:
    lock, events = make()
    job = lock.run_job("A", "close_all")
    lock.activate("B", preempt=True)
    assert job.state == "cancelled" and lock.holder.account == "B"
    assert [e["state"] for e in events if e["event"] == "job"] == ["queued", "cancelled"]


def test_a_job_preempts_a_viewer_who_gets_the_lock_back_after() -> None:
    lock, _ = make()
    lock.activate("A")
    lock.switch_succeeded("A")
    job = lock.run_job("B", "close_all")
    assert lock.holder.account == "B" and [r.account for r in lock.queue] == ["A"]
    lock.switch_succeeded("B")
    lock.job_finished(job.id, True, "closed 2")
    assert lock.holder.account == "A" and lock.holder.reason == "viewing"


def test_a_job_on_the_viewed_account_runs_in_place_and_returns_to_viewing() -> None:
    lock, _ = make()
    lock.activate("A")
    lock.switch_succeeded("A")
    job = lock.run_job("A", "close_all")
    assert lock.holder.reason == "job" and lock.holder.phase == "active"  # no second login
    lock.job_finished(job.id, True)
    assert lock.holder.account == "A" and lock.holder.reason == "viewing"


def test_jobs_queue_in_order_and_the_queue_moves_on_failures() -> None:
    lock, _ = make()
    lock.run_job("A", "close_all")
    b = lock.run_job("B", "close_all")
    lock.run_job("C", "close_all")
    assert [r.account for r in lock.queue] == ["B", "C"]
    lock.switch_failed("A", "auth", "Authorization failed")
    assert states(lock)["A"] == "auth_error" and lock.holder.account == "B"
    lock.switch_succeeded("B")
    lock.job_finished(b.id, False, "market closed")
    assert lock.holder.account == "C"


def test_cancel_a_waiting_request_and_a_switch_in_progress() -> None:
    lock, _ = make()
    lock.run_job("A", "close_all")
    lock.activate("B")
    assert lock.cancel("B") and states(lock)["B"] == "idle" and not lock.queue
    assert lock.cancel("A") and lock.holder is None  # still switching: abort it
    assert not lock.cancel("Z")


def test_worker_crash_keeps_the_viewer_first_and_grants_nothing_until_ready() -> None:
    lock, _ = make()
    lock.activate("A")
    lock.switch_succeeded("A")
    lock.worker_crashed()
    assert lock.holder is None and states(lock)["A"] == "waiting" and lock.queue[0].account == "A"
    lock.activate("A")
    assert lock.holder is None
    lock.worker_ready()
    assert lock.holder.account == "A" and lock.holder.phase == "switching"


def test_sweep_only_when_free_and_any_request_replaces_it() -> None:
    lock, _ = make()
    lock.activate("A")
    assert lock.sweep_next("B") is None
    lock.release("A")
    assert lock.sweep_next("B") is not None and lock.holder.reason == "sweep"
    lock.run_job("C", "close_all")
    assert lock.holder.account == "C" and not lock.queue  # the sweep is simply dropped


def test_events_are_numbered_without_gaps() -> None:
    lock, events = make()
    for acct in "ABCAB":
        lock.run_job(acct, "close_all")
        lock.activate(acct)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1))


# ---- [R] 2: no job waits behind a viewer; jobs run in request order ------------------------------
def job_of(lock: ActiveAccountLock, events: list[dict], account: str) -> str:
    """The id of the account's newest job, from its events (works for any job record)."""
    return [e for e in events if e["event"] == "job" and e["account"] == account][-1].get("id", account)


def viewer_crash_then_jobs(*accounts: str) -> ActiveAccountLock:
    """A is viewed, the worker crashes, jobs are requested meanwhile, the worker comes back."""
    lock, _ = make()
    lock.activate("A")
    lock.switch_succeeded("A")
    lock.worker_crashed()
    for account in accounts:
        lock.run_job(account, "close_all")
    lock.worker_ready()
    return lock


def test_after_a_worker_crash_a_job_requested_meanwhile_runs_before_the_viewer() -> None:
    lock = viewer_crash_then_jobs("B")
    assert lock.holder.account == "B" and lock.holder.reason == "job"
    assert [r.account for r in lock.queue] == ["A"]  # the viewer comes back after the job


def test_a_confirmed_preemption_never_leaves_a_job_behind_the_viewer() -> None:
    lock, events = make()
    lock.run_job("A", "close_all")
    lock.switch_succeeded("A")
    lock.run_job("B", "close_all")
    lock.activate("C", preempt=True)
    assert lock.holder.reason == "job"
    assert [r.reason for r in lock.queue] == ["job", "viewing"]
    lock.job_finished(job_of(lock, events, "A"), True)
    assert lock.holder.account == "B"


def test_a_later_job_never_jumps_ahead_of_an_older_one() -> None:
    lock = viewer_crash_then_jobs("B", "C")
    lock.run_job("D", "close_all")
    assert lock.holder.account == "B" and [r.account for r in lock.queue] == ["C", "D", "A"]


def test_release_during_a_started_job_hands_over_only_after_its_true_outcome() -> None:
    lock, events = make()
    lock.run_job("A", "close_all")
    lock.switch_succeeded("A")
    lock.run_job("B", "close_all")
    assert lock.release()
    assert lock.holder.account == "A" and lock.lock_event()["holder"]["then"] == "release"
    assert [e["state"] for e in events if e["event"] == "job" and e["account"] == "A"] == ["queued", "started"]
    lock.job_finished(job_of(lock, events, "A"), True, "closed 3", result={"closed": 3, "failed": 0})
    end = [e for e in events if e["event"] == "job" and e["account"] == "A"][-1]
    assert end["state"] == "done" and end["result"] == {"closed": 3, "failed": 0}
    assert lock.holder.account == "B" and states(lock)["A"] == "idle"


def test_a_worker_crash_fails_a_started_job_and_requeues_one_that_had_not_started() -> None:
    lock, events = make()
    lock.run_job("A", "close_all")
    lock.switch_succeeded("A")
    lock.run_job("B", "close_all")
    lock.worker_crashed()
    a = [e["state"] for e in events if e["event"] == "job" and e["account"] == "A"]
    assert a == ["queued", "started", "failed"]
    lock.worker_ready()
    assert lock.holder.account == "B"
    lock.switch_succeeded("B")
    lock.worker_crashed()  # B had started
    lock.run_job("C", "close_all")
    lock.worker_ready()
    lock.worker_crashed()  # C had not started: it waits again, still queued
    assert [e["state"] for e in events if e["event"] == "job" and e["account"] == "C"] == ["queued"]
    assert [r.account for r in lock.queue] == ["C"]


def test_when_the_lane_stops_every_job_ends() -> None:
    lock, events = make()
    lock.run_job("A", "close_all")
    lock.switch_succeeded("A")
    lock.run_job("B", "close_all")
    lock.close("the app stopped")
    ends = {e["account"]: e["state"] for e in events if e["event"] == "job"}
    assert ends == {"A": "failed", "B": "cancelled"} and lock.holder is None and not lock.queue


def test_a_priority_job_waits_ahead_of_the_others_and_never_interrupts_the_running_one() -> None:
    """[H] 3/5: a hard stop's flatten and a reset visit go first on the shared terminal — after the job that
    runs, in request order among themselves — and a waiting job asked again as priority moves ahead, to
    the place its first request gives it."""
    events: list[dict] = []
    lock = ActiveAccountLock(listener=events.append)
    lock.worker_ready()
    running = lock.run_job("A", "close_all")
    b = lock.run_job("B", "close_all")
    c = lock.run_job("C", "close_all")
    stop = lock.run_job("D", "flatten", priority=True)
    visit = lock.run_job("E", "reset_visit", priority=True)
    assert lock.holder.job is running, "the running job is never interrupted"
    assert [r.job for r in lock.queue] == [stop, visit, b, c]
    again = lock.run_job("C", "close_all", priority=True)
    assert again is c and [r.job for r in lock.queue] == [c, stop, visit, b]
    lock_event = [e for e in events if e["event"] == "lock"][-1]
    assert [q.get("priority", False) for q in lock_event["queue"]] == [True, True, True, False]
