"""Broker server time ↔ UTC.

MT5 stamps ticks, bars, positions, orders and deals with the broker server's wall time written as if
it were UTC epoch seconds (a server on UTC+2 reports 12:00 UTC as 14:00 "UTC"). Nothing in the API
says which zone a server uses, so tools learn the offset the way traders do: compare the time of the
latest tick with the real UTC time and round to the nearest half hour (ticks are at most seconds
old while the market is open; the offset moves by an hour when the server changes to or from
daylight saving time, so learn it again from a fresh tick rather than caching it for long).
Pure functions, no MetaTrader5 import.
"""

from __future__ import annotations

STEP = 1800  # offsets are whole half hours (a few zones use :30; none in use by brokers use :15/:45)
MAX_OFFSET = 14 * 3600


def learn_offset(last_tick_time: float, utc_now: float, *, step: int = STEP) -> int | None:
    """Seconds the server's clock is ahead of UTC, from the time of its latest tick and UTC now.

    Right while the tick is less than ``step / 2`` old (take it from an actively quoted symbol, not
    over a weekend); None when the result is beyond ±14 h, i.e. the inputs cannot be a tick and now."""
    diff = float(last_tick_time) - float(utc_now)
    offset = round(diff / step) * step
    if abs(offset) > MAX_OFFSET:
        return None
    return int(offset)


def to_utc(server_ts: float, offset: int) -> float:
    """A server time stamp (epoch seconds in the server's wall clock) as real UTC epoch seconds."""
    return float(server_ts) - offset


def to_server(utc_ts: float, offset: int) -> float:
    """Real UTC epoch seconds as the server's wall-clock stamp (what to pass to history_*_get)."""
    return float(utc_ts) + offset


def format_offset(offset: int) -> str:
    """``UTC+2``, ``UTC-3:30``, ``UTC``."""
    if offset == 0:
        return "UTC"
    sign = "+" if offset > 0 else "-"
    h, m = divmod(abs(int(offset)) // 60, 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")
