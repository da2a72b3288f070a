"""Trading calls of a simulated terminal: positions, orders, history, margin/profit, order_check/send."""

from __future__ import annotations

import sqlite3
from typing import Any

from multi_user.mt5sim import constants as c
from multi_user.mt5sim import errors as e
from multi_user.mt5sim import faults, market_data, settle, structures, trading
from multi_user.mt5sim.clock import Clock
from multi_user.mt5sim.session import OK, Answer, Terminal

REQUEST_DEFAULTS: dict[str, Any] = {f: 0 for f in structures.FIELDS["TradeRequest"]}
REQUEST_DEFAULTS.update({"symbol": "", "comment": "", "volume": 0.0, "price": 0.0, "stoplimit": 0.0, "sl": 0.0,
                         "tp": 0.0})


# The world keeps UTC; what a terminal shows is its server's wall time (see clock.py)
def _position(row: sqlite3.Row, current: float, profit: float, swap: float, clock: Clock) -> tuple:
    v = dict(row)
    t, tu = clock.ms_to_server(row["time_msc"]), clock.ms_to_server(row["time_update_msc"])
    v.update(time=t // 1000, time_msc=t, time_update=tu // 1000, time_update_msc=tu, identifier=row["ticket"],
             price_current=current, profit=profit, swap=swap)
    return structures.make("TradePosition", v)


def _order(row: sqlite3.Row, current: float, clock: Clock) -> tuple:
    v = dict(row)
    ts = clock.ms_to_server(row["time_setup_msc"])
    td = clock.ms_to_server(row["time_done_msc"]) if row["time_done_msc"] else 0
    v.update(time_setup=ts // 1000, time_setup_msc=ts, time_done=td // 1000, time_done_msc=td,
             price_current=current)
    return structures.make("TradeOrder", v)


def _deal(row: sqlite3.Row, clock: Clock) -> tuple:
    v = dict(row)
    t = clock.ms_to_server(row["time_msc"])
    v.update(order=row["order_ticket"], time=t // 1000, time_msc=t)
    return structures.make("TradeDeal", v)


class TradingTerminal(Terminal):
    def _filter(self, rows: list[sqlite3.Row], symbol: str | None, group: str | None) -> list[sqlite3.Row]:
        if symbol is not None:
            rows = [r for r in rows if r["symbol"] == symbol]
        if group is not None:
            rows = [r for r in rows if market_data.group_match(group, r["symbol"])]
        return rows

    def positions_get(self, symbol: str | None = None, group: str | None = None,
                      ticket: int | None = None) -> Answer:
        acc = self.account()
        if acc is None:
            return None, e.CALL_FAILED
        market = self.market()
        if self.connected():
            settle.settle(self.db, market, acc)
        sql, args = "SELECT * FROM positions WHERE login = ? AND server = ?", [acc["login"], acc["server"]]
        if ticket is not None:
            sql, args = sql + " AND ticket = ?", [*args, ticket]
        rows = self._filter(self.db.execute(sql + " ORDER BY time_msc, ticket", args).fetchall(), symbol, group)
        out = []
        for r in rows:
            current, profit, _ = trading.position_values(market, r, acc)
            out.append(_position(r, current, profit, trading.position_swap(market, r, acc), market.clock))
        return tuple(out), OK

    def positions_total(self) -> Answer:
        res, err = self.positions_get()
        return (None, err) if res is None else (len(res), OK)

    def orders_get(self, symbol: str | None = None, group: str | None = None, ticket: int | None = None) -> Answer:
        acc = self.account()
        if acc is None:
            return None, e.CALL_FAILED
        market = self.market()
        if self.connected():
            settle.settle(self.db, market, acc)
        sql = "SELECT * FROM orders WHERE login = ? AND server = ? AND history = 0"
        args: list[Any] = [acc["login"], acc["server"]]
        if ticket is not None:
            sql, args = sql + " AND ticket = ?", [*args, ticket]
        rows = self._filter(self.db.execute(sql + " ORDER BY ticket", args).fetchall(), symbol, group)
        return tuple(_order(r, trading.close_price(market, 1 - r["type"] % 2, r["symbol"]), market.clock)
                     for r in rows), OK

    def orders_total(self) -> Answer:
        res, err = self.orders_get()
        return (None, err) if res is None else (len(res), OK)

    def _history(self, table: str, date_from: float | None, date_to: float | None, group: str | None,
                 ticket: int | None, position: int | None) -> list[sqlite3.Row] | None:
        acc = self.account()
        if acc is None:
            return None
        tcol = "time_msc" if table == "deals" else "time_setup_msc"
        sql = f"SELECT * FROM {table} WHERE login = ? AND server = ?"
        args: list[Any] = [acc["login"], acc["server"]]
        if table == "orders":
            sql += " AND history = 1"
        if ticket is not None:
            sql, args = sql + " AND ticket = ?", [*args, ticket]
        elif position is not None:
            sql, args = sql + " AND position_id = ?", [*args, position]
        else:  # the range is in the server's wall time
            clock = self.clock()
            sql += f" AND {tcol} >= ? AND {tcol} <= ?"
            args += [int(clock.to_utc(date_from or 0) * 1000), int(clock.to_utc(date_to or 0) * 1000) + 999]
        rows = self.db.execute(sql + f" ORDER BY {tcol}, ticket", args).fetchall()
        if group is not None:
            rows = [r for r in rows if market_data.group_match(group, r["symbol"])]
        return rows

    def history_deals_get(self, date_from: float | None = None, date_to: float | None = None,
                          group: str | None = None, ticket: int | None = None,
                          position: int | None = None) -> Answer:
        rows = self._history("deals", date_from, date_to, group, ticket, position)
        clock = self.clock()
        return (None, e.CALL_FAILED) if rows is None else (tuple(_deal(r, clock) for r in rows), OK)

    def history_orders_get(self, date_from: float | None = None, date_to: float | None = None,
                           group: str | None = None, ticket: int | None = None,
                           position: int | None = None) -> Answer:
        rows = self._history("orders", date_from, date_to, group, ticket, position)
        clock = self.clock()
        return (None, e.CALL_FAILED) if rows is None else (tuple(_order(r, r["price_open"], clock) for r in rows),
                                                            OK)

    def history_deals_total(self, date_from: float, date_to: float) -> Answer:
        rows = self._history("deals", date_from, date_to, None, None, None)
        return (None, e.CALL_FAILED) if rows is None else (len(rows), OK)

    def history_orders_total(self, date_from: float, date_to: float) -> Answer:
        rows = self._history("orders", date_from, date_to, None, None, None)
        return (None, e.CALL_FAILED) if rows is None else (len(rows), OK)

    # -- money ---------------------------------------------------------------------------------------------
    def order_calc_margin(self, action: int, symbol: str, volume: float, price: float) -> Answer:
        acc = self.account()
        if acc is None or market_data.known(symbol) is None or action not in range(0, 8):
            return None, e.CALL_FAILED if acc is None else e.INVALID_PARAMS
        return trading.margin_for(self.market(), action, symbol, volume, price, acc["leverage"],
                                  acc["currency"]), OK

    def order_calc_profit(self, action: int, symbol: str, volume: float, price_open: float,
                          price_close: float) -> Answer:
        acc = self.account()
        if acc is None or market_data.known(symbol) is None or action not in (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL):
            return None, e.CALL_FAILED if acc is None else e.INVALID_PARAMS
        return trading.profit_for(self.market(), action, symbol, volume, price_open, price_close,
                                  acc["currency"]), OK

    def _request(self, req: dict[str, Any]) -> tuple:
        return structures.make("TradeRequest", {**REQUEST_DEFAULTS, **req})

    def order_check(self, request: dict[str, Any]) -> Answer:
        acc = self.account()
        if acc is None:
            return None, e.CALL_FAILED
        market = self.market()
        out, vals = trading.check(self.db, market, acc, request, trade_allowed=not self.investor,
                                  connected=self.connected())
        margin = out.margin_after if out.margin_after is not None else vals["margin"]
        res = {"retcode": out.retcode, "balance": vals["balance"], "equity": vals["equity"],
               "profit": vals["profit"], "margin": round(margin, 2), "margin_free": round(vals["equity"] - margin, 2),
               "margin_level": round(vals["equity"] / margin * 100, 2) if margin else 0.0,
               "comment": out.comment, "request": self._request(request)}
        return structures.make("OrderCheckResult", res), OK

    def order_send(self, request: dict[str, Any]) -> Answer:
        acc = self.account()
        if acc is None:
            return None, e.CALL_FAILED
        with self._lock:
            market = self.market()
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                acc = self.account()
                if self.faults.algo_off(self.folder):  # the terminal refuses before asking the server
                    out = trading.Outcome(c.TRADE_RETCODE_CLIENT_DISABLES_AT)
                elif (refused := self._broker_refuses(db, acc, request)) is not None:
                    out = trading.Outcome(refused)
                else:
                    out, _ = trading.check(db, market, acc, request, trade_allowed=not self.investor,
                                           connected=self.connected())
                if out.retcode == 0:
                    out = trading.execute(db, market, acc, request)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        _, bid, ask = market.quote(request["symbol"]) if market_data.known(request.get("symbol")) else (0, 0.0, 0.0)
        res = {"retcode": out.retcode, "deal": out.deal, "order": out.order, "volume": out.volume,
               "price": out.price, "bid": bid, "ask": ask, "comment": out.comment,
               "request_id": self._next_request_id(), "retcode_external": 0, "request": self._request(request)}
        return structures.make("OrderSendResult", res), OK

    def _broker_refuses(self, db: sqlite3.Connection, acc: sqlite3.Row | None, request: dict[str, Any]) -> int | None:
        """The real brokers' refusals the faults switch on: market closed, FIFO, requotes."""
        if request.get("action") != c.TRADE_ACTION_DEAL or acc is None:
            return None
        symbol = str(request.get("symbol", ""))
        if self.faults.market_closed(symbol):
            return c.TRADE_RETCODE_MARKET_CLOSED
        ticket = int(request.get("position") or 0)
        if ticket and self.faults.fifo(acc["login"]):
            pos = db.execute("SELECT time_msc FROM positions WHERE ticket = ?", (ticket,)).fetchone()
            older = pos is not None and db.execute(
                "SELECT 1 FROM positions WHERE login = ? AND server = ? AND symbol = ? AND ticket != ? AND"
                " (time_msc < ? OR (time_msc = ? AND ticket < ?))",
                (acc["login"], acc["server"], symbol, ticket, pos["time_msc"], pos["time_msc"], ticket)).fetchone()
            if older:
                return c.TRADE_RETCODE_FIFO_CLOSE
        if faults.take_requote(db, symbol):
            return c.TRADE_RETCODE_REQUOTE
        return None

    def _next_request_id(self) -> int:
        with self._lock:
            self._request_id = getattr(self, "_request_id", 0) + 1
            return self._request_id
