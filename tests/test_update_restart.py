"""[W] 10: a terminal that updates itself (LiveUpdate: it exits cleanly, a new copy starts from the same
folder) is shown as "updating", adopted, and never counted against the crash budget; a real crash is."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from lane_harness import Recorder, link_accounts, snapshot_of

from app.supervisor import RestartPolicy, Supervised
from app.update_detect import SelfUpdateWatch


def one_account_desk(data_dir: Path, sim_world: Path) -> tuple[Any, Recorder, str]:
    """A fast simulator Desk with the first demo account (it has open positions) linked, not started."""
    from lane_harness import fast_desk

    from multi_user.mt5sim import control

    key = link_accounts(data_dir, [control.demo_accounts(sim_world)[0]])[0]
    desk = fast_desk(data_dir)
    return desk, Recorder(desk), key


def with_streaming_account(qloop, data_dir: Path, sim_world: Path, body) -> None:
    """Start a one-account desk, wait until the account streams, run ``await body(desk, rec, key)``, stop."""
    desk, rec, key = one_account_desk(data_dir, sim_world)

    async def scenario() -> None:
        await desk.start()
        try:
            desk.activate(key)
            await rec.wait_for(snapshot_of(key))
            await body(desk, rec, key)
        finally:
            await desk.stop()

    run(qloop, scenario())


def run(loop: asyncio.AbstractEventLoop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, 120))


@pytest.mark.slow
def test_an_update_is_not_a_crash_and_a_kill_still_is(qloop, data_dir: Path, sim_world: Path) -> None:
    from app.desk import Desk
    from app.settings import save_settings
    from multi_user.mt5sim import control

    account = control.demo_accounts(sim_world)[0]
    key = link_accounts(data_dir, [account])[0]
    save_settings(data_dir, {"snapshot_rate": 0.2})
    # a budget of ONE crash: two updates counted as crashes would fail the lane
    desk = Desk(data_dir, "sim", timeout_ms=5000,
                policy_factory=lambda: RestartPolicy(delays=(0.2,), max_crashes=1, window=600))
    rec = Recorder(desk)

    async def update_once() -> dict[str, Any]:
        lane = desk.shared
        old = lane.terminal.pid
        mark = len(rec.events)
        await asyncio.get_running_loop().run_in_executor(None, control.update_terminal, lane.terminal.exe, 0.3)
        await rec.wait_for(lambda e: e["event"] == "terminal" and e["state"] == "updating", after=mark)
        up = await rec.wait_for(lambda e: e["event"] == "terminal" and e["state"] == "running", after=mark)
        assert up["pid"] != old and "updated itself" in up["message"]
        assert lane.terminal.pid == up["pid"]
        await rec.wait_for(snapshot_of(key), after=len(rec.events))  # the worker reconnected
        return up

    async def scenario() -> None:
        await desk.start()
        try:
            desk.activate(key)
            await rec.wait_for(snapshot_of(key))
            await update_once()
            up = await update_once()  # an adopted terminal that updates again is adopted again
            assert up["restarts"] == 0
            assert not rec.of("terminal", state="crashed") and not rec.of("terminal", state="failed")
            # a real crash of the adopted terminal still counts (and, within budget, restarts it)
            mark = len(rec.events)
            os.kill(desk.shared.terminal.pid, signal.SIGKILL)
            await rec.wait_for(lambda e: e["event"] == "terminal" and e["state"] == "crashed", after=mark)
            assert not [e for e in rec.events[mark:] if e["event"] == "terminal" and e["state"] == "updating"]
            await rec.wait_for(lambda e: e["event"] == "terminal" and e["state"] == "running" and e["restarts"] == 1)
            await rec.wait_for(snapshot_of(key), after=len(rec.events))
        finally:
            await desk.stop()

    run(qloop, scenario())


@pytest.mark.slow
def test_a_worker_restarted_while_the_terminal_updates_does_not_start_a_terminal_itself(
        qloop, data_dir: Path, sim_world: Path) -> None:
    """Attaching ("connect") while our terminal is down lets initialize() launch a copy of its own, which
    would then be taken for the updated one (and, on Windows, race the update). The worker waits instead."""
    from multi_user.mt5sim import control

    async def body(desk, rec, key) -> None:
        lane = desk.shared
        mark = len(rec.events)
        await asyncio.get_running_loop().run_in_executor(None, control.update_terminal, lane.terminal.exe, 4.0)
        await rec.wait_for(lambda e: e["event"] == "terminal" and e["state"] == "updating", after=mark)
        os.kill(lane.worker.pid, signal.SIGKILL)  # the worker dies while the terminal is away
        await rec.wait_for(lambda e: e["event"] == "worker" and e["state"] == "running", after=mark)
        up = await rec.wait_for(lambda e: e["event"] == "terminal" and e["state"] == "running", after=mark)
        cmdline = Path(f"/proc/{up['pid']}/cmdline").read_bytes()
        assert b"--after" in cmdline  # the copy the updating terminal started, not one the worker launched
        await rec.wait_for(snapshot_of(key), after=len(rec.events))

    with_streaming_account(qloop, data_dir, sim_world, body)


@pytest.mark.slow
def test_an_ipc_drop_while_the_terminal_runs_on_is_reattached_without_a_restart(
        qloop, data_dir: Path, sim_world: Path) -> None:
    """The IPC goes away for a while and comes back, the process never exits: the supervised worker, which
    waits for the app's word, is told to reconnect once the terminal listens again."""
    from multi_user.mt5sim import control

    async def body(desk, rec, key) -> None:
        pid = desk.shared.terminal.pid
        control.add_ipc_drop(sim_world, desk.shared.terminal.exe, 1.5)
        await rec.wait_for(lambda e: e.get("event") == "account_state" and e.get("state") == "offline")
        mark = len(rec.events)
        await rec.wait_for(snapshot_of(key), after=mark)  # streaming again
        assert desk.shared.terminal.pid == pid and desk.shared.terminal_sup.restarts == 0
        assert not [e for e in rec.events if e["event"] == "terminal" and e["state"] != "running"
                    and e["state"] != "starting"]

    with_streaming_account(qloop, data_dir, sim_world, body)


class _FakeTerminal:
    backend = "sim"

    def __init__(self, exe: Path) -> None:
        self.exe = exe
        self.adopted: list[int] = []

    def adopt(self, pid: int, exit_code=None) -> None:
        self.adopted.append(pid)


def _watch(tmp_path: Path, serving: list[int | None], wait: float) -> tuple[SelfUpdateWatch, Supervised, list]:
    events: list[dict[str, Any]] = []

    async def start() -> int:
        return 100

    sup = Supervised("terminal", "shared", str(tmp_path), events.append, start,
                     RestartPolicy(delays=(30.0,), max_crashes=5, window=60))

    async def io(fn, *args):  # the "terminal serving the folder" answers from the list
        return serving[0]

    tasks: list[asyncio.Task] = []
    back: list[bool] = []

    async def on_back() -> None:
        back.append(True)

    watch = SelfUpdateWatch(_FakeTerminal(tmp_path / "terminal64.exe"), sup,  # type: ignore[arg-type]
                            spawn=lambda c: tasks.append(asyncio.ensure_future(c)), on_back=on_back, run_io=io,
                            wait=wait)
    return watch, sup, [events, tasks, back]


def test_a_clean_exit_without_a_new_terminal_counts_as_a_crash_after_the_wait(tmp_path: Path) -> None:
    async def scenario() -> None:
        watch, sup, (events, tasks, back) = _watch(tmp_path, [None], wait=0.3)
        await sup.start()
        assert watch.exited(0) is True
        assert sup.state == "updating" and sup.policy._crashes == []
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert [e["state"] for e in events][-3:] == ["updating", "crashed", "restarting"]
        assert "did not restart itself" in events[-2]["message"] and len(sup.policy._crashes) == 1 and not back
        await sup.cancel_restart()

    asyncio.run(scenario())


def test_a_killed_terminal_is_a_crash_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        watch, sup, (_events, tasks, _) = _watch(tmp_path, [555], wait=5)
        await sup.start()
        assert watch.exited(-9) is False and watch.exited(137) is False and not tasks
        assert sup.state == "running"

    asyncio.run(scenario())


def test_a_new_terminal_in_the_folder_is_adopted_without_a_crash(tmp_path: Path) -> None:
    async def scenario() -> None:
        watch, sup, (events, tasks, back) = _watch(tmp_path, [555], wait=5)
        await sup.start()
        assert watch.exited(0)
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert sup.state == "running" and sup.pid == 555 and watch.terminal.adopted == [555]
        assert sup.policy._crashes == [] and back == [True]
        assert [e["state"] for e in events] == ["starting", "running", "updating", "running"]

    asyncio.run(scenario())
