"""[P] 3: on a switch the worker answers and pushes the new account's first snapshot before the checks
that only inform (Algo Trading, EA positions, health), so those terminal calls no longer delay it."""

from __future__ import annotations

import io
import json

from test_worker_unit import PASSWORD, FakeBridge

from multi_user import worker_protocol as wp
from multi_user.worker import Worker


class OrderedBridge(FakeBridge):
    """Writes each terminal call into the same list as the worker's output, to see what came first."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def trading_blocked(self) -> str | None:
        self.log.append("call trading_blocked")
        return None

    def positions(self) -> list[dict]:
        self.log.append("call positions")
        return []

    def health(self) -> dict:
        self.log.append("call health")
        return {**super().health(), "terminal_connected": True}


class Out(io.BytesIO):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def write(self, data: bytes) -> int:  # type: ignore[override]
        for line in data.splitlines():
            msg = json.loads(line)
            self.log.append("sent " + ("reply" if msg.get("id") == 1 else str(msg.get("type"))))
        return super().write(data)


def test_the_reply_and_first_snapshot_go_out_before_the_informing_checks() -> None:
    log: list[str] = []
    worker = Worker(OrderedBridge(log), Out(log), lane="shared")
    worker.handle(wp.encode({"id": 1, "op": "switch", "login": 111, "password": PASSWORD, "server": "S1"}))
    first_check = min(log.index(c) for c in ("call trading_blocked", "call positions", "call health") if c in log)
    assert log.index("sent reply") < log.index("sent snapshot") < first_check, log
    assert "sent health" in log  # the health still follows the switch at once, as the lane expects


def test_a_failed_switch_still_reports_health_at_once() -> None:
    log: list[str] = []
    worker = Worker(OrderedBridge(log), Out(log), lane="shared")
    worker.handle(wp.encode({"id": 1, "op": "switch", "login": 111, "password": "wrong", "server": "S1"}))
    assert "sent snapshot" not in log
    assert log.index("sent health") < log.index("sent reply"), log


class Writes(io.BytesIO):
    """Each write() as the list of message kinds it carried."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[list[str]] = []

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes.append([str(json.loads(line).get("type") or "reply") for line in data.splitlines()])
        return super().write(data)


def test_the_first_snapshot_goes_out_in_the_same_write_as_the_answer() -> None:
    """[P] 3: one pipe write, so the app reads the answer and the new account's values at once."""
    out = Writes()
    worker = Worker(FakeBridge(), out, lane="shared")
    worker.handle(wp.encode({"id": 1, "op": "switch", "login": 111, "password": PASSWORD, "server": "S1"}))
    assert out.writes[0] == ["reply", "snapshot"], out.writes
    assert sum(w.count("snapshot") for w in out.writes) == 1, out.writes  # not a second one right after


def test_a_switch_without_streaming_sends_no_snapshot_with_the_answer() -> None:
    out = Writes()
    worker = Worker(FakeBridge(), out, lane="shared")
    worker.handle(wp.encode({"id": 1, "op": "switch", "login": 111, "password": PASSWORD, "server": "S1",
                             "stream": False}))
    assert out.writes[0] == ["reply"], out.writes


class TerminalInfoCount(FakeBridge):
    """Both informing checks read terminal_info() through the MetaTrader5 module, as the real bridge does."""

    def __init__(self) -> None:
        super().__init__()
        self.mt5 = self
        self.reads = 0

    def terminal_info(self) -> object:
        self.reads += 1
        return object()

    def trading_blocked(self) -> str | None:
        self.mt5.terminal_info()
        return None

    def health(self) -> dict:
        self.mt5.terminal_info()
        return super().health()


def test_the_checks_after_a_switch_read_terminal_info_once() -> None:
    bridge = TerminalInfoCount()
    worker = Worker(bridge, io.BytesIO(), lane="shared")
    worker.handle(wp.encode({"id": 1, "op": "switch", "login": 111, "password": PASSWORD, "server": "S1"}))
    assert bridge.reads == 1
    assert bridge.mt5 is bridge  # the module is given back: a later check reads afresh
    worker.push_health()
    assert bridge.reads == 2


class ReadsAhead(TerminalInfoCount):
    """read_before_login() counted; switch() records the reads it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.read_ahead = 0
        self.given: list[object] = []

    def read_before_login(self) -> tuple[object, object]:
        self.read_ahead += 1
        return ("account", "terminal")

    def switch(self, login: int, password: str, server: str, check_password: bool = False,
               before: object = None) -> object:
        self.given.append(before)
        return super().switch(login, password, server, check_password)


def switch_request(rid: int, login: int) -> bytes:
    return wp.encode({"id": rid, "op": "switch", "login": login, "password": PASSWORD, "server": "S1"})


def test_a_switch_right_after_a_switch_makes_no_terminal_call_before_its_login() -> None:
    """The last switch's identity check and its informing checks' terminal_info are what the next login must know
    (which account is shown, is the broker connected, the terminal's path): a switch storm reads them once."""
    bridge = ReadsAhead()
    worker = Worker(bridge, io.BytesIO(), lane="shared")
    worker.handle(switch_request(1, 111))
    reads = bridge.reads
    worker.handle(wp.encode({"id": 2, "op": "prepare", "login": 222, "server": "S1"}))
    worker.handle(switch_request(3, 222))
    assert bridge.read_ahead == 0 and bridge.reads == reads + 1  # only the checks after the second switch
    shown, term = bridge.given[-1]  # type: ignore[misc]
    assert (shown.login, shown.server) == (111, "S1") and term is not None


def test_a_switch_sent_without_a_prepare_uses_the_last_switch_reads_on_the_same_terms(monkeypatch) -> None:
    """With the password at hand the app sends the switch alone: the last switch's reads serve it as they would
    have served a prepare (fresh, nothing between), else it reads before its login as always."""
    import multi_user.worker_switch as ws

    bridge = ReadsAhead()
    worker = Worker(bridge, io.BytesIO(), lane="shared")
    worker.handle(switch_request(1, 111))
    reads = bridge.reads
    worker.handle(switch_request(2, 222))
    assert bridge.read_ahead == 0 and bridge.reads == reads + 1  # only the checks after the second switch
    shown, _term = bridge.given[-1]  # type: ignore[misc]
    assert (shown.login, shown.server) == (111, "S1")
    worker.handle(wp.encode({"id": 3, "op": "positions"}))  # a request between: the next switch reads afresh
    worker.handle(switch_request(4, 111))
    assert bridge.given[-1] is None
    monkeypatch.setattr(ws, "PREPARED_FOR", -1.0)  # older than the limit: read afresh
    worker.handle(switch_request(5, 222))
    assert bridge.given[-1] is None


def test_the_last_switch_reads_serve_only_a_next_switch_soon_and_with_nothing_between(monkeypatch) -> None:
    import multi_user.worker_switch as ws

    bridge = ReadsAhead()
    worker = Worker(bridge, io.BytesIO(), lane="shared")
    worker.handle(switch_request(1, 111))
    worker.handle(wp.encode({"id": 2, "op": "positions"}))  # a request between: read afresh
    worker.handle(wp.encode({"id": 3, "op": "prepare", "login": 222, "server": "S1"}))
    assert bridge.read_ahead == 1
    worker.handle(switch_request(4, 222))
    assert bridge.given[-1] == ("account", "terminal")
    monkeypatch.setattr(ws, "PREPARED_FOR", -1.0)  # older than the limit: read afresh
    worker.handle(wp.encode({"id": 5, "op": "prepare", "login": 111, "server": "S1"}))
    assert bridge.read_ahead == 2
    worker.handle(wp.encode({"id": 6, "op": "switch", "login": 111, "password": "wrong", "server": "S1"}))
    worker.handle(wp.encode({"id": 7, "op": "prepare", "login": 111, "server": "S1"}))  # after a failed switch
    assert bridge.read_ahead == 3


def test_a_request_without_an_id_gets_no_answer_and_a_failure_is_logged(caplog) -> None:
    """The app's prepare is sent without an id: the worker writes nothing the app would only drop."""
    out = io.BytesIO()
    worker = Worker(ReadsAhead(), out, lane="shared")
    worker.handle(wp.encode({"op": "prepare", "login": 222, "server": "S1"}))
    worker.handle(wp.encode({"op": "prepare", "server": "S1"}))  # no login: refused, and logged only
    assert out.getvalue() == b""
    assert "prepare needs login and server" in caplog.text
    worker.handle(wp.encode({"id": 3, "op": "prepare", "server": "S1"}))  # with an id: answered as always
    assert json.loads(out.getvalue())["error"]["kind"] == wp.ERR_BAD_REQUEST


def test_a_terminal_switched_by_another_program_makes_the_next_switch_read_afresh() -> None:
    bridge = ReadsAhead()
    worker = Worker(bridge, io.BytesIO(), lane="shared")
    worker.handle(switch_request(1, 111))
    bridge.account = (999, "S1")  # another program logged the terminal in elsewhere
    worker._next_push = 0.0
    worker.tick()  # the snapshot sees it: a mismatch
    worker.handle(wp.encode({"op": "prepare", "login": 222, "server": "S1"}))
    assert bridge.read_ahead == 1
