"""The simulator faults that were test functions only, now `sim fault` verbs: each as the command runs it,
what a client of a simulated terminal then sees, `sim fault clear`, and bad input refused with a clear
message and nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_sim_faults import sim

from multi_user.errors import BadInput, TerminalError
from multi_user.mt5sim import control, faults


@pytest.fixture
def acc(mt5, demo_accounts, sim_world: Path):
    a = demo_accounts[0]
    exe = control.base_install(sim_world)
    assert mt5.initialize(str(exe), login=a["login"], password=a["password"], server=a["server"], timeout=30000)
    return a


def _deal(mt5, symbol: str = "EURUSD"):
    tick, exchange = mt5.symbol_info_tick(symbol), symbol == "US500"  # exchange execution: RETURN filling
    return mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": 1.0 if exchange else 0.1,
                           "type": mt5.ORDER_TYPE_BUY, "price": tick.ask, "deviation": 50,
                           "type_filling": mt5.ORDER_FILLING_RETURN if exchange else mt5.ORDER_FILLING_FOK})


def test_requote_then_market_closed_then_clear(mt5, acc, data_dir: Path, capsys) -> None:
    assert sim(data_dir, "fault", "requote", "--symbol", "EURUSD", "--count", "1", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"fault": "requote", "symbol": "EURUSD", "count": 1}
    assert _deal(mt5).retcode == mt5.TRADE_RETCODE_REQUOTE
    assert _deal(mt5).retcode == mt5.TRADE_RETCODE_DONE  # one requote, used up
    sim(data_dir, "fault", "market-closed", "--symbol", "US500")
    assert _deal(mt5, "US500").retcode == mt5.TRADE_RETCODE_MARKET_CLOSED
    assert sim(data_dir, "fault", "clear") == 0
    assert _deal(mt5, "US500").retcode == mt5.TRADE_RETCODE_DONE


def test_fifo_for_one_account(mt5, acc, demo_accounts, data_dir: Path) -> None:
    assert mt5.account_info().fifo_close is False
    sim(data_dir, "fault", "fifo", "--login", str(acc["login"]))
    assert mt5.account_info().fifo_close is True
    sim(data_dir, "fault", "clear")
    assert mt5.account_info().fifo_close is False


def test_api_off_and_algo_off_on_login(mt5, acc, demo_accounts, sim_world: Path, data_dir: Path) -> None:
    exe = str(control.base_install(sim_world))
    sim(data_dir, "fault", "api-off", "--terminal", exe)
    assert mt5.terminal_info().tradeapi_disabled is True
    assert mt5.account_info() is None and mt5.last_error()[0] == -8
    sim(data_dir, "fault", "clear")
    assert mt5.account_info().login == acc["login"]
    sim(data_dir, "fault", "algo-off-on-login", "--terminal", exe)
    assert mt5.terminal_info().trade_allowed is True
    other = demo_accounts[1]
    assert mt5.login(other["login"], password=other["password"], server=other["server"])
    assert mt5.terminal_info().trade_allowed is False  # the change of account turned Algo Trading off
    assert _deal(mt5).retcode == mt5.TRADE_RETCODE_CLIENT_DISABLES_AT


def test_slow_start_is_stored_and_listed(data_dir: Path, sim_world: Path, capsys) -> None:
    assert sim(data_dir, "fault", "slow-start", "--seconds", "2.5") == 0
    assert faults.FaultView(sim_world).slow_start() == 2.5
    capsys.readouterr()
    sim(data_dir, "fault", "list")
    assert "slow_start: " in capsys.readouterr().out


@pytest.mark.parametrize("argv, field", [
    (("requote", "--symbol", "NOPE"), "symbol"),
    (("requote", "--symbol", "EURUSD", "--count", "0"), "count"),
    (("market-closed", "--symbol", "eurusd!"), "symbol"),
    (("fifo", "--login", "abc"), "login"),
    (("fifo", "--login", "1"), "login"),
    (("slow-start", "--seconds", "-1"), "seconds"),
    (("api-off", "--terminal", "/nowhere/terminal64.exe"), "terminal"),
    (("update", "--terminal", "/nowhere"), "terminal"),
])
def test_bad_input_is_refused_and_nothing_is_stored(data_dir: Path, sim_world: Path, argv, field) -> None:
    with pytest.raises(BadInput) as caught:
        sim(data_dir, "fault", *argv)
    assert caught.value.field == field
    assert control.active_faults(sim_world) == []


def test_update_of_a_terminal_that_is_not_running_says_so(data_dir: Path, sim_world: Path) -> None:
    with pytest.raises(TerminalError, match="no simulated terminal is running"):
        sim(data_dir, "fault", "update", "--terminal", str(control.base_install(sim_world)))
    assert control.active_faults(sim_world) == []


def test_update_restarts_the_terminal_as_a_new_process(data_dir: Path, sim_world: Path, capsys) -> None:
    exe = control.base_install(sim_world)
    proc = control.start_terminal(exe)
    try:
        assert control.wait_ready(exe, 30, proc) is not None
        assert sim(data_dir, "fault", "update", "--terminal", str(exe), "--gap", "0.2", "--json") == 0
        out = json.loads(capsys.readouterr().out)
        assert out["pid"] == proc.pid and proc.wait(5) == 0  # a clean exit, as for an update
        info = control.wait_ready(exe, 30)
        assert info is not None and info["pid"] != proc.pid
        assert control.active_faults(sim_world) == []  # the update was consumed by the terminal
    finally:
        control.stop_terminal(exe)


def test_ipc_drop_closes_the_connection_and_the_terminal_listens_again(mt5, acc, sim_world: Path,
                                                                        data_dir: Path) -> None:
    exe = control.base_install(sim_world)
    pid = control.terminal_pid(exe)
    assert sim(data_dir, "fault", "ipc-drop", "--terminal", str(exe), "--seconds", "1") == 0
    assert mt5.account_info() is None and mt5.last_error()[0] == -10004  # the connection went
    assert _until(lambda: control.terminal_pid(exe) is None)  # no endpoint while the IPC is away
    assert control.wait_ready(exe, 30) is not None  # back after the second, the same process
    assert control.terminal_pid(exe) == pid
    assert mt5.initialize(str(exe), login=acc["login"], password=acc["password"], server=acc["server"])
    assert mt5.account_info().login == acc["login"]


def _until(predicate, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
