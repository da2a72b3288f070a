"""What a simulated terminal does for each MetaTrader5 call (the server side of the IPC).

One ``Terminal`` per process: it is logged into one account at a time, shared by every client
attached to it, and reads and writes the broker world. Each handler gets the arguments the
client already checked and returns ``(result, (code, message))``, like the real terminal's
answer plus what ``last_error()`` then reports.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from multi_user.mt5sim import constants as c
from multi_user.mt5sim import errors as e
from multi_user.mt5sim import faults, market_data, settle, structures, trading, world
from multi_user.mt5sim.clock import UTC_CLOCK, Clock
from multi_user.mt5sim.trading import Market

BUILD = 5120
BUILD_DATE = "18 Jul 2025"
Answer = tuple[Any, tuple[int, str]]
OK = e.SUCCESS


class Terminal:
    def __init__(self, folder: Path, world_dir: Path, portable: bool) -> None:
        self.folder = folder
        self.world_dir = world_dir
        self.portable = portable
        self._local = threading.local()
        self._lock = threading.RLock()
        self.login: int | None = None
        self.server: str | None = None
        self.investor = False
        self.unselected: set[str] = set()
        self.books: set[str] = set()
        self._clocks: dict[str, Clock] = {}
        self.seed = world.seed_of(self.db)
        self.faults = faults.FaultView(world_dir)
        row = self.db.execute("SELECT login, server, investor FROM terminals WHERE folder = ?",
                              (str(folder),)).fetchone()
        if row is not None and row["login"] is not None:
            # a terminal reconnects to its last account on start, as MT5 does with a saved password
            self.login, self.server, self.investor = row["login"], row["server"], bool(row["investor"])

    @property
    def db(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = world.connect(self.world_dir)
        return con

    # -- state ---------------------------------------------------------------------------------------------
    def connected(self) -> bool:
        return self.login is not None and not self.faults.disconnected(self.server)

    def clock(self) -> Clock:
        """The clock of the server the terminal is logged into (UTC before any login)."""
        if self.server is None:
            return UTC_CLOCK
        got = self._clocks.get(self.server)
        if got is None:
            row = self.db.execute("SELECT tz FROM servers WHERE name = ?", (self.server,)).fetchone()
            got = self._clocks[self.server] = Clock(row["tz"]) if row else UTC_CLOCK
        return got

    def market(self) -> Market:
        now = time.time()
        frozen = self.faults.disconnected_since(self.server) if self.login is not None else None
        return Market(self.seed, frozen if frozen is not None else now, self.faults.shocks(), clock=self.clock())

    def account(self) -> sqlite3.Row | None:
        if self.login is None:
            return None
        return self.db.execute("SELECT a.*, s.company, s.tz, s.commission, s.so_call, s.so_so FROM accounts a"
                               " JOIN servers s ON s.name = a.server"
                               " WHERE a.login = ? AND a.server = ?", (self.login, self.server)).fetchone()

    # -- session -------------------------------------------------------------------------------------------
    def do_login(self, login: int, password: str | None, server: str | None, timeout: int) -> Answer:
        delay = self.faults.slow_login()
        if delay:
            if delay * 1000 > timeout:
                time.sleep(timeout / 1000)
                return False, e.IPC_TIMEOUT
            time.sleep(delay)
        if server is None:
            server = self.server if login == self.login else None
        acc = None
        if server is not None:
            # the terminal accepts a server name in any case and reports its own spelling afterwards
            acc = self.db.execute("SELECT * FROM accounts WHERE login = ? AND server = ? COLLATE NOCASE",
                                  (login, server)).fetchone()
        if acc is not None:
            server = acc["server"]
        if acc is None or self.faults.auth_blocked(login, server) or self.faults.disconnected(server):
            return False, e.AUTH_FAILED
        if password is None:  # the saved password of the account the terminal is logged into
            investor = self.investor if (login, server) == (self.login, self.server) else None
        else:
            investor = {acc["password"]: False, acc["investor_password"]: True}.get(password)
        if investor is None:
            return False, e.AUTH_FAILED
        changed = (login, server) != (self.login, self.server)
        if changed and self.login is not None and self.faults.algo_off_on_login(self.folder):
            faults.add_algo_off(self.world_dir, self.folder)  # the terminal's option: off after a change
        with self._lock:
            self.login, self.server, self.investor = login, server, investor
            self.db.execute("UPDATE terminals SET login = ?, server = ?, investor = ? WHERE folder = ?",
                            (login, server, int(investor), str(self.folder)))
        self._mark_used()
        return True, OK

    def _mark_used(self) -> None:
        """A non-portable terminal's data folder, as the real one keeps it: initialize() without a path
        picks the install whose data was used last (origin.txt names the install)."""
        if self.portable:
            return
        data = self._appdata()
        (data / "config").mkdir(parents=True, exist_ok=True)
        (data / "origin.txt").write_text(str(self.folder), encoding="utf-8")
        (data / "config" / "terminal.ini").write_text(f"[Common]\nLogin={self.login}\n", encoding="utf-8")

    def version(self) -> Answer:
        return (500, BUILD, BUILD_DATE), OK

    def terminal_info(self) -> Answer:
        acc = self.account()
        data = self.folder if self.portable else self._appdata()
        values = {
            "community_account": False, "community_connection": False, "dlls_allowed": False,
            "email_enabled": False, "ftp_enabled": False, "notifications_enabled": False, "mqid": False,
            "connected": self.connected(), "trade_allowed": not self.faults.algo_off(self.folder),
            "tradeapi_disabled": self.faults.api_off(self.folder), "build": BUILD,
            "maxbars": market_data.MAX_BARS, "codepage": 0, "ping_last": 23_000 if self.connected() else 0,
            "retransmission": 0.0, "company": acc["company"] if acc else "MetaQuotes Ltd.",
            "name": "MetaTrader 5", "language": "English", "path": str(self.folder), "data_path": str(data),
            "commondata_path": str(self.world_dir / "AppData" / "Terminal" / "Common"),
        }
        return structures.make("TerminalInfo", values), OK

    def _appdata(self) -> Path:
        digest = hashlib.md5(str(self.folder).upper().encode()).hexdigest().upper()
        return self.world_dir / "AppData" / "Terminal" / digest

    def account_info(self) -> Answer:
        acc = self.account()
        if acc is None:
            return None, e.CALL_FAILED
        market = self.market()
        vals = None
        if self.connected():
            vals = settle.settle(self.db, market, acc)
            if vals is None:  # something fired: read the account again
                acc = self.account()
        if vals is None:
            vals = trading.account_values(self.db, market, acc)
        values = {
            "login": acc["login"], "trade_mode": acc["trade_mode"], "leverage": acc["leverage"],
            "limit_orders": 200, "margin_so_mode": c.ACCOUNT_STOPOUT_MODE_PERCENT,
            "trade_allowed": not self.investor, "trade_expert": True,
            "margin_mode": acc["margin_mode"], "currency_digits": 2, "fifo_close": self.faults.fifo(acc["login"]),
            "margin_so_call": acc["so_call"], "margin_so_so": acc["so_so"],
            "margin_initial": 0.0, "margin_maintenance": 0.0,
            "assets": 0.0, "liabilities": 0.0, "commission_blocked": 0.0, "name": acc["name"],
            "server": acc["server"], "currency": acc["currency"], "company": acc["company"], **vals,
        }
        return structures.make("AccountInfo", values), OK

    # -- symbols and prices --------------------------------------------------------------------------------
    def symbols_total(self) -> Answer:
        return len(market_data.SYMBOLS), OK

    def symbols_get(self, group: str | None = None) -> Answer:
        m = self.market()
        return tuple(market_data.symbol_info(m, s, s.name not in self.unselected)
                     for s in market_data.SYMBOLS.values() if market_data.group_match(group, s.name)), OK

    def symbol_info(self, symbol: str) -> Answer:
        spec = market_data.known(symbol)
        if spec is None:
            return None, e.CALL_FAILED
        return market_data.symbol_info(self.market(), spec, symbol not in self.unselected), OK

    def symbol_info_tick(self, symbol: str) -> Answer:
        if market_data.known(symbol) is None:
            return None, e.CALL_FAILED
        return market_data.tick(self.market(), symbol), OK

    def symbol_select(self, symbol: str, enable: bool = True) -> Answer:
        if market_data.known(symbol) is None:
            return False, e.CALL_FAILED
        (self.unselected.discard if enable else self.unselected.add)(symbol)
        return True, OK

    def market_book_add(self, symbol: str) -> Answer:
        if market_data.known(symbol) is None:
            return False, e.CALL_FAILED
        self.books.add(symbol)
        return True, OK

    def market_book_release(self, symbol: str) -> Answer:
        if symbol not in self.books:
            return False, e.CALL_FAILED
        self.books.discard(symbol)
        return True, OK

    def market_book_get(self, symbol: str) -> Answer:
        spec = market_data.known(symbol)
        if spec is None or symbol not in self.books:
            return None, e.CALL_FAILED
        return market_data.book(self.market(), spec), OK

    def copy_rates(self, how: str, symbol: str, timeframe: int, a: float, b: float) -> Answer:
        if market_data.known(symbol) is None or market_data.timeframe_seconds(timeframe) is None:
            return None, e.INVALID_PARAMS
        m = self.market()
        fn = {"from": market_data.rates_from, "from_pos": market_data.rates_from_pos,
              "range": market_data.rates_range}[how]
        rows = fn(m, symbol, timeframe, a, int(b) if how != "range" else b)
        return {"__a": "rates", "v": rows}, OK

    def copy_ticks(self, symbol: str, date_from: float, date_to: float | None, count: int, flags: int) -> Answer:
        if market_data.known(symbol) is None:
            return None, e.INVALID_PARAMS
        m = self.market()
        rows = market_data.ticks(m, symbol, date_from, date_to if date_to is not None else m.now, count)
        return {"__a": "ticks", "v": rows}, OK
