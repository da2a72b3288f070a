"""Simulated terminals are processes: started by initialize(), shared by clients, switched by any
client's login(), portable copies, and what clients see when a terminal dies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures_sim import run_client

from multi_user.mt5sim import control, ipc

SWITCH = """
import sys, multi_user.mt5sim as mt5
assert mt5.initialize(path=sys.argv[1], timeout=20000), mt5.last_error()
ok = mt5.login(int(sys.argv[2]), password=sys.stdin.readline().strip(), server=sys.argv[3])
print(ok, mt5.account_info().login)
mt5.shutdown()
"""


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_calls_before_initialize_fail_with_no_ipc_connection(mt5) -> None:
    assert mt5.account_info() is None
    assert mt5.last_error() == (-10004, "No IPC connection")
    assert mt5.positions_get() is None


def test_initialize_starts_the_base_terminal_which_outlives_the_client(mt5, sim_world: Path, demo_accounts) -> None:
    exe = control.base_install(sim_world)
    a = demo_accounts[0]
    assert control.terminal_pid(exe) is None
    # a terminal with no saved account answers initialize() only with one to log in ([W] 2)
    assert mt5.initialize(timeout=30000, login=a["login"], password=a["password"], server=a["server"]), \
        mt5.last_error()
    assert mt5.last_error() == (1, "Success")
    pid = control.terminal_pid(exe)
    assert pid and pid != os.getpid()
    info = mt5.terminal_info()
    assert Path(info.path) == exe.parent and info.data_path != info.path and info.name == "MetaTrader 5"
    mt5.shutdown()
    assert control.terminal_pid(exe) == pid  # like terminal64.exe, it keeps running
    assert mt5.initialize(str(exe))
    assert control.terminal_pid(exe) == pid  # attached, not restarted
    assert mt5.version()[0] == 500


def test_missing_terminal_is_process_create_failed(mt5, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere" / "terminal64.exe")
    assert mt5.initialize(path=missing) is False
    assert mt5.last_error() == (-10003, f"IPC initialize failed, Process create failed '{missing}'")


def test_login_errors_and_initialize_with_credentials(mt5, demo_accounts: list[dict]) -> None:
    a, b = demo_accounts[0], demo_accounts[1]
    assert mt5.initialize(login=a["login"], password=a["password"], server=a["server"])
    assert mt5.account_info().login == a["login"]
    assert mt5.login(b["login"], password="wrong", server=b["server"]) is False
    assert mt5.last_error() == (-6, "Terminal: Authorization failed")
    assert mt5.account_info().login == a["login"]  # a failed login leaves the session as it was
    assert mt5.login(b["login"], password=b["password"], server="No-Such-Server") is False
    assert mt5.initialize(login=b["login"], password="wrong", server=b["server"]) is False
    assert mt5.last_error()[0] == -6
    assert mt5.account_info() is None and mt5.last_error()[0] == -10004
    assert mt5.login("123", password="x", server="y") is False
    assert mt5.last_error() == (-2, 'Invalid "login" argument')


def test_a_second_client_switches_the_terminal_for_everyone(mt5, demo_accounts: list[dict]) -> None:
    a, b = demo_accounts[0], demo_accounts[4]
    assert mt5.initialize(login=a["login"], password=a["password"], server=a["server"])
    exe = str(Path(mt5.terminal_info().path) / "terminal64.exe")
    out = run_client(SWITCH, exe, str(b["login"]), b["server"], stdin=b["password"] + "\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", str(b["login"])]
    info = mt5.account_info()  # our session now shows the other account, as with the real terminal
    assert (info.login, info.server) == (b["login"], b["server"])


def test_killed_terminal_fails_calls_with_ipc_errors_and_initialize_restarts_it(mt5, demo_accounts) -> None:
    a = demo_accounts[2]
    assert mt5.initialize(login=a["login"], password=a["password"], server=a["server"])
    exe = Path(mt5.terminal_info().path) / "terminal64.exe"
    pid = control.crash_terminal(exe)
    assert pid and not ipc.pid_alive(pid)
    assert ipc.endpoint_path(exe.parent).exists()  # a stale endpoint file is left behind ...
    assert control.terminal_pid(exe) is None  # ... and recognised as stale by its pid
    assert mt5.account_info() is None
    assert mt5.last_error() == (-10004, "No IPC connection")
    assert mt5.positions_get() is None and mt5.last_error()[0] == -10004
    assert mt5.initialize(str(exe), timeout=30000), mt5.last_error()
    assert control.terminal_pid(exe) not in (None, pid)
    assert mt5.account_info().login == a["login"]  # the terminal logs back into its last account


def test_a_copied_install_is_a_separate_portable_terminal_in_the_same_world(mt5, sim_world: Path,
                                                                           data_dir: Path, demo_accounts) -> None:
    a, b = demo_accounts[0], demo_accounts[3]
    base = control.base_install(sim_world)
    copy = data_dir / "terminals" / "one"
    shutil.copytree(base.parent, copy, ignore=shutil.ignore_patterns(".mt5sim"))
    assert mt5.initialize(str(copy / "terminal64.exe"), portable=True, login=b["login"], password=b["password"],
                          server=b["server"])
    info = mt5.terminal_info()
    assert Path(info.path) == copy.resolve() and info.data_path == info.path
    balance_here = mt5.account_info().balance
    assert mt5.initialize(str(base), login=a["login"], password=a["password"], server=a["server"])
    assert control.terminal_pid(base) != control.terminal_pid(copy)
    assert mt5.account_info().login == a["login"]
    assert mt5.login(b["login"], password=b["password"], server=b["server"])
    assert mt5.account_info().balance == balance_here  # one broker world behind both terminals
    assert control.stop_all_terminals(sim_world) == 2


def test_exit_with_stops_the_terminal_when_its_owner_dies(sim_world: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        exe = control.base_install(sim_world)
        proc = control.start_terminal(exe, exit_with_pid=owner.pid)
        assert control.wait_ready(exe, 30, proc) is not None
        owner.stdin.close()
        owner.wait(10)
        assert proc.wait(15) == 0
        assert control.terminal_pid(exe) is None and not ipc.endpoint_path(exe.parent).exists()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_no_secret_in_the_terminal_process(mt5, demo_accounts: list[dict]) -> None:
    a = demo_accounts[5]
    assert mt5.initialize(login=a["login"], password=a["password"], server=a["server"])
    pid = control.terminal_pid(Path(mt5.terminal_info().path))
    if not Path(f"/proc/{pid}").exists():
        pytest.skip("needs /proc")
    blob = Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()
    assert a["password"].encode() not in blob
    log = Path(mt5.terminal_info().path) / ".mt5sim" / "terminal.log"
    assert a["password"] not in log.read_text()


def test_initialize_waits_for_a_logged_in_account_and_fails_with_10005(mt5, sim_world: Path) -> None:
    """[W] 2: the real initialize() returns only once the terminal is connected to a trade server; a new
    terminal with no saved account makes it fail with -10005 after ``timeout``."""
    exe = control.base_install(sim_world)
    started = time.monotonic()
    assert mt5.initialize(str(exe), timeout=1500) is False
    assert mt5.last_error() == (-10005, "IPC timeout")
    assert time.monotonic() - started >= 1.4
    assert control.terminal_pid(exe) is not None  # it was started, and keeps running
    assert mt5.account_info() is None and mt5.last_error()[0] == -10004  # not attached


def test_a_second_copy_from_one_folder_exits_and_initialize_waits_for_the_first(mt5, sim_world: Path,
                                                                                 demo_accounts) -> None:
    """[W] 3: a client that comes before the folder's terminal listens launches another copy; two cannot
    run from one folder, so that copy exits and initialize() waits for the first one's pipe."""
    a = demo_accounts[0]
    exe = control.base_install(sim_world)
    control.add_slow_start(sim_world, 1.5)
    first = control.start_terminal(exe)
    try:
        wait_for(lambda: control.registered_pid(exe) == first.pid)  # it holds the folder, not listening yet
        assert control.terminal_pid(exe) is None
        assert mt5.initialize(str(exe), login=a["login"], password=a["password"], server=a["server"],
                              timeout=20000), mt5.last_error()
        assert control.terminal_pid(exe) == first.pid  # attached to the first copy; the second gave up
        assert mt5.account_info().login == a["login"]
    finally:
        control.stop_terminal(exe)
        first.wait(10)
