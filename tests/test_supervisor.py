"""Restart policy and supervision: backoff grows and is capped, a child that keeps crashing is failed."""

from __future__ import annotations

import asyncio

from app.supervisor import RestartPolicy, Supervised


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_backoff_grows_and_caps_then_gives_up() -> None:
    clock = FakeClock()
    policy = RestartPolicy(delays=(0.5, 1.0, 2.0), max_crashes=4, window=60.0, clock=clock)
    delays = []
    for _ in range(4):
        delays.append(policy.crashed())
        clock.t += 1
    assert delays == [0.5, 1.0, 2.0, 2.0]
    assert policy.crashed() is None  # fifth crash within the window: give up


def test_crashes_outside_the_window_are_forgotten() -> None:
    clock = FakeClock()
    policy = RestartPolicy(delays=(0.5, 1.0), max_crashes=2, window=10.0, clock=clock)
    assert policy.crashed() == 0.5
    clock.t += 11
    assert policy.crashed() == 0.5
    clock.t += 11
    assert policy.crashed() == 0.5


def test_supervised_restarts_and_reports_every_step() -> None:
    events: list[dict] = []
    pids = iter([101, 102, 103])
    restarted = []

    async def start() -> int:
        return next(pids)

    async def on_restarted() -> None:
        restarted.append(True)

    async def scenario() -> None:
        sup = Supervised("terminal", "shared", "/t", events.append, start,
                         RestartPolicy(delays=(0.01,), max_crashes=3), on_restarted=on_restarted)
        assert await sup.start() == 101
        sup.exited(-9)
        await sup._restart_task
        assert sup.pid == 102 and sup.restarts == 1 and restarted == [True]
        await sup.stopped()

    asyncio.run(scenario())
    states = [(e["state"], e["pid"], e["restarts"]) for e in events]
    assert states == [("starting", None, 0), ("running", 101, 0), ("crashed", None, 0),
                      ("restarting", None, 0), ("starting", None, 1), ("running", 102, 1), ("stopped", None, 1)]
    assert all(e["event"] == "terminal" and e["lane"] == "shared" for e in events)


def test_supervised_marks_a_crash_looping_child_failed() -> None:
    events: list[dict] = []

    async def start() -> int:
        return 7

    async def scenario() -> Supervised:
        sup = Supervised("worker", "shared", None, events.append, start,
                         RestartPolicy(delays=(0.0,), max_crashes=2, window=60))
        await sup.start()
        for _ in range(3):
            sup.exited(1)
            if sup._restart_task is not None:
                await sup._restart_task
                sup._restart_task = None
        return sup

    sup = asyncio.run(scenario())
    assert sup.state == "failed"
    assert "keeps crashing" in (sup.message or "")
    assert events[-1]["state"] == "failed"
    sup.exited(1)  # a failed child is not restarted again
    assert events[-1]["state"] == "failed"


def test_a_child_dying_during_start_up_is_restarted_once() -> None:
    """[R] 6: the owner's exit callback fires while start() still waits, then start() fails too;
    that is one death and gets one restart (not two, which left an orphan worker)."""
    events: list[dict] = []
    starts: list[int] = []

    async def scenario() -> Supervised:
        sup: Supervised

        async def start() -> int:
            starts.append(1)
            if len(starts) == 1:
                sup.exited(1)  # the process-finished callback, as WorkerClient delivers it
                raise RuntimeError("worker exited during start-up")
            return 42

        sup = Supervised("worker", "shared", None, events.append, start,
                         RestartPolicy(delays=(0.0,), max_crashes=5, window=60))
        assert await sup.start() is None
        task = sup._restart_task
        assert task is not None
        await task
        await asyncio.sleep(0)  # a second, wrongly scheduled restart would run now
        assert sup._restart_task is task
        return sup

    sup = asyncio.run(scenario())
    assert len(starts) == 2 and sup.pid == 42 and sup.restarts == 1
    assert [e["state"] for e in events].count("restarting") == 1


def test_a_child_dying_right_after_its_handshake_is_not_reported_running() -> None:
    events: list[dict] = []

    async def scenario() -> Supervised:
        sup: Supervised
        calls: list[int] = []

        async def start() -> int:
            calls.append(1)
            if len(calls) == 1:
                sup.exited(9)  # died after answering, before start() resumed
            return 10 + len(calls)

        sup = Supervised("worker", "shared", None, events.append, start,
                         RestartPolicy(delays=(0.0,), max_crashes=5, window=60))
        assert await sup.start() is None
        await sup._restart_task
        return sup

    sup = asyncio.run(scenario())
    states = [e["state"] for e in events]
    assert states == ["starting", "crashed", "restarting", "starting", "running"]
    assert sup.pid == 12
