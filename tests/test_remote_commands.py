"""Commands for a host's account from the headless host (app/remote_commands.py) and a rename from the
window (app/remote_view.py), with the link fed by hand; tests/test_remote_locks_ssh.py does both over sshd."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from test_remote_hosts_ui import fed_view

from app.remote_commands import HostCommands
from app.remote_view import DeskWithHosts
from multi_user.errors import BadInput

ACC = {"key": "7001@Far", "login": 7001, "server": "Far", "label": "Swing", "mode": "shared", "terminal": None}


def _view(tmp_path: Path) -> tuple[DeskWithHosts, Any, list[dict[str, Any]]]:
    return fed_view(tmp_path / "d", [ACC])


def test_the_headless_hosts_commands_for_a_remote_account_go_to_its_host(tmp_path: Path) -> None:
    view, link, sent = _view(tmp_path)
    out: list[dict[str, Any]] = []
    view.event.connect(out.append)
    commands = HostCommands(view, out.append, lambda: None)
    commands.started()
    for cmd in ({"cmd": "activate", "account": "7001@Far@vps1", "preempt": True, "id": 1},
                {"cmd": "close_all", "account": "7001@Far@vps1"}, {"cmd": "cancel", "account": "7001@Far@vps1"},
                {"cmd": "flatten", "account": "7001@Far@vps1", "id": "f"}, {"cmd": "release", "host": "vps1"}):
        commands.run(json.dumps(cmd))
    assert sent[1:] == [{"cmd": "activate", "id": 1, "preempt": True, "account": "7001@Far"},
                        {"cmd": "close_all", "account": "7001@Far"}, {"cmd": "cancel", "account": "7001@Far"},
                        {"cmd": "flatten", "id": "f", "account": "7001@Far"}, {"cmd": "release"}]
    commands.run(json.dumps({"cmd": "activate", "account": "9@Nowhere@vps1"}))
    commands.run(json.dumps({"cmd": "release", "host": "vps9"}))
    errors = [e for e in out if e["event"] == "error"]
    assert "no linked account 9@Nowhere@vps1 on host vps1" in errors[0]["message"]
    assert "no host named vps9" in errors[1]["message"] and len(sent) == 6
    # the host's answer comes back with the desk's names
    link._line(json.dumps({"event": "error", "command": "cancel", "account": "7001@Far", "message": "cancel: nothing"}))
    assert out[-1]["account"] == "7001@Far@vps1" and out[-1]["message"] == "vps1: cancel: nothing"
    # offline: answered at once, nothing sent
    link._go_offline("offline", "vps1: Connection reset")
    commands.run(json.dumps({"cmd": "activate", "account": "7001@Far@vps1"}))
    assert len(sent) == 6 and "host vps1 is offline" in out[-1]["message"] and out[-1]["host"] == "vps1"
    assert any(e["event"] == "host" and e["state"] == "offline" for e in out)  # the link's state is said
    lock = next(e for e in out if e["event"] == "lock")
    assert lock["host"] == "vps1" and lock["known"] is False and lock["offline_since"]
    view.remote.stop()


def test_renaming_a_remote_account_is_relayed_to_its_host(tmp_path: Path, qloop) -> None:
    view, link, sent = _view(tmp_path)

    async def rename(label: str, answer: dict[str, Any] | None = None, **more: Any) -> list[dict[str, Any]]:
        task = asyncio.ensure_future(view.update_account("7001@Far@vps1", label=label, **more))
        await asyncio.sleep(0)
        if answer is not None:
            link._line(json.dumps({**answer, "id": sent[-1]["id"]}))
        await asyncio.wait_for(task, 10)
        return sent

    run = qloop.run_until_complete
    run(rename("Swing · vps1", {"event": "renamed"}, mode="shared", terminal=""))  # as the edit dialog sends it
    assert sent[-1]["cmd"] == "rename" and sent[-1]["account"] == "7001@Far" and sent[-1]["label"] == "Swing"
    run(rename("Long term · vps1", {"event": "renamed"}))
    assert sent[-1]["label"] == "Long term"
    link._line(json.dumps({"event": "accounts", "accounts": [{**ACC, "label": "Long term"}]}))
    assert next(a for a in view.accounts() if a["key"] == "7001@Far@vps1")["label"] == "Long term · vps1"
    before = len(sent)
    with pytest.raises(BadInput, match="only its name"):
        run(rename("x", mode="dedicated"))
    with pytest.raises(BadInput, match="bad label"):
        run(rename("y", {"event": "error", "command": "rename", "exit_code": 2, "message": "rename: bad label"}))
    assert len(sent) == before + 1
    view.remote.stop()
