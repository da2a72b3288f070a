"""A host's shared-terminal lock in the desk's views (app/remote_locks.py): the lock banner, the Terminals
tab and the sidebar's padlock show it next to the local one, named with the host; unknown (with its age)
while the host is offline; the host's own state again after it is back. The link is fed by hand here;
tests/test_remote_locks_ssh.py does the same over a real sshd."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fake_desk import FakeDesk, fake_accounts, fake_window

from app.control import PROTOCOL
from app.remote_desk import RemoteHosts
from app.remote_hosts import Host, HostStore
from app.remote_view import DeskWithHosts

ACCS = [{"key": f"700{i}@Far", "login": 7000 + i, "server": "Far", "label": f"Swing{i}", "mode": "shared"}
        for i in (1, 2)]


def _hello(holder: str, job: str | None = None, queue: list[dict[str, Any]] | None = None) -> str:
    return json.dumps({
        "event": "hello", "protocol": PROTOCOL, "kind": "headless", "pid": 5, "accounts": ACCS,
        "lock": {"event": "lock", "lane": "shared", "queue": queue or [], "switching": None,
                 "holder": {"account": holder, "phase": "active", "since": time.time(), "job": job,
                            "reason": "job" if job else "viewing", **({"priority": True} if job else {})}},
        "lanes": [{"lane": "shared", "accounts": [a["key"] for a in ACCS], "folder": "C:/MT5",
                   "terminal": {"event": "terminal", "lane": "shared", "state": "running", "pid": 900, "restarts": 0},
                   "worker": {"event": "worker", "lane": "shared", "state": "running", "pid": 901, "restarts": 0}}],
        "states": [], "snapshots": []})


def _row(window: Any, lane: str) -> dict[str, str]:
    """The Terminals tab's row of ``lane``, by column title."""
    from ui.terminals_panel import COLUMNS

    panel = window.terminals
    r = panel._lanes.index(lane)
    return {title: panel.table.item(r, c).text() for c, title in enumerate(COLUMNS)}


def test_a_hosts_lock_shows_in_the_banner_terminals_and_padlock_and_is_unknown_while_offline(
        qtbot, qloop, tmp_path: Path) -> None:
    data = tmp_path / "d"
    desk = FakeDesk(data, fake_accounts(2))
    HostStore(data).add(Host("vps1", "trader@vps1"))
    remote = RemoteHosts(data)
    link = remote._link(HostStore(data).get("vps1"))  # fed by hand instead of over ssh
    sent: list[dict[str, Any]] = []
    link._write = sent.append  # type: ignore[method-assign]
    view = DeskWithHosts(desk, remote)
    local = desk.accounts()[0]["key"]
    with fake_window(qtbot, qloop, view) as window:
        # before it is reached: unknown, and nobody's padlock
        window._dirty |= {"banner", "rows", "terminals"}
        window.repaint_dirty()
        assert "vps1's shared terminal:" in window.banner.hosts.text() and "unknown" in window.banner.hosts.text()
        link._line(_hello("7001@Far", job="close_all",
                          queue=[{"account": "7002@Far", "job": "close_all", "reason": "job"}]))
        window.repaint_dirty()
        text = window.banner.hosts.text()
        assert "vps1's shared terminal:" in text and "held by Swing1 · vps1" in text, text
        assert "job: close all positions (ahead of the queue: a hard stop or a firm's reset)" in text
        assert "waiting: 1. Swing2 · vps1 (7002) (close all positions)" in text
        assert window.model.holders == {local, "7001@Far@vps1"} and window.model.holder == local
        assert "Shared terminal" in window.banner.title.text() and window.banner.hosts.isVisible()
        row = _row(window, "shared@vps1")
        assert row["Lane"] == "vps1 · Shared terminal" and row["Terminal"] == "running (pid 900)"
        assert row["Lock"] == "Swing1 · vps1 (7001): close all positions, first · 1 waiting"
        assert "Swing1 · vps1" in row["Accounts"]
        assert _row(window, "shared")["Lock"].endswith(": viewing")  # the local lane's lock in the same column
        window.terminals.table.selectRow(window.terminals._lanes.index("shared@vps1"))
        assert not window.terminals.buttons["restart"].isEnabled()  # a host's terminals are run there
        # a switch there: the banner's Cancel sends the cancel to the host
        link._line(json.dumps({"event": "lock", "lane": "shared", "queue": [], "switching": "7002@Far",
                               "holder": {"account": "7002@Far", "phase": "switching", "reason": "viewing"}}))
        window.repaint_dirty()
        assert "logging in to Swing2 · vps1" in window.banner.hosts.text()
        assert window.banner.cancel.isVisible() and window.banner.cancel.text() == "Cancel switch on vps1"
        window.banner.cancel.click()
        assert sent[-1] == {"cmd": "cancel", "account": "7002@Far"}
        # a lock event from the host moves the view with it
        link._line(json.dumps({"event": "lock", "lane": "shared", "holder": {"account": "7002@Far", "phase": "active",
                                                                             "reason": "viewing"},
                               "queue": [], "switching": None}))
        qtbot.waitUntil(lambda: "terminals" in window._dirty or "held by Swing2" in window.banner.hosts.text(),
                        timeout=2000)
        window.repaint_dirty()
        assert "held by Swing2 · vps1" in window.banner.hosts.text()
        assert window.model.holders == {local, "7002@Far@vps1"}
        link._line(json.dumps({"event": "terminal", "lane": "shared", "state": "crashed", "pid": 900, "restarts": 1,
                               "message": "exit code 3"}))
        window.repaint_dirty()
        assert _row(window, "shared@vps1")["Terminal"] == "crashed (pid 900)"
        # offline: unknown with its age, never the last holder as if it still held the terminal
        link._go_offline("offline", "vps1: Connection reset")
        window.repaint_dirty()
        text = window.banner.hosts.text()
        assert "unknown: host vps1 is offline, last seen" in text and "s ago" in text and "Swing2" not in text
        assert window.model.holders == {local}
        row = _row(window, "shared@vps1")
        assert row["Terminal"] == row["Worker"] == "unknown" and "last seen" in row["Last message"]
        assert row["Lock"].startswith("unknown")
        # back: the host's hello is the truth again
        link.state = "connecting"
        link._greeted = False
        link._line(_hello("7001@Far"))
        window.repaint_dirty()
        assert "held by Swing1 · vps1" in window.banner.hosts.text() and "unknown" not in window.banner.hosts.text()
        assert window.model.holders == {local, "7001@Far@vps1"}
        assert _row(window, "shared@vps1")["Terminal"] == "running (pid 900)"
    remote.stop()


def test_without_hosts_the_banner_has_no_host_line(qtbot, qloop, tmp_path: Path) -> None:
    desk = FakeDesk(tmp_path / "d", fake_accounts(1))
    view = DeskWithHosts(desk, RemoteHosts(tmp_path / "d"))
    with fake_window(qtbot, qloop, view) as window:
        window.repaint_dirty()
        assert not window.banner.hosts.isVisible() and window.model.holders == {desk.accounts()[0]["key"]}
