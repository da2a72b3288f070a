"""Everything about the simulator that is not MetaTrader5's API: the world, terminals, faults.

The app and the tests use these; code written for ``MetaTrader5`` never needs them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from multi_user.mt5sim import faults, ipc, world
from multi_user.mt5sim.clock import Clock

ENV_WORLD = "MT5SIM_WORLD"
_world: Path | None = None
_children: dict[Path, subprocess.Popen] = {}


def use_world(world_dir: Path | None) -> None:
    """New terminals (``initialize()`` without a path) belong to this world (None: back to the default)."""
    global _world
    _world = Path(world_dir).resolve() if world_dir is not None else None


def current_world() -> Path:
    """use_world(), else $MT5SIM_WORLD, else the MT5 Desk data dir's ``sim`` folder."""
    if _world is not None:
        return _world
    if os.environ.get(ENV_WORLD):
        return Path(os.environ[ENV_WORLD]).resolve()
    from multi_user.paths import resolve_data_dir, sim_world_dir

    return sim_world_dir(resolve_data_dir())


def ensure_world(world_dir: Path) -> None:
    """Create the demo world if it is missing (idempotent; safe when processes race)."""
    world_dir = Path(world_dir)
    if not world.is_ready(world_dir):
        world.create(world_dir.resolve())
    else:
        world.upgrade(world_dir)
    world.write_install(world_dir.resolve())


def init_world(world_dir: Path, seed: int = world.DEFAULT_SEED, reset: bool = False,
               history_days: int = world.HISTORY_DAYS) -> bool:
    """Create the demo world with ``seed`` and ``history_days`` of past; ``reset`` first stops its
    terminals and deletes it. Returns False when the world existed already and was kept."""
    world_dir = Path(world_dir).resolve()
    if reset and world_dir.exists():
        stop_all_terminals(world_dir)
        for name in (world.DB_NAME, world.DB_NAME + "-wal", world.DB_NAME + "-shm"):
            (world_dir / name).unlink(missing_ok=True)
    existed = world.is_ready(world_dir)
    if not existed:
        world.create(world_dir, seed, history_days)
    world.write_install(world_dir)
    return not existed


def base_install(world_dir: Path) -> Path:
    """The world's simulated base install: ``<world>/MetaTrader 5/terminal64.exe``."""
    return Path(world_dir).resolve() / world.INSTALL_DIR / world.EXE_NAME


def demo_accounts(world_dir: Path) -> list[dict[str, Any]]:
    """login, server, password, investor_password, name, currency, balance, leverage, credit, margin_mode
    (ACCOUNT_MARGIN_MODE_*), commission (USD per lot per side), server_zone and server_offset (seconds
    the server's clock is ahead of UTC now) of every account."""
    ensure_world(world_dir)
    keys = ("login", "server", "password", "investor_password", "name", "currency", "balance", "leverage", "credit",
            "margin_mode", "commission")
    now = time.time()
    return [{**{k: a[k] for k in keys}, "server_zone": a["tz"], "server_offset": Clock(a["tz"]).offset(now)}
            for a in world.accounts(Path(world_dir))]


def _folder(path: Path | str) -> Path:
    p = Path(path).expanduser().resolve()
    return p.parent if p.suffix.lower() == ".exe" else p


def terminal_command(folder: Path, portable: bool, exit_with_pid: int | None) -> list[str]:
    from multi_user.child_command import python_module_command

    cmd = [*python_module_command("multi_user.mt5sim.terminal"), "--folder", str(folder)]
    if portable:
        cmd.append("--portable")
    if exit_with_pid:
        cmd += ["--exit-with", str(exit_with_pid)]
    return cmd


def start_terminal(path: Path, *, portable: bool = False, exit_with_pid: int | None = None,
                   detached: bool = False) -> subprocess.Popen:
    """Start the terminal process of an install folder (or its terminal64.exe). Returns at once;
    the terminal is ready when ``terminal_pid(path)`` names it."""
    folder = _folder(path)
    if not (folder / world.MARKER).is_file():
        raise FileNotFoundError(f"not a simulated MetaTrader 5 install: {folder}")
    state = folder / ipc.STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {}
    if detached:  # like terminal64.exe started by the package: it outlives the client
        if sys.platform == "win32":
            kwargs["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
        else:
            kwargs["start_new_session"] = True
    src = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))}
    with open(state / "terminal.log", "ab") as logf:
        proc = subprocess.Popen(terminal_command(folder, portable, exit_with_pid), stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=logf, cwd=str(folder), env=env, **kwargs)
    _children[folder] = proc
    return proc


def wait_ready(path: Path, timeout: float, proc: subprocess.Popen | None = None) -> dict[str, Any] | None:
    """The terminal's endpoint once it is serving, or None after ``timeout`` seconds (or if it exited)."""
    folder = _folder(path)
    deadline = time.monotonic() + timeout
    while True:
        info = ipc.read_endpoint(folder)
        if info is not None and (proc is None or info["pid"] == proc.pid):
            return info
        if (proc is not None and proc.poll() is not None) or time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def terminal_pid(path: Path) -> int | None:
    """Pid of the live terminal serving this install folder (or its terminal64.exe), else None."""
    info = ipc.read_endpoint(_folder(path))
    return int(info["pid"]) if info else None


def registered_pid(path: Path) -> int | None:
    """Pid of the process that claimed the folder (a terminal may hold it before it listens)."""
    folder = _folder(path)
    from multi_user.mt5sim.terminal import world_of

    con = world.connect(world_of(folder))
    try:
        row = con.execute("SELECT pid FROM terminals WHERE folder = ?", (str(folder),)).fetchone()
    finally:
        con.close()
    return int(row["pid"]) if row is not None and row["pid"] else None


def stop_terminal(path: Path, timeout: float = 5.0) -> bool:
    """Stop the folder's terminal (SIGTERM, then SIGKILL). Returns whether one was running."""
    folder = _folder(path)
    pid = terminal_pid(folder)
    if pid is None:
        _reap(folder)
        return False
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while ipc.pid_alive(pid) and time.monotonic() < deadline:
        _reap(folder)
        time.sleep(0.02)
    if ipc.pid_alive(pid):
        _signal(pid, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
    ipc.remove_endpoint(folder, pid)
    _reap(folder, wait=True)
    return True


def crash_terminal(path: Path) -> int | None:
    """Kill the folder's terminal without letting it clean up (the ``crash`` fault)."""
    folder = _folder(path)
    pid = terminal_pid(folder)
    if pid is not None:
        _signal(pid, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
        deadline = time.monotonic() + 5
        while ipc.pid_alive(pid) and time.monotonic() < deadline:
            _reap(folder)
            time.sleep(0.02)
        _reap(folder, wait=True)
    return pid


def update_terminal(path: Path, gap: float = 1.0, timeout: float = 10.0) -> int | None:
    """The ``update`` fault: the folder's terminal applies a LiveUpdate — it exits cleanly (code 0) and a
    new copy, not a child of whoever started the old one, serves the folder ``gap`` seconds later.
    Returns the old pid once it has exited, or None when no terminal was running."""
    folder = _folder(path)
    pid = terminal_pid(folder)
    if pid is None:
        return None
    faults.add_update(_world_of(folder), folder, gap)
    deadline = time.monotonic() + timeout
    while ipc.pid_alive(pid) and time.monotonic() < deadline:
        _reap(folder)
        time.sleep(0.02)
    _reap(folder)
    return pid


def _world_of(folder: Path) -> Path:
    from multi_user.mt5sim.terminal import world_of

    return world_of(folder)


def terminal_folders(world_dir: Path) -> list[Path]:
    """Install folders that have run a terminal in this world."""
    world_dir = Path(world_dir)
    if not (world_dir / world.DB_NAME).is_file():
        return []
    con = world.connect(world_dir)
    try:
        return [Path(r[0]) for r in con.execute("SELECT folder FROM terminals ORDER BY folder")]
    finally:
        con.close()


def stop_all_terminals(world_dir: Path) -> int:
    """Stop every running terminal of this world; returns how many were stopped."""
    return sum(stop_terminal(f) for f in terminal_folders(world_dir))


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _reap(folder: Path, wait: bool = False) -> None:
    proc = _children.get(folder)
    if proc is None:
        return
    try:
        if proc.wait(timeout=2 if wait else 0) is not None:
            _children.pop(folder, None)
    except subprocess.TimeoutExpired:
        pass


# fault injection (the `sim fault` command and the tests) -------------------------------------------------
add_auth_failure = faults.add_auth_failure
add_slow_login = faults.add_slow_login
add_disconnect = faults.add_disconnect
add_shock = faults.add_shock
add_slow_start = faults.add_slow_start
add_requotes = faults.add_requotes
add_market_closed = faults.add_market_closed
add_fifo = faults.add_fifo
clear_faults = faults.clear
active_faults = faults.active


def add_algo_off(world_dir: Path, terminal: Path) -> None:
    """The terminal of ``terminal`` (folder or exe) has Algo Trading switched off."""
    faults.add_algo_off(world_dir, _folder(terminal))


def add_algo_off_on_login(world_dir: Path, terminal: Path) -> None:
    """The terminal's option "Disable algorithmic trading when the account has been changed" is on."""
    faults.add_algo_off_on_login(world_dir, _folder(terminal))


def add_api_off(world_dir: Path, terminal: Path) -> None:
    """The terminal's option "Disable algorithmic trading via external Python API" is on."""
    faults.add_api_off(world_dir, _folder(terminal))


def add_ipc_drop(world_dir: Path, terminal: Path, seconds: float = 5.0) -> None:
    """The terminal's IPC goes away for ``seconds`` (its process runs on), then comes back."""
    faults.add_ipc_drop(world_dir, _folder(terminal), seconds)


def add_ipc_timeout(world_dir: Path, terminal: Path, seconds: float = 90.0) -> None:
    """The terminal of ``terminal`` (folder or exe) stops answering for ``seconds``."""
    faults.add_ipc_timeout(world_dir, _folder(terminal), seconds)
