"""The window with the owner's hosts in it (app/remote_view.py): a host's accounts in the sidebar under
its name, next to the local ones, their values from the host, commands routed to the host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fake_desk import FakeDesk, fake_accounts, fake_window

from app.control import PROTOCOL
from app.remote_desk import RemoteHosts
from app.remote_hosts import Host, HostStore
from app.remote_view import DeskWithHosts


def fed_view(data: Path, accounts: list[dict[str, Any]]) -> tuple[DeskWithHosts, Any, list[dict[str, Any]]]:
    """A window's desk with one local account and host vps1, whose link is fed by hand (its hello lists
    ``accounts``); ``sent``: what the desk wrote to the host."""
    desk = FakeDesk(data, fake_accounts(1))
    HostStore(data).add(Host("vps1", "trader@vps1"))
    remote = RemoteHosts(data)
    link = remote._link(HostStore(data).get("vps1"))
    sent: list[dict[str, Any]] = []
    link._write = sent.append  # type: ignore[method-assign]
    view = DeskWithHosts(desk, remote)
    link._line(json.dumps({"event": "hello", "protocol": PROTOCOL, "accounts": accounts}))
    return view, link, sent


def test_a_hosts_accounts_show_under_its_name_and_commands_go_to_it(qtbot, qloop, tmp_path: Path) -> None:
    data = tmp_path / "d"
    desk = FakeDesk(data, fake_accounts(3))
    HostStore(data).add(Host("vps1", "trader@vps1"))
    remote = RemoteHosts(data)
    link = remote._link(HostStore(data).get("vps1"))  # fed by hand below instead of over ssh
    sent: list[dict[str, Any]] = []
    link._write = sent.append  # type: ignore[method-assign]
    view = DeskWithHosts(desk, remote)
    remote_acc = {"key": "7001@Far-Server", "login": 7001, "server": "Far-Server", "label": "Swing",
                  "mode": "shared", "investor": False, "terminal": None}
    shown = "7001@Far-Server@vps1"
    with fake_window(qtbot, qloop, view) as window:
        link._line(json.dumps({
            "event": "hello", "protocol": PROTOCOL, "kind": "headless", "pid": 5, "accounts": [remote_acc],
            "lock": {"event": "lock", "holder": {"account": "7001@Far-Server", "phase": "active"}, "queue": []},
            "states": [{"event": "account_state", "account": "7001@Far-Server", "state": "live"}],
            "snapshots": [{"event": "snapshot", "account": "7001@Far-Server", "equity": 4321.0, "balance": 4000.0,
                           "currency": "EUR"}]}))
        qtbot.waitUntil(lambda: shown in window.model.keys_in_view_order(), timeout=5000)
        window.repaint_dirty()
        acc = window.model.account(shown)
        assert acc["label"] == "Swing · vps1" and acc["server"] == "vps1 · Far-Server" and acc["host"] == "vps1"
        assert {a["key"] for a in desk.accounts()} <= set(window.model.keys_in_view_order())  # local ones stay
        assert window.model.states[shown]["state"] == "live" and window.model.snapshots[shown]["equity"] == 4321.0
        # the host's lock is its own: the desk's banner keeps the local holder
        assert view.lock_state()["holder"]["account"] == desk.accounts()[0]["key"]
        view.activate(shown)
        view.close_all(shown)
        assert [(c["cmd"], c["account"]) for c in sent[1:]] == [("activate", "7001@Far-Server"),
                                                                ("close_all", "7001@Far-Server")]
        view.activate(desk.accounts()[0]["key"])
        assert desk.activated == [desk.accounts()[0]["key"]]
        # a job on this machine's shared terminal does not concern a host's account: no question asked
        desk.job_running = lambda: desk.accounts()[0]["key"]  # type: ignore[method-assign]
        window.activate(shown)
        assert sent[-1] == {"cmd": "activate", "account": "7001@Far-Server", "preempt": False}
        # the link drops: the host's accounts show offline with the reason, the local ones as they were
        link._go_offline("offline", "vps1: Connection reset")
        window.repaint_dirty()
        assert window.model.states[shown]["state"] == "offline"
        assert "vps1 is offline" in window.model.states[shown]["message"]
        local = desk.accounts()[0]["key"]
        assert window.model.states[local]["state"] == desk.states[local]["state"]
        # Settings → Hosts is there
        from PySide6.QtWidgets import QPushButton

        settings = window.open_settings()
        assert settings.findChild(QPushButton, "HostsButton") is not None
        settings.reject()
        # a host removed: its accounts leave the sidebar
        remote.remove("vps1")
        qtbot.waitUntil(lambda: shown not in window.model.keys_in_view_order(), timeout=5000)
        window.repaint_dirty()
        assert "vps1" not in window.banner.hosts.text() and not window.banner.hosts.isVisible()


def test_settings_hosts_adds_a_host_only_after_its_key_is_confirmed(qtbot, qloop, tmp_path: Path,
                                                                    monkeypatch) -> None:
    import asyncio
    import base64

    import app.remote_desk as remote_desk
    import ui.hosts_settings as hs
    from app.remote_hosts import known_hosts_file
    from app.remote_keys import HostKey

    data = tmp_path / "d"
    data.mkdir()
    offered = [HostKey("[vps]:2222", "ssh-rsa", base64.b64encode(b"rsa-key-bytes").decode()),
               HostKey("[vps]:2222", "ssh-ed25519", base64.b64encode(b"ed-key-bytes").decode())]
    monkeypatch.setattr(hs, "scan", lambda host: offered)  # no network: what ssh-keyscan would read
    monkeypatch.setattr(remote_desk.RemoteHost, "start", lambda self: None)  # no ssh child either
    remote = RemoteHosts(data)
    dialog = hs.HostsDialog(None, remote)
    qtbot.addWidget(dialog)
    asked: list[str] = []
    answers = [False, True]
    dialog.ask = lambda text: (asked.append(text), answers.pop(0))[1]  # type: ignore[method-assign]
    dialog.name.setText("vps1")
    dialog.destination.setText("-oProxyCommand=x")
    assert qloop.run_until_complete(asyncio.wait_for(dialog.add(), 10)) is False
    assert "not an SSH destination" in dialog.error.text() and not HostStore(data).path.exists()
    dialog.destination.setText("trader@vps")
    dialog.port.setValue(2222)
    assert qloop.run_until_complete(asyncio.wait_for(dialog.add(), 10)) is False  # the owner said no
    assert offered[1].fingerprint in asked[0] and not HostStore(data).load() and not known_hosts_file(data).exists()
    assert qloop.run_until_complete(asyncio.wait_for(dialog.add(), 10)) is True
    assert [h.name for h in HostStore(data).load()] == ["vps1"] and "vps1" in remote.links
    text = known_hosts_file(data).read_text()
    assert offered[1].blob in text and offered[0].blob not in text  # only the key shown to the owner
    assert dialog.list.count() == 1 and "vps1 — trader@vps" in dialog.list.item(0).text()
    dialog.list.setCurrentRow(0)
    qloop.run_until_complete(asyncio.wait_for(dialog.remove_selected(), 10))
    assert not HostStore(data).load() and dialog.list.count() == 0
    dialog.close()
    remote.stop()


def test_a_remote_accounts_new_password_goes_to_its_host_as_a_token(qtbot, qloop, tmp_path: Path) -> None:
    import asyncio

    import pytest

    from multi_user.credentials import MT5CredentialManager
    from multi_user.errors import BadInput, VaultError

    data = tmp_path / "d"
    acc = {"key": "7001@Far", "login": 7001, "server": "Far", "label": None, "mode": "shared"}
    view, link, _sent = fed_view(data, [acc])
    remote = view.remote

    async def change(answer: dict[str, Any]) -> dict[str, Any]:
        links: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        link._write = links.put_nowait  # type: ignore[method-assign]
        login, server = ["7001", "Far@vps1"]  # as the window's edit dialog splits the key 7001@Far@vps1
        task = asyncio.ensure_future(view.link_account(login, server, "new-secret-pw"))
        cmd = await asyncio.wait_for(links.get(), 10)  # the token is made on a thread first
        assert cmd["server"] == "Far" and "password" not in cmd and "new-secret-pw" not in json.dumps(cmd)
        assert MT5CredentialManager(data).decrypt(cmd["token"]) == "new-secret-pw"
        link._line(json.dumps({**answer, "id": cmd["id"]}))
        return await asyncio.wait_for(task, 10)

    done = qloop.run_until_complete(change({"event": "linked", "account": acc, "verified": True}))
    assert done["key"] == "7001@Far@vps1"
    with pytest.raises(VaultError, match="another key"):
        qloop.run_until_complete(change({"event": "error", "command": "link", "exit_code": 4,
                                         "message": "link: encrypted with another key"}))
    with pytest.raises(BadInput, match="lives on host vps1"):  # a rename goes there (tests/test_remote_commands.py)
        qloop.run_until_complete(view.update_account("7001@Far@vps1", label="x", mode="dedicated"))
    remote.stop()
