"""A simulated terminal process: ``python -m multi_user.mt5sim.terminal --folder F [--portable] [--exit-with PID]``.

The stand-in for ``terminal64.exe [/portable]`` running from install folder F. It serves any
number of clients over loopback TCP (endpoint in ``F/.mt5sim/ipc.json``), is logged into one
account at a time for all of them, and keeps broker state in the world named by ``F/mt5sim.json``.
No secret ever reaches its command line, environment or output.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from multi_user.mt5sim import errors as e
from multi_user.mt5sim import faults, ipc, structures, world
from multi_user.mt5sim.session_trade import TradingTerminal

log = logging.getLogger("mt5sim.terminal")

CALLS = {
    "login": "do_login", "version": "version", "terminal_info": "terminal_info", "account_info": "account_info",
    "symbols_total": "symbols_total", "symbols_get": "symbols_get", "symbol_info": "symbol_info",
    "symbol_info_tick": "symbol_info_tick", "symbol_select": "symbol_select", "market_book_add": "market_book_add",
    "market_book_get": "market_book_get", "market_book_release": "market_book_release",
    "copy_rates": "copy_rates", "copy_ticks": "copy_ticks", "positions_total": "positions_total",
    "positions_get": "positions_get", "orders_total": "orders_total", "orders_get": "orders_get",
    "history_orders_total": "history_orders_total", "history_orders_get": "history_orders_get",
    "history_deals_total": "history_deals_total", "history_deals_get": "history_deals_get",
    "order_calc_margin": "order_calc_margin", "order_calc_profit": "order_calc_profit",
    "order_check": "order_check", "order_send": "order_send",
}


def world_of(folder: Path) -> Path:
    """The world an install folder belongs to (its ``mt5sim.json``)."""
    return Path(json.loads((folder / world.MARKER).read_text())["world"])


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        term = self.server.terminal
        try:
            hello = ipc.recv(sock)
            self._wait_while_hanging()
            if term.faults.ipc_dropped(term.folder):
                return  # the IPC is down: the connection closes unanswered
            if not isinstance(hello, dict) or not secrets.compare_digest(str(hello.get("token", "")),
                                                                         self.server.token):
                ipc.send(sock, {"ok": False})
                return
            ipc.send(sock, {"ok": True, "pid": os.getpid()})
            while True:
                req = ipc.recv(sock)
                self._wait_while_hanging()
                if term.faults.ipc_dropped(term.folder):
                    return
                name = CALLS.get(req.get("f"))
                if name is None:
                    result, err = None, e.UNSUPPORTED
                elif name not in ("terminal_info", "version") and term.faults.api_off(term.folder):
                    result, err = None, e.AUTO_TRADING_DISABLED  # the option that shuts the Python API out
                else:
                    try:
                        result, err = getattr(term, name)(**req.get("k", {}))
                    except Exception:  # a bug must not kill the terminal; arguments are not logged (secrets)
                        log.exception("call %s failed", req.get("f"))
                        result, err = None, e.CALL_FAILED
                ipc.send(sock, {"r": structures.encode(result), "e": list(err)})
        except (ConnectionError, OSError, ValueError):
            return

    def _wait_while_hanging(self) -> None:
        while self.server.terminal.faults.hanging(self.server.terminal.folder):
            time.sleep(0.05)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, terminal: TradingTerminal, token: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.terminal = terminal
        self.token = token


def _watch_parent(pid: int, on_exit: Any) -> None:
    while ipc.pid_alive(pid):
        time.sleep(0.25)
    on_exit()


def _watch_faults(term: TradingTerminal, args: argparse.Namespace, on_exit: Any, endpoint: dict[str, Any]) -> None:
    """``ipc_drop``: the endpoint goes while the fault lasts and comes back after. ``update``: like a
    LiveUpdate restart, start the new copy (it waits for this one to be gone) and exit cleanly; the new
    copy is not a child of whoever started this terminal."""
    dropped = False
    while True:
        time.sleep(0.1)
        if term.faults.ipc_dropped(term.folder) != dropped:
            dropped = not dropped
            if dropped:
                ipc.remove_endpoint(term.folder, os.getpid())
            else:
                ipc.write_endpoint(term.folder, endpoint)
            log.info("IPC %s", "dropped" if dropped else "back")
        if not term.faults.update_pending(term.folder):
            continue
        gap = faults.take_update(term.world_dir, term.folder)
        if gap is None:
            continue
        from multi_user.child_command import python_module_command

        cmd = [*python_module_command("multi_user.mt5sim.terminal"), "--folder", str(term.folder),
               "--after", str(os.getpid()), "--delay", f"{gap:g}"]
        if args.portable:
            cmd.append("--portable")
        if args.exit_with:
            cmd += ["--exit-with", str(args.exit_with)]
        log.info("LiveUpdate: restarting in %g s", gap)
        with open(term.folder / ipc.STATE_DIR / "terminal.log", "ab") as logf:
            subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, cwd=str(term.folder),
                             start_new_session=sys.platform != "win32")
        on_exit()


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while ipc.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _register(world_dir: Path, folder: Path, pid: int) -> bool:
    """Claim the folder for this process; False when a live terminal already holds it."""
    con = world.connect(world_dir)
    try:
        con.execute("BEGIN IMMEDIATE")
        row = con.execute("SELECT pid FROM terminals WHERE folder = ?", (str(folder),)).fetchone()
        if row is not None and row["pid"] and row["pid"] != pid and ipc.pid_alive(int(row["pid"]),
                                                                                 expect="mt5sim.terminal"):
            con.execute("ROLLBACK")
            return False
        con.execute("INSERT INTO terminals (folder, pid, started) VALUES (?, ?, ?) ON CONFLICT(folder) DO UPDATE"
                    " SET pid = excluded.pid, started = excluded.started", (str(folder), pid, time.time()))
        con.execute("COMMIT")
        return True
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m multi_user.mt5sim.terminal")
    p.add_argument("--folder", required=True, help="the install folder (holds terminal64.exe and mt5sim.json)")
    p.add_argument("--portable", action="store_true", help="keep the data folder inside the install folder")
    p.add_argument("--exit-with", type=int, metavar="PID", help="exit when this process exits")
    p.add_argument("--after", type=int, metavar="PID", help="(update) start once this old copy has exited")
    p.add_argument("--delay", type=float, default=0.0, help="(update) then wait this many seconds")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s mt5sim-terminal %(message)s")
    folder = Path(args.folder).resolve()
    try:
        world_dir = world_of(folder)
    except (OSError, ValueError, KeyError):
        print(f"not a simulated MetaTrader 5 install: {folder}", file=sys.stderr)
        return 2
    if not world.is_ready(world_dir):
        world.create(world_dir)
    else:
        world.upgrade(world_dir)  # a world made by an older simulator gets the newer columns
    pid = os.getpid()
    if args.after:  # the relaunch of a LiveUpdate: the old copy exits first, the update takes a while
        _wait_gone(args.after)
        time.sleep(max(0.0, args.delay))
    if not _register(world_dir, folder, pid):
        # like terminal64.exe: a second copy started from a folder whose terminal runs hands over and exits
        print(f"a terminal already runs from {folder}", file=sys.stderr)
        return 3
    if args.portable:  # like terminal64.exe /portable: its data folder is made inside the install
        for sub in ("MQL5", "config"):
            (folder / sub).mkdir(exist_ok=True)
    delay = faults.FaultView(world_dir).slow_start()
    if delay:
        time.sleep(delay)  # starting up: a client that comes now finds no endpoint yet (the real race)
    term = TradingTerminal(folder, world_dir, args.portable)
    token = secrets.token_hex(16)
    server = _Server(term, token)
    done = threading.Event()

    def stop(*_: Any) -> None:
        if done.is_set():
            return
        done.set()
        ipc.remove_endpoint(folder, pid)
        try:
            c2 = world.connect(world_dir)
            c2.execute("UPDATE terminals SET pid = NULL WHERE folder = ? AND pid = ?", (str(folder), pid))
            c2.close()
        except Exception:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    if hasattr(signal, "SIGBREAK"):
        signal.signal(signal.SIGBREAK, stop)
    if args.exit_with:
        threading.Thread(target=_watch_parent, args=(args.exit_with, stop), daemon=True, name="exit-with").start()
    endpoint = {"pid": pid, "port": server.server_address[1], "token": token, "folder": str(folder)}
    threading.Thread(target=_watch_faults, args=(term, args, stop, endpoint), daemon=True, name="faults").start()
    ipc.write_endpoint(folder, endpoint)
    log.info("terminal ready: %s (pid %s, port %s)", folder, pid, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
