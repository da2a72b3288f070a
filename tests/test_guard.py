"""[H] 2: the equity guard on live snapshots: events once per change, coverage, hard stop, restart."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import guard_store
from app.guard import Guard
from multi_user.rules import make_rules


def utc(*a: int) -> float:
    return datetime(*a, tzinfo=UTC).timestamp()


class FakeDesk:
    """What the guard uses of the Desk: io, emit, spawn, close_all, the activity log."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.events: list[dict[str, Any]] = []
        self.activity: list[dict[str, Any]] = []
        self.closed: list[str] = []
        self.tasks: list[Any] = []

    async def io(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def emit(self, ev: dict[str, Any]) -> None:
        self.events.append(ev)

    def _spawn(self, coro: Any) -> None:
        self.tasks.append(asyncio.ensure_future(coro))

    def close_all(self, key: str) -> None:
        self.closed.append(key)

    def flatten(self, key: str, priority: bool = False) -> None:
        """The hard stop flattens (positions and pending orders), as a priority job."""
        assert priority, "a hard stop goes ahead of the other jobs"
        self.closed.append(key)

    def log_activity(self, entry: dict[str, Any]) -> None:
        self.activity.append(entry)

    def name_of(self, key: str) -> str:
        return key

    async def settle(self) -> None:
        while self.tasks:
            await self.tasks.pop()


KEY = "1001@Demo"
DAY1 = utc(2026, 6, 1, 12)
RESET = utc(2026, 6, 1, 22)  # midnight Prague (CEST)


def set_rules(data_dir: Path, **kw: Any) -> None:
    r = make_rules("FTMO-2STEP", 100_000, **kw)
    guard_store.save_rules(data_dir, {KEY: {"rules": r.to_json(), "armed_at": kw.pop("armed_at", 1.0)}})


def snap(balance: float, equity: float, at: float) -> dict[str, Any]:
    return {"event": "snapshot", "account": KEY, "balance": balance, "equity": equity, "taken_at": at}


def guard_events(desk: FakeDesk) -> list[dict[str, Any]]:
    return [e for e in desk.events if e["event"] == "guard"]


async def started(tmp_path: Path) -> tuple[FakeDesk, Guard]:
    desk = FakeDesk(tmp_path)
    guard = Guard(desk)  # type: ignore[arg-type]
    await guard.load()
    return desk, guard


def test_warning_then_breach_each_once_and_the_hard_stop_acts_once(tmp_path: Path) -> None:
    async def run() -> None:
        set_rules(tmp_path, hard_stop=True)
        desk, guard = await started(tmp_path)
        for i, eq in enumerate([100_000, 100_000, 96_000, 95_900, 95_800, 94_900, 94_800, 94_700]):
            guard.on_snapshot(KEY, snap(100_000, eq, DAY1 + i))
        levels = [e["level"] for e in guard_events(desk)]
        assert levels == ["ok", "warning", "breached"]
        assert desk.closed == [KEY]  # close_all through the lock, once
        assert guard.is_blocked(KEY)
        alerts = [a["title"] for a in desk.activity]
        assert sum("near a loss floor" in t for t in alerts) == 1 and sum("breached" in t for t in alerts) == 1
        assert sum("Hard stop" in t for t in alerts) == 1
        await desk.settle()
        # a restart keeps the block and the day's anchor
        desk2, guard2 = await started(tmp_path)
        assert guard2.is_blocked(KEY) and guard2.states[KEY].day_ref == 100_000
        guard2.on_snapshot(KEY, snap(100_000, 94_000, DAY1 + 60))
        assert desk2.closed == []  # already blocked: no second flatten
        # re-armed by the owner (rules set again later): no longer blocked
        set_rules(tmp_path, hard_stop=True, armed_at=guard2.blocked_at[KEY] + 1)
        await guard2._reload()
        assert not guard2.is_blocked(KEY)
        await desk2.settle()

    asyncio.run(run())


def test_coverage_live_at_the_reset_late_after_a_restart_unguarded_when_not_live(tmp_path: Path) -> None:
    async def run() -> None:
        set_rules(tmp_path)
        desk, guard = await started(tmp_path)
        guard.on_snapshot(KEY, snap(100_000, 100_000, DAY1))
        assert guard_events(desk)[-1]["coverage"] == "late"  # first seen mid-day: no reference at a reset
        guard.on_snapshot(KEY, snap(104_000, 104_000, RESET - 1))
        guard.on_snapshot(KEY, snap(104_000, 101_000, RESET + 1))
        ev = guard_events(desk)[-1]
        assert ev["coverage"] == "live" and ev["daily_floor"] == 99_000
        guard.check(RESET + 2, {KEY: {"state": "idle"}})
        guard.check(RESET + 3, {KEY: {"state": "idle"}})
        unguarded = [e for e in guard_events(desk) if e["coverage"] == "unguarded"]
        assert len(unguarded) == 1 and unguarded[0]["next_reset"] == RESET + 86400
        await desk.settle()
        guard.save()
        # the app was off at the next reset: the day is anchored late, and says so
        desk2, guard2 = await started(tmp_path)
        guard2.on_snapshot(KEY, snap(104_000, 104_500, RESET + 86400 + 3600))
        ev2 = guard_events(desk2)[-1]
        assert ev2["coverage"] == "late" and ev2["daily_floor"] == 99_000
        assert any("not connected at the day's reset" in a["title"] for a in desk2.activity)
        await desk2.settle()

    asyncio.run(run())


def test_restored_snapshots_and_unguarded_accounts_are_ignored(tmp_path: Path) -> None:
    async def run() -> None:
        desk, guard = await started(tmp_path)
        guard.on_snapshot(KEY, snap(100_000, 50_000, DAY1))  # no rules: not guarded
        set_rules(tmp_path)
        await guard._reload()
        guard.on_snapshot(KEY, {**snap(100_000, 50_000, DAY1), "restored": True})
        assert guard_events(desk) == [] and desk.closed == []
        assert json.loads((tmp_path / "rules.json").read_text())[KEY]["rules"]["preset"] == "FTMO-2STEP"

    asyncio.run(run())


def test_a_server_offset_change_is_no_new_day() -> None:
    from app.guard import advance

    r = make_rules("THE5ERS-HIGH-STAKES", 100_000)
    reset = utc(2026, 3, 8, 21)  # midnight on a UTC+3 server
    s = advance(r, None, 100_000, 100_000, reset + 60, 10800, reset - 30)
    assert s.covered and s.day_start == reset
    # the offset is read as +2 (or unknown after a restart): "midnight" seems an hour or more later
    for offset in (7200, None):
        later = advance(r, s, 99_000, 98_000, utc(2026, 3, 9, 1), offset, reset + 3000)
        assert later.day_start == reset and later.day_ref == 100_000
    nxt = advance(r, s, 99_000, 98_000, utc(2026, 3, 9, 21, 0, 5), 10800, utc(2026, 3, 9, 20, 59, 59))
    assert nxt.day_start == utc(2026, 3, 9, 21) and nxt.day_ref == 99_000 and nxt.covered


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(93_000, 101_000), min_size=1, max_size=60))
def test_alerts_come_once_per_crossing_and_the_hard_stop_once(tmp_path: Path, equities: list[float]) -> None:
    async def run() -> None:
        folder = tmp_path / str(abs(hash(tuple(equities))))
        folder.mkdir(exist_ok=True)
        set_rules(folder, hard_stop=True)
        desk, guard = await started(folder)
        for i, eq in enumerate(equities):
            guard.on_snapshot(KEY, snap(100_000, eq, DAY1 + i))
        levels = [e["level"] for e in guard_events(desk)]
        into = {lvl: sum(1 for a, b in zip(["ok", *levels], levels, strict=False) if b == lvl and a != b)
                for lvl in ("warning", "breached")}
        titles = [a["title"] for a in desk.activity]
        assert sum("near a loss floor" in t for t in titles) == into["warning"]
        assert sum("breached a loss floor" in t for t in titles) == into["breached"]
        assert len(desk.closed) == (1 if any(eq <= 95_000 for eq in equities) else 0)  # touching acts
        await desk.settle()

    asyncio.run(run())


def test_a_hard_stop_close_that_fails_is_run_again_then_reported(tmp_path: Path) -> None:
    async def run() -> None:
        set_rules(tmp_path, hard_stop=True)
        desk, guard = await started(tmp_path)
        guard.on_snapshot(KEY, snap(100_000, 94_000, DAY1))
        assert desk.closed == [KEY]
        failed = {"event": "job", "job": "close_all", "account": KEY, "state": "done", "message": "1 failed",
                  "retcodes": [10018], "result": {"closed": 1, "failed": 1}}
        guard.on_event({**failed, "state": "started"})
        guard.on_event(failed)
        guard.on_event({**failed, "state": "failed", "result": {}})
        assert desk.closed == [KEY] * 3
        guard.on_event(failed)
        assert desk.closed == [KEY] * 3  # three runs in all, then it says so
        assert "positions may still be open" in desk.activity[-1]["title"]
        assert "10018" in desk.activity[-1]["detail"]
        guard.on_event({**failed, "account": "other@X"})  # someone else's close_all: not the guard's
        assert desk.closed == [KEY] * 3
        guard._stopping[KEY] = 1
        guard.on_event({**failed, "state": "cancelled"})  # the app quits: no new run, but said
        assert desk.closed == [KEY] * 3 and "may still be open" in desk.activity[-1]["title"]
        await desk.settle()

    asyncio.run(run())


def test_rules_changed_while_no_app_ran_start_the_anchors_again(tmp_path: Path) -> None:
    """`accounts rules set` with another initial balance while the app is closed: the next start must not
    keep the floors of the old rules (guard.json records which money rules its state was made with)."""
    async def run() -> None:
        set_rules(tmp_path)
        desk, guard = await started(tmp_path)
        guard.on_snapshot(KEY, snap(100_000, 99_000, DAY1))
        assert guard.states[KEY].total_floor == 90_000
        guard.save()
        await desk.settle()
        guard_store.save_rules(tmp_path, {KEY: {"rules": make_rules("FTMO-2STEP", 105_000).to_json(),
                                                "armed_at": 2.0}})
        desk2, guard2 = await started(tmp_path)
        assert KEY not in guard2.states and KEY not in guard2.last  # the old anchors and verdict are gone
        guard2.on_snapshot(KEY, snap(100_000, 99_000, DAY1 + 60))
        assert guard2.states[KEY].total_floor == 94_500
        await desk2.settle()
        # the same rules again: the state is kept across a restart
        guard2.save()
        desk3, guard3 = await started(tmp_path)
        assert guard3.states[KEY].total_floor == 94_500
        await desk3.settle()

    asyncio.run(run())
