"""The bridge on the simulator: a password check that is never skipped, a broker outage told apart
from a rejected password, and snapshots that carry connection health."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from types import ModuleType

import pytest

from multi_user.bridge import UserMT5Bridge
from multi_user.errors import AuthorizationError, BrokerUnreachable, IdentityMismatch, TerminalError
from multi_user.mt5sim import control


@pytest.fixture
def bridge(mt5: ModuleType, demo_accounts: list[dict]) -> UserMT5Bridge:
    b = UserMT5Bridge(mt5, timeout_ms=10000)
    a = demo_accounts[0]
    b.switch(a["login"], a["password"], a["server"])  # the terminal now shows this account
    return b


def test_a_wrong_password_for_the_account_already_shown_is_rejected_when_checked(bridge, demo_accounts) -> None:
    """[R] 4: re-linking the account the terminal shows must still ask the broker."""
    a = demo_accounts[0]
    with pytest.raises(AuthorizationError, match="check the password"):
        bridge.switch(a["login"], "not-the-password", a["server"], check_password=True)
    assert bridge.switch(a["login"], a["password"], a["server"], check_password=True).relogged is True
    # without the check, the account already shown is not logged in again (no login storm)
    assert bridge.switch(a["login"], a["password"], a["server"]).relogged is False


def test_a_broker_outage_is_not_reported_as_a_wrong_password(bridge, demo_accounts, sim_world: Path) -> None:
    """[D2] 7: with the terminal cut off from its broker, a failed login says so, not "check the password"."""
    a, other = demo_accounts[0], demo_accounts[1]
    control.add_disconnect(sim_world)
    for login, password, server in [(a["login"], a["password"], a["server"]),
                                    (a["login"], "not-the-password", a["server"]),
                                    (other["login"], other["password"], other["server"])]:
        with pytest.raises(BrokerUnreachable) as caught:
            bridge.switch(login, password, server, check_password=True)
        assert isinstance(caught.value, TerminalError) and not isinstance(caught.value, AuthorizationError)
        message = str(caught.value)
        assert "unreachable" in message and "check the password" not in message and password not in message
    control.clear_faults(sim_world)
    with pytest.raises(AuthorizationError):  # connected again: a wrong password is a wrong password
        bridge.switch(a["login"], "not-the-password", a["server"], check_password=True)


def test_an_auth_fault_with_the_broker_connected_stays_an_authorization_error(bridge, demo_accounts,
                                                                            sim_world: Path) -> None:
    other = demo_accounts[1]
    control.add_auth_failure(sim_world, other["login"], other["server"])
    with pytest.raises(AuthorizationError):
        bridge.switch(other["login"], other["password"], other["server"])


def _wait_for(fn, timeout: float = 10.0):
    """Poll ``fn`` until it returns something true (or the timeout passes); returns its last value."""
    deadline = time.monotonic() + timeout
    while not (value := fn()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_snapshots_carry_connection_health_and_the_margin_figures(bridge, sim_world: Path) -> None:
    """CONTRACTS 3: connected, last_tick_time (UTC), taken_at, profit and the margin figures, every time."""
    first = bridge.snapshot()
    for field in ("connected", "last_tick_time", "taken_at", "profit", "margin", "margin_free", "margin_level"):
        assert field in first, field
    assert first["connected"] is True and first["positions"] >= 1
    assert abs(first["taken_at"] - time.time()) < 60
    # ticks move while connected: last_tick_time advances (polled, not slept)
    moved = _wait_for(lambda: (s := bridge.snapshot())["last_tick_time"] != first["last_tick_time"] and s)
    assert moved and moved["last_tick_time"] is not None and abs(moved["last_tick_time"] - time.time()) < 60
    control.add_disconnect(sim_world)
    down = bridge.snapshot()
    assert down["connected"] is False
    frozen = down["last_tick_time"]
    later = _wait_for(lambda: (s := bridge.snapshot())["taken_at"] > down["taken_at"] + 1.0 and s)
    assert later["connected"] is False and later["last_tick_time"] == frozen  # prices stopped: no new tick


def test_a_terminal_started_by_connect_gets_no_encryption_key(mt5: ModuleType, sim_world: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """[R] 15 on the command line's path: initialize() starts the terminal from our own process."""
    import os

    monkeypatch.setenv("MT5_ENCRYPTION_KEY", "k-master-0123456789")
    monkeypatch.setenv("SOME_API_TOKEN", "tok-123456")
    exe = control.base_install(sim_world)
    assert control.terminal_pid(exe) is None
    UserMT5Bridge(mt5, str(exe), timeout_ms=10000).attach()  # starts it; no saved account to log in yet
    pid = control.terminal_pid(exe)
    assert pid is not None
    blob = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"k-master-0123456789" not in blob and b"tok-123456" not in blob
    assert os.environ["MT5_ENCRYPTION_KEY"] == "k-master-0123456789"  # ours is given back


def test_last_tick_time_is_watched_without_positions_too(bridge) -> None:
    assert bridge.close_all_positions()["failed"] == 0
    first = bridge.snapshot()
    assert first["positions"] == 0
    moved = _wait_for(lambda: (s := bridge.snapshot())["last_tick_time"] != first["last_tick_time"] and s)
    assert moved and moved["last_tick_time"] is not None


def test_a_supervised_bridge_never_launches_a_second_terminal(mt5: ModuleType, sim_world: Path,
                                                              demo_accounts: list[dict]) -> None:
    """The soak's orphans: a switch after the supervised terminal died must not let initialize() start an
    unsupervised copy in the same folder; the app restarts the terminal and sends reconnect."""
    a = demo_accounts[0]
    exe = control.base_install(sim_world)
    proc = control.start_terminal(exe)
    try:
        assert control.wait_ready(exe, 10.0, proc) is not None
        b = UserMT5Bridge(mt5, str(exe), timeout_ms=5000, may_launch=False)
        assert b.attach() is False  # the app's connect once its terminal is up: no saved account yet
        b.switch(a["login"], a["password"], a["server"])
        control.stop_terminal(exe)
        proc.wait(10)
        for _ in range(2):
            with pytest.raises(TerminalError) as caught:
                b.switch(a["login"], a["password"], a["server"], check_password=True)
            assert caught.value.code == -10004
            assert control.terminal_pid(exe) is None  # nobody started a second terminal
        assert "restarting" in str(caught.value)
    finally:
        if proc.poll() is None:
            control.stop_terminal(exe)
            proc.wait(10)


def test_a_new_portable_terminal_is_attached_with_its_first_login(mt5: ModuleType, sim_world: Path,
                                                                   data_dir: Path, demo_accounts: list[dict]) -> None:
    """[W] 2: a freshly provisioned folder has no saved account, so initialize() needs the login."""
    from multi_user.terminals import provision_portable

    a = demo_accounts[2]
    exe = provision_portable(control.base_install(sim_world), data_dir / "terminals" / "new")
    b = UserMT5Bridge(mt5, str(exe), portable=True, timeout_ms=3000)
    ident = b.switch(a["login"], a["password"], a["server"])
    assert ident.login == a["login"] and ident.relogged


def test_a_supervised_bridge_attaches_only_once_the_app_says_its_terminal_is_up(mt5: ModuleType,
                                                                                sim_world: Path) -> None:
    """[W] 3: a lane's restarted worker connects while the app's terminal is still down: initialize()
    would launch a second, unsupervised copy; the bridge refuses until the app says the terminal is up."""
    exe = control.base_install(sim_world)
    b = UserMT5Bridge(mt5, str(exe), timeout_ms=3000, may_launch=False)
    with pytest.raises(TerminalError) as caught:
        b.connect()
    assert caught.value.code == -10004 and "restarting" in str(caught.value)
    assert control.terminal_pid(exe) is None


def test_a_server_name_in_another_case_logs_in_and_reports_the_terminals_spelling(bridge,
                                                                                   demo_accounts) -> None:
    """[W] 7: the owner may type the server in another case; the terminal accepts it and spells it its way."""
    other = demo_accounts[1]
    typed = other["server"].lower()
    assert typed != other["server"]
    ident = bridge.switch(other["login"], other["password"], typed)
    assert ident.login == other["login"] and ident.server == other["server"]
    assert bridge.switch(other["login"], other["password"], typed).relogged is False  # the same account
    assert bridge.snapshot()["server"] == other["server"]


LOG_IN_THERE = """
import sys, multi_user.mt5sim as mt5
ok = mt5.initialize(sys.argv[1], login=int(sys.argv[2]), password=sys.stdin.readline().strip(), server=sys.argv[3],
                    timeout=20000)
print(ok, mt5.last_error())
"""


def test_the_shared_lane_without_a_path_keeps_the_terminal_it_found_first(mt5: ModuleType, sim_world: Path,
                                                                           demo_accounts: list[dict]) -> None:
    """[W] 8: initialize() without a path picks the install whose data was used last; another install
    used in between must not take the lane over: the first one found is pinned."""
    import shutil

    from fixtures_sim import run_client

    a, b = demo_accounts[0], demo_accounts[1]
    base = control.base_install(sim_world)
    other = sim_world / "Other MT5"
    shutil.copytree(base.parent, other, ignore=shutil.ignore_patterns(".mt5sim"))
    bridge = UserMT5Bridge(mt5, timeout_ms=10000)
    first = bridge.switch(a["login"], a["password"], a["server"])
    assert Path(first.terminal_path) == base.parent
    out = run_client(LOG_IN_THERE, str(other / "terminal64.exe"), str(b["login"]), b["server"],
                     stdin=b["password"] + "\n")
    assert out.stdout.startswith("True"), out.stdout + out.stderr  # the other install's data is now newer
    bridge.shutdown()
    again = bridge.switch(a["login"], a["password"], a["server"])
    assert Path(again.terminal_path) == base.parent


def test_algo_trading_turned_off_by_an_account_change_is_told_in_plain_words(bridge, demo_accounts,
                                                                            sim_world: Path) -> None:
    """[W] 5: with "Disable algorithmic trading when the account has been changed", a switch turns Algo
    Trading off and order_send gets 10027; the worker refuses close-all saying what to change."""
    import io
    import json

    from multi_user import worker_protocol as wp
    from multi_user.worker import Worker

    other = demo_accounts[1]
    control.add_algo_off_on_login(sim_world, control.base_install(sim_world))
    assert bridge.trading_blocked() is None
    out = io.BytesIO()
    worker = Worker(bridge, out, lane="shared")
    worker.handle(wp.encode({"id": 1, "op": "switch", "login": other["login"], "password": other["password"],
                             "server": other["server"]}))
    worker.handle(wp.encode({"id": 2, "op": "close_all"}))
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert any(m.get("type") == "error" and "Algo Trading" in m["message"] for m in lines)  # said after the switch
    refused = next(m for m in lines if m.get("id") == 2)
    assert refused["ok"] is False and refused["error"]["code"] == 10027
    assert "Algo Trading button" in refused["error"]["message"]


def test_the_python_api_shut_out_by_the_terminal_is_told_in_plain_words(bridge, sim_world: Path) -> None:
    """[W] 5: with "Disable algorithmic trading via external Python API" every call fails with -8."""
    control.add_api_off(sim_world, control.base_install(sim_world))
    assert bridge.mt5.terminal_info().tradeapi_disabled is True
    with pytest.raises(TerminalError) as caught:
        bridge.snapshot()
    assert caught.value.code == -8 and "external Python API" in str(caught.value)
    assert "external Python API" in (bridge.trading_blocked() or "")


def test_an_account_with_ea_positions_on_the_shared_terminal_gets_a_warning(bridge, demo_accounts) -> None:
    """[W] 5: its EAs restart at every switch and run only while it is shown."""
    import io
    import json

    from multi_user import worker_protocol as wp
    from multi_user.worker import Worker

    a = demo_accounts[0]
    mt5 = bridge.mt5
    tick = mt5.symbol_info_tick("EURUSD")
    sent = bridge.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.01,
                              "type": mt5.ORDER_TYPE_BUY, "price": tick.ask, "deviation": 50, "magic": 4242,
                              "type_filling": bridge._filling("EURUSD")})
    assert sent["retcode"] == mt5.TRADE_RETCODE_DONE, sent
    out = io.BytesIO()
    Worker(bridge, out, lane="shared").handle(wp.encode({"id": 1, "op": "switch", "login": a["login"],
                                                          "password": a["password"], "server": a["server"]}))
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert any(m.get("type") == "health" and "Expert Advisor" in m.get("ea_warning", "") for m in lines)


class CallLog:
    """The simulated MetaTrader5 module, with the name of each call it answers written down."""

    def __init__(self, mt5: ModuleType) -> None:
        self._mt5 = mt5
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        value = getattr(self._mt5, name)
        if not callable(value) or name[0].isupper():
            return value

        def call(*args, **kwargs):
            self.calls.append(name)
            return value(*args, **kwargs)
        return call


def test_a_switch_and_its_first_snapshot_make_no_terminal_call_twice(mt5: ModuleType, demo_accounts) -> None:
    """[P] 3: one account_info and one terminal_info before the login (which account, is the broker there),
    one account_info after it (the identity check, and the snapshot's values), then only the positions."""
    a, b = demo_accounts[0], demo_accounts[1]
    log = CallLog(mt5)
    bridge = UserMT5Bridge(log, timeout_ms=10000)  # type: ignore[arg-type]
    bridge.switch(a["login"], a["password"], a["server"])
    bridge.snapshot()
    log.calls.clear()
    ident = bridge.switch(b["login"], b["password"], b["server"])
    snap = bridge.first_snapshot()
    assert [c for c in log.calls if c != "last_error"] == [
        "account_info", "terminal_info", "login", "account_info", "positions_get"]
    assert ident.relogged and snap["login"] == b["login"] and snap["connected"] is True
    assert snap["positions"] == len(mt5.positions_get())
    log.calls.clear()
    assert bridge.first_snapshot()["login"] == b["login"]  # used once: a second call is a full snapshot
    assert "terminal_info" in log.calls


def test_the_account_already_shown_is_checked_on_the_reads_made_before_the_login(bridge, demo_accounts) -> None:
    a, b = demo_accounts[0], demo_accounts[1]
    bridge.mt5.login(b["login"], password=b["password"], server=b["server"])  # another program switched it
    with pytest.raises(IdentityMismatch, match="another program"):
        bridge._check_identity(a["login"], a["server"], bridge.mt5.account_info(), bridge.mt5.terminal_info())
    assert bridge.switch(b["login"], b["password"], b["server"]).relogged is False  # it shows b: no login
    assert bridge.first_snapshot()["login"] == b["login"]


def test_a_prepared_switch_logs_in_without_reading_again(mt5: ModuleType, demo_accounts) -> None:
    """[P] 3: the worker reads what the login needs while the app reads the password; a request between
    the two (or another account) makes the switch read afresh."""
    from multi_user import worker_protocol as wp
    from multi_user.worker import Worker

    a, b = demo_accounts[0], demo_accounts[1]
    log = CallLog(mt5)
    out = io.BytesIO()
    worker = Worker(UserMT5Bridge(log, timeout_ms=10000), out, lane="dedicated")  # type: ignore[arg-type]
    worker.handle(wp.encode({"id": 1, "op": "switch", "login": a["login"], "password": a["password"],
                             "server": a["server"]}))

    def switch_calls(prepare: dict | None, between: str | None = None) -> list[str]:
        if prepare is not None:
            worker.handle(wp.encode({"id": 2, "op": "prepare", **prepare}))
        if between:
            worker.handle(wp.encode({"id": 3, "op": between}))
        log.calls.clear()
        worker.handle(wp.encode({"id": 4, "op": "switch", "login": b["login"], "password": b["password"],
                                 "server": b["server"]}))
        worker.handle(wp.encode({"id": 5, "op": "switch", "login": a["login"], "password": a["password"],
                                 "server": a["server"]}))  # back, unprepared
        return log.calls[:log.calls.index("login") + 1]

    ahead = {"login": b["login"], "server": b["server"]}
    assert switch_calls(ahead) == ["login"]
    assert switch_calls(ahead, between="ping") == ["account_info", "terminal_info", "login"]
    assert switch_calls({"login": a["login"], "server": a["server"]}) == ["account_info", "terminal_info", "login"]
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all(m.get("ok") for m in answers if "id" in m), answers
