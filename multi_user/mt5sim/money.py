"""A broker's charges: commission per lot per side and swaps at the server's rollover.

Commission: the server's rate (USD per lot per side) on every deal, in the account currency.
Swaps: at each rollover (midnight server time) an open position is charged the symbol's swap in
points per lot (``SYMBOL_SWAP_MODE_POINTS``); there is no rollover on the nights into Sunday and
Monday, and the Wednesday one counts three nights (``swap_rollover3days``). A position's swap is a
function of its volume and open time, so every process computes the same figure without a job that
books it at midnight.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from multi_user.mt5sim import constants as c
from multi_user.mt5sim.clock import Clock
from multi_user.mt5sim.prices import SYMBOLS

if TYPE_CHECKING:
    from multi_user.mt5sim.trading import Market

DAY = 86400
# nights charged by the rollover at the start of each server weekday (Monday = 0): the Monday-night
# rollover happens at 00:00 Tuesday; the Wednesday one (00:00 Thursday) counts three
_NIGHTS = {0: 0, 1: 1, 2: 1, 3: 3, 4: 1, 5: 1, 6: 0}


def swap_nights(open_utc: float, now_utc: float, clock: Clock) -> int:
    """Nights of swap charged between opening at ``open_utc`` and ``now_utc`` (rollovers crossed)."""
    start = clock.to_server(open_utc)
    end = clock.to_server(now_utc)
    first = math.floor(start / DAY) + 1  # the first server midnight after the opening
    last = math.floor(end / DAY)
    if last < first:
        return 0
    days = last - first + 1
    weeks, rest = divmod(days, 7)
    nights = weeks * sum(_NIGHTS.values())
    for d in range(first, first + rest):
        nights += _NIGHTS[(d + 3) % 7]  # day 0 (1970-01-01) was a Thursday
    return nights


def swap_per_night(market: Market, symbol: str, ptype: int, volume: float, currency: str) -> float:
    spec = SYMBOLS[symbol]
    points = spec.swap_long if ptype == c.POSITION_TYPE_BUY else spec.swap_short
    return market.convert(points * spec.point * spec.contract_size * volume, spec.currency_profit, currency)


def position_swap(market: Market, pos: Any, acc: Any, volume: float | None = None) -> float:
    """Swap accrued by an open position (or ``volume`` of it) up to now, in the account currency."""
    vol = pos["volume"] if volume is None else volume
    nights = swap_nights(pos["time_msc"] / 1000, market.now, market.clock)
    base = pos["swap"] * (vol / pos["volume"] if pos["volume"] else 1.0)
    if not nights:
        return round(base, 2)
    return round(base + nights * swap_per_night(market, pos["symbol"], pos["type"], vol, acc["currency"]), 2)


def commission(market: Market, acc: Any, volume: float) -> float:
    """The (negative) commission of one deal of ``volume`` lots, in the account currency."""
    rate = acc["commission"] if "commission" in acc.keys() else 0.0  # noqa: SIM118 (a Row)
    return -round(market.convert(rate * volume, "USD", acc["currency"]), 2)
