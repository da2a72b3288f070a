"""Acting on an account directly in the world: the trader clicking in that account's terminal
(``sim trade``, ``sim autotrade``) and the broker's back office (``sim deposit``).

Trades go through the same checks and execution as ``order_send`` but carry reason
``DEAL_REASON_CLIENT`` / ``ORDER_REASON_CLIENT`` and magic 0, as a manual trade does, so code that
tells its own trades from the trader's (the copier, the guard) sees the difference.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
import time
from pathlib import Path
from typing import Any

from multi_user.mt5sim import constants as c
from multi_user.mt5sim import faults, trading, world
from multi_user.mt5sim.clock import Clock
from multi_user.mt5sim.prices import SYMBOLS


class Refused(ValueError):
    """The request is wrong or the broker refused it; nothing changed."""


def _account(con: sqlite3.Connection, login: int, server: str) -> sqlite3.Row:
    acc = con.execute("SELECT a.*, s.company, s.tz, s.commission, s.so_call, s.so_so FROM accounts a"
                      " JOIN servers s ON s.name = a.server WHERE a.login = ? AND a.server = ?",
                      (login, server)).fetchone()
    if acc is None:
        raise Refused(f"no account {login} on {server!r} in the simulator world")
    return acc


def _market(con: sqlite3.Connection, world_dir: Path, acc: sqlite3.Row) -> tuple[trading.Market, bool]:
    view = faults.FaultView(world_dir)
    frozen = view.disconnected_since(acc["server"])
    market = trading.Market(world.seed_of(con), frozen if frozen is not None else time.time(), view.shocks(),
                            clock=Clock(acc["tz"]))
    return market, frozen is None


def _in_transaction(con: sqlite3.Connection, fn: Any) -> Any:
    con.execute("BEGIN IMMEDIATE")
    try:
        out = fn()
        con.execute("COMMIT")
        return out
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _result(out: trading.Outcome, acc: sqlite3.Row, action: str, **extra: Any) -> dict[str, Any]:
    if out.retcode != c.TRADE_RETCODE_DONE:
        raise Refused(f"the server refused the {action}: {out.retcode} {out.comment}")
    return {"action": action, "login": acc["login"], "server": acc["server"], "retcode": out.retcode,
            "order": out.order, "deal": out.deal, "volume": out.volume, "price": out.price, **extra}


def trade(world_dir: Path, login: int, server: str, symbol: str, side: str, volume: float, *, sl: float = 0.0,
          tp: float = 0.0, pending: float | None = None, comment: str = "") -> dict[str, Any]:
    """A market order (or, with ``pending``, a limit/stop order at that price) placed by the trader."""
    if symbol not in SYMBOLS:
        raise Refused(f"unknown symbol {symbol!r}: the simulator has {', '.join(SYMBOLS)}")
    if side not in ("buy", "sell"):
        raise Refused("side must be buy or sell")
    con = world.connect(world_dir)
    try:
        acc = _account(con, login, server)
        market, connected = _market(con, world_dir, acc)
        otype = c.ORDER_TYPE_BUY if side == "buy" else c.ORDER_TYPE_SELL
        req: dict[str, Any] = {"action": c.TRADE_ACTION_DEAL, "symbol": symbol, "volume": float(volume),
                               "type": otype, "sl": float(sl), "tp": float(tp), "comment": comment,
                               "type_filling": min(trading.fillings(symbol))}  # the terminal picks an allowed one
        if pending is not None:
            _, bid, ask = market.quote(symbol)
            below = pending < (ask if side == "buy" else bid)
            # a buy below the market waits for a dip (limit), above it for a breakout (stop); a sell mirrors it
            kind = {("buy", True): c.ORDER_TYPE_BUY_LIMIT, ("buy", False): c.ORDER_TYPE_BUY_STOP,
                    ("sell", True): c.ORDER_TYPE_SELL_STOP, ("sell", False): c.ORDER_TYPE_SELL_LIMIT}[(side, below)]
            req.update(action=c.TRADE_ACTION_PENDING, type=kind, price=float(pending))

        def run() -> trading.Outcome:
            fresh = _account(con, login, server)
            out, _ = trading.check(con, market, fresh, req, trade_allowed=True, connected=connected)
            return trading.execute(con, market, fresh, req, c.DEAL_REASON_CLIENT) if out.retcode == 0 else out

        out = _in_transaction(con, run)
        return _result(out, acc, "pending" if pending is not None else side, symbol=symbol,
                       position=out.order if pending is None else 0)
    finally:
        con.close()


def close(world_dir: Path, ticket: int, volume: float | None = None) -> dict[str, Any]:
    """Close an open position (all of it, or ``volume``), or cancel a pending order, by ticket."""
    con = world.connect(world_dir)
    try:
        row = con.execute("SELECT login, server, symbol, type, volume FROM positions WHERE ticket = ?",
                          (ticket,)).fetchone()
        order = None if row else con.execute("SELECT login, server, symbol FROM orders WHERE ticket = ?"
                                             " AND history = 0", (ticket,)).fetchone()
        if row is None and order is None:
            raise Refused(f"no open position or pending order {ticket} in the simulator world")
        acc = _account(con, *(row or order)[:2])
        market, connected = _market(con, world_dir, acc)
        if row is not None:
            req = {"action": c.TRADE_ACTION_DEAL, "symbol": row["symbol"], "position": ticket,
                   "type_filling": min(trading.fillings(row["symbol"])),
                   "volume": float(volume or row["volume"]),
                   "type": c.ORDER_TYPE_SELL if row["type"] == c.POSITION_TYPE_BUY else c.ORDER_TYPE_BUY}
        else:
            req = {"action": c.TRADE_ACTION_REMOVE, "order": ticket}

        def run() -> trading.Outcome:
            fresh = _account(con, acc["login"], acc["server"])
            out, _ = trading.check(con, market, fresh, req, trade_allowed=True, connected=connected)
            return trading.execute(con, market, fresh, req, c.DEAL_REASON_CLIENT) if out.retcode == 0 else out

        out = _in_transaction(con, run)
        return _result(out, acc, "close" if row is not None else "cancel", ticket=ticket)
    finally:
        con.close()


def deposit(world_dir: Path, login: int, server: str, amount: float, *, credit: bool = False,
            at: _dt.datetime | None = None) -> dict[str, Any]:
    """A balance (or credit) operation: positive deposits, negative withdraws. ``at`` backdates it (a
    test fixture: the deal lands in the past, the balance changes now). A withdrawal may not exceed
    the free margin (balance) or the credit there is."""
    if not amount or amount != amount:
        raise Refused("the amount must be a non-zero number")
    if at is not None and at.timestamp() > time.time() + 60:
        raise Refused("--at must not be in the future")
    con = world.connect(world_dir)
    try:
        acc = _account(con, login, server)
        market, _ = _market(con, world_dir, acc)

        def run() -> int:
            fresh = _account(con, login, server)
            if amount < 0:
                room = fresh["credit"] if credit else trading.account_values(con, market, fresh)["margin_free"]
                if -amount > min(room, fresh["credit"] if credit else fresh["balance"]) + 1e-9:
                    raise Refused(f"cannot withdraw {-amount:.2f}: only {max(0.0, room):.2f} "
                                  f"{'credit' if credit else 'free margin'} is available")
            when = at.timestamp() if at is not None else market.now
            return world.balance_operation(con, login, server, round(float(amount), 2), int(when * 1000), credit)

        deal = _in_transaction(con, run)
        acc = _account(con, login, server)
        return {"action": "credit" if credit else "deposit" if amount > 0 else "withdrawal", "login": login,
                "server": server, "deal": deal, "amount": round(float(amount), 2), "balance": acc["balance"],
                "credit": acc["credit"]}
    finally:
        con.close()
