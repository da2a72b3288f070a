"""UserMT5Bridge: one MetaTrader5 module (real or simulated), switched between accounts safely.

- login on an initialized terminal; shutdown + initialize only when the terminal path changes;
- never log in again when the terminal already shows the asked account (brokers flag login storms),
  unless the caller wants the password checked (linking, changing a password);
- a failed login is a rejected password only when the broker could be asked: with the terminal
  cut off from the broker it is BrokerUnreachable, which says nothing about the password;
- after every switch, verify identity: account_info().login/server and terminal_info().path;
- last_error() codes become typed errors with plain messages (multi_user/bridge_errors.py); a password
  never appears in one.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from multi_user.bridge_errors import (
    ALGO_OFF,
    API_OFF,
    RES_E_AUTO_TRADING_DISABLED,
    RES_E_INTERNAL_FAIL_CONNECT,
    RES_E_INTERNAL_FAIL_INIT,
    RES_E_INTERNAL_FAIL_TIMEOUT,
    TRADE_RETCODE_CLIENT_DISABLES_AT,
    terminal_error,
)
from multi_user.bridge_snapshot import TickWatch, snapshot_of
from multi_user.child_command import without_secrets
from multi_user.closing import Closer, filling_modes
from multi_user.errors import AuthorizationError, BrokerUnreachable, IdentityMismatch, TerminalError

__all__ = ["TRADE_RETCODE_CLIENT_DISABLES_AT", "Identity", "UserMT5Bridge", "same_server"]  # the worker's names

# attach() without an account: enough for a logged-in terminal to answer, short enough not to stall a
# new portable terminal's lane (which attaches with its first login instead)
ATTACH_PROBE_MS = 2000


@dataclass(frozen=True)
class Identity:
    login: int
    server: str
    terminal_path: str | None
    relogged: bool


def same_server(a: str | None, b: str | None) -> bool:
    """Server names as the terminal compares them: the owner may type another case than the broker's."""
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def _norm(path: str | os.PathLike[str] | None) -> str | None:
    return _norm_text(os.fspath(path)) if path else None


@functools.lru_cache(maxsize=64)
def _norm_text(path: str) -> str:
    # cached: every switch compares the terminal's path with the lane's, and resolving both on the disk
    # was ~0.2 ms of a switch's overhead ([P] 3); a portable terminal's folder does not move while it runs
    p = Path(path)
    if p.suffix.lower() == ".exe":
        p = p.parent
    text = os.path.normpath(str(p.expanduser().resolve()))
    return text.lower() if os.name == "nt" or "\\" in text else text


class UserMT5Bridge:
    def __init__(self, mt5: ModuleType, terminal_path: str | None = None, *, portable: bool = False,
                 timeout_ms: int = 60000, may_launch: bool = True) -> None:
        self.mt5 = mt5
        # initialize() launches the terminal when its pipe is missing. For a terminal the app supervises
        # that would be a second, unsupervised copy in the same folder (it outlives the app): there only
        # an explicit connect() — sent by the app once its terminal is up — may attach.
        self.may_launch = may_launch
        self.terminal_up = False  # supervised: the app said its terminal is up (attach allowed until it is lost)
        self.terminal_path = str(terminal_path) if terminal_path else None
        self.portable = portable
        self.timeout_ms = timeout_ms
        self._initialized = False
        self.ticks = TickWatch()
        self._watch_symbol: dict[str, str] = {}  # per server: the symbol watched when there are no positions
        self._switch_reads: tuple[Any, bool] | None = None  # (account_info, connected) the last switch read
        self.switch_positions: list[dict[str, Any]] | None = None  # what first_snapshot() read, until taken

    def _error(self, context: str, login: int | None = None, server: str | None = None) -> TerminalError:
        return terminal_error(self.mt5, context, self.terminal_path, login, server)

    # ---- connection ---------------------------------------------------------------------------
    def connect(self, login: int | None = None, password: str | None = None, server: str | None = None, *,
                timeout_ms: int | None = None) -> None:
        """Attach to the terminal (starting it if allowed). The real initialize() returns only once the
        terminal is connected to a trade server, so a terminal with no saved account answers it only
        with an account to log in: ``login``/``password``/``server`` are passed whenever given."""
        if self._initialized:
            return
        if not self.may_launch and not self.terminal_up:
            raise TerminalError("the terminal is not running; the app is restarting it and logs the account in "
                                "again when it is up", RES_E_INTERNAL_FAIL_CONNECT)
        kwargs: dict[str, Any] = {"timeout": timeout_ms or self.timeout_ms}
        if self.terminal_path:
            kwargs["path"] = self.terminal_path
            if self.portable:
                kwargs["portable"] = True
        if login is not None:
            kwargs.update(login=login, password=password, server=server)
        with without_secrets():  # initialize() may start the terminal: it must not inherit the key
            ok = self.mt5.initialize(**kwargs)
        if not ok:
            if login is None:
                raise self._error("Could not connect to MetaTrader 5")
            err = self._error(f"Could not log in to {login} on {server}", login, server)
            if err.code == RES_E_INTERNAL_FAIL_TIMEOUT:
                raise TerminalError(f"Could not log in to {login} on {server}: the terminal did not connect to "
                                    f"the trade server within {kwargs['timeout'] / 1000:.0f} s — check the server "
                                    "name and the network, then try again", err.code)
            raise err
        self._initialized = True
        if not self.terminal_path:
            self._pin_path()

    def _pin_path(self) -> None:
        """Without a path, initialize() picks the installed terminal whose data was used last, which can
        change between runs: the one found first is pinned and passed from now on."""
        term = self.mt5.terminal_info()
        if term is not None and getattr(term, "path", None):
            self.terminal_path = os.path.join(str(term.path), "terminal64.exe")

    def attach(self) -> bool:
        """The terminal is up (the app started it, or may start it): attach without logging in. A terminal
        with no saved account (a new portable folder) does not answer initialize() without one: then
        False, and the first switch attaches with its account."""
        self.terminal_up = True
        try:
            self.connect(timeout_ms=min(self.timeout_ms, ATTACH_PROBE_MS))
        except TerminalError as exc:
            if exc.code == RES_E_INTERNAL_FAIL_TIMEOUT:
                return False
            raise
        return True

    def lost(self) -> None:
        """The terminal went away: attach afresh next time, and (supervised) only once the app says it is up."""
        self._initialized = False
        self.terminal_up = False

    def shutdown(self) -> None:
        if self._initialized:
            self.mt5.shutdown()
            self._initialized = False

    def read_before_login(self) -> tuple[Any, Any] | None:
        """What switch() must know before a login (account_info, terminal_info), read ahead ([P] 3: while the
        app reads the password); None when not attached (then the switch attaches with its login)."""
        if not self._initialized:
            return None
        return self.mt5.account_info(), self.mt5.terminal_info()

    def switch(self, login: int, password: str, server: str, *, terminal_path: str | None = None,
               check_password: bool = False, before: tuple[Any, Any] | None = None) -> Identity:
        """Log ``login`` in. With ``check_password`` the broker always checks the password, even when
        the terminal already shows that account (a link or a password change must not be taken on trust).
        ``before``: read_before_login()'s answer, read a moment ago, instead of reading it again."""
        if terminal_path and _norm(terminal_path) != _norm(self.terminal_path):
            self.shutdown()
            self.terminal_path = str(terminal_path)
        if not self._initialized:
            self.ticks.reset()
            try:
                self.connect(login, password, server)  # initialize() logs in: no second login
            except TerminalError as exc:
                if exc.code in (RES_E_INTERNAL_FAIL_CONNECT, RES_E_INTERNAL_FAIL_INIT):
                    self.lost()
                raise
            ident = self.verify(login, server)
            return Identity(ident.login, ident.server, ident.terminal_path, True)
        # [P] 3: one account_info and one terminal_info answer both questions asked before the login (which
        # account is shown, is the broker connected); the terminal's path is checked on the same answer (a
        # login does not change which terminal this IPC connection reaches)
        info, term = before or (self.mt5.account_info(), self.mt5.terminal_info())
        current = (Identity(int(info.login), str(info.server), getattr(term, "path", None), False)
                   if info is not None and info.login else None)
        was_connected = bool(term is not None and term.connected)
        same = current is not None and current.login == login and same_server(current.server, server)
        if same and was_connected and not check_password:  # already there: no second login
            if before is not None:  # read a moment ago: decide again on fresh reads
                return self.switch(login, password, server, check_password=check_password)
            return self._seen_now(login, server, info, term, connected=True)
        if not same:
            self.ticks.reset()
        if not self.mt5.login(login, password=password, server=server, timeout=self.timeout_ms):
            err = self._error(f"Could not log in to {login} on {server}", login, server)
            if err.code in (RES_E_INTERNAL_FAIL_CONNECT, RES_E_INTERNAL_FAIL_TIMEOUT):
                self.lost()  # the terminal is gone: attach afresh next time
            if (isinstance(err, AuthorizationError) and current is not None and not was_connected
                    and not self._broker_connected()):
                # It was cut off from its broker before we asked and still is: the password was never checked.
                raise BrokerUnreachable(f"Could not log in to {login} on {server}: the terminal has no "
                                        "connection to the broker — the broker's server or the network is "
                                        "unreachable. The password was not checked; try again when the "
                                        "terminal is connected.", err.code)
            raise err
        if term is None:
            ident = self.verify(login, server)  # no terminal answer before the login: read both afresh
        else:
            # the login's True is the broker's answer: the terminal is connected to it now
            ident = self._seen_now(login, server, self.mt5.account_info(), term, connected=True)
        return Identity(ident.login, ident.server, ident.terminal_path, True)

    def _seen_now(self, login: int, server: str, info: Any, term: Any, *, connected: bool) -> Identity:
        """The identity check of verify() on reads the switch just made; they are kept for first_snapshot()."""
        ident = self._check_identity(login, server, info, term)
        self._switch_reads = (info, connected)
        return ident

    def _broker_connected(self) -> bool:
        info = self.mt5.terminal_info()
        return bool(info is not None and info.connected)

    def verify(self, login: int, server: str) -> Identity:
        return self._check_identity(login, server, self.mt5.account_info(), self.mt5.terminal_info())

    def _check_identity(self, login: int, server: str, info: Any, term: Any) -> Identity:
        if info is None:
            raise self._error(f"Could not read account {login} on {server}")
        if term is None:
            raise self._error("Could not read the terminal's information")
        if int(info.login) != login or not same_server(str(info.server), server):
            raise IdentityMismatch(f"The terminal shows login {info.login} on {info.server}, not {login} on "
                                   f"{server}: another program switched it", None)
        if self.terminal_path and _norm(term.path) != _norm(self.terminal_path):
            raise IdentityMismatch(f"Connected to the terminal in {term.path}, not the one in "
                                   f"{_norm(self.terminal_path)}", None)
        return Identity(login, str(info.server), term.path, False)  # the terminal's own spelling

    def trading_blocked(self) -> str | None:
        """Why the terminal would refuse orders from the API, in words the owner can act on (else None)."""
        term = self.mt5.terminal_info()
        if term is None:
            err = self._error("Could not read the terminal's information")
            return str(err) if err.code == RES_E_AUTO_TRADING_DISABLED else None
        if getattr(term, "tradeapi_disabled", False):
            return API_OFF[0].upper() + API_OFF[1:]
        if not getattr(term, "trade_allowed", True):
            return ALGO_OFF
        return None

    # ---- account data ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        self._switch_reads = self.switch_positions = None
        info = self.mt5.account_info()
        if info is None:
            raise self._error("Could not read the account")
        term = self.mt5.terminal_info()
        positions = self.mt5.positions_get()
        if positions is None:
            raise self._error("Could not read the positions")
        connected = bool(term is not None and term.connected)
        newest = self._newest_tick({p.symbol for p in positions}, str(info.server))
        return snapshot_of(info, positions, connected, self.ticks.update(newest, connected, time.time()))

    def first_snapshot(self) -> dict[str, Any]:
        """[P] 3: the new account's first snapshot right after switch(), from the account_info and the broker
        connection it just read: only the positions are read here. The newest tick is left to the next
        snapshot (the last one seen, if any, is kept). Without such reads, a full snapshot()."""
        reads, self._switch_reads = self._switch_reads, None
        if reads is None:
            return self.snapshot()
        info, connected = reads
        positions = self.mt5.positions_get()
        if positions is None:
            raise self._error("Could not read the positions")
        self.switch_positions = [p._asdict() for p in positions]  # the worker's EA check reads them once
        return snapshot_of(info, positions, connected, self.ticks.seen_at)

    def _newest_tick(self, symbols: set[str], server: str) -> int | None:
        """time_msc of the newest tick of the position symbols (or of one Market Watch symbol)."""
        if not symbols:
            if server not in self._watch_symbol:  # symbols_get() can list thousands: once per server
                listed = self.mt5.symbols_get() or ()
                self._watch_symbol[server] = next((s.name for s in listed if getattr(s, "visible", True)), "")
            symbols = {self._watch_symbol[server]} - {""}
        times = [t.time_msc for t in (self.mt5.symbol_info_tick(s) for s in sorted(symbols)[:5]) if t is not None]
        return max(times, default=None)

    def positions(self) -> list[dict[str, Any]]:
        positions = self.mt5.positions_get()
        if positions is None:
            raise self._error("Could not read the positions")
        return [p._asdict() for p in positions]

    def history(self, since: float | None = None, offset: int | None = None) -> dict[str, Any]:
        """Deals and history orders from ``since`` (UTC) (None: all), times converted to UTC ([E] 1).

        The server's offset is learned from the newest tick; ``offset`` (the last one learned) is used
        when no tick is fresh enough (a weekend)."""
        from multi_user.deal_time import deal_to_utc, order_to_utc, utc_to_server
        from multi_user.servertime import learn_offset

        info = self.mt5.account_info()
        if info is None:
            raise self._error("Could not read the account")
        newest = self._newest_tick(set(), str(info.server))
        now = time.time()
        learned = learn_offset(newest / 1000.0, now) if newest else None
        if offset is not None and (learned is None or abs(newest / 1000.0 - learned - now) > 900):
            learned = offset  # no fresh tick: fall back on the offset learned before
        if learned is None:
            raise TerminalError("Could not read the history: the broker's clock offset is unknown (no fresh "
                                "tick); try again while the market is open")
        # a day either side: the server's date range is in its wall time, and ours is a guess at its zone
        lo = max(0.0, utc_to_server(since, learned) - 86400) if since else 0
        hi = utc_to_server(now, learned) + 86400
        deals = self.mt5.history_deals_get(int(lo), int(hi))
        if deals is None:
            raise self._error("Could not read the deals")
        orders = self.mt5.history_orders_get(int(lo), int(hi))
        if orders is None:
            raise self._error("Could not read the history orders")
        return {"login": int(info.login), "server": str(info.server), "currency": str(info.currency),
                "offset": learned, "fetched_at": now, "since": since,
                "deals": [deal_to_utc(d._asdict(), learned) for d in deals],
                "orders": [order_to_utc(o._asdict(), learned) for o in orders]}

    def _filling(self, symbol: str) -> int:
        """The filling policy a market order on ``symbol`` should use first."""
        info = self.mt5.symbol_info(symbol)
        return filling_modes(self.mt5, info)[0] if info is not None else self.mt5.ORDER_FILLING_FOK

    def close_all_positions(self, comment: str = "MT5 Desk close all",
                            on_each: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Close every open position; ``on_each(done, total)`` before each one (progress, and a sign of life)."""
        return Closer(self.mt5, comment).close_all(on_each)

    def close_position(self, ticket: int) -> dict[str, Any]:
        from multi_user.position_close import close_position

        return close_position(self.mt5, ticket)

    def orders(self) -> list[dict[str, Any]]:
        """The pending orders (orders_get), as dicts; times are the server's wall clock like positions'."""
        orders = self.mt5.orders_get()
        if orders is None:
            raise self._error("Could not read the pending orders")
        return [o._asdict() for o in orders]

    def close_losers_first(self, comment: str = "MT5 Desk flatten",
                           on_each: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """[H] 5: close every position, the largest loser first (what a breached floor needs); a FIFO
        account keeps its oldest-first order (the broker refuses anything else, 10045)."""
        info = self.mt5.account_info()
        if info is None or getattr(info, "fifo_close", False):
            return self.close_all_positions(comment, on_each)
        return Closer(self.mt5, comment).close_all(on_each, order=lambda p: (p.profit, p.time_msc, p.ticket))

    def delete_pending_orders(self, comment: str = "MT5 Desk flatten") -> dict[str, Any]:
        """[H] 6: delete every pending order (flatten = close_all_positions + this); each refusal is counted
        with its retcode, none stops the others."""
        deleted, failed, messages, retcodes = 0, 0, [], []
        for o in self.mt5.orders_get() or ():
            result = self.mt5.order_send({"action": self.mt5.TRADE_ACTION_REMOVE, "order": int(o.ticket),
                                          "comment": comment})
            code = None if result is None else int(result.retcode)
            if code is not None:
                retcodes.append(code)
            if code == self.mt5.TRADE_RETCODE_DONE:
                deleted += 1
            else:
                failed += 1
                why = str(self.mt5.last_error()[1]) if result is None else f"{result.comment} ({code})"
                messages.append(f"order {o.symbol} #{o.ticket}: {why}")
        return {"deleted": deleted, "failed": failed, "messages": messages, "retcodes": retcodes}

    def order_send(self, request: dict[str, Any]) -> dict[str, Any]:
        result = self.mt5.order_send(request)
        if result is None:
            raise self._error("The order was not sent")
        out = result._asdict()
        if hasattr(out.get("request"), "_asdict"):
            out["request"] = out["request"]._asdict()
        return out

    def health(self) -> dict[str, Any]:
        term = self.mt5.terminal_info() if self._initialized else None
        code, message = self.mt5.last_error()
        return {"initialized": self._initialized and term is not None,
                "terminal_connected": bool(term is not None and term.connected),
                "last_error": None if code == 1 else {"code": code, "message": message}}
