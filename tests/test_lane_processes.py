"""A lane's child processes on the simulator: a hung worker is restarted, children get no secrets,
snapshots carry connection health, a broker disconnect reaches the lane."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from lane_harness import Recorder, fast_desk, link_accounts, snapshot_of, state_of

from app.desk import Desk

pytestmark = pytest.mark.slow


def on_desk(loop: asyncio.AbstractEventLoop, data_dir: Path,
            body: Callable[[Desk, Recorder], Awaitable[None]]) -> Recorder:
    """Start a fast Desk on the simulator, run ``body`` on it, and stop it whatever happens."""
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            await body(desk, rec)
        finally:
            await desk.stop()

    loop.run_until_complete(asyncio.wait_for(scenario(), 120))
    return rec


def key_of(a: dict) -> str:
    return f"{a['login']}@{a['server']}"


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def test_a_hung_worker_is_killed_restarted_and_reported(qloop, data_dir: Path, demo_accounts: list[dict]) -> None:
    """[R] 7: a worker that stops answering (SIGSTOP) counts as failed at its first request timeout."""
    keys = link_accounts(data_dir, demo_accounts[:2])

    async def body(desk: Desk, rec: Recorder) -> None:
        desk.activate(keys[0])
        await rec.wait_for(snapshot_of(keys[0]))
        lane = desk.shared
        lane.worker.request_timeout = 2.0  # injected: the real one is 90 s
        hung = lane.worker.pid
        os.kill(hung, signal.SIGSTOP)
        mark = len(rec.events)
        desk.activate(keys[1])  # its switch request is never answered
        crashed = await rec.wait_for(lambda e: e["event"] == "worker" and e["state"] == "crashed", after=mark)
        # the switch request, or the watchdog's ping if that went first, finds it hung
        assert re.search(r"did not answer '(switch|ping)'.*hung", crashed["message"])
        await rec.wait_for(lambda e: e["event"] == "worker" and e["state"] == "restarting", after=mark)
        up = await rec.wait_for(lambda e: e["event"] == "worker" and e["state"] == "running", after=mark)
        assert up["pid"] != hung and up["restarts"] == 1
        assert not Path(f"/proc/{hung}").exists() or ") Z " in Path(f"/proc/{hung}/stat").read_text()
        mark = len(rec.events)
        desk.activate(keys[1])
        await rec.wait_for(snapshot_of(keys[1]), after=mark)

    on_desk(qloop, data_dir, body)


def test_children_get_no_encryption_key_and_no_secret(qloop, data_dir: Path, demo_accounts: list[dict],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """[R] 15: workers and terminals (shared and dedicated) see neither the master key nor other secrets."""
    from cryptography.fernet import Fernet

    key, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", key)
    monkeypatch.setenv("MT5_ENCRYPTION_KEYS", old)
    monkeypatch.setenv("SOME_API_TOKEN", "tok-123456")
    monkeypatch.setenv("CLOUD_DATABASE_URL", "postgres://desk:pw-98765@db.example/desk")
    first = demo_accounts[0]
    chosen = [first, next(a for a in demo_accounts if a["server"] != first["server"])]
    keys = link_accounts(data_dir, chosen, dedicated={key_of(chosen[1])})

    async def body(desk: Desk, rec: Recorder) -> None:
        desk.activate(keys[0])
        for k in keys:
            await rec.wait_for(snapshot_of(k))
        pids = [p for lane in [desk.shared, *desk.dedicated.values()] for p in lane.pids().values() if p]
        assert len(pids) == 4  # a worker and a terminal per lane
        for pid in pids:
            env = environ(pid)
            blob = Path(f"/proc/{pid}/environ").read_bytes()
            for secret in (key, old, "tok-123456", "pw-98765"):
                assert secret.encode() not in blob, f"a secret is in the environment of process {pid}"
            assert "MT5_ENCRYPTION_KEY" not in env and "MT5_ENCRYPTION_KEYS" not in env
            assert env.get("MT5DESK_DATA_DIR") == str(data_dir) and "PATH" in env  # what children need

    on_desk(qloop, data_dir, body)


def test_a_broker_disconnect_reaches_the_lane_with_every_snapshot(qloop, data_dir: Path, demo_accounts: list[dict],
                                                                  sim_world: Path) -> None:
    """[D2] 4: snapshots carry connected/last_tick_time/taken_at; a disconnect turns the account offline."""
    from multi_user.mt5sim import control

    keys = link_accounts(data_dir, demo_accounts[:1])
    fields = {"connected", "last_tick_time", "taken_at", "profit", "margin", "margin_free", "margin_level"}

    async def body(desk: Desk, rec: Recorder) -> None:
        desk.activate(keys[0])
        live = await rec.wait_for(lambda e: snapshot_of(keys[0])(e) and e.get("connected") is True)
        assert fields <= set(live)
        mark = len(rec.events)
        await desk.io(control.add_disconnect, sim_world)
        down = await rec.wait_for(lambda e: snapshot_of(keys[0])(e) and e.get("connected") is False, after=mark)
        assert fields <= set(down)
        offline = await rec.wait_for(state_of(keys[0], "offline"), after=mark)
        assert "connection to the broker" in offline["message"]
        mark = len(rec.events)
        await desk.io(control.clear_faults, sim_world)
        await rec.wait_for(state_of(keys[0], "live"), after=mark)

    on_desk(qloop, data_dir, body)


def test_a_chosen_standard_install_is_not_made_portable_and_one_folder_serves_one_lane(
        qloop, data_dir: Path, sim_world: Path, demo_accounts: list[dict]) -> None:
    """[W] 9: a user-chosen standard install is not started with /portable (its data would come up
    empty), an app-made folder is; a second account may not take a folder a lane already uses."""
    import shutil

    from multi_user.errors import BadInput
    from multi_user.mt5sim import control
    from multi_user.vault import Vault

    a, b, c = demo_accounts[0], demo_accounts[1], demo_accounts[2]
    chosen = data_dir / "My MT5"
    shutil.copytree(control.base_install(sim_world).parent, chosen, ignore=shutil.ignore_patterns(".mt5sim"))
    keys = link_accounts(data_dir, [a, b], dedicated={key_of(a), key_of(b)})
    vault = Vault.open(data_dir)
    try:
        vault.update(a["login"], a["server"], terminal_path=str(chosen))
    finally:
        vault.close()

    async def body(desk: Desk, rec: Recorder) -> None:
        await rec.wait_for(snapshot_of(keys[0]), timeout=60)
        assert desk.dedicated[keys[0]].config.portable is False
        assert desk.dedicated[keys[1]].config.portable is True  # the copy the app made
        assert not (chosen / "MQL5").exists()  # nothing started it with /portable
        with pytest.raises(BadInput, match="already used by"):
            await desk.link_account(str(c["login"]), c["server"], c["password"], dedicated=True,
                                    terminal=str(chosen))
        with pytest.raises(BadInput, match="the shared terminal"):
            await desk.update_account(keys[1], terminal=str(control.base_install(sim_world).parent))

    on_desk(qloop, data_dir, body)


def test_a_server_typed_in_another_case_is_linked_under_the_brokers_spelling(qloop, data_dir: Path,
                                                                              demo_accounts: list[dict]) -> None:
    """[W] 7: the terminal accepts the server in any case; the account is stored as the broker spells it."""
    a = demo_accounts[0]
    link_accounts(data_dir, [demo_accounts[1]])

    async def body(desk: Desk, rec: Recorder) -> None:
        linked = await desk.link_account(str(a["login"]), a["server"].upper(), a["password"])
        assert linked["server"] == a["server"] and linked["key"] == key_of(a)

    on_desk(qloop, data_dir, body)


def test_a_hung_terminal_blocks_the_worker_which_is_restarted_and_streams_again(
        qloop, data_dir: Path, sim_world: Path, demo_accounts: list[dict]) -> None:
    """[W] 4: the real package has no per-call timeout, so a hung terminal blocks the worker's call; the
    watchdog kills the worker at its request timeout, and once the terminal answers again the account
    streams again."""
    from multi_user.errors import DeskError
    from multi_user.mt5sim import control

    keys = link_accounts(data_dir, demo_accounts[:1])

    async def body(desk: Desk, rec: Recorder) -> None:
        desk.activate(keys[0])
        await rec.wait_for(snapshot_of(keys[0]), timeout=60)
        lane = desk.shared
        lane.worker.request_timeout = 3.0  # injected: the real one is 180 s
        mark = len(rec.events)
        control.add_ipc_timeout(sim_world, control.base_install(sim_world), 8.0)
        with pytest.raises(DeskError, match="did not answer"):
            await lane.worker.request("health")  # blocked behind the hung call, as any request would be
        await rec.wait_for(lambda e: e["event"] == "worker" and e["state"] == "crashed", after=mark, timeout=30)
        mark = len(rec.events)
        await rec.wait_for(snapshot_of(keys[0]), after=mark, timeout=60)

    on_desk(qloop, data_dir, body)
