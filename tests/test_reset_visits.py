"""[H] 3: a guarded account on the shared terminal is visited at its firm's daily reset (a visit just before
and one just after it, through the lock), also after a reset missed while the app was off; dedicated
accounts and rules without a daily limit need none; on the simulator the visit logs the account in, its
values reach the guard, and it is unguarded again once the visit ends."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lane_harness import Recorder, fast_desk, link_accounts, snapshot_of

from app import guard_store
from app.reset_visits import AFTER, BEFORE, ResetVisits
from multi_user import rules as rm

SHARED, OTHER, DEDICATED, NO_DAILY = "1@S", "2@S", "3@S", "4@S"
RESET = datetime(2026, 6, 2, 0, 0, tzinfo=UTC).timestamp()  # midnight UTC


def fake_desk(**states: rm.GuardState) -> Any:
    jobs: list[tuple[str, str]] = []
    priorities: list[bool] = []
    lock = SimpleNamespace(holder=None, run_job=lambda key, kind, priority=False: (jobs.append((key, kind)),
                                                                                  priorities.append(priority)))
    shared = SimpleNamespace(accounts={SHARED, OTHER, NO_DAILY}, lock=lock)
    own = SimpleNamespace(accounts={DEDICATED}, lock=lock)
    utc = dict(reset_zone="UTC", reset_time="00:00")
    rules = {SHARED: rm.make_rules("custom", 100_000, **utc), DEDICATED: rm.make_rules("custom", 100_000, **utc),
             NO_DAILY: rm.validate(rm.Rules(initial=100_000, daily_pct=None, **utc))}
    guard = SimpleNamespace(rules=rules, states=dict(states), _offsets={}, _loaded=True, is_blocked=lambda k: False)
    activity: list[dict[str, Any]] = []
    desk = SimpleNamespace(shared=shared, dedicated={DEDICATED: own}, guard=guard, jobs=jobs, activity=activity,
                           priorities=priorities,
                           lane_of=lambda k: own if k == DEDICATED else shared, name_of=str, emit=lambda ev: None,
                           log_activity=activity.append)
    return desk


def today(at: float = RESET - 3600) -> rm.GuardState:
    return rm.initial_state(rm.make_rules("custom", 100_000), 100_000, 100_000, at - 20 * 3600)


def test_a_visit_just_before_and_one_just_after_each_reset_once_each() -> None:
    desk = fake_desk(**{SHARED: today()})
    visits = ResetVisits(desk)
    seen = []
    for t in range(int(RESET - 3 * 3600), int(RESET + 600), 5):  # the timer's ticks across the reset
        seen += [(k, phase, t) for k, phase in visits.check(float(t))]
    assert [(k, p) for k, p, _ in seen] == [(SHARED, "before"), (SHARED, "after")]  # only the shared daily one
    before, after = seen[0][2], seen[1][2]
    assert RESET - BEFORE <= before < RESET and RESET + AFTER <= after < RESET + AFTER + 10
    assert desk.jobs == [(SHARED, "reset_visit"), (SHARED, "reset_visit")]
    assert desk.priorities == [True, True], "a reset visit is a priority job: the reset does not wait its turn"
    for t in range(int(RESET + 600), int(RESET + 86400 + 600), 5):  # the next day: two more
        visits.check(float(t))
    assert len(desk.jobs) == 4


@pytest.mark.parametrize(("start", "learned", "reset"), [
    # planned before the offset was learned (UTC assumed: 00:00 UTC), learned as UTC+2: 22:00 UTC
    (datetime(2026, 11, 25, 19, tzinfo=UTC), [(60.0, 7200)], datetime(2026, 11, 25, 22, tzinfo=UTC)),
    # planned on Saturday at UTC+2; the US spring change at Sunday 07:00 UTC makes it UTC+3: 21:00 UTC
    (datetime(2027, 3, 13, 23, tzinfo=UTC), [(0.0, 7200), (8 * 3600.0, 10800)],
     datetime(2027, 3, 14, 21, tzinfo=UTC)),
])
def test_a_server_midnight_reset_is_planned_again_when_the_offset_is_learned_or_moves(start, learned,
                                                                                      reset) -> None:
    t0, at = start.timestamp(), reset.timestamp()
    r = rm.make_rules("custom", 100_000, reset_zone="server", reset_time="00:00")
    desk = fake_desk(**{SHARED: rm.initial_state(r, 100_000, 100_000, rm.last_reset(r, t0, learned[0][1]))})
    desk.guard.rules[SHARED] = r
    visits = ResetVisits(desk)
    seen = []
    for t in range(int(t0), int(at + 600), 5):
        for after, offset in learned:  # the guard learns the offset from the account's ticks
            if t >= t0 + after:
                desk.guard._offsets[SHARED] = offset
        seen += [(phase, t) for k, phase in visits.check(float(t)) if k == SHARED]
    assert [p for p, _ in seen] == ["before", "after"], seen
    assert at - BEFORE <= seen[0][1] < at and at + AFTER <= seen[1][1] < at + AFTER + 10


def test_a_reset_missed_while_the_app_was_off_is_visited_at_start() -> None:
    desk = fake_desk(**{SHARED: today(RESET - 2 * 86400)})  # its day began two days ago
    visits = ResetVisits(desk)
    assert visits.check(RESET + 3 * 3600) == [(SHARED, "missed")]
    assert desk.jobs == [(SHARED, "reset_visit")] and "missed reset" in desk.activity[0]["title"]
    assert visits.check(RESET + 3 * 3600 + 1) == []  # once


def test_the_account_already_live_on_the_terminal_needs_no_job() -> None:
    desk = fake_desk(**{SHARED: today()})
    desk.shared.lock.holder = SimpleNamespace(account=SHARED, phase="active")
    assert ResetVisits(desk).check(RESET - 30) == [(SHARED, "before")]
    assert desk.jobs == []


@pytest.mark.slow
def test_a_guarded_shared_account_is_visited_and_unguarded_otherwise(qloop, data_dir: Path,
                                                                     demo_accounts: list[dict]) -> None:
    viewed, guarded = link_accounts(data_dir, demo_accounts[:2])
    now = time.time()
    reset = (int(now) // 60 + 2) * 60  # the next whole minute at least a minute ahead: inside BEFORE
    r = rm.make_rules("custom", 25_000, reset_zone="UTC",
                      reset_time=datetime.fromtimestamp(reset, UTC).strftime("%H:%M"))
    guard_store.save_rules(data_dir, {guarded: {"rules": r.to_json(), "armed_at": 1.0}})

    async def scenario() -> None:
        desk = fast_desk(data_dir)
        rec = Recorder(desk)
        await desk.start()
        try:
            desk.activate(viewed)
            end = await rec.wait_for(lambda e: e.get("event") == "job" and e.get("job") == "reset_visit"
                                     and e.get("account") == guarded and e.get("state") in ("done", "failed"),
                                     timeout=60)
            assert end["state"] == "done", end
            queued = [e for e in rec.of("lock") if any(q.get("account") == guarded for q in e.get("queue") or [])
                      or (e.get("holder") or {}).get("account") == guarded]
            assert queued  # the visit showed in the lock's queue or as its holder
            assert any(e.get("account") == guarded for e in rec.of("snapshot"))  # its values reached the desk
            assert desk.guard.states[guarded].day_ref > 0
            mark = len(rec.events)
            await rec.wait_for(lambda e: e.get("event") == "guard" and e.get("account") == guarded
                               and e.get("coverage") == "unguarded", after=mark, timeout=30)
            await rec.wait_for(snapshot_of(viewed), after=mark)  # the owner's view came back
        finally:
            await desk.stop()

    qloop.run_until_complete(asyncio.wait_for(scenario(), 120))


def test_a_queued_reset_visit_does_not_make_quitting_ask(qapp, data_dir: Path) -> None:
    """The owner is asked before quitting drops jobs they started; a reset visit is the app's own."""
    from app.desk import Desk

    desk = Desk(data_dir, "sim")
    try:
        for jid, kind in (("1", "reset_visit"), ("2", "close_all"), ("3", "verify")):
            desk._track_job({"event": "job", "id": jid, "job": kind, "state": "queued", "account": "1@S"})
        assert [j["job"] for j in desk.pending_jobs()] == ["close_all"]
    finally:
        desk._io.shutdown(wait=True)
