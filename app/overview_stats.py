"""The overview's statistics ([E] 4): every account's numbers over the overview's range, and the portfolio
per currency, computed by the same code as the stats panel and ``accounts stats`` (Desk.account_stats, i.e.
AccountHistory.stats on the Desk's I/O thread, or the host's answer for a host's account; and
multi_user.stats.portfolio over their results), one account per I/O call so snapshot writes and other
reads are served in between. No widgets."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from multi_user import stats

SETTING = "overview_range"  # app/settings.py: the owner's choice, remembered across restarts
RANGES: tuple[tuple[str, float | None], ...] = (
    ("7d", 7 * 86400.0), ("30d", 30 * 86400.0), ("90d", 90 * 86400.0), ("All", None))
DEFAULT_RANGE = "30d"
# seconds between two recomputations of a live account (its drawdown and TWR follow equity between deals):
# one account's numbers take 0.1-0.7 s of the I/O thread (90 days, ~2,500 deals), so twenty live accounts
# every 5 minutes (as often as deals are fetched) cost a few percent of one core
LIVE_EVERY = 300.0


def range_span(name: str) -> float | None:
    return dict(RANGES).get(name, dict(RANGES)[DEFAULT_RANGE])


def valid_range(name: Any) -> str:
    return name if name in dict(RANGES) else DEFAULT_RANGE


class OverviewStats:
    """The numbers the tiles show, kept per account with the time they were computed. ``refresh`` queues
    accounts; one task works through the queue (a range change restarts it), and ``on_result`` is called
    after each account and after the portfolio (the caller marks the overview dirty: painting is the frame
    pacer's job, never this one's)."""

    def __init__(self, account_stats: Callable[[str, float | None, float | None], Awaitable[dict[str, Any]]],
                 spawn: Callable[[Any], None], on_result: Callable[[], None], range_name: str = DEFAULT_RANGE) -> None:
        self._account_stats, self._spawn, self._on_result = account_stats, spawn, on_result
        self.range_name = valid_range(range_name)
        self.accounts: dict[str, dict[str, Any]] = {}  # key -> the stats object of ``accounts stats``
        self.portfolio: list[dict[str, Any]] = []
        self.computed_at: dict[str, float] = {}
        self.range_start: float | None = None  # the UTC start the last numbers were computed from (None: all)
        self._keys: list[str] = []
        self._queue: list[str] = []
        self._running = False
        self._generation = 0  # a range change makes results of the old range stale
        # each range's last numbers: switching back shows them at once while they are recomputed
        self._cache: dict[str, tuple[dict[str, dict[str, Any]], list[dict[str, Any]], dict[str, float]]] = {}
        self.held = False  # while held (the window's start-up), accounts are noted but not computed

    def set_range(self, name: str) -> None:
        name = valid_range(name)
        if name == self.range_name:
            return
        self._cache[self.range_name] = (self.accounts, self.portfolio, self.computed_at)
        self.range_name = name
        self._generation += 1
        self._queue.clear()
        cached = self._cache.get(name)
        self.accounts, self.portfolio, self.computed_at = ({**cached[0]}, list(cached[1]), {**cached[2]}) if cached \
            else ({}, [], {})
        self._on_result()  # the tiles show this range's last numbers (or "—") at once, never the old range's
        if not self.held:
            self.refresh(self._keys, portfolio=True)

    def release(self) -> None:
        """Start computing (the window has painted its first frame and read its histories); once."""
        if not self.held:
            return
        self.held = False
        self.refresh([k for k in self._keys if k not in self.computed_at], portfolio=True)

    def set_accounts(self, keys: list[str]) -> None:
        gone = set(self._keys) - set(keys)
        self._keys = list(keys)
        for key in gone:
            self.accounts.pop(key, None)
            self.computed_at.pop(key, None)
        if not self.held:
            self.refresh([k for k in keys if k not in self.computed_at], portfolio=bool(gone))

    def due(self, live: set[str], now: float | None = None) -> list[str]:
        """Live accounts whose numbers are older than LIVE_EVERY (their equity moves between deals)."""
        now = time.time() if now is None else now
        return [k for k in self._keys if k in live and now - self.computed_at.get(k, 0.0) >= LIVE_EVERY]

    def refresh(self, keys: list[str], portfolio: bool = False) -> None:
        for key in keys:
            if key in self._keys and key not in self._queue:
                self._queue.append(key)
        if (self._queue or portfolio) and not self._running:
            self._running = True
            self._spawn(self._work())

    async def _work(self) -> None:
        try:
            while True:
                generation, span = self._generation, range_span(self.range_name)
                start = self.range_start = None if span is None else time.time() - span
                while self._queue and generation == self._generation:
                    key = self._queue.pop(0)
                    try:
                        result = await self._account_stats(key, start, None)
                    except Exception as exc:  # one account's failure (a host away) leaves the rest
                        result = {"error": str(exc) or type(exc).__name__}
                    if generation == self._generation and key in self._keys:
                        self.accounts[key] = result
                        self.computed_at[key] = time.time()
                        self._on_result()
                if generation != self._generation:
                    continue  # the range changed meanwhile: the queue was refilled for the new one
                pairs = [(a["currency"], a) for k, a in self.accounts.items()
                         if k in self._keys and a.get("currency") and "daily_pl" in a]
                self.portfolio = stats.portfolio(pairs)  # sums of the accounts' numbers: well under a ms
                self._on_result()
                if not self._queue:
                    return
        finally:
            self._running = False

    def busy(self) -> bool:
        return self._running or bool(self._queue)
