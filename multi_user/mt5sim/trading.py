"""Money: quotes at an instant, currency conversion, margin, profit, account values, order execution.

Formulas follow MT5's for the calculation modes the simulator's symbols use: FOREX (margin = lots ×
contract / leverage in the margin currency) and CFDLEVERAGE (lots × contract × price / leverage).
A hedging account: every market order opens its own position unless it names one to close.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from multi_user.mt5sim import constants as c
from multi_user.mt5sim import prices, world
from multi_user.mt5sim.errors import RETCODE_COMMENTS
from multi_user.mt5sim.prices import SYMBOLS, Shock

_USD_PAIRS = {"EUR": ("EURUSD", False), "GBP": ("GBPUSD", False), "JPY": ("USDJPY", True),
              "CHF": ("USDCHF", True)}


@dataclass
class Market:
    """Quotes at one instant, as one terminal sees them (frozen while its server is disconnected)."""

    seed: int
    now: float
    shocks: list[Shock] = field(default_factory=list)
    _cache: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def quote(self, symbol: str) -> tuple[float, float, float]:
        q = self._cache.get(symbol)
        if q is None:
            q = self._cache[symbol] = prices.quote(self.seed, symbol, self.now, self.shocks)
        return q

    def mid(self, symbol: str) -> float:
        _, bid, ask = self.quote(symbol)
        return (bid + ask) / 2

    def usd_per(self, currency: str) -> float:
        if currency == "USD":
            return 1.0
        if currency == "XAU":
            return self.mid("XAUUSD")
        pair, inverted = _USD_PAIRS[currency]
        rate = self.mid(pair)
        return 1.0 / rate if inverted else rate

    def convert(self, amount: float, frm: str, to: str) -> float:
        if frm == to:
            return amount
        return amount * self.usd_per(frm) / self.usd_per(to)


def margin_for(market: Market, order_type: int, symbol: str, volume: float, price: float, leverage: int,
               currency: str) -> float:
    spec = SYMBOLS[symbol]
    if spec.calc_mode == c.SYMBOL_CALC_MODE_FOREX:
        amount = volume * spec.contract_size / leverage
    else:
        amount = volume * spec.contract_size * price / leverage
    return round(market.convert(amount, spec.currency_margin, currency), 2)


def profit_for(market: Market, order_type: int, symbol: str, volume: float, price_open: float,
               price_close: float, currency: str) -> float:
    spec = SYMBOLS[symbol]
    sign = 1.0 if order_type in (c.ORDER_TYPE_BUY, c.POSITION_TYPE_BUY) else -1.0
    amount = sign * (price_close - price_open) * spec.contract_size * volume
    return round(market.convert(amount, spec.currency_profit, currency), 2)


def close_price(market: Market, ptype: int, symbol: str) -> float:
    _, bid, ask = market.quote(symbol)
    return bid if ptype == c.POSITION_TYPE_BUY else ask


def position_values(market: Market, pos: sqlite3.Row, acc: sqlite3.Row) -> tuple[float, float, float]:
    """(current price, profit, margin) of an open position in the account's currency."""
    current = close_price(market, pos["type"], pos["symbol"])
    profit = profit_for(market, pos["type"], pos["symbol"], pos["volume"], pos["price_open"], current,
                        acc["currency"])
    margin = margin_for(market, pos["type"], pos["symbol"], pos["volume"], pos["price_open"], acc["leverage"],
                        acc["currency"])
    return current, profit, margin


def account_values(con: sqlite3.Connection, market: Market, acc: sqlite3.Row) -> dict[str, float]:
    profit = margin = 0.0
    for pos in con.execute("SELECT * FROM positions WHERE login = ? AND server = ?", (acc["login"], acc["server"])):
        _, p, m = position_values(market, pos, acc)
        profit += p + pos["swap"]
        margin += m
    equity = acc["balance"] + acc["credit"] + profit
    return {"balance": round(acc["balance"], 2), "credit": acc["credit"], "profit": round(profit, 2),
            "equity": round(equity, 2), "margin": round(margin, 2), "margin_free": round(equity - margin, 2),
            "margin_level": round(equity / margin * 100, 2) if margin else 0.0}


def _volume_ok(symbol: str, volume: float) -> bool:
    spec = SYMBOLS[symbol]
    steps = (volume - spec.volume_min) / spec.volume_step
    return spec.volume_min - 1e-9 <= volume <= spec.volume_max + 1e-9 and abs(steps - round(steps)) < 1e-6


@dataclass
class Outcome:
    retcode: int
    deal: int = 0
    order: int = 0
    volume: float = 0.0
    price: float = 0.0
    margin_after: float | None = None

    @property
    def comment(self) -> str:
        return RETCODE_COMMENTS.get(self.retcode, "")


def check(con: sqlite3.Connection, market: Market, acc: sqlite3.Row, req: dict[str, Any], *, trade_allowed: bool,
          connected: bool) -> tuple[Outcome, dict[str, float]]:
    """Validate a request as the server would; returns the outcome so far and the account values."""
    values = account_values(con, market, acc)
    if not connected:
        return Outcome(c.TRADE_RETCODE_CONNECTION), values
    if not trade_allowed:
        return Outcome(c.TRADE_RETCODE_TRADE_DISABLED), values
    action = req.get("action")
    symbol = req.get("symbol", "")
    if action in (c.TRADE_ACTION_DEAL, c.TRADE_ACTION_PENDING):
        if symbol not in SYMBOLS:
            return Outcome(c.TRADE_RETCODE_INVALID), values
        volume = float(req.get("volume", 0.0))
        if not _volume_ok(symbol, volume):
            return Outcome(c.TRADE_RETCODE_INVALID_VOLUME), values
        otype = req.get("type")
        allowed = (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL) if action == c.TRADE_ACTION_DEAL else (
            c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_SELL_LIMIT, c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_SELL_STOP)
        if otype not in allowed:
            return Outcome(c.TRADE_RETCODE_INVALID), values
        if action == c.TRADE_ACTION_PENDING and float(req.get("price", 0.0)) <= 0:
            return Outcome(c.TRADE_RETCODE_INVALID_PRICE), values
        if action == c.TRADE_ACTION_DEAL and req.get("position"):
            pos = _position(con, acc, int(req["position"]))
            if pos is None:
                return Outcome(c.TRADE_RETCODE_POSITION_CLOSED), values
            if pos["symbol"] != symbol or otype == pos["type"] or volume > pos["volume"] + 1e-9:
                return Outcome(c.TRADE_RETCODE_INVALID), values
            return Outcome(0, margin_after=values["margin"]), values
        _, bid, ask = market.quote(symbol)
        price = ask if otype in (c.ORDER_TYPE_BUY, c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_BUY_STOP) else bid
        if action == c.TRADE_ACTION_PENDING:
            price = float(req["price"])
        need = margin_for(market, otype, symbol, volume, price, acc["leverage"], acc["currency"])
        if need > values["margin_free"]:
            return Outcome(c.TRADE_RETCODE_NO_MONEY), values
        return Outcome(0, margin_after=values["margin"] + need), values
    if action == c.TRADE_ACTION_SLTP:
        ok = _position(con, acc, int(req.get("position", 0))) is not None
        return Outcome(0 if ok else c.TRADE_RETCODE_POSITION_CLOSED), values
    if action in (c.TRADE_ACTION_REMOVE, c.TRADE_ACTION_MODIFY):
        row = con.execute("SELECT 1 FROM orders WHERE ticket = ? AND login = ? AND server = ? AND history = 0",
                          (int(req.get("order", 0)), acc["login"], acc["server"])).fetchone()
        return Outcome(0 if row else c.TRADE_RETCODE_INVALID_ORDER), values
    return Outcome(c.TRADE_RETCODE_INVALID), values


def _position(con: sqlite3.Connection, acc: sqlite3.Row, ticket: int) -> sqlite3.Row | None:
    return con.execute("SELECT * FROM positions WHERE ticket = ? AND login = ? AND server = ?",
                       (ticket, acc["login"], acc["server"])).fetchone()


def execute(con: sqlite3.Connection, market: Market, acc: sqlite3.Row, req: dict[str, Any]) -> Outcome:
    """Carry out a request that ``check`` accepted; call inside a write transaction."""
    now_ms = int(market.now * 1000)
    action = req["action"]
    magic, comment = int(req.get("magic", 0)), str(req.get("comment", ""))[:31]
    if action == c.TRADE_ACTION_DEAL:
        symbol, otype, volume = req["symbol"], int(req["type"]), float(req["volume"])
        _, bid, ask = market.quote(symbol)
        price = ask if otype == c.ORDER_TYPE_BUY else bid
        if req.get("position"):
            return close_position(con, market, acc, int(req["position"]), volume, price, now_ms, magic, comment,
                                  c.DEAL_REASON_EXPERT)
        order, deal = world.open_position(con, acc["login"], acc["server"], symbol, otype, volume, price, now_ms,
                                          magic=magic, comment=comment, sl=float(req.get("sl", 0.0)),
                                          tp=float(req.get("tp", 0.0)))
        return Outcome(c.TRADE_RETCODE_DONE, deal, order, volume, price)
    if action == c.TRADE_ACTION_PENDING:
        order = world.next_ticket(con)
        con.execute("INSERT INTO orders (ticket, login, server, symbol, type, state, volume_initial, volume_current,"
                    " price_open, sl, tp, time_setup_msc, time_done_msc, type_time, type_filling, magic, reason,"
                    " comment, history) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,0)",
                    (order, acc["login"], acc["server"], req["symbol"], int(req["type"]), c.ORDER_STATE_PLACED,
                     float(req["volume"]), float(req["volume"]), float(req["price"]), float(req.get("sl", 0.0)),
                     float(req.get("tp", 0.0)), now_ms, int(req.get("type_time", 0)),
                     int(req.get("type_filling", 0)), magic, c.ORDER_REASON_EXPERT, comment))
        return Outcome(c.TRADE_RETCODE_DONE, 0, order, float(req["volume"]), float(req["price"]))
    if action == c.TRADE_ACTION_SLTP:
        con.execute("UPDATE positions SET sl = ?, tp = ?, time_update_msc = ? WHERE ticket = ?",
                    (float(req.get("sl", 0.0)), float(req.get("tp", 0.0)), now_ms, int(req["position"])))
        return Outcome(c.TRADE_RETCODE_DONE)
    if action == c.TRADE_ACTION_MODIFY:
        con.execute("UPDATE orders SET price_open = ?, sl = ?, tp = ? WHERE ticket = ?",
                    (float(req.get("price", 0.0)), float(req.get("sl", 0.0)), float(req.get("tp", 0.0)),
                     int(req["order"])))
        return Outcome(c.TRADE_RETCODE_DONE, order=int(req["order"]))
    con.execute("UPDATE orders SET history = 1, state = ?, time_done_msc = ? WHERE ticket = ?",
                (c.ORDER_STATE_CANCELED, now_ms, int(req["order"])))
    return Outcome(c.TRADE_RETCODE_DONE, order=int(req["order"]))


def close_position(con: sqlite3.Connection, market: Market, acc: sqlite3.Row, ticket: int, volume: float,
                   price: float, now_ms: int, magic: int, comment: str, reason: int) -> Outcome:
    pos = _position(con, acc, ticket)
    assert pos is not None
    ctype = c.ORDER_TYPE_SELL if pos["type"] == c.POSITION_TYPE_BUY else c.ORDER_TYPE_BUY
    profit = profit_for(market, pos["type"], pos["symbol"], volume, pos["price_open"], price, acc["currency"])
    order, deal = world.next_ticket(con), world.next_ticket(con)
    con.execute("INSERT INTO orders (ticket, login, server, symbol, type, state, volume_initial, volume_current,"
                " price_open, time_setup_msc, time_done_msc, type_filling, magic, position_id, reason, comment,"
                " history) VALUES (?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?,1)",
                (order, acc["login"], acc["server"], pos["symbol"], ctype, c.ORDER_STATE_FILLED, volume, price,
                 now_ms, now_ms, c.ORDER_FILLING_FOK, magic, ticket, reason, comment))
    con.execute("INSERT INTO deals (ticket, login, server, order_ticket, time_msc, type, entry, magic, position_id,"
                " reason, volume, price, profit, symbol, comment) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (deal, acc["login"], acc["server"], order, now_ms, ctype, c.DEAL_ENTRY_OUT, magic, ticket, reason,
                 volume, price, profit, pos["symbol"], comment))
    con.execute("UPDATE accounts SET balance = balance + ? WHERE login = ? AND server = ?",
                (profit, acc["login"], acc["server"]))
    if volume >= pos["volume"] - 1e-9:
        con.execute("DELETE FROM positions WHERE ticket = ?", (ticket,))
    else:
        con.execute("UPDATE positions SET volume = ?, time_update_msc = ? WHERE ticket = ?",
                    (round(pos["volume"] - volume, 8), now_ms, ticket))
    return Outcome(c.TRADE_RETCODE_DONE, deal, order, volume, price)


def settle(con: sqlite3.Connection, market: Market, acc: sqlite3.Row) -> None:
    """Fire stop loss / take profit and pending orders the current quotes have reached."""
    key = (acc["login"], acc["server"])
    hits = []
    for pos in con.execute("SELECT * FROM positions WHERE login = ? AND server = ? AND (sl > 0 OR tp > 0)", key):
        price = close_price(market, pos["type"], pos["symbol"])
        buy = pos["type"] == c.POSITION_TYPE_BUY
        if pos["sl"] and (price <= pos["sl"] if buy else price >= pos["sl"]):
            hits.append(("pos", pos["ticket"], pos["volume"], price, c.DEAL_REASON_SL))
        elif pos["tp"] and (price >= pos["tp"] if buy else price <= pos["tp"]):
            hits.append(("pos", pos["ticket"], pos["volume"], price, c.DEAL_REASON_TP))
    for o in con.execute("SELECT * FROM orders WHERE login = ? AND server = ? AND history = 0", key):
        _, bid, ask = market.quote(o["symbol"])
        t, p = o["type"], o["price_open"]
        if ((t == c.ORDER_TYPE_BUY_LIMIT and ask <= p) or (t == c.ORDER_TYPE_SELL_LIMIT and bid >= p)
                or (t == c.ORDER_TYPE_BUY_STOP and ask >= p) or (t == c.ORDER_TYPE_SELL_STOP and bid <= p)):
            hits.append(("order", o["ticket"], o["volume_current"], ask if t % 2 == 0 else bid, 0))
    if not hits:
        return
    now_ms = int(market.now * 1000)
    con.execute("BEGIN IMMEDIATE")
    try:
        for kind, ticket, volume, price, reason in hits:
            if kind == "pos":
                if _position(con, acc, ticket) is not None:
                    close_position(con, market, acc, ticket, volume, price, now_ms, 0, "", reason)
                continue
            o = con.execute("SELECT * FROM orders WHERE ticket = ? AND history = 0", (ticket,)).fetchone()
            if o is None:
                continue
            ptype = c.POSITION_TYPE_BUY if o["type"] % 2 == 0 else c.POSITION_TYPE_SELL
            con.execute("UPDATE orders SET history = 1, state = ?, volume_current = 0, time_done_msc = ?,"
                        " position_id = ticket WHERE ticket = ?", (c.ORDER_STATE_FILLED, now_ms, ticket))
            deal = world.next_ticket(con)
            con.execute("INSERT INTO deals (ticket, login, server, order_ticket, time_msc, type, entry, magic,"
                        " position_id, reason, volume, price, symbol, comment) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (deal, o["login"], o["server"], ticket, now_ms, ptype, c.DEAL_ENTRY_IN, o["magic"], ticket,
                         o["reason"], volume, price, o["symbol"], o["comment"]))
            con.execute("INSERT INTO positions (ticket, login, server, symbol, type, volume, price_open, sl, tp,"
                        " time_msc, time_update_msc, magic, reason, comment) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (ticket, o["login"], o["server"], o["symbol"], ptype, volume, price, o["sl"], o["tp"],
                         now_ms, now_ms, o["magic"], o["reason"], o["comment"]))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
