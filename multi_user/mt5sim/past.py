"""A deterministic past for every demo account: ``sim init --history-days N`` (default 90).

Each account gets, from a seed of its own: an opening deposit N days before today's UTC midnight, then trades one after
another (a few a day, none opened at the weekend, some held over rollovers so they pay swap), each a
history order and deal to open and to close, with the server's commission on both deals; a second
deposit about 40 % of the way in; a withdrawal about 70 % of the way in on every third account;
and, on the "prop" account, a losing streak of eight trades in a row. Prices are the simulator's own
at those instants, so charts and history agree. The opening deposit is chosen so the balance today
is the demo account's listed balance, which keeps the demo world's figures what they always were.
"""

from __future__ import annotations

import math
import random
import sqlite3
from dataclasses import dataclass

from multi_user.mt5sim import constants as c
from multi_user.mt5sim import money, world
from multi_user.mt5sim.clock import Clock
from multi_user.mt5sim.prices import SYMBOLS, quote
from multi_user.mt5sim.trading import Market, profit_for

DEFAULT_DAYS = 90
HOUR = 3600
_FAVOURITES = (("EURUSD", "GBPUSD", "XAUUSD"), ("US500", "EURUSD"), ("EURUSD", "USDJPY", "GBPUSD", "USDCHF"),
               ("USDJPY", "XAUUSD", "EURUSD"), ("XAUUSD", "US500", "GBPUSD"), ("EURUSD", "GBPUSD"),
               ("XAUUSD", "EURUSD"), ("EURUSD", "USDCHF"), ("US500", "USDCHF", "XAUUSD"), ("EURUSD", "USDJPY"))
LOSING_STREAK = 4  # DEMO index of the account with the losing streak ("prop")


@dataclass
class Account:
    index: int
    login: int
    server: str
    currency: str
    balance: float  # what the balance must be today
    commission: float  # USD per lot per side
    clock: Clock

    def keys(self) -> tuple[str, ...]:  # money.commission reads it like an account row
        return ("commission", "currency")

    def __getitem__(self, key: str) -> object:
        return getattr(self, key)


def _volume(rng: random.Random, symbol: str, balance: float) -> float:
    spec = SYMBOLS[symbol]
    scale = {"XAUUSD": 150_000.0, "US500": 8_000.0}.get(symbol, 40_000.0)
    raw = balance / scale * rng.uniform(0.3, 1.0)
    steps = max(1, round((raw - spec.volume_min) / spec.volume_step) + 1)
    return round(min(spec.volume_max, spec.volume_min + (steps - 1) * spec.volume_step), 2)


def _weekday(clock: Clock, utc: float) -> int:
    return (math.floor(clock.to_server(utc) / 86400) + 3) % 7  # 1970-01-01 was a Thursday


def _balance(con: sqlite3.Connection, acc: Account) -> float:
    return float(con.execute("SELECT balance FROM accounts WHERE login = ? AND server = ?",
                             (acc.login, acc.server)).fetchone()[0])


def fill(con: sqlite3.Connection, seed: int, acc: Account, now: float, days: int, pending: float = 0.0,
         end: float | None = None) -> None:
    """Write the account's past, ``days`` before today's UTC midnight up to ``end`` (default ``now``), and
    leave its balance at ``acc.balance - pending`` (what is still to be booked: the entry commissions of
    its current positions); call inside the world's creating transaction, before opening those positions."""
    end = now if end is None else end
    rng = random.Random(seed * 1009 + acc.index)
    # from a UTC midnight, so worlds made the same day with the same seed share their past (only
    # where it stops, at ``now``, differs)
    start = math.floor(now / 86400) * 86400 - days * 86400
    first_deposit = world.next_ticket(con)  # its amount is known only at the end
    before = _balance(con, acc)
    symbols = _FAVOURITES[acc.index % len(_FAVOURITES)]
    streak = (start + 0.55 * days * 86400, start + 0.65 * days * 86400) if acc.index == LOSING_STREAK else None
    extra = [(start + 0.4 * days * 86400, round(acc.balance * 0.2, -2))]
    if acc.index % 3 == 1:
        extra.append((start + 0.7 * days * 86400, -round(acc.balance * 0.1, -2)))
    if days <= 0:  # no past: the opening deposit only
        extra = []
    t = start + rng.uniform(2, 8) * HOUR
    losers = 0
    while days > 0:
        t += rng.expovariate(1 / (9 * HOUR))
        while _weekday(acc.clock, t) >= 5:  # Saturday and Sunday, server time
            t += 6 * HOUR
        hold = rng.expovariate(1 / (5 * HOUR)) if rng.random() < 0.8 else rng.uniform(20, 70) * HOUR
        close_t = t + max(120.0, hold)
        if close_t > end - 2 * HOUR:
            break
        while extra and extra[0][0] < t:
            when, amount = extra.pop(0)
            world.balance_operation(con, acc.login, acc.server, amount, int(when * 1000))
        symbol = rng.choice(symbols)
        volume = _volume(rng, symbol, acc.balance)
        side = rng.randrange(2)
        market = Market(seed, close_t, clock=acc.clock)
        _, o_bid, o_ask = quote(seed, symbol, t)
        _, c_bid, c_ask = market.quote(symbol)
        in_streak = streak is not None and streak[0] <= t <= streak[1] and losers < 8
        if in_streak:  # the side that lost, and the trader held on a little longer
            p_buy = profit_for(market, c.ORDER_TYPE_BUY, symbol, volume, o_ask, c_bid, acc.currency)
            side = c.ORDER_TYPE_SELL if p_buy > 0 else c.ORDER_TYPE_BUY
            losers += 1
        o_price, c_price = (o_ask, c_bid) if side == c.ORDER_TYPE_BUY else (o_bid, c_ask)
        profit = profit_for(market, side, symbol, volume, o_price, c_price, acc.currency)
        nights = money.swap_nights(t, close_t, acc.clock)
        swap = round(nights * money.swap_per_night(market, symbol, side, volume, acc.currency), 2) if nights else 0.0
        fee = money.commission(market, acc, volume)
        expert = rng.random() < 0.5
        magic, reason = (20240501, c.DEAL_REASON_EXPERT) if expert else (0, c.DEAL_REASON_CLIENT)
        comment = "EA trend" if expert else ""
        open_ms, close_ms = int(t * 1000), int(close_t * 1000)
        order = world.next_ticket(con)
        world.add_order(con, order, acc.login, acc.server, symbol, side, volume, o_price, open_ms, magic, order,
                        reason, comment)
        world.add_deal(con, world.next_ticket(con), acc.login, acc.server, order, open_ms, side, c.DEAL_ENTRY_IN,
                       magic, order, reason, volume, o_price, symbol, comment, commission=fee)
        out = world.next_ticket(con)
        world.add_order(con, out, acc.login, acc.server, symbol, 1 - side, volume, c_price, close_ms, magic, order,
                        reason, comment)
        world.add_deal(con, world.next_ticket(con), acc.login, acc.server, out, close_ms, 1 - side, c.DEAL_ENTRY_OUT,
                       magic, order, reason, volume, c_price, symbol, comment, profit=profit, swap=swap,
                       commission=fee)
        t = close_t
    for when, amount in extra:
        world.balance_operation(con, acc.login, acc.server, amount, int(when * 1000))
    amount = round(acc.balance - pending - (_balance(con, acc) - before), 2)
    con.execute("INSERT INTO deals (ticket, login, server, order_ticket, time_msc, type, entry, volume, price,"
                " profit, comment) VALUES (?,?,?,0,?,?,?,0,0,?,?)",
                (first_deposit, acc.login, acc.server, int(start * 1000), c.DEAL_TYPE_BALANCE, c.DEAL_ENTRY_IN,
                 amount, "Deposit"))
    con.execute("UPDATE accounts SET balance = ? WHERE login = ? AND server = ?",
                (round(acc.balance - pending, 2), acc.login, acc.server))
