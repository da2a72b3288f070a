"""A host's lock in the desk's views, the headless desk with hosts, and a rename, over a real sshd on
loopback (the fixture and helpers of tests/test_remote_hosts_ssh.py). A host is a data dir with a headless
MT5 Desk on the simulator, reached with ``ssh ... attach`` as a VPS would be."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from fake_desk import FakeDesk, fake_accounts, fake_window
from test_headless import Headless
from test_remote_hosts_ssh import Sshd, _descendants, add_host, sshd  # noqa: F401 (sshd: the fixture)

pytestmark = pytest.mark.slow


def _host(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Headless, list[dict[str, Any]]]:
    from multi_user.mt5sim import control
    from multi_user.paths import sim_world_dir

    monkeypatch.delenv(control.ENV_WORLD, raising=False)
    folder = tmp_path / name
    folder.mkdir()
    control.ensure_world(sim_world_dir(folder))
    host = Headless(folder, duration=300)
    accounts = host.wait_for(lambda e: e["event"] == "accounts" and e["accounts"], timeout=90)["accounts"]
    return folder, host, accounts


def _stop(host: Headless, folder: Path) -> None:
    from multi_user.mt5sim import control
    from multi_user.paths import sim_world_dir

    if host.proc.poll() is None:
        host.send({"cmd": "quit"})
        host.finish()
    host.__exit__()
    control.stop_all_terminals(sim_world_dir(folder))


def test_a_hosts_lock_over_ssh_shows_held_then_unknown_then_the_hosts_again(
        sshd: Sshd, tmp_path: Path, qtbot, qloop, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from app.remote_desk import RemoteHosts
    from app.remote_view import DeskWithHosts

    folder, host, accounts = _host(tmp_path, "vps1", monkeypatch)
    desk_dir = tmp_path / "desk"
    desk_dir.mkdir()
    remote = RemoteHosts(desk_dir, backoff=(1.0, 2.0))
    try:
        assert add_host(desk_dir, sshd, "vps1", folder, "--fingerprint", sshd.host_fingerprint()).returncode == 0
        view = DeskWithHosts(FakeDesk(tmp_path / "window", fake_accounts(1)), remote)
        shared = [a["key"] for a in accounts if a["mode"] == "shared"]
        target, other = shared[-1], shared[0]
        with fake_window(qtbot, qloop, view) as window:
            remote.start()
            link = remote.links["vps1"]
            qtbot.waitUntil(lambda: link.state == "online", timeout=60000)

            row = -1

            def shows_held(key: str) -> bool:
                """The banner, the padlock and the Terminals row all show ``key`` holding vps1's terminal (checked
                together in one repaint: the host's lock moves on by itself, e.g. a re-login)."""
                nonlocal row
                window.repaint_dirty()
                if "shared@vps1" not in window.terminals._lanes:
                    return False
                row = window.terminals._lanes.index("shared@vps1")
                cells = [window.terminals.table.item(row, c).text() for c in range(8)]  # Lane, Accounts, Lock, …
                name = window.name_of(key)
                return (f"vps1's shared terminal:</b> held by {name}" in window.banner.hosts.text()
                        and key in window.model.holders and cells[0] == "vps1 · Shared terminal"
                        and cells[2].startswith(f"{name}: ") and cells[4].startswith("running (pid"))

            view.activate(f"{target}@vps1")
            qtbot.waitUntil(lambda: shows_held(f"{target}@vps1"), timeout=90000)
            name = window.name_of(f"{target}@vps1")
            # the ssh client killed: the host's lock is unknown, with when it was last seen
            mark = len(host.events)
            os.kill(link._proc.processId(), signal.SIGKILL)

            def shown_offline() -> bool:  # checked while it is offline: it reconnects after 1 s
                window.repaint_dirty()
                text = window.banner.hosts.text()
                return (link.state != "online" and link.offline_since is not None and "unknown: host vps1 is" in text
                        and name not in text and f"{target}@vps1" not in window.model.holders
                        and window.terminals.table.item(row, 4).text() == "unknown")

            qtbot.waitUntil(shown_offline, timeout=30000)
            # the host moves on meanwhile; back online, the desk shows the host's lock
            host.send({"cmd": "activate", "account": other})
            host.wait_for(lambda e: e["event"] == "lock" and (e["holder"] or {}).get("account") == other
                          and (e["holder"] or {}).get("phase") == "active", after=mark, timeout=90)
            qtbot.waitUntil(lambda: shows_held(f"{other}@vps1") and f"{target}@vps1" not in window.model.holders,
                            timeout=60000)
            # [K] 3: a rename from the desk is made on the host, and the desk's view follows
            qloop.run_until_complete(asyncio.wait_for(
                view.update_account(f"{other}@vps1", label="Renamed here · vps1", mode="shared", terminal=""), 60))
            host.wait_for(lambda e: e["event"] == "accounts" and any(
                a["key"] == other and a["label"] == "Renamed here" for a in e["accounts"]), after=mark, timeout=30)
            qtbot.waitUntil(lambda: (window.model.account(f"{other}@vps1") or {}).get("label")
                            == "Renamed here · vps1", timeout=30000)
    finally:
        remote.stop()
        _stop(host, folder)


def test_the_headless_desk_attaches_to_its_hosts_and_relays_commands(
        sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    folder, host, accounts = _host(tmp_path, "vps1", monkeypatch)
    desk_dir = tmp_path / "desk"
    desk_dir.mkdir()
    desk = None
    try:
        assert add_host(desk_dir, sshd, "vps1", folder, "--fingerprint", sshd.host_fingerprint()).returncode == 0
        desk = Headless(desk_dir, duration=300)
        desk.wait_for(lambda e: e["event"] == "host" and e["state"] == "online", timeout=60)
        listed = desk.wait_for(lambda e: e["event"] == "accounts" and any(a.get("host") == "vps1"
                                                                          for a in e["accounts"]))["accounts"]
        assert {a["key"] for a in listed if a.get("host") == "vps1"} == {f"{a['key']}@vps1" for a in accounts}
        target = next(a["key"] for a in accounts if a["mode"] == "shared")
        desk.send({"cmd": "activate", "account": f"{target}@vps1"})
        desk.wait_for(lambda e: e["event"] == "lock" and e.get("host") == "vps1" and e["known"]
                      and (e["holder"] or {}).get("account") == f"{target}@vps1"
                      and (e["holder"] or {}).get("phase") == "active", timeout=90)
        dedicated = next(a["key"] for a in accounts if a["mode"] == "dedicated")
        desk.send({"cmd": "close_all", "account": f"{dedicated}@vps1"})
        desk.wait_for(lambda e: e["event"] == "job" and e.get("host") == "vps1" and e["state"] == "done"
                      and e["account"] == f"{dedicated}@vps1", timeout=90)
        desk.send({"cmd": "activate", "account": "1@Nowhere@vps1", "id": "x"})
        assert "no linked account" in desk.wait_for(lambda e: e.get("id") == "x")["message"]
        # the ssh client killed: the host is offline, its lock unknown; then it is back
        mark = len(desk.events)
        ssh = [p for p in _descendants(desk.proc.pid)
               if Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0].endswith(b"ssh")]
        assert ssh
        os.kill(ssh[0], signal.SIGKILL)
        desk.wait_for(lambda e: e["event"] == "host" and e["state"] == "offline", after=mark, timeout=30)
        desk.wait_for(lambda e: e["event"] == "lock" and e.get("host") == "vps1" and e["known"] is False
                      and e["offline_since"], after=mark, timeout=30)
        desk.wait_for(lambda e: e["event"] == "host" and e["state"] == "online", after=mark, timeout=60)
        desk.wait_for(lambda e: e["event"] == "lock" and e.get("host") == "vps1" and e["known"]
                      and (e["holder"] or {}).get("account") == f"{target}@vps1", after=mark, timeout=30)
        desk.send({"cmd": "quit"})
        assert desk.finish() == 0
    finally:
        if desk is not None:
            desk.__exit__()
        _stop(host, folder)
