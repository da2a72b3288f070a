"""Netting accounts (one position per symbol: volumes add, reduce and reverse) and TRADE_ACTION_CLOSE_BY.

On a netting account (``ACCOUNT_MARGIN_MODE_RETAIL_NETTING``) a deal in the position's direction
adds to it at the volume-weighted price (entry IN); an opposite deal reduces it (entry OUT) or
closes and reverses it (one deal, entry INOUT); the position keeps its ticket throughout.
Close-by (hedging accounts only) closes two opposite positions of one symbol against each other:
both exit deals (entry OUT_BY) are at the opening price of ``position_by``, so the profit is the
difference of the two opening prices.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from multi_user.mt5sim import constants as c
from multi_user.mt5sim import money, world
from multi_user.mt5sim.trading import Market, Outcome, _position, profit_for, reduce_position


def _open_on(con: sqlite3.Connection, acc: sqlite3.Row, symbol: str) -> sqlite3.Row | None:
    return con.execute("SELECT * FROM positions WHERE login = ? AND server = ? AND symbol = ?",
                       (acc["login"], acc["server"], symbol)).fetchone()


def reduces(con: sqlite3.Connection, acc: sqlite3.Row, symbol: str, otype: int) -> bool:
    """Whether a market order of ``otype`` goes against the account's open position on ``symbol``."""
    pos = _open_on(con, acc, symbol)
    return pos is not None and pos["type"] != otype


def deal(con: sqlite3.Connection, market: Market, acc: sqlite3.Row, req: dict[str, Any], price: float,
         now_ms: int, reason: int) -> Outcome:
    symbol, otype, volume = req["symbol"], int(req["type"]), float(req["volume"])
    magic, comment = int(req.get("magic", 0)), str(req.get("comment", ""))[:31]
    login, server = acc["login"], acc["server"]
    commission = money.commission(market, acc, volume)
    pos = _open_on(con, acc, symbol)
    if pos is None:
        order, dl = world.open_position(con, login, server, symbol, otype, volume, price, now_ms, magic=magic,
                                        comment=comment, sl=float(req.get("sl", 0.0)), tp=float(req.get("tp", 0.0)),
                                        reason=reason, commission=commission)
        return Outcome(c.TRADE_RETCODE_DONE, dl, order, volume, price)
    ticket = pos["ticket"]
    order, dl = world.next_ticket(con), world.next_ticket(con)
    world.add_order(con, order, login, server, symbol, otype, volume, price, now_ms, magic, ticket, reason, comment)
    if pos["type"] == otype:  # add: one position at the volume-weighted price
        total = round(pos["volume"] + volume, 8)
        avg = round((pos["price_open"] * pos["volume"] + price * volume) / total, 8)
        world.add_deal(con, dl, login, server, order, now_ms, otype, c.DEAL_ENTRY_IN, magic, ticket, reason, volume,
                       price, symbol, comment, commission=commission)
        con.execute("UPDATE positions SET volume = ?, price_open = ?, time_update_msc = ? WHERE ticket = ?",
                    (total, avg, now_ms, ticket))
        return Outcome(c.TRADE_RETCODE_DONE, dl, order, volume, price)
    closed = min(volume, pos["volume"])
    profit = profit_for(market, pos["type"], symbol, closed, pos["price_open"], price, acc["currency"])
    swap = money.position_swap(market, pos, acc, closed)
    rest = round(volume - closed, 8)
    entry = c.DEAL_ENTRY_INOUT if rest > 1e-9 else c.DEAL_ENTRY_OUT
    world.add_deal(con, dl, login, server, order, now_ms, otype, entry, magic, ticket, reason, volume, price, symbol,
                   comment, profit=profit, swap=swap, commission=commission)
    if rest > 1e-9:  # reversed: the same position, the other way, at this deal's price
        con.execute("UPDATE positions SET type = ?, volume = ?, price_open = ?, swap = 0, sl = 0, tp = 0,"
                    " time_msc = ?, time_update_msc = ? WHERE ticket = ?", (otype, rest, price, now_ms, now_ms,
                                                                           ticket))
    else:
        reduce_position(con, pos, closed, now_ms)
    return Outcome(c.TRADE_RETCODE_DONE, dl, order, volume, price)


def check_close_by(con: sqlite3.Connection, acc: sqlite3.Row, req: dict[str, Any]) -> int:
    """0 when ``position`` can be closed by ``position_by``, else the retcode the server gives."""
    if acc["margin_mode"] != c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING:
        return c.TRADE_RETCODE_INVALID
    a = _position(con, acc, int(req.get("position", 0) or 0))
    b = _position(con, acc, int(req.get("position_by", 0) or 0))
    if a is None or b is None:
        return c.TRADE_RETCODE_POSITION_CLOSED
    if a["ticket"] == b["ticket"] or a["symbol"] != b["symbol"] or a["type"] == b["type"]:
        return c.TRADE_RETCODE_INVALID
    return 0


def close_by(con: sqlite3.Connection, market: Market, acc: sqlite3.Row, req: dict[str, Any], now_ms: int,
             reason: int) -> Outcome:
    a = _position(con, acc, int(req["position"]))
    b = _position(con, acc, int(req["position_by"]))
    assert a is not None and b is not None
    volume = min(a["volume"], b["volume"])
    price = b["price_open"]
    login, server, symbol = acc["login"], acc["server"], a["symbol"]
    magic, comment = int(req.get("magic", 0)), str(req.get("comment", ""))[:31]
    order = world.next_ticket(con)
    world.add_order(con, order, login, server, symbol, c.ORDER_TYPE_CLOSE_BY, volume, price, now_ms, magic,
                    a["ticket"], reason, comment, position_by=b["ticket"])
    first = 0
    for pos in (a, b):
        dl = world.next_ticket(con)
        first = first or dl
        dtype = c.DEAL_TYPE_SELL if pos["type"] == c.POSITION_TYPE_BUY else c.DEAL_TYPE_BUY
        profit = profit_for(market, pos["type"], symbol, volume, pos["price_open"], price, acc["currency"])
        world.add_deal(con, dl, login, server, order, now_ms, dtype, c.DEAL_ENTRY_OUT_BY, magic, pos["ticket"],
                       reason, volume, price, symbol, comment, profit=profit,
                       swap=money.position_swap(market, pos, acc, volume),
                       commission=money.commission(market, acc, volume))
        reduce_position(con, pos, volume, now_ms)
    return Outcome(c.TRADE_RETCODE_DONE, first, order, volume, price)
