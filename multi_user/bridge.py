"""UserMT5Bridge: one MetaTrader5 module (real or simulated), switched between accounts safely.

- login on an initialized terminal; shutdown + initialize only when the terminal path changes;
- never log in again when the terminal already shows the asked account (brokers flag login storms);
- after every switch, verify identity: account_info().login/server and terminal_info().path;
- last_error() codes become typed errors with plain messages; a password never appears in one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from multi_user.errors import AuthorizationError, IdentityMismatch, TerminalError

RES_E_AUTH_FAILED = -6
RES_E_INTERNAL_FAIL_INIT = -10003
RES_E_INTERNAL_FAIL_CONNECT = -10004
RES_E_INTERNAL_FAIL_TIMEOUT = -10005


@dataclass(frozen=True)
class Identity:
    login: int
    server: str
    terminal_path: str | None
    relogged: bool


def _norm(path: str | os.PathLike[str] | None) -> str | None:
    if not path:
        return None
    p = Path(path)
    if p.suffix.lower() == ".exe":
        p = p.parent
    text = os.path.normpath(str(p.expanduser().resolve()))
    return text.lower() if os.name == "nt" or "\\" in text else text


class UserMT5Bridge:
    def __init__(self, mt5: ModuleType, terminal_path: str | None = None, *, portable: bool = False,
                 timeout_ms: int = 60000) -> None:
        self.mt5 = mt5
        self.terminal_path = str(terminal_path) if terminal_path else None
        self.portable = portable
        self.timeout_ms = timeout_ms
        self._initialized = False

    # ---- errors -----------------------------------------------------------------------------
    def _error(self, context: str, login: int | None = None, server: str | None = None) -> TerminalError:
        try:
            code, message = self.mt5.last_error()
        except Exception:
            code, message = None, "unknown error"
        if code == RES_E_AUTH_FAILED:
            who = f"login {login} on {server}" if login is not None else "the account"
            return AuthorizationError(f"Authorization failed: the broker rejected {who} — check the password "
                                      f"and the server name ({message})", code)
        where = f" ({self.terminal_path})" if self.terminal_path else ""
        if code == RES_E_INTERNAL_FAIL_INIT:
            return TerminalError(f"{context}: the MetaTrader 5 terminal{where} could not be found or started "
                                 f"({message})", code)
        if code == RES_E_INTERNAL_FAIL_CONNECT:
            return TerminalError(f"{context}: no connection to the terminal{where}; it is not running or has "
                                 f"stopped ({message})", code)
        if code == RES_E_INTERNAL_FAIL_TIMEOUT:
            return TerminalError(f"{context}: the terminal{where} did not answer in time ({message})", code)
        return TerminalError(f"{context}: {message} (MT5 error {code})", code)

    # ---- connection ---------------------------------------------------------------------------
    def connect(self) -> None:
        """Attach to the terminal (starting it if needed), without logging in."""
        if self._initialized:
            return
        kwargs: dict[str, Any] = {"timeout": self.timeout_ms}
        if self.terminal_path:
            kwargs["path"] = self.terminal_path
            if self.portable:
                kwargs["portable"] = True
        if not self.mt5.initialize(**kwargs):
            raise self._error("Could not connect to MetaTrader 5")
        self._initialized = True

    def shutdown(self) -> None:
        if self._initialized:
            self.mt5.shutdown()
            self._initialized = False

    def switch(self, login: int, password: str, server: str, *, terminal_path: str | None = None,
               check_password: bool = False) -> Identity:
        if terminal_path and _norm(terminal_path) != _norm(self.terminal_path):
            self.shutdown()
            self.terminal_path = str(terminal_path)
        self.connect()
        current = self.current()
        if (not check_password and current is not None and current.login == login and current.server == server
                and self._broker_connected()):
            return self.verify(login, server)  # already there: no second login
        if not self.mt5.login(login, password=password, server=server, timeout=self.timeout_ms):
            err = self._error(f"Could not log in to {login} on {server}", login, server)
            if err.code in (RES_E_INTERNAL_FAIL_CONNECT, RES_E_INTERNAL_FAIL_TIMEOUT):
                self._initialized = False  # the terminal is gone: attach afresh next time
            raise err
        ident = self.verify(login, server)
        return Identity(ident.login, ident.server, ident.terminal_path, True)

    def _broker_connected(self) -> bool:
        info = self.mt5.terminal_info()
        return bool(info is not None and info.connected)

    def current(self) -> Identity | None:
        info = self.mt5.account_info()
        if info is None or not info.login:
            return None
        term = self.mt5.terminal_info()
        return Identity(int(info.login), str(info.server), getattr(term, "path", None), False)

    def verify(self, login: int, server: str) -> Identity:
        info = self.mt5.account_info()
        if info is None:
            raise self._error(f"Could not read account {login} on {server}")
        term = self.mt5.terminal_info()
        if term is None:
            raise self._error("Could not read the terminal's information")
        if int(info.login) != login or str(info.server) != server:
            raise IdentityMismatch(f"The terminal shows login {info.login} on {info.server}, not {login} on "
                                   f"{server}: another program switched it", None)
        if self.terminal_path and _norm(term.path) != _norm(self.terminal_path):
            raise IdentityMismatch(f"Connected to the terminal in {term.path}, not the one in "
                                   f"{_norm(self.terminal_path)}", None)
        return Identity(login, server, term.path, False)

    # ---- account data ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        info = self.mt5.account_info()
        if info is None:
            raise self._error("Could not read the account")
        term = self.mt5.terminal_info()
        positions = self.mt5.positions_get()
        if positions is None:
            raise self._error("Could not read the positions")
        return {"login": int(info.login), "server": str(info.server), "currency": info.currency,
                "balance": float(info.balance), "equity": float(info.equity), "margin": float(info.margin),
                "free_margin": float(info.margin_free), "margin_level": float(info.margin_level),
                "profit": float(info.profit), "positions": len(positions), "leverage": int(info.leverage),
                "trade_allowed": bool(info.trade_allowed),
                "terminal_connected": bool(term is not None and term.connected)}

    def positions(self) -> list[dict[str, Any]]:
        positions = self.mt5.positions_get()
        if positions is None:
            raise self._error("Could not read the positions")
        return [p._asdict() for p in positions]

    def _filling(self, symbol: str) -> int:
        info = self.mt5.symbol_info(symbol)
        mode = getattr(info, "filling_mode", 0) if info is not None else 0
        if mode & 1:  # SYMBOL_FILLING_FOK
            return self.mt5.ORDER_FILLING_FOK
        if mode & 2:  # SYMBOL_FILLING_IOC
            return self.mt5.ORDER_FILLING_IOC
        return self.mt5.ORDER_FILLING_RETURN

    def close_all_positions(self, comment: str = "MT5 Desk close all") -> dict[str, Any]:
        mt5 = self.mt5
        closed, failed, messages, retcodes = 0, 0, [], []
        for p in self.mt5.positions_get() or ():
            tick = mt5.symbol_info_tick(p.symbol)
            if tick is None:
                failed += 1
                messages.append(f"{p.symbol} #{p.ticket}: no price")
                continue
            buy = p.type == mt5.POSITION_TYPE_BUY
            request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": p.symbol, "volume": p.volume,
                       "type": mt5.ORDER_TYPE_SELL if buy else mt5.ORDER_TYPE_BUY, "position": p.ticket,
                       "price": tick.bid if buy else tick.ask, "deviation": 20, "magic": p.magic,
                       "comment": comment, "type_time": mt5.ORDER_TIME_GTC, "type_filling": self._filling(p.symbol)}
            result = mt5.order_send(request)
            if result is not None:
                retcodes.append(int(result.retcode))
            if result is not None and result.retcode == mt5.TRADE_RETCODE_DONE:
                closed += 1
            else:
                failed += 1
                why = result.comment if result is not None else str(mt5.last_error())
                code = result.retcode if result is not None else None
                messages.append(f"{p.symbol} #{p.ticket}: {why} ({code})")
        return {"closed": closed, "failed": failed, "messages": messages, "retcodes": retcodes}

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
