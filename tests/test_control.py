"""The running app's control endpoint (issue 18 item 1) and `accounts link|unlink` through it ([R] 5).

In-process: the endpoint on a stand-in Desk (handshake, several clients, a client that never reads).
Real: a headless host child, `main.py attach` clients, and the command line linking through the host.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalSocket

from app.control import MAX_CLIENT_BUFFER, PROTOCOL, ControlServer, endpoint_name

ROOT = Path(__file__).resolve().parent.parent


class FakeDesk(QObject):
    event = Signal(dict)

    def accounts(self) -> list[dict[str, Any]]:
        return [{"key": "1@S", "login": 1, "server": "S", "mode": "shared"}]

    def lock_state(self) -> dict[str, Any]:
        return {"event": "lock", "holder": None, "queue": []}

    def account_states(self) -> dict[str, dict[str, Any]]:
        return {"1@S": {"event": "account_state", "account": "1@S", "state": "idle"}}

    def last_snapshot(self, key: str) -> dict[str, Any] | None:
        return None


class Client:
    def __init__(self, name: str) -> None:
        self.sock = QLocalSocket()
        self.lines: list[dict[str, Any]] = []
        self._buf = b""
        self.sock.readyRead.connect(self._read)
        self.sock.connectToServer(name)

    def _read(self) -> None:
        self._buf += bytes(self.sock.readAll().data())
        *done, self._buf = self._buf.split(b"\n")
        self.lines += [json.loads(x) for x in done if x]

    def send(self, obj: Any) -> None:
        self.sock.write((obj if isinstance(obj, str) else json.dumps(obj)).encode() + b"\n")

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.lines if e.get("event") == kind]


@pytest.fixture
def served(qloop, qtbot, tmp_path: Path):
    desk = FakeDesk()
    data = tmp_path / "d"
    data.mkdir()
    server = ControlServer(desk, data, "gui")
    assert server.listen()
    server.started()
    yield desk, server, endpoint_name(data)
    qloop.run_until_complete(server.close())


def test_hello_with_the_state_then_events_and_the_handshake_first(served, qtbot) -> None:
    desk, _server, name = served
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(name).st_mode) & 0o077 == 0  # only this user can open it
    c = Client(name)
    qtbot.waitUntil(lambda: bool(c.lines), timeout=5000)
    hello = c.lines[0]
    assert hello["event"] == "hello" and hello["protocol"] == PROTOCOL and hello["kind"] == "gui"
    assert hello["accounts"][0]["key"] == "1@S" and hello["lock"]["holder"] is None
    assert hello["states"][0]["state"] == "idle"
    c.send({"cmd": "release", "id": 7})  # before the handshake: refused, nothing run
    qtbot.waitUntil(lambda: bool(c.events("error")), timeout=5000)
    assert "hello" in c.events("error")[0]["message"] and c.events("error")[0]["id"] == 7
    c.send({"cmd": "hello", "protocol": PROTOCOL})
    desk.event.emit({"event": "lock", "holder": None, "queue": [], "ts": 1.0})
    qtbot.waitUntil(lambda: bool(c.events("lock")), timeout=5000)
    c.send({"cmd": "quit", "id": "q"})  # the window's app is quit from the window, not remotely
    qtbot.waitUntil(lambda: bool(len(c.events("error")) == 2), timeout=5000)
    assert c.events("error")[1]["command"] == "quit" and c.events("error")[1]["id"] == "q"


def test_a_malformed_link_is_answered_and_runs_nothing(served, qtbot) -> None:
    _desk, _server, name = served
    c = Client(name)
    c.send({"cmd": "hello", "protocol": PROTOCOL})
    c.send({"cmd": "link", "login": 1, "server": "S", "id": "no-pw"})
    c.send({"cmd": "link", "login": 1, "server": "S", "password": "p", "label": {"x": 1}, "id": "bad-label"})
    c.send({"cmd": "unlink", "account": "2@S", "id": "unknown"})
    qtbot.waitUntil(lambda: bool(len(c.events("error")) == 3), timeout=5000)
    errors = {e["id"]: e for e in c.events("error")}
    assert 'needs "password"' in errors["no-pw"]["message"] and errors["no-pw"]["command"] == "link"
    assert '"label" must be a string' in errors["bad-label"]["message"]
    assert "no linked account 2@S" in errors["unknown"]["message"]
    assert not c.events("linked") and not c.events("unlinked")


def test_a_client_with_another_protocol_is_told_and_closed(served, qtbot) -> None:
    _desk, server, name = served
    c = Client(name)
    qtbot.waitUntil(lambda: bool(c.lines), timeout=5000)
    c.send({"cmd": "hello", "protocol": PROTOCOL + 1})
    qtbot.waitUntil(lambda: bool(c.sock.state() == QLocalSocket.LocalSocketState.UnconnectedState), timeout=5000)
    err = c.events("error")[0]
    assert err["command"] == "hello" and "update" in err["message"] and err["protocol"] == PROTOCOL
    qtbot.waitUntil(lambda: bool(not server.clients), timeout=5000)


def test_two_clients_see_every_event_and_a_command_error_goes_to_its_sender_only(served, qtbot) -> None:
    desk, server, name = served
    a, b = Client(name), Client(name)
    qtbot.waitUntil(lambda: bool(a.lines and b.lines and len(server.clients) == 2), timeout=5000)
    for c in (a, b):
        c.send({"cmd": "hello", "protocol": PROTOCOL})
    for i in range(50):
        desk.event.emit({"event": "snapshot", "account": "1@S", "equity": float(i), "ts": 1.0})
    qtbot.waitUntil(lambda: bool(len(a.events("snapshot")) == 50 and len(b.events("snapshot")) == 50), timeout=5000)
    assert [e["equity"] for e in a.events("snapshot")] == [float(i) for i in range(50)]
    a.send({"cmd": "activate", "account": "9@Nowhere"})
    qtbot.waitUntil(lambda: bool(a.events("error")), timeout=5000)
    desk.event.emit({"event": "lock", "holder": None, "queue": [], "ts": 2.0})
    qtbot.waitUntil(lambda: bool(b.events("lock")), timeout=5000)
    assert not b.events("error")


@pytest.mark.skipif(sys.platform == "win32", reason="a raw client socket; on Windows the endpoint is a named pipe")
def test_a_client_that_never_reads_is_dropped_and_the_others_go_on(served, qtbot, caplog) -> None:
    desk, server, name = served
    reader = Client(name)
    # a plain socket nobody reads (a Qt one in this process would read into its own memory)
    sleeper = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sleeper.connect(name)
    qtbot.waitUntil(lambda: bool(reader.lines and len(server.clients) == 2), timeout=5000)
    blob = "x" * 10_000
    caplog.set_level(logging.WARNING, logger="mt5desk.control")
    sent = 0
    while len(server.clients) == 2:
        for _ in range(20):
            sent += 1
            desk.event.emit({"event": "snapshot", "account": "1@S", "pad": blob, "n": sent, "ts": 1.0})
        qtbot.waitUntil(lambda n=sent: bool(len(reader.events("snapshot")) == n), timeout=5000)  # the reader keeps up
        assert sent * len(blob) < 20 * MAX_CLIENT_BUFFER, "the sleeping client was never dropped"
    assert any("does not read" in r.getMessage() for r in caplog.records)
    desk.event.emit({"event": "lock", "holder": None, "queue": [], "ts": 2.0})
    qtbot.waitUntil(lambda: bool(reader.events("lock")), timeout=5000)
    assert len(server.clients) == 1
    sleeper.close()


@pytest.mark.skipif(sys.platform == "win32", reason="Windows names a pipe, not a path")
def test_a_data_dir_too_deep_for_a_socket_path_gets_a_private_one(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    name = endpoint_name(deep)
    assert len(name.encode()) <= 104 and not name.startswith(str(tmp_path))
    assert name == endpoint_name(deep)  # the client finds the same one
    folder = Path(name).parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.stat().st_uid == os.getuid()


# ---- a real headless host -------------------------------------------------------------------------

def attached(data_dir: Path):
    """`main.py attach` as a child, read like the headless host (tests/test_headless.py)."""
    from test_headless import Headless

    return Headless(data_dir, 0, command=["attach"])


def cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend", "sim",
                           *args], input=stdin, capture_output=True, text=True, timeout=180, cwd=ROOT)


@pytest.mark.slow
def test_attach_to_a_headless_host_two_clients_and_quit(data_dir: Path, sim_world: Path) -> None:
    from test_headless import Headless

    r = cli(data_dir, "attach")  # nobody runs yet: a clear message, exit 3
    assert r.returncode == 3 and "not running on this data dir" in r.stderr
    with Headless(data_dir, duration=120) as host:
        accounts = host.wait_for(lambda e: e["event"] == "accounts" and e["accounts"])["accounts"]
        one, two = attached(data_dir), attached(data_dir)
        try:
            hello = one.wait_for(lambda e: e["event"] == "hello")
            assert hello["kind"] == "headless" and hello["pid"] == host.proc.pid
            assert {a["key"] for a in hello["accounts"]} == {a["key"] for a in accounts}
            two.wait_for(lambda e: e["event"] == "hello")
            r = cli(data_dir, "run", "--headless", "--duration", "1")  # a second host is pointed at attach
            assert r.returncode == 5 and "`attach` talks to it" in r.stderr
            shared = [a["key"] for a in accounts if a["mode"] == "shared"]
            target = shared[-1]
            one.send({"cmd": "activate", "account": target, "id": "a1"})
            for c in (one, two):  # every client sees what one of them caused
                c.wait_for(lambda e: e["event"] == "lock" and (e["holder"] or {}).get("account") == target
                           and (e["holder"] or {}).get("phase") == "active", timeout=60)
                c.wait_for(lambda e: e["event"] == "snapshot" and e["account"] == target)
            one.send({"cmd": "cancel", "account": "1@Nowhere", "id": 5})
            err = one.wait_for(lambda e: e["event"] == "error" and e.get("id") == 5)
            assert err["command"] == "cancel"
            two.send({"cmd": "quit"})
            assert host.finish() == 0
            assert one.finish() == 0 and two.finish() == 0  # the app closed the connection
            assert not any(e["event"] == "error" and e.get("id") == 5 for e in two.events)
        finally:
            one.__exit__()
            two.__exit__()


@pytest.mark.slow
def test_accounts_link_and_unlink_go_through_the_running_host(data_dir: Path, demo_accounts: list[dict]) -> None:
    """[R] 5: while a host runs, the command line links through it (its lock, its terminal), never
    driving the terminal itself; the host's terminal keeps the account it shows."""
    from test_headless import Headless

    from multi_user.vault import Vault

    with Headless(data_dir, duration=150) as host:
        # the account the owner views (not a start-up sweep visit, which gives the terminal back by itself)
        held = host.wait_for(lambda e: e["event"] == "lock" and (e["holder"] or {}).get("phase") == "active"
                             and (e["holder"] or {}).get("reason") == "viewing"
                             and e.get("lane") in (None, "shared"), timeout=60)["holder"]["account"]
        shared = [e for e in host.wait_for(lambda e: e["event"] == "accounts")["accounts"] if e["mode"] == "shared"]
        other = next(a for a in demo_accounts
                     if f"{a['login']}@{a['server']}" in {s["key"] for s in shared} - {held})
        key = f"{other['login']}@{other['server']}"
        vault = Vault.open(data_dir)
        token_before = vault.token(other["login"], other["server"])
        vault.close()
        # a wrong password: the broker says no through the host's lock, exit 3, nothing stored
        r = cli(data_dir, "accounts", "link", "--login", str(other["login"]), "--server", other["server"],
                stdin="wrong-password-1\n")
        assert r.returncode == 3, r.stderr[-2000:]
        assert "running MT5 Desk" in r.stderr and "wrong-password-1" not in r.stdout + r.stderr
        vault = Vault.open(data_dir)
        assert vault.token(other["login"], other["server"]) == token_before
        vault.close()
        # the right one: verified on the host's terminal and stored
        mark = len(host.events)
        r = cli(data_dir, "accounts", "link", "--login", str(other["login"]), "--server", other["server"],
                "--json", stdin=other["password"] + "\n")
        assert r.returncode == 0, r.stderr[-2000:]
        out = json.loads(r.stdout)
        assert out["verified"] is True and out["linked"]["key"] == key and out["balance"] is not None
        host.wait_for(lambda e: e["event"] == "job" and e["account"] == key and e["state"] == "done", after=mark)
        # then the terminal goes back to the account it showed
        host.wait_for(lambda e: e["event"] == "lock" and (e["holder"] or {}).get("account") == held
                      and (e["holder"] or {}).get("phase") == "active" and e.get("lane") in (None, "shared"),
                      after=mark, timeout=60)
        # a new account without verification, then unlinked: the host's account list follows
        r = cli(data_dir, "accounts", "link", "--login", "77", "--server", "New-Server", "--no-verify",
                stdin="pw-77\n")
        assert r.returncode == 0, r.stderr
        host.wait_for(lambda e: e["event"] == "accounts" and "77@New-Server" in {a["key"] for a in e["accounts"]})
        mark = len(host.events)
        r = cli(data_dir, "accounts", "unlink", "--login", "77", "--server", "New-Server", "--json")
        assert r.returncode == 0 and json.loads(r.stdout) == {"unlinked": "77@New-Server"}
        host.wait_for(lambda e: e["event"] == "accounts" and "77@New-Server" not in {a["key"] for a in e["accounts"]},
                      after=mark)
        r = cli(data_dir, "accounts", "unlink", "--login", "78", "--server", "New-Server")
        assert r.returncode == 2 and "no linked account" in r.stderr
        assert not [e for e in host.events if e["event"] == "account_state" and e["state"] == "mismatch"]
        host.send({"cmd": "quit"})
        assert host.finish() == 0


@pytest.mark.slow
def test_the_windows_desk_serves_attach_clients_too(data_dir: Path, sim_world: Path, tmp_path: Path) -> None:
    """The GUI (offscreen, rendering a screenshot after a while) serves the same endpoint."""
    from test_headless import Headless

    gui = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend", "sim",
                            "--screenshot", str(tmp_path / "shot.png"), "--after", "20"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    client = None
    try:
        client = Headless(data_dir, 0, command=["attach", "--wait", "30"])
        hello = client.wait_for(lambda e: e["event"] == "hello")
        assert hello["kind"] == "gui" and hello["pid"] == gui.pid
        client.wait_for(lambda e: e["event"] == "snapshot", timeout=40)
        client.send({"cmd": "quit", "id": 1})
        assert "from the window" in client.wait_for(lambda e: e["event"] == "error" and e.get("id") == 1)["message"]
        assert gui.wait(60) == 0
        assert client.finish() == 0  # the window's app closed the connection as it ended
    finally:
        if gui.poll() is None:
            gui.kill()
            gui.wait()
        if client is not None:
            client.__exit__()
