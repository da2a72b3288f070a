"""Injected faults, kept in the world DB so every terminal process sees them.

kinds: ``auth`` (a login, a server or every account refuses logins), ``slow_login`` (logins take
``value`` seconds), ``hang`` (a terminal stops answering until ``until``: its clients' calls block,
as on the real synchronous pipe), ``disconnect`` (a server, or all, drops its terminals:
``connected`` false, prices frozen, trading refused), ``slow_start`` (a terminal takes ``value``
seconds from its start until it listens, so a client that comes sooner finds no endpoint),
``algo_off`` (a terminal's Algo Trading button is off), ``algo_off_on_login`` (the terminal's option
"Disable algorithmic trading when the account has been changed": a login to another account turns
Algo Trading off), ``api_off`` (its option "Disable algorithmic trading via external Python API":
every call but terminal_info and version fails with -8), ``requote`` (the next ``value`` market deals
on ``symbol`` get 10004), ``market_closed`` (deals on ``symbol`` get 10018), ``fifo`` (account ``login``
closes positions first in, first out: 10045), ``shock`` (a symbol's price is multiplied
by ``value`` from ``since``), ``update`` (a terminal applies a LiveUpdate: it exits cleanly and a new
copy starts itself from the same folder ``value`` seconds later; consumed by that terminal), ``ipc_drop``
(a terminal's IPC goes away until ``until`` — its endpoint removed, its clients' connections closed —
while the process runs on, then comes back).
A crash is not stored: the terminal process is simply killed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from multi_user.mt5sim import world
from multi_user.mt5sim.prices import SYMBOLS, Shock, tick_time


def _add(world_dir: Path, kind: str, since: float | None = None, **cols: object) -> None:
    con = world.connect(world_dir)
    try:
        names = ["kind", "since", *cols]
        con.execute(f"INSERT INTO faults ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                    (kind, time.time() if since is None else since, *cols.values()))
    finally:
        con.close()


def add_auth_failure(world_dir: Path, login: int | None = None, server: str | None = None) -> None:
    _add(world_dir, "auth", login=login, server=server)


def add_slow_login(world_dir: Path, seconds: float) -> None:
    _add(world_dir, "slow_login", value=float(seconds))


def add_slow_start(world_dir: Path, seconds: float) -> None:
    _add(world_dir, "slow_start", value=float(seconds))


def add_ipc_timeout(world_dir: Path, terminal_folder: Path, seconds: float) -> None:
    _add(world_dir, "hang", terminal=str(terminal_folder), until=time.time() + float(seconds))


def add_algo_off(world_dir: Path, terminal_folder: Path) -> None:
    """The terminal's Algo Trading button is off: no trading through the API."""
    _add(world_dir, "algo_off", terminal=str(terminal_folder))


def add_algo_off_on_login(world_dir: Path, terminal_folder: Path) -> None:
    _add(world_dir, "algo_off_on_login", terminal=str(terminal_folder))


def add_api_off(world_dir: Path, terminal_folder: Path) -> None:
    _add(world_dir, "api_off", terminal=str(terminal_folder))


def add_requotes(world_dir: Path, symbol: str, count: int) -> None:
    _add(world_dir, "requote", symbol=symbol, value=float(count))


def add_market_closed(world_dir: Path, symbol: str) -> None:
    _add(world_dir, "market_closed", symbol=symbol)


def add_fifo(world_dir: Path, login: int) -> None:
    _add(world_dir, "fifo", login=login)


def add_ipc_drop(world_dir: Path, terminal_folder: Path, seconds: float) -> None:
    _add(world_dir, "ipc_drop", terminal=str(terminal_folder), until=time.time() + float(seconds))


def add_update(world_dir: Path, terminal_folder: Path, gap: float) -> None:
    _add(world_dir, "update", terminal=str(terminal_folder), value=float(gap))


def take_update(world_dir: Path, terminal_folder: Path) -> float | None:
    """Consume the folder's pending update (its relaunch gap in seconds), if there is one."""
    con = world.connect(world_dir)
    try:
        con.execute("BEGIN IMMEDIATE")
        row = con.execute("SELECT id, value FROM faults WHERE kind = 'update' AND terminal = ? ORDER BY id LIMIT 1",
                          (str(terminal_folder),)).fetchone()
        if row is not None:
            con.execute("DELETE FROM faults WHERE id = ?", (row["id"],))
        con.execute("COMMIT")
        return None if row is None else float(row["value"] or 0.0)
    finally:
        con.close()


def take_requote(con: sqlite3.Connection, symbol: str) -> bool:
    """Use up one requote of ``symbol`` (inside the caller's transaction); whether there was one."""
    row = con.execute("SELECT id, value FROM faults WHERE kind = 'requote' AND symbol = ? AND value >= 1"
                      " ORDER BY id LIMIT 1", (symbol,)).fetchone()
    if row is None:
        return False
    con.execute("UPDATE faults SET value = value - 1 WHERE id = ?", (row["id"],))
    return True


def add_disconnect(world_dir: Path, server: str | None = None) -> None:
    _add(world_dir, "disconnect", server=server)


def add_shock(world_dir: Path, symbol: str, percent: float) -> None:
    if symbol not in SYMBOLS:
        raise ValueError(f"unknown symbol {symbol!r}: the simulator has {', '.join(SYMBOLS)}")
    if not -100 < float(percent) <= 1000:
        raise ValueError("a price shock must be more than -100% and at most 1000%")
    # from the current tick on, so the very next quote is shocked
    _add(world_dir, "shock", since=tick_time(time.time()), symbol=symbol, value=1.0 + float(percent) / 100.0)


def clear(world_dir: Path) -> int:
    con = world.connect(world_dir)
    try:
        return con.execute("DELETE FROM faults").rowcount
    finally:
        con.close()


def active(world_dir: Path) -> list[dict]:
    con = world.connect(world_dir)
    try:
        now = time.time()
        return [dict(r) for r in con.execute("SELECT * FROM faults WHERE until IS NULL OR until > ? ORDER BY id",
                                             (now,))]
    finally:
        con.close()


class FaultView:
    """A terminal's cached view of the fault table, re-read whenever another connection has written
    to the world (SQLite's data_version), so a fault takes effect on the very next call."""

    def __init__(self, world_dir: Path) -> None:
        self._world_dir = world_dir
        self._lock = threading.Lock()
        self._con = world.connect(world_dir)
        self._rows: list[dict] = []
        self._version = -1

    def rows(self) -> list[dict]:
        with self._lock:
            version = self._con.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._rows = [dict(r) for r in self._con.execute("SELECT * FROM faults ORDER BY id")]
                self._version = version
            return self._rows

    def _of(self, kind: str) -> list[dict]:
        return [r for r in self.rows() if r["kind"] == kind]

    def disconnected_since(self, server: str | None) -> float | None:
        hits = [r["since"] for r in self._of("disconnect") if r["server"] in (None, server)]
        return min(hits) if hits else None

    def disconnected(self, server: str | None) -> bool:
        return self.disconnected_since(server) is not None

    def auth_blocked(self, login: int, server: str | None) -> bool:
        return any(r["login"] in (None, login) and r["server"] in (None, server) for r in self._of("auth"))

    def slow_login(self) -> float:
        return max((r["value"] for r in self._of("slow_login")), default=0.0)

    def slow_start(self) -> float:
        return max((r["value"] for r in self._of("slow_start")), default=0.0)

    def hanging(self, folder: Path) -> bool:
        now = time.time()
        return any(r["terminal"] == str(folder) and (r["until"] or 0) > now for r in self._of("hang"))

    def algo_off(self, folder: Path) -> bool:
        return any(r["terminal"] == str(folder) for r in self._of("algo_off"))

    def algo_off_on_login(self, folder: Path) -> bool:
        return any(r["terminal"] == str(folder) for r in self._of("algo_off_on_login"))

    def market_closed(self, symbol: str) -> bool:
        return any(r["symbol"] == symbol for r in self._of("market_closed"))

    def fifo(self, login: int | None) -> bool:
        return any(r["login"] == login for r in self._of("fifo"))

    def api_off(self, folder: Path) -> bool:
        return any(r["terminal"] == str(folder) for r in self._of("api_off"))

    def ipc_dropped(self, folder: Path) -> bool:
        now = time.time()
        return any(r["terminal"] == str(folder) and (r["until"] or 0) > now for r in self._of("ipc_drop"))

    def update_pending(self, folder: Path) -> bool:
        return any(r["terminal"] == str(folder) for r in self._of("update"))

    def shocks(self) -> list[Shock]:
        return [(r["symbol"], r["since"], r["value"]) for r in self._of("shock")]
