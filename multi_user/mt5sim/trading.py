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
from multi_user.mt5sim import money, prices, world
from multi_user.mt5sim.clock import UTC_CLOCK, Clock
from multi_user.mt5sim.errors import RETCODE_COMMENTS
from multi_user.mt5sim.prices import SYMBOLS, Shock

_USD_PAIRS = {"EUR": ("EURUSD", False), "GBP": ("GBPUSD", False), "JPY": ("USDJPY", True),
              "CHF": ("USDCHF", True)}


@dataclass
class Market:
    """Quotes at one instant, as one terminal sees them (frozen while its server is disconnected)."""

    seed: int
    now: float  # UTC epoch seconds; what the API shows is ``clock.to_server`` of it
    shocks: list[Shock] = field(default_factory=list)
    clock: Clock = UTC_CLOCK
    _cache: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def quote(self, symbol: str) -> tuple[float, float, float]:
        q = self._cache.get(symbol)
        if q is None:
            q = self._cache[symbol] = prices.quote(self.seed, symbol, self.now, self.shocks)
        return q

    @property
    def server_now(self) -> float:
        return self.clock.to_server(self.now)

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
        profit += p + money.position_swap(market, pos, acc)
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


position_swap = money.position_swap


def check(con: sqlite3.Connection, market: Market, acc: sqlite3.Row, req: dict[str, Any], *, trade_allowed: bool,
          connected: bool) -> tuple[Outcome, dict[str, float]]:
    """Validate a request as the server would; returns the outcome so far and the account values."""
    values = account_values(con, market, acc)
    if not connected:
        return Outcome(c.TRADE_RETCODE_CONNECTION), values
    if not trade_allowed:
        return Outcome(c.TRADE_RETCODE_TRADE_DISABLED), values
    action = req.get("action")
    if action == c.TRADE_ACTION_CLOSE_BY:
        return Outcome(netting.check_close_by(con, acc, req)), values
    netting_acc = acc["margin_mode"] == c.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
    symbol = req.get("symbol", "")
    if action in (c.TRADE_ACTION_DEAL, c.TRADE_ACTION_PENDING):
        if symbol not in SYMBOLS:
            return Outcome(c.TRADE_RETCODE_INVALID), values
        volume = float(req.get("volume", 0.0))
        if not _volume_ok(symbol, volume):
            return Outcome(c.TRADE_RETCODE_INVALID_VOLUME), values
        if action == c.TRADE_ACTION_DEAL and int(req.get("type_filling", c.ORDER_FILLING_FOK)) not in fillings(symbol):
            return Outcome(c.TRADE_RETCODE_INVALID_FILL), values
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
        if action == c.TRADE_ACTION_DEAL and netting_acc and netting.reduces(con, acc, symbol, otype):
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


def fillings(symbol: str) -> set[int]:
    """The filling policies a market order on ``symbol`` may name: instant and request execution fill or
    kill whatever the request says (the MT5 docs' own example sends RETURN there, and it works); market
    execution what the symbol's flags allow (never RETURN); exchange execution RETURN and the flags'."""
    spec = SYMBOLS[symbol]
    if spec.exemode in (c.SYMBOL_TRADE_EXECUTION_INSTANT, c.SYMBOL_TRADE_EXECUTION_REQUEST):
        return {c.ORDER_FILLING_FOK, c.ORDER_FILLING_IOC, c.ORDER_FILLING_RETURN}
    flagged = {mode for bit, mode in ((1, c.ORDER_FILLING_FOK), (2, c.ORDER_FILLING_IOC)) if spec.filling & bit}
    return flagged | {c.ORDER_FILLING_RETURN} if spec.exemode == c.SYMBOL_TRADE_EXECUTION_EXCHANGE else flagged


def _position(con: sqlite3.Connection, acc: sqlite3.Row, ticket: int) -> sqlite3.Row | None:
    return con.execute("SELECT * FROM positions WHERE ticket = ? AND login = ? AND server = ?",
                       (ticket, acc["login"], acc["server"])).fetchone()


def execute(con: sqlite3.Connection, market: Market, acc: sqlite3.Row, req: dict[str, Any],
            reason: int = c.DEAL_REASON_EXPERT) -> Outcome:
    """Carry out a request that ``check`` accepted; call inside a write transaction. ``reason``: who
    sent it (an expert through the API, or the trader at the terminal: DEAL_REASON_CLIENT)."""
    now_ms = int(market.now * 1000)
    action = req["action"]
    magic, comment = int(req.get("magic", 0)), str(req.get("comment", ""))[:31]
    if action == c.TRADE_ACTION_DEAL:
        symbol, otype, volume = req["symbol"], int(req["type"]), float(req["volume"])
        _, bid, ask = market.quote(symbol)
        price = ask if otype == c.ORDER_TYPE_BUY else bid
        if req.get("position"):
            return close_position(con, market, acc, int(req["position"]), volume, price, now_ms, magic, comment,
                                  reason)
        if acc["margin_mode"] == c.ACCOUNT_MARGIN_MODE_RETAIL_NETTING:
            return netting.deal(con, market, acc, req, price, now_ms, reason)
        order, deal = world.open_position(con, acc["login"], acc["server"], symbol, otype, volume, price, now_ms,
                                          magic=magic, comment=comment, sl=float(req.get("sl", 0.0)),
                                          tp=float(req.get("tp", 0.0)), reason=reason,
                                          commission=money.commission(market, acc, volume))
        return Outcome(c.TRADE_RETCODE_DONE, deal, order, volume, price)
    if action == c.TRADE_ACTION_CLOSE_BY:
        return netting.close_by(con, market, acc, req, now_ms, reason)
    if action == c.TRADE_ACTION_PENDING:
        order = world.next_ticket(con)
        con.execute("INSERT INTO orders (ticket, login, server, symbol, type, state, volume_initial, volume_current,"
                    " price_open, sl, tp, time_setup_msc, time_done_msc, type_time, type_filling, magic, reason,"
                    " comment, history) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,0)",
                    (order, acc["login"], acc["server"], req["symbol"], int(req["type"]), c.ORDER_STATE_PLACED,
                     float(req["volume"]), float(req["volume"]), float(req["price"]), float(req.get("sl", 0.0)),
                     float(req.get("tp", 0.0)), now_ms, int(req.get("type_time", 0)),
                     int(req.get("type_filling", 0)), magic, reason, comment))
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
    """Close ``volume`` of a position at ``price``: the exit deal books profit, the swap accrued by that
    volume and the commission."""
    pos = _position(con, acc, ticket)
    assert pos is not None
    ctype = c.ORDER_TYPE_SELL if pos["type"] == c.POSITION_TYPE_BUY else c.ORDER_TYPE_BUY
    profit = profit_for(market, pos["type"], pos["symbol"], volume, pos["price_open"], price, acc["currency"])
    swap = money.position_swap(market, pos, acc, volume)
    order, deal = world.next_ticket(con), world.next_ticket(con)
    world.add_order(con, order, acc["login"], acc["server"], pos["symbol"], ctype, volume, price, now_ms, magic,
                    ticket, reason, comment)
    world.add_deal(con, deal, acc["login"], acc["server"], order, now_ms, ctype, c.DEAL_ENTRY_OUT, magic, ticket,
                   reason, volume, price, pos["symbol"], comment, profit=profit, swap=swap,
                   commission=money.commission(market, acc, volume))
    reduce_position(con, pos, volume, now_ms)
    return Outcome(c.TRADE_RETCODE_DONE, deal, order, volume, price)


def reduce_position(con: sqlite3.Connection, pos: sqlite3.Row, volume: float, now_ms: int) -> None:
    """Take ``volume`` off a position (deleting it when nothing is left); its stored swap shrinks in
    proportion, since that part was booked on the exit deal."""
    if volume >= pos["volume"] - 1e-9:
        con.execute("DELETE FROM positions WHERE ticket = ?", (pos["ticket"],))
        return
    left = round(pos["volume"] - volume, 8)
    con.execute("UPDATE positions SET volume = ?, swap = ?, time_update_msc = ? WHERE ticket = ?",
                (left, round(pos["swap"] * left / pos["volume"], 2), now_ms, pos["ticket"]))


from multi_user.mt5sim import netting  # noqa: E402  (netting builds on the functions above)
