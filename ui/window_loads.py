"""The main window's reads for the focused account ([E]): its chart history and visible range, and the
statistics beside it (or one currency's portfolio), each off the GUI thread through the Desk and shown
only if it still concerns what is on screen. A mixin of ui/main_window.MainWindow."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ui.main_window import MainWindow

HISTORY_WINDOW = 7 * 86400.0
CHART_POINTS = 2000  # about one point per pixel of a wide chart: more only costs paint time


class FocusedAccountLoads:
    def focus(self: MainWindow, key: str | None) -> None:
        from ui.equity_chart import Series  # loaded with the filled window (ui/window_build.py)

        self.focused = key
        self.sidebar.select(key)  # Ctrl+1…9 and the overview's tiles move the selection too
        series = self.series.setdefault(key, Series()) if key else None
        self.chart.show_account(key, self.name_of(key) if key else "", series)
        self.chart.readout.setText("")  # the crosshair's values belonged to the account shown before
        self.positions.show_account(key, (self.desk.last_snapshot(key) or {}).get("currency") or "" if key else "")
        self._load_stats(key)
        if key:
            self._load(key, CHART_POINTS)
        self._dirty.add("chart")

    def _load(self: MainWindow, key: str, points: int) -> None:
        if self._loaded.get(key, 0) < points:
            self._loaded[key] = points
            self._spawn(self._load_history(key, points))

    async def _load_history(self: MainWindow, key: str, max_points: int = CHART_POINTS) -> None:
        from ui.equity_chart import Series

        points = await self.desk.history(key, time.time() - HISTORY_WINDOW, max_points)
        self.series.setdefault(key, Series()).load(points)
        if key == self.focused:
            self.chart.show_account(key, self.name_of(key), self.series[key])
        self._dirty |= {"overview", "chart"}

    def _stats_currencies(self: MainWindow) -> None:
        self.stats.set_currencies([c for c in ((self.desk.last_snapshot(a["key"]) or {}).get("currency")
                                               for a in self.model.accounts) if c])

    def _load_stats(self: MainWindow, key: str | None) -> None:
        self.stats.set_stats(None)
        self._stats_currencies()
        if key or self.stats.portfolio_currency():
            self._spawn(self._stats_of(key, self.stats.span()))

    async def _stats_of(self: MainWindow, key: str, span: float | None) -> None:
        """[E] 4: the statistics off the GUI thread (Desk.account_stats), shown if still focused; or the
        portfolio of one currency when the panel's scope says so."""
        start, currency = (time.time() - span if span else None), self.stats.portfolio_currency()
        if currency:
            result = await self.desk.portfolio_stats(currency, start, None)
            if self.stats.portfolio_currency() == currency:
                self.stats.set_stats(result)
            return
        result = await self.desk.account_stats(key, start, None)
        if key == self.focused and not self.stats.portfolio_currency():
            self.stats.set_stats(result)

    async def _load_chart(self: MainWindow, key: str, start: float | None, end: float | None, max_points: int) -> None:
        """[E] 6: the focused chart's range at its resolution, from the store (tiers) and the deals."""
        data = await self.desk.chart_data(key, start, end, max_points)
        self.chart.set_history(key, data)
