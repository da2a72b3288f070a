"""Simulated market: symbol specs and prices as a pure function of (seed, symbol, time).

Every terminal process computes the same price for the same instant, so no price server is needed
and a run is reproducible. The mid price is a multi-scale smooth noise (octaves from seconds to
weeks, amplitudes growing like the square root of the period, as a random walk's do), quoted on
a half-second tick grid. A shock multiplies a symbol's price from its start time on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from multi_user.mt5sim import constants as c

TICK_STEP = 0.5  # seconds between simulated ticks
_OCTAVES = (2.0, 15.0, 120.0, 900.0, 7200.0, 86400.0, 604800.0)
_MASK = (1 << 64) - 1


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    base_price: float
    digits: int
    spread: int  # points
    contract_size: float
    calc_mode: int
    currency_base: str
    currency_profit: str
    currency_margin: str
    daily_vol: float  # relative standard deviation over a day
    volume_min: float = 0.01
    volume_max: float = 100.0
    volume_step: float = 0.01
    path: str = "Forex"
    swap_long: float = -7.0  # points per lot per night (SYMBOL_SWAP_MODE_POINTS)
    swap_short: float = 1.5
    exemode: int = c.SYMBOL_TRADE_EXECUTION_MARKET
    filling: int = 3  # SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC

    @property
    def point(self) -> float:
        return 10.0 ** -self.digits


SYMBOLS: dict[str, Spec] = {s.name: s for s in (
    Spec("EURUSD", "Euro vs US Dollar", 1.0850, 5, 12, 100000, c.SYMBOL_CALC_MODE_FOREX, "EUR", "USD", "EUR", 0.005,
         path="Forex\\Majors\\EURUSD"),
    Spec("GBPUSD", "Great Britain Pound vs US Dollar", 1.2700, 5, 15, 100000, c.SYMBOL_CALC_MODE_FOREX,
         "GBP", "USD", "GBP", 0.006, path="Forex\\Majors\\GBPUSD", swap_long=-4.5, swap_short=-1.2),
    Spec("USDJPY", "US Dollar vs Japanese Yen", 150.00, 3, 14, 100000, c.SYMBOL_CALC_MODE_FOREX,
         "USD", "JPY", "USD", 0.006, path="Forex\\Majors\\USDJPY", swap_long=15.0, swap_short=-30.0,
         exemode=c.SYMBOL_TRADE_EXECUTION_INSTANT, filling=2),  # instant execution: market orders fill or kill
    Spec("USDCHF", "US Dollar vs Swiss Franc", 0.8800, 5, 16, 100000, c.SYMBOL_CALC_MODE_FOREX,
         "USD", "CHF", "USD", 0.005, path="Forex\\Majors\\USDCHF", swap_long=8.0, swap_short=-20.0,
         filling=2),  # market execution, IOC only
    Spec("XAUUSD", "Gold vs US Dollar", 2350.00, 2, 25, 100, c.SYMBOL_CALC_MODE_CFDLEVERAGE,
         "XAU", "USD", "USD", 0.012, volume_max=50.0, path="Metals\\XAUUSD",
         swap_long=-45.0, swap_short=20.0),
    Spec("US500", "US 500 Cash Index", 5200.00, 2, 50, 1, c.SYMBOL_CALC_MODE_CFDLEVERAGE,
         "USD", "USD", "USD", 0.010, volume_min=0.1, volume_step=0.1, volume_max=500.0,
         path="Indices\\US500", swap_long=-60.0, swap_short=-20.0,
         exemode=c.SYMBOL_TRADE_EXECUTION_EXCHANGE, filling=0),  # exchange execution: RETURN
)}


def _hash(*parts: int) -> int:
    """splitmix64 over the parts: a fast, well-mixed, platform-independent integer hash."""
    x = 0x9E3779B97F4A7C15
    for p in parts:
        x = (x ^ (p & _MASK)) & _MASK
        x = (x + 0x9E3779B97F4A7C15) & _MASK
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        x = z ^ (z >> 31)
    return x


def _symbol_id(symbol: str) -> int:
    return int.from_bytes(symbol.encode()[:8].ljust(8, b"\0"), "little")


@lru_cache(maxsize=1 << 16)  # the slow octaves' knots recur call after call
def _knot(seed: int, sym: int, octave: int, k: int) -> float:
    return _hash(seed, sym, octave, k) / _MASK * 2.0 - 1.0  # uniform in [-1, 1]


def _noise(seed: int, symbol: str, t: float) -> float:
    sym = _symbol_id(symbol)
    total = 0.0
    for i, period in enumerate(_OCTAVES):
        x = t / period
        k = math.floor(x)
        f = x - k
        f = f * f * (3.0 - 2.0 * f)  # smoothstep: continuous slope between knots
        a, b = _knot(seed, sym, i, k), _knot(seed, sym, i, k + 1)
        total += (a + (b - a) * f) * math.sqrt(period / 86400.0) * 0.6
    return total


Shock = tuple[str, float, float]  # (symbol, since epoch seconds, factor)


def mid(seed: int, symbol: str, t: float, shocks: Iterable[Shock] = ()) -> float:
    spec = SYMBOLS[symbol]
    price = spec.base_price * math.exp(spec.daily_vol * _noise(seed, symbol, t))
    for sym, since, factor in shocks:
        if sym == symbol and t >= since:
            price *= factor
    return price


def tick_time(t: float) -> float:
    """The time of the last tick at or before ``t``."""
    return math.floor(t / TICK_STEP) * TICK_STEP


def quote(seed: int, symbol: str, t: float, shocks: Iterable[Shock] = ()) -> tuple[float, float, float]:
    """(tick time, bid, ask) of the last tick at or before ``t``."""
    spec = SYMBOLS[symbol]
    tt = tick_time(t)
    m = mid(seed, symbol, tt, shocks)
    bid = round(m - spec.spread * spec.point / 2, spec.digits)
    ask = round(bid + spec.spread * spec.point, spec.digits)
    return tt, bid, ask


def tick_flags(seed: int, symbol: str, tt: float) -> int:
    return c.TICK_FLAG_BID | c.TICK_FLAG_ASK


def tick_volume(seed: int, symbol: str, t0: int, duration: int) -> int:
    return max(1, int(duration / TICK_STEP * (0.5 + (_hash(seed, _symbol_id(symbol), t0) % 1000) / 1000)))


def bar(seed: int, symbol: str, t0: int, duration: int, now: float, shocks: Iterable[Shock] = ()) -> tuple:
    """One OHLC bar (bid prices, as MT5's bars are) starting at ``t0``; a running bar ends at ``now``."""
    spec = SYMBOLS[symbol]
    end = min(t0 + duration, now)
    samples = max(2, min(40, int((end - t0) / TICK_STEP) + 1))
    step = (end - t0) / (samples - 1) if end > t0 else 0.0
    shocks = list(shocks)
    bids = [quote(seed, symbol, t0 + i * step, shocks)[1] for i in range(samples)]
    return (t0, bids[0], max(bids), min(bids), bids[-1], tick_volume(seed, symbol, t0, int(end - t0) + 1),
            spec.spread, 0)
