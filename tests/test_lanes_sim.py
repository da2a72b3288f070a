"""Lanes with real processes on the simulator: switching in turn, dedicated lanes side by side,
recovery from a killed terminal and a killed worker, authorization failures, identity mismatch,
and no password in any child's argv or environment."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from lane_harness import Recorder, fast_desk, link_accounts, snapshot_of, state_of

pytestmark = pytest.mark.slow


def run(loop: asyncio.AbstractEventLoop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, 120))


@pytest.fixture
def demo(sim_world: Path) -> list[dict]:
    from multi_user.mt5sim import control

    return control.demo_accounts(sim_world)


def pick(demo: list[dict], n: int, distinct_servers: bool = False) -> list[dict]:
    if not distinct_servers:
        return demo[:n]
    out, seen = [], set()
    for a in demo:
        if a["server"] not in seen:
            out.append(a)
            seen.add(a["server"])
    return out[:n]


def test_shared_lane_switches_three_accounts_in_turn(qloop, data_dir: Path, demo: list[dict]) -> None:
    keys = link_accounts(data_dir, pick(demo, 3))
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            for key in keys:
                mark = len(rec.events)
                desk.activate(key)
                ev = await rec.wait_for(snapshot_of(key), after=mark)
                login, server = key.split("@", 1)
                assert ev["login"] == int(login) and ev["server"] == server
                await rec.wait_for(state_of(key, "live"), after=mark)
                lock = desk.lock_state()
                assert lock["holder"]["account"] == key
            # after each switch only the holder's snapshots arrive
            mark = len(rec.events)
            await rec.wait_for(snapshot_of(keys[-1]), after=mark)
            assert {e["account"] for e in rec.events[mark:] if e["event"] == "snapshot"} == {keys[-1]}
        finally:
            await desk.stop()

    run(qloop, scenario())
    assert any(e["event"] == "account_state" and e["state"] == "idle" and e["account"] == keys[0] for e in rec.events)


def test_two_dedicated_lanes_are_live_at_once(qloop, data_dir: Path, demo: list[dict]) -> None:
    chosen = pick(demo, 2, distinct_servers=True)
    keys = link_accounts(data_dir, chosen, dedicated={f"{a['login']}@{a['server']}" for a in chosen})
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            for key in keys:
                await rec.wait_for(snapshot_of(key))
            mark = len(rec.events)
            for key in keys:  # both keep streaming: neither logs the other out
                await rec.wait_for(snapshot_of(key), after=mark)
            lanes = desk.lanes()
            terminals = {ln["lane"]: ln["terminal"] for ln in lanes if "terminal" in ln}
            dedicated = [t for name, t in terminals.items() if name.startswith("dedicated")]
            assert len(dedicated) == 2 and all(t["state"] == "running" and t["pid"] for t in dedicated)
            assert len({t["folder"] for t in dedicated}) == 2
            assert all("terminals" in t["folder"] for t in dedicated)  # portable copies in the data dir
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_killed_terminal_and_killed_worker_are_recovered(qloop, data_dir: Path, demo: list[dict]) -> None:
    keys = link_accounts(data_dir, pick(demo, 2))
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            desk.activate(keys[0])
            await rec.wait_for(snapshot_of(keys[0]))
            # the terminal dies
            pid = desk.shared.terminal.pid
            os.kill(pid, signal.SIGKILL)
            await rec.wait_for(lambda e: e["event"] == "terminal" and e["state"] == "crashed")
            up = await rec.wait_for(lambda e: e["event"] == "terminal" and e["state"] == "running"
                                    and e["restarts"] == 1)
            assert up["pid"] != pid
            mark = len(rec.events)
            await rec.wait_for(snapshot_of(keys[0]), after=mark)
            # the worker dies
            wpid = desk.shared.worker.pid
            os.kill(wpid, signal.SIGKILL)
            await rec.wait_for(lambda e: e["event"] == "worker" and e["state"] == "crashed")
            await rec.wait_for(lambda e: e["event"] == "worker" and e["state"] == "running" and e["restarts"] == 1)
            mark = len(rec.events)
            await rec.wait_for(snapshot_of(keys[0]), after=mark)
            assert desk.lock_state()["holder"]["account"] == keys[0]
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_authorization_failure_marks_the_account_and_the_queue_moves_on(qloop, data_dir: Path,
                                                                         demo: list[dict]) -> None:
    chosen = pick(demo, 2)
    bad = f"{chosen[0]['login']}@{chosen[0]['server']}"
    keys = link_accounts(data_dir, chosen, wrong_password={bad})
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            desk.activate(keys[0])
            await rec.wait_for(state_of(bad, "auth_error"))
            assert desk.lock_state()["holder"] is None or desk.lock_state()["holder"]["account"] != bad
            desk.activate(keys[1])
            await rec.wait_for(snapshot_of(keys[1]))
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_terminal_switched_by_another_client_is_reported_as_mismatch(qloop, data_dir: Path,
                                                                      demo: list[dict]) -> None:
    chosen = pick(demo, 2)
    keys = link_accounts(data_dir, chosen[:1])
    other = chosen[1]
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            desk.activate(keys[0])
            await rec.wait_for(snapshot_of(keys[0]))
            exe = str(desk.shared.config.terminal)
            # another program logs the shared terminal into another account
            _login_elsewhere(data_dir, exe, other)  # blocks the loop briefly; events queue up meanwhile
            await rec.wait_for(state_of(keys[0], "mismatch"))
            assert any(e["event"] == "error" and "another program" in e["message"] for e in rec.events)
        finally:
            await desk.stop()

    run(qloop, scenario())


def _login_elsewhere(data_dir: Path, exe: str, account: dict) -> None:
    import subprocess
    import sys

    code = ("import sys, multi_user.mt5sim as mt5\n"
            "assert mt5.initialize(path=sys.argv[1], timeout=5000), mt5.last_error()\n"
            "assert mt5.login(int(sys.argv[2]), password=sys.stdin.readline().strip(), server=sys.argv[3])\n"
            "mt5.shutdown()\n")
    subprocess.run([sys.executable, "-c", code, exe, str(account["login"]), account["server"]],
                   input=account["password"] + "\n", text=True, check=True, timeout=60,
                   env={**os.environ, "MT5DESK_DATA_DIR": str(data_dir)})


def test_no_password_in_any_childs_argv_or_environment(qloop, data_dir: Path, demo: list[dict]) -> None:
    chosen = pick(demo, 2, distinct_servers=True)
    keys = link_accounts(data_dir, chosen, dedicated={f"{chosen[1]['login']}@{chosen[1]['server']}"})
    desk = fast_desk(data_dir)
    rec = Recorder(desk)
    secrets = [a["password"].encode() for a in chosen]

    async def scenario() -> None:
        await desk.start()
        try:
            desk.activate(keys[0])
            for key in keys:
                await rec.wait_for(snapshot_of(key))
            pids = [p for lane in [desk.shared, *desk.dedicated.values()] for p in lane.pids().values() if p]
            assert len(pids) == 4
            for pid in pids:
                blob = Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()
                for s in secrets:
                    assert s not in blob, f"a password is visible in process {pid}"
        finally:
            await desk.stop()

    run(qloop, scenario())
