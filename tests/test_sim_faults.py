"""Every ``sim fault`` as the command runs it, and what a client of a simulated terminal then sees."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.commands.sim_cmd import add_sim_arguments, run_sim
from multi_user.errors import BadInput, TerminalError
from multi_user.mt5sim import control

ROOT = Path(__file__).resolve().parent.parent


def sim(data_dir: Path, *argv: str) -> int:
    p = argparse.ArgumentParser()
    add_sim_arguments(p)
    args = p.parse_args(list(argv))
    args.data_dir = data_dir
    return run_sim(args)


@pytest.fixture
def acc(mt5, demo_accounts):
    a = demo_accounts[0]  # has an open EURUSD position
    assert mt5.initialize(login=a["login"], password=a["password"], server=a["server"], timeout=30000)
    return a


def test_sim_init_and_accounts_from_the_command_line(data_dir: Path) -> None:
    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), *argv],
                              capture_output=True, text=True, timeout=120)

    out = run("sim", "init", "--json")
    assert out.returncode == 0, out.stderr
    made = json.loads(out.stdout)
    assert made["created"] is True and made["accounts"] >= 8 and len(made["servers"]) >= 3
    assert json.loads(run("sim", "init", "--json").stdout)["created"] is False
    accounts = json.loads(run("sim", "accounts", "--json").stdout)
    assert {"login", "server", "password", "investor_password", "currency", "balance", "leverage", "name"} <= set(
        accounts[0])
    assert len({a["leverage"] for a in accounts}) >= 3 and len({a["balance"] for a in accounts}) >= 5
    bad = run("sim", "fault", "shock", "--symbol", "NOPE", "--percent", "3")
    assert bad.returncode == 2 and "unknown symbol" in bad.stderr


def test_auth_fault_for_one_account_then_clear(mt5, acc, demo_accounts, data_dir: Path) -> None:
    other = demo_accounts[1]
    assert sim(data_dir, "fault", "auth", "--login", str(other["login"]), "--server", other["server"]) == 0
    assert mt5.login(other["login"], password=other["password"], server=other["server"]) is False
    assert mt5.last_error() == (-6, "Terminal: Authorization failed")
    assert mt5.login(acc["login"], password=acc["password"], server=acc["server"])  # others unaffected
    assert sim(data_dir, "fault", "clear") == 0
    assert mt5.login(other["login"], password=other["password"], server=other["server"])


def test_auth_fault_for_every_account(mt5, acc, data_dir: Path) -> None:
    sim(data_dir, "fault", "auth")
    assert mt5.login(acc["login"], password=acc["password"], server=acc["server"]) is False
    assert mt5.last_error()[0] == -6


def test_slow_login_delays_and_times_out(mt5, acc, demo_accounts, data_dir: Path) -> None:
    other = demo_accounts[2]
    sim(data_dir, "fault", "slow-login", "--seconds", "1")
    started = time.monotonic()
    assert mt5.login(other["login"], password=other["password"], server=other["server"])
    assert time.monotonic() - started >= 1.0
    assert mt5.login(acc["login"], password=acc["password"], server=acc["server"], timeout=300) is False
    assert mt5.last_error() == (-10005, "IPC timeout")
    assert mt5.account_info().login == other["login"]  # the slow login did not happen


def test_ipc_timeout_fault_blocks_the_call_as_the_real_pipe_does(mt5, acc, sim_world: Path, data_dir: Path) -> None:
    """[W] 4: the real package has no per-call timeout: a hung terminal blocks the call until it answers
    again (-10005 exists only while initializing); the app's worker is killed by its own watchdog."""
    import threading

    exe = control.base_install(sim_world)
    assert mt5.initialize(str(exe), timeout=800)
    sim(data_dir, "fault", "ipc-timeout", "--terminal", str(exe), "--seconds", "60")
    got: list = []
    call = threading.Thread(target=lambda: got.append(mt5.account_info()), daemon=True)
    call.start()
    call.join(1.5)
    assert call.is_alive() and not got  # still waiting: no invented -10005
    sim(data_dir, "fault", "clear")
    call.join(30)
    assert not call.is_alive() and got[0].login == acc["login"]
    assert mt5.last_error() == (1, "Success")


def test_disconnect_fault(mt5, acc, demo_accounts, data_dir: Path) -> None:
    assert mt5.terminal_info().connected
    sim(data_dir, "fault", "disconnect", "--server", acc["server"])
    since = control.active_faults(sim_world_of(data_dir))[0]["since"]
    info = mt5.terminal_info()
    assert info.connected is False
    assert mt5.symbol_info_tick("EURUSD").time_msc <= since * 1000  # no quotes since the drop
    assert mt5.account_info().login == acc["login"]
    res = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": 0})
    assert res.retcode == mt5.TRADE_RETCODE_CONNECTION
    elsewhere = next(a for a in demo_accounts if a["server"] != acc["server"])
    assert mt5.login(elsewhere["login"], password=elsewhere["password"], server=elsewhere["server"])
    assert mt5.terminal_info().connected  # other servers are up
    assert mt5.login(acc["login"], password=acc["password"], server=acc["server"]) is False
    sim(data_dir, "fault", "clear")
    assert mt5.login(acc["login"], password=acc["password"], server=acc["server"])
    assert mt5.terminal_info().connected


def sim_world_of(data_dir: Path) -> Path:
    from multi_user.paths import sim_world_dir

    return sim_world_dir(data_dir)


def test_price_shock_moves_the_symbol_and_equity(mt5, acc, data_dir: Path) -> None:
    assert acc["currency"] == "USD"
    pos = next(p for p in mt5.positions_get() if p.symbol.endswith("USD"))  # profit in the account currency
    sym = pos.symbol
    contract = mt5.symbol_info(sym).trade_contract_size
    bid_before, equity_before = mt5.symbol_info_tick(sym).bid, mt5.account_info().equity
    sim(data_dir, "fault", "shock", "--symbol", sym, "--percent", "-3")
    bid_after = mt5.symbol_info_tick(sym).bid
    assert bid_after == pytest.approx(bid_before * 0.97, rel=2e-3)
    sign = 1 if pos.type == mt5.POSITION_TYPE_BUY else -1
    expected = -sign * bid_before * 0.03 * contract * pos.volume
    assert mt5.account_info().equity - equity_before == pytest.approx(expected, rel=0.15)
    assert sim(data_dir, "fault", "list", "--json") == 0


def test_crash_fault_kills_the_terminal(mt5, acc, data_dir: Path) -> None:
    folder = mt5.terminal_info().path
    assert sim(data_dir, "fault", "crash", "--terminal", folder) == 0
    assert control.terminal_pid(Path(folder)) is None
    assert mt5.account_info() is None and mt5.last_error() == (-10004, "No IPC connection")
    with pytest.raises(TerminalError, match="no simulated terminal is running"):
        sim(data_dir, "fault", "crash", "--terminal", folder)


def test_bad_fault_input_is_refused_and_stores_nothing(sim_world: Path, data_dir: Path) -> None:
    with pytest.raises(BadInput, match="login must be a number"):
        sim(data_dir, "fault", "auth", "--login", "12ab")
    with pytest.raises(BadInput, match="no server"):
        sim(data_dir, "fault", "disconnect", "--server", "Nope-Server")
    with pytest.raises(BadInput, match="unknown symbol"):
        sim(data_dir, "fault", "shock", "--symbol", "ABCXYZ", "--percent", "1")
    with pytest.raises(BadInput, match="no simulated terminal"):
        sim(data_dir, "fault", "ipc-timeout", "--terminal", str(data_dir / "nowhere"))
    with pytest.raises(BadInput):
        sim(data_dir, "fault", "slow-login", "--seconds", "-1")
    assert control.active_faults(sim_world) == []


def test_init_reset_makes_a_new_world_and_stops_its_terminals(mt5, acc, sim_world: Path, data_dir: Path) -> None:
    before = control.demo_accounts(sim_world)
    exe = control.base_install(sim_world)
    assert control.terminal_pid(exe)
    assert sim(data_dir, "init", "--reset", "--seed", "99") == 0
    assert control.terminal_pid(exe) is None
    after = control.demo_accounts(sim_world)
    assert len(after) == len(before) and [a["password"] for a in after] != [a["password"] for a in before]


def test_world_creation_is_safe_when_processes_race(tmp_path: Path) -> None:
    world = tmp_path / "raced"
    code = "import sys; from pathlib import Path; from multi_user.mt5sim import control; " \
           "control.ensure_world(Path(sys.argv[1])); print(len(control.demo_accounts(Path(sys.argv[1]))))"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(world)], stdout=subprocess.PIPE, text=True,
                              cwd=str(ROOT)) for _ in range(4)]
    counts = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(counts)) == 1 and int(counts[0]) >= 8
    assert len(control.demo_accounts(world)) == int(counts[0])
