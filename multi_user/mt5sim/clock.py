"""Each simulated server's clock: the wall time its quotes and trades are stamped with.

Most brokers run their servers on "New York close" time, so a daily bar opens at 17:00 New York
(five daily bars a week): UTC+2 while New York is on standard time, UTC+3 while it is on daylight
saving time, switching on the US dates (second Sunday of March, first Sunday of November, 02:00 in
New York). Like the real terminal, the simulator reports those wall times as if they were UTC epoch
seconds, so ``tick.time`` is ahead of ``time.time()`` by the server's offset.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from functools import lru_cache

NY_CLOSE = "ny-close"
UTC = "utc"
ZONES = (NY_CLOSE, UTC)


def _nth_sunday(year: int, month: int, n: int) -> _dt.date:
    first = _dt.date(year, month, 1)
    return first + _dt.timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


@lru_cache(maxsize=256)
def _us_dst_utc(year: int) -> tuple[float, float]:
    """(start, end) of US daylight saving time in ``year`` as UTC epoch seconds (rules since 2007)."""
    start = _nth_sunday(year, 3, 2)
    end = _nth_sunday(year, 11, 1)
    # 02:00 EST = 07:00 UTC; 02:00 EDT = 06:00 UTC
    s = _dt.datetime(start.year, start.month, start.day, 7, tzinfo=_dt.UTC).timestamp()
    e = _dt.datetime(end.year, end.month, end.day, 6, tzinfo=_dt.UTC).timestamp()
    return s, e


def ny_close_offset(utc_ts: float) -> int:
    """Seconds a New-York-close server's wall clock is ahead of UTC at ``utc_ts``."""
    year = _dt.datetime.fromtimestamp(utc_ts, _dt.UTC).year if 0 <= utc_ts < 253402300800 else 1970
    start, end = _us_dst_utc(year)
    return 3 * 3600 if start <= utc_ts < end else 2 * 3600


@dataclass(frozen=True)
class Clock:
    zone: str = UTC

    def offset(self, utc_ts: float) -> int:
        return ny_close_offset(utc_ts) if self.zone == NY_CLOSE else 0

    def to_server(self, utc_ts: float) -> float:
        return utc_ts + self.offset(utc_ts)

    def to_utc(self, server_ts: float) -> float:
        """The UTC instant of a server wall time (in the repeated hour of autumn, the later one; a wall time
        the spring change skipped maps to the instant of the change, so the mapping never runs backwards
        and a range across the gap stays a range)."""
        if self.zone != NY_CLOSE:
            return server_ts
        for off in (2 * 3600, 3 * 3600):  # the later instant first
            if ny_close_offset(server_ts - off) == off:
                return server_ts - off
        year = _dt.datetime.fromtimestamp(server_ts, _dt.UTC).year if 0 <= server_ts < 253402300800 else 1970
        return _us_dst_utc(year)[0]

    def ms_to_server(self, utc_ms: int) -> int:
        return utc_ms + self.offset(utc_ms / 1000) * 1000


UTC_CLOCK = Clock(UTC)
