"""Market data calls of a simulated terminal: symbols, ticks, bars, depth of market."""

from __future__ import annotations

import fnmatch
import math
from typing import Any

from multi_user.mt5sim import constants as c
from multi_user.mt5sim import prices, structures
from multi_user.mt5sim.prices import SYMBOLS, Spec
from multi_user.mt5sim.trading import Market

MAX_BARS = 100_000
MAX_TICKS = 200_000


def group_match(group: str | None, name: str) -> bool:
    """MT5 group filters: comma-separated masks, ``!`` excludes; later masks override earlier ones."""
    if not group:
        return True
    included = False
    for mask in (m.strip() for m in group.split(",")):
        if not mask:
            continue
        if mask.startswith("!"):
            if fnmatch.fnmatchcase(name, mask[1:]):
                included = False
        elif fnmatch.fnmatchcase(name, mask):
            included = True
    return included


def timeframe_seconds(tf: int) -> int | None:
    unit, n = tf & 0xC000, tf & 0x3FFF
    if n <= 0:
        return None
    if unit == 0:
        return n * 60 if n <= 30 else None
    if unit == 0x4000:
        return n * 3600 if n <= 24 else None
    if unit == 0x8000:
        return 7 * 86400 if n == 1 else None
    return 30 * 86400 if n == 1 else None  # months are simulated as 30 days


def _bar_start(t: float, dur: int) -> int:
    if dur == 7 * 86400:  # weeks start on Sunday, as MT5's do (1970-01-04 was a Sunday)
        return int((t - 3 * 86400) // dur * dur + 3 * 86400)
    return int(t // dur * dur)


def rates(market: Market, symbol: str, tf: int, start: int, count: int) -> list[tuple]:
    """``count`` bars, oldest first, the last one opening at bar ``start``. Bars open on the server's
    wall clock (a D1 bar at server midnight) and are stamped with it, as MT5's are."""
    dur = timeframe_seconds(tf)
    assert dur
    count = min(count, MAX_BARS)
    first = start - (count - 1) * dur
    clock, out = market.clock, []
    for t in range(first, start + 1, dur):
        b = prices.bar(market.seed, symbol, int(clock.to_utc(t)), dur, market.now, market.shocks)
        out.append((t, *b[1:]))
    return out


def rates_from(market: Market, symbol: str, tf: int, date_from: float, count: int) -> list[tuple]:
    dur = timeframe_seconds(tf) or 60
    return rates(market, symbol, tf, _bar_start(min(date_from, market.server_now), dur), count)


def rates_from_pos(market: Market, symbol: str, tf: int, start_pos: int, count: int) -> list[tuple]:
    dur = timeframe_seconds(tf) or 60
    return rates(market, symbol, tf, _bar_start(market.server_now, dur) - start_pos * dur, count)


def rates_range(market: Market, symbol: str, tf: int, date_from: float, date_to: float) -> list[tuple]:
    dur = timeframe_seconds(tf) or 60
    date_to = min(date_to, market.server_now)
    first = _bar_start(date_from, dur)
    if first < date_from:
        first += dur
    last = _bar_start(date_to, dur)
    if last < first:
        return []
    return rates(market, symbol, tf, last, (last - first) // dur + 1)


def ticks(market: Market, symbol: str, date_from: float, date_to: float, count: int) -> list[tuple]:
    """Ticks between two server wall times, stamped with the server's wall time."""
    step = prices.TICK_STEP
    clock = market.clock
    t = math.ceil(clock.to_utc(date_from) / step) * step
    end = min(clock.to_utc(date_to), market.now)
    out: list[tuple] = []
    while t <= end and len(out) < min(count, MAX_TICKS):
        tt, bid, ask = prices.quote(market.seed, symbol, t, market.shocks)
        st = clock.to_server(tt)
        out.append((int(st), bid, ask, 0.0, 0, round(st * 1000), c.TICK_FLAG_BID | c.TICK_FLAG_ASK, 0.0))
        t += step
    return out


def tick(market: Market, symbol: str) -> tuple:
    tt, bid, ask = market.quote(symbol)
    st = market.clock.to_server(tt)
    return structures.make("Tick", {"time": int(st), "bid": bid, "ask": ask, "last": 0.0, "volume": 0,
                                    "time_msc": round(st * 1000), "flags": c.TICK_FLAG_BID | c.TICK_FLAG_ASK,
                                    "volume_real": 0.0})


def day_range(market: Market, spec: Spec) -> tuple[float, float, float]:
    """(day's open, high, low) of bid prices since the server's midnight."""
    t0 = int(market.clock.to_utc(market.server_now // 86400 * 86400))
    b = prices.bar(market.seed, spec.name, t0, 86400, market.now, market.shocks)
    return b[1], b[2], b[3]


def symbol_info(market: Market, spec: Spec, selected: bool) -> tuple:
    tt, bid, ask = market.quote(spec.name)
    tt = market.clock.to_server(tt)
    day_open, high, low = day_range(market, spec)
    one = 1.0
    tick_value = market.convert(spec.point * spec.contract_size, spec.currency_profit, "USD") / one
    values: dict[str, Any] = {
        "custom": False, "chart_mode": c.SYMBOL_CHART_MODE_BID, "select": selected, "visible": selected,
        "time": int(tt), "digits": spec.digits, "spread": spec.spread, "spread_float": True,
        "ticks_bookdepth": 10, "trade_calc_mode": spec.calc_mode, "trade_mode": c.SYMBOL_TRADE_MODE_FULL,
        "trade_stops_level": 0, "trade_freeze_level": 0, "trade_exemode": spec.exemode,
        "swap_mode": c.SYMBOL_SWAP_MODE_POINTS, "swap_rollover3days": c.DAY_OF_WEEK_WEDNESDAY,
        "expiration_mode": 15, "filling_mode": spec.filling, "order_mode": 127, "order_gtc_mode": c.SYMBOL_ORDERS_GTC,
        "bid": bid, "bidhigh": high, "bidlow": low, "ask": ask,
        "askhigh": round(high + spec.spread * spec.point, spec.digits),
        "asklow": round(low + spec.spread * spec.point, spec.digits), "point": spec.point,
        "trade_tick_value": tick_value, "trade_tick_value_profit": tick_value, "trade_tick_value_loss": tick_value,
        "trade_tick_size": spec.point, "trade_contract_size": spec.contract_size, "volume_min": spec.volume_min,
        "volume_max": spec.volume_max, "volume_step": spec.volume_step,
        "swap_long": spec.swap_long, "swap_short": spec.swap_short,
        "margin_hedged": spec.contract_size / 2, "session_open": day_open, "session_close": day_open,
        "price_change": round((bid - day_open) / day_open * 100, 4), "currency_base": spec.currency_base,
        "currency_profit": spec.currency_profit, "currency_margin": spec.currency_margin,
        "description": spec.description, "name": spec.name, "path": spec.path,
    }
    return structures.make("SymbolInfo", values)


def book(market: Market, spec: Spec) -> tuple:
    """Ten levels: asks (highest first) then bids, with volumes that grow away from the touch."""
    _, bid, ask = market.quote(spec.name)
    levels = []
    for i in range(5, 0, -1):
        p = round(ask + (i - 1) * spec.point * 5, spec.digits)
        levels.append(structures.make("BookInfo", {"type": c.BOOK_TYPE_SELL, "price": p, "volume": 10 * i,
                                                   "volume_dbl": 10.0 * i}))
    for i in range(1, 6):
        p = round(bid - (i - 1) * spec.point * 5, spec.digits)
        levels.append(structures.make("BookInfo", {"type": c.BOOK_TYPE_BUY, "price": p, "volume": 10 * i,
                                                   "volume_dbl": 10.0 * i}))
    return tuple(levels)


def known(symbol: Any) -> Spec | None:
    return SYMBOLS.get(symbol) if isinstance(symbol, str) else None
