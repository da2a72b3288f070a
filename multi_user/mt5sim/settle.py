"""What the broker's server does on its own between requests: stop loss / take profit, pending
orders reaching their price, and stop-out.

Checked on the account's next ``account_info``/``positions_get``/``orders_get`` (and by ``sim``
commands), against the quote of that moment. Stop-out: while the margin level (equity / margin) is
at or below the server's ``margin_so_so``, the position with the largest loss is closed at market,
deal reason ``DEAL_REASON_SO``, comment ``[so LEVEL%/EQUITY/MARGIN]`` as MT5 writes it. The margin
call level (``margin_so_call``) only shows in ``account_info``; brokers act on it by e-mail.
"""

from __future__ import annotations

import sqlite3

from multi_user.mt5sim import constants as c
from multi_user.mt5sim import money, netting, world
from multi_user.mt5sim.trading import Market, _position, account_values, close_position, close_price, position_values


def settle(con: sqlite3.Connection, market: Market, acc: sqlite3.Row) -> dict[str, float] | None:
    """Fire stop loss / take profit and pending orders the current quotes have reached, then stop out.
    Returns the account values when nothing happened (they were needed for the stop-out check and are
    still current), else None."""
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
        values = account_values(con, market, acc)
        if not values["margin"] or values["margin_level"] > acc["so_so"]:
            return values
    now_ms = int(market.now * 1000)
    con.execute("BEGIN IMMEDIATE")
    try:
        for kind, ticket, volume, price, reason in hits:
            if kind == "pos":
                if _position(con, acc, ticket) is not None:
                    close_position(con, market, acc, ticket, volume, price, now_ms, 0, "", reason)
            else:
                _fill(con, market, acc, ticket, volume, price, now_ms)
        stop_out(con, market, acc, now_ms)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return None


def _fill(con: sqlite3.Connection, market: Market, acc: sqlite3.Row, ticket: int, volume: float, price: float,
          now_ms: int) -> None:
    o = con.execute("SELECT * FROM orders WHERE ticket = ? AND history = 0", (ticket,)).fetchone()
    if o is None:
        return
    ptype = c.POSITION_TYPE_BUY if o["type"] % 2 == 0 else c.POSITION_TYPE_SELL
    con.execute("UPDATE orders SET history = 1, state = ?, volume_current = 0, time_done_msc = ?,"
                " position_id = ticket WHERE ticket = ?", (c.ORDER_STATE_FILLED, now_ms, ticket))
    commission = money.commission(market, acc, volume)
    if acc["margin_mode"] == c.ACCOUNT_MARGIN_MODE_RETAIL_NETTING and netting.reduces(con, acc, o["symbol"], ptype):
        req = {"symbol": o["symbol"], "type": ptype, "volume": volume, "magic": o["magic"], "comment": o["comment"]}
        netting.deal(con, market, acc, req, price, now_ms, o["reason"])
        return
    deal = world.next_ticket(con)
    world.add_deal(con, deal, o["login"], o["server"], ticket, now_ms, ptype, c.DEAL_ENTRY_IN, o["magic"], ticket,
                   o["reason"], volume, price, o["symbol"], o["comment"], commission=commission)
    con.execute("INSERT INTO positions (ticket, login, server, symbol, type, volume, price_open, sl, tp,"
                " time_msc, time_update_msc, magic, reason, comment) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (ticket, o["login"], o["server"], o["symbol"], ptype, volume, price, o["sl"], o["tp"],
                 now_ms, now_ms, o["magic"], o["reason"], o["comment"]))


def _fresh(con: sqlite3.Connection, acc: sqlite3.Row) -> sqlite3.Row:
    row = con.execute("SELECT balance, credit FROM accounts WHERE login = ? AND server = ?",
                      (acc["login"], acc["server"])).fetchone()
    return _Acc(acc, row)


class _Acc(dict):
    """The account row with its balance re-read inside the transaction."""

    def __init__(self, acc: sqlite3.Row, row: sqlite3.Row) -> None:
        super().__init__({k: acc[k] for k in acc.keys()})  # noqa: SIM118 (a Row)
        self["balance"], self["credit"] = row["balance"], row["credit"]


def stop_out(con: sqlite3.Connection, market: Market, acc: sqlite3.Row, now_ms: int) -> int:
    """Close the largest loser until the margin level is above stop-out; returns how many were closed."""
    closed = 0
    while True:
        cur = _fresh(con, acc)
        v = account_values(con, market, cur)
        if not v["margin"] or v["margin_level"] > acc["so_so"]:
            return closed
        worst, worst_loss = None, None
        for pos in con.execute("SELECT * FROM positions WHERE login = ? AND server = ?", (acc["login"], acc["server"])):
            _, profit, _ = position_values(market, pos, cur)
            loss = profit + money.position_swap(market, pos, cur)
            if worst_loss is None or loss < worst_loss:
                worst, worst_loss = pos, loss
        if worst is None:
            return closed
        comment = f"[so {v['margin_level']:.2f}%/{v['equity']:.2f}/{v['margin']:.2f}]"
        close_position(con, market, cur, worst["ticket"], worst["volume"],
                       close_price(market, worst["type"], worst["symbol"]), now_ms, 0, comment[:31], c.DEAL_REASON_SO)
        closed += 1
