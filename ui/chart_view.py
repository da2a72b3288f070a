"""The equity chart's visible range (a mixin of ui/equity_chart.EquityChart): the range buttons, the
owner's zoom and pan, and the reads of the store they ask for.

Zoom and pan belong to the owner: new values never reset the view. While the view shows "now" it
slides along with the newest value (keeping the owner's width); a range button takes the view back.
A picked range that follows "now" moves in steps of 4 % of its width, not a pixel at a time: each move
re-lays out the axes and the cached history, of all the charts in the same refresh ([E] 6)"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from ui.chart_axis import NO_TIME_BEFORE

if TYPE_CHECKING:
    from ui.equity_chart import EquityChart

RANGES = (("1h", 3600.0), ("1d", 86400.0), ("1w", 7 * 86400.0), ("3m", 90 * 86400.0), ("All", None))
SHORT_RANGE = 86400.0


def grown(elapsed: float) -> float:
    """The width of a young account's view: a minute, growing by a quarter each time the values reach
    its end, so the axes and the history are redrawn a few times an hour instead of on every value."""
    width = 60.0
    while width < elapsed * 1.05:
        width *= 1.25
    return width


class ChartView:
    def max_points(self: EquityChart) -> int:
        return max(500, 2 * self.plot.width())

    def request(self: EquityChart, start: float | None, end: float | None) -> None:
        if self.key:
            self.wanted.emit(self.key, start, end, self.max_points())

    def _request_view(self: EquityChart) -> None:
        """The owner zoomed or panned: the visible range (and half a view either side) at its resolution."""
        (x0, x1), _ = self.view.viewRange()
        pad = (x1 - x0) / 2
        self.request(max(NO_TIME_BEFORE, x0 - pad), x1 + pad)

    def reload(self: EquityChart) -> None:
        """New deals or a restart of the store: read what is shown again."""
        if self.owner_view:
            self._request_view()
        else:
            span = RANGES[self.range_buttons.checkedId()][1]
            self.request(time.time() - span if span else None, None)

    def follow_range(self: EquityChart) -> None:
        """A range button (or another account): the picked range again, following new values."""
        self.owner_view = False
        self._apply_range(load=True)

    def _owner_moved_view(self: EquityChart, *_: Any) -> None:
        self.owner_view = True
        self._view_end = self.points.last_time()
        self._load_timer.start()

    def _slide_owner_view(self: EquityChart) -> None:
        """Keep the owner's zoom; move it along only if it showed the newest value ("now")."""
        newest = self.points.last_time()
        if newest is None or self._view_end is None:
            return
        (x0, x1), _ = self.view.viewRange()
        if x1 >= self._view_end and newest > self._view_end:
            shift = newest - self._view_end
            self.view.setXRange(x0 + shift, x1 + shift, padding=0)
        self._view_end = newest

    def _apply_range(self: EquityChart, load: bool = False) -> None:
        span = RANGES[self.range_buttons.checkedId()][1]
        if load:
            self.request(time.time() - span if span else None, None)
        past = self._past
        known = self.points.first_time()
        first = min(([known] if known is not None else []) + [p[0] for p in past[:1]], default=None)
        if span and span <= SHORT_RANGE and known is not None:
            first = known  # an hour or a day is about equity: the balance from deals shows from a week on
        if first is None:
            return
        last = self.points.last_time()
        last = last if last is not None else past[-1][0]
        end = max(last, time.time()) if span else last
        start = end - span if span else first
        x0, x1 = max(start, first), end
        if span and start < first:  # younger than the range: the view grows in steps, not on every value
            x1 = first + min(span, grown(end - first))
        pad = (x1 - x0) * 0.02
        lo, hi = x0 - pad, x1 + pad
        if span and not load and start >= first:
            (cur_lo, cur_hi) = self.view.viewRange()[0]
            if abs((cur_hi - cur_lo) - (hi - lo)) < pad * 0.01 and x1 <= cur_hi <= hi + 2 * pad:
                lo, hi = cur_lo, cur_hi  # "now" still in view: it moves in steps, not by a pixel per refresh
            elif abs((cur_hi - cur_lo) - (hi - lo)) < pad * 0.01 and cur_hi < x1:
                lo, hi = lo + 2 * pad, hi + 2 * pad  # each step re-lays out the axes of every chart at once
        self._set_range(0, lo, hi)  # the runs follow the new range
        shown = self.points.value_range(start)  # with the equity's lows and highs: a drawdown stays in view
        values = [v for v in (*(shown or ()), *[b for t, b in past if t >= start], *self.levels)  # + the floor ([H])
                  if math.isfinite(v)]  # plain Python: a handful of values, on every refresh
        if not values:
            return
        vmin, vmax = float(min(values)), float(max(values))
        pad = max((vmax - vmin) * 0.1, abs(vmax) * 0.0005, 0.01)
        (y0, y1) = self.view.viewRange()[1]
        if not load and y0 <= vmin and vmax <= y1 and y1 - y0 <= 1.5 * (vmax - vmin + 2 * pad):
            return  # following: the values still fit, and not in a much larger range: no rescale
        if not load and (vmin < y0 or vmax > y1):
            pad *= 2  # room for the next new high or low
        self._set_range(1, vmin - pad, vmax + pad)

    def _set_range(self: EquityChart, axis: int, lo: float, hi: float) -> None:
        """Set the view's x (0) or y (1) range unless both ends move by less than a pixel: each change
        redraws the axes and the cached history, and following "now" moves a day's view by a hundredth
        of a pixel per refresh ([P] 1)."""
        cur_lo, cur_hi = self.view.viewRange()[axis]
        pixels = self.view.width() if axis == 0 else self.view.height()
        if pixels > 0 and cur_hi > cur_lo:
            unit = (cur_hi - cur_lo) / pixels
            if abs(lo - cur_lo) < unit and abs(hi - cur_hi) < unit:
                return
        (self.view.setXRange if axis == 0 else self.view.setYRange)(lo, hi, padding=0)
