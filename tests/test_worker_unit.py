"""The worker's request handling, pushes, mismatch refusal and reconnect backoff, against a fake bridge
(the process-level tests with the simulator are in test_lanes_*.py)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from multi_user import worker_protocol as wp
from multi_user.errors import AuthorizationError, IdentityMismatch, TerminalError
from multi_user.worker import Worker

PASSWORD = "s3cret-Pa55"


@dataclass
class Ident:
    login: int
    server: str
    terminal_path: str
    relogged: bool


class FakeBridge:
    def __init__(self) -> None:
        self.account: tuple[int, str] | None = None
        self.fail_next_snapshot: TerminalError | None = None
        self.calls: list[str] = []
        self.closed = 0
        self.connected = True

    terminal_up = False
    switch_positions = None

    def connect(self, *creds: object, **kw: object) -> None:
        self.calls.append("connect")

    def attach(self) -> bool:
        self.calls.append("attach")
        return True

    def lost(self) -> None:
        self.calls.append("lost")

    def trading_blocked(self) -> str | None:
        return None

    def positions(self) -> list[dict]:
        return []

    def shutdown(self) -> None:
        self.calls.append("shutdown")

    def switch(self, login: int, password: str, server: str, check_password: bool = False) -> Ident:
        self.calls.append(f"switch {login}" + (" checked" if check_password else ""))
        if password != PASSWORD:
            raise AuthorizationError(f"Authorization failed for {login} on {server}", -6)
        relogged = self.account != (login, server)
        self.account = (login, server)
        return Ident(login, server, "/t/terminal64.exe", relogged)

    def verify(self, login: int, server: str) -> Ident:
        if self.account != (login, server):
            raise IdentityMismatch("not that account")
        return Ident(login, server, "/t/terminal64.exe", False)

    def snapshot(self) -> dict:
        if self.fail_next_snapshot is not None:
            exc, self.fail_next_snapshot = self.fail_next_snapshot, None
            raise exc
        assert self.account is not None
        return {"login": self.account[0], "server": self.account[1], "balance": 1000.0, "equity": 1010.0,
                "connected": self.connected}

    def first_snapshot(self) -> dict:
        return self.snapshot()

    def close_all_positions(self, on_each=None) -> dict:
        self.closed += 1
        if on_each is not None:
            on_each(1, 2)
        return {"closed": 2, "failed": 0, "messages": []}

    def health(self) -> dict:
        return {"initialized": True, "terminal_connected": self.connected, "last_error": None}


def make() -> tuple[Worker, FakeBridge, io.BytesIO]:
    bridge, out = FakeBridge(), io.BytesIO()
    return Worker(bridge, out, rate=0.0, lane="shared"), bridge, out


def lines(out: io.BytesIO) -> list[dict]:
    return [json.loads(x) for x in out.getvalue().splitlines()]


def request(worker: Worker, rid: int, op: str, **fields) -> None:
    worker.handle(wp.encode({"id": rid, "op": op, **fields}))


def answer(out: io.BytesIO, rid: int) -> dict:
    return next(m for m in lines(out) if m.get("id") == rid)


def test_handshake_rejects_another_protocol() -> None:
    worker, _, out = make()
    request(worker, 1, "hello", protocol=wp.PROTOCOL_VERSION)
    request(worker, 2, "hello", protocol=99)
    assert answer(out, 1)["ok"] and answer(out, 1)["result"]["protocol"] == wp.PROTOCOL_VERSION
    assert not answer(out, 2)["ok"] and answer(out, 2)["error"]["kind"] == wp.ERR_BAD_REQUEST


def test_switch_then_snapshots_carry_the_account() -> None:
    worker, _, out = make()
    request(worker, 1, "switch", login=111, password=PASSWORD, server="S1")
    assert answer(out, 1)["result"] == {"login": 111, "server": "S1", "terminal_path": "/t/terminal64.exe",
                                        "relogged": True}
    worker.tick()
    snaps = [m for m in lines(out) if m.get("type") == "snapshot"]
    assert snaps and snaps[-1]["data"]["login"] == 111 and "ts" in snaps[-1]["data"]
    request(worker, 2, "switch", login=111, password=PASSWORD, server="S1")
    assert answer(out, 2)["result"]["relogged"] is False


def test_wrong_password_is_an_auth_error_without_the_password() -> None:
    worker, _, out = make()
    request(worker, 1, "switch", login=111, password="wrong-one", server="S1")
    err = answer(out, 1)["error"]
    assert err["kind"] == wp.ERR_AUTH and err["code"] == -6
    assert "wrong-one" not in out.getvalue().decode()


def test_terminal_switched_by_another_client_is_a_mismatch_and_trading_is_refused() -> None:
    worker, bridge, out = make()
    request(worker, 1, "switch", login=111, password=PASSWORD, server="S1")
    bridge.account = (222, "S2")  # someone else logged the terminal into another account
    worker.tick()
    pushes = lines(out)
    assert any(m.get("type") == "mismatch" and m["actual_login"] == 222 for m in pushes)
    request(worker, 2, "close_all")
    assert answer(out, 2)["error"]["kind"] == wp.ERR_MISMATCH and bridge.closed == 0
    request(worker, 3, "switch", login=111, password=PASSWORD, server="S1")  # the owner re-activates
    request(worker, 4, "close_all")
    assert answer(out, 4)["ok"] and bridge.closed == 1


def test_ipc_error_schedules_bounded_reconnects_that_log_back_in() -> None:
    worker, bridge, out = make()
    request(worker, 1, "switch", login=111, password=PASSWORD, server="S1")
    bridge.fail_next_snapshot = TerminalError("No IPC connection", -10004)
    bridge.account = None  # a restarted terminal is not logged in
    worker.tick()
    health = [m for m in lines(out) if m.get("type") == "health" and m.get("retry_in")]
    assert health and health[-1]["attempt"] == 1
    worker._next_reconnect = 0.0
    worker.tick()
    assert bridge.account == (111, "S1")
    assert any(m.get("type") == "reconnected" for m in lines(out))
    assert bridge.calls.count("switch 111") == 2  # initialize() with the login: a restarted terminal needs it


def test_release_stops_snapshots() -> None:
    worker, _, out = make()
    request(worker, 1, "switch", login=111, password=PASSWORD, server="S1")
    request(worker, 2, "release")
    before = len([m for m in lines(out) if m.get("type") == "snapshot"])
    worker.tick()
    assert len([m for m in lines(out) if m.get("type") == "snapshot"]) == before
    assert worker.wait_timeout() == 5.0


def test_a_supervised_worker_waits_for_the_app_to_restart_its_terminal() -> None:
    bridge, out = FakeBridge(), io.BytesIO()
    worker = Worker(bridge, out, rate=0.0, lane="dedicated", supervised=True)
    request(worker, 1, "switch", login=111, password=PASSWORD, server="S1")
    bridge.fail_next_snapshot = TerminalError("No IPC connection", -10004)
    worker.tick()
    worker.tick()
    assert bridge.calls.count("switch 111") == 1  # it never launches a terminal of its own
    assert "lost" in bridge.calls and any(m.get("waiting_for") == "terminal restart" for m in lines(out))
    request(worker, 2, "reconnect")  # the app restarted the terminal
    assert answer(out, 2)["ok"] and bridge.calls.count("switch 111") == 2 and bridge.terminal_up
    before = len([m for m in lines(out) if m.get("type") == "snapshot"])
    worker.tick()
    assert len([m for m in lines(out) if m.get("type") == "snapshot"]) == before + 1


def test_switch_passes_check_password_to_the_bridge() -> None:
    """CONTRACTS 2: only an explicit ``check_password: true`` asks for the always-login check."""
    worker, bridge, _ = make()
    request(worker, 1, "switch", login=111, password=PASSWORD, server="S1", check_password=True)
    request(worker, 2, "switch", login=111, password=PASSWORD, server="S1", check_password="yes")
    request(worker, 3, "switch", login=111, password=PASSWORD, server="S1")
    assert bridge.calls == ["switch 111 checked", "switch 111", "switch 111"]


def test_a_broker_disconnect_is_pushed_as_health_with_the_next_snapshot() -> None:
    """[D2] 4: the snapshot says connected false and a health push follows at once (and again on return)."""
    worker, bridge, out = make()
    request(worker, 1, "switch", login=111, password=PASSWORD, server="S1")
    worker.tick()
    bridge.connected = False
    worker._next_push = 0.0
    worker.tick()
    msgs = lines(out)
    assert msgs[-2]["type"] == "snapshot" and msgs[-2]["data"]["connected"] is False
    assert msgs[-1]["type"] == "health" and msgs[-1]["terminal_connected"] is False
    bridge.connected = True
    worker._next_push = 0.0
    worker.tick()
    assert lines(out)[-1]["type"] == "health" and lines(out)[-1]["terminal_connected"] is True
