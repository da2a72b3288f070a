"""What the equity chart draws, kept reduced to the screen ([E] 6): the history read from the store and
the live points after it (the account's Series), as runs of at most two points per pixel column
(ui/chart_decimate.py). numpy only.

``done`` runs are drawn once into a cached picture; ``live`` runs (the newest columns, the last one still
filling) are drawn on every repaint. A live value only touches the last run; every FOLD finished live
columns move to ``done`` (one redraw of the cached picture). Runs are computed for the view's range and
a view's width either side, so panning a little or following "now" needs no new reduction; a zoom or a
resize (another column width) computes them again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ui.chart_decimate import (
    BAL_A,
    BAL_B,
    BAL_TA,
    EQ_A,
    EQ_B,
    EQ_TA,
    GAP,
    HIGH,
    LOW,
    SEG,
    T0,
    T1,
    WIDTH,
    decimate,
    no_runs,
)

FOLD = 32  # finished live columns drawn live before they join the cached picture
BULK = 256  # more new values than this at once are reduced with numpy


class OpenRun:
    """The newest live run, kept up to date value by value: its extremes with their times."""

    __slots__ = ("b", "col", "e", "seg", "t0", "t1")

    def __init__(self, t: float, bal: float, eq: float, seg: float, col: float) -> None:
        self.t0 = self.t1 = t
        self.seg, self.col = seg, col
        self.e = [t, eq, t, eq]  # time of the low, low, time of the high, high
        self.b = [t, bal, t, bal]

    @classmethod
    def of_row(cls, row: list[float], dx: float) -> OpenRun:
        run = cls(row[T0], 0.0, 0.0, row[SEG], math.floor(row[T0] / dx))
        run.t1 = row[T1]
        for ext, (ta, a, tb, b) in ((run.e, row[EQ_TA:EQ_B + 1]), (run.b, row[BAL_TA:BAL_B + 1])):
            ext[:] = [ta, a, tb, b] if a <= b else [tb, b, ta, a]
        return run

    def add(self, t: float, bal: float, eq: float) -> bool:
        """True when an extreme moved (what the line through the run is drawn from; ``t1`` is not drawn)."""
        self.t1 = t
        e, b = self.e, self.b
        moved = False
        if eq < e[1]:
            e[0], e[1], moved = t, eq, True
        elif eq > e[3]:
            e[2], e[3], moved = t, eq, True
        if bal < b[1]:
            b[0], b[1], moved = t, bal, True
        elif bal > b[3]:
            b[2], b[3], moved = t, bal, True
        return moved

    def row(self) -> list[float]:
        """As a row of a runs array (each curve's extremes in time order)."""
        out = [self.t0, self.t1, self.seg]
        for ta, a, tb, b in (self.e, self.b):
            out += [ta, a, tb, b] if ta <= tb else [tb, b, ta, a]
        return [*out, self.e[1], self.e[3]]


def _view(values: Any) -> np.ndarray:
    """A float64 view of a Series' array.array: keep it no longer than the call (it pins the array)."""
    return np.frombuffer(values, dtype=float) if len(values) else np.zeros(0)


class ChartPoints:
    def __init__(self) -> None:
        self.hist = np.empty((0, 5))  # ts, balance, equity, low, high, as read from the store
        self.gap = GAP
        self.has_band = False  # the history holds buckets whose low/high differ from their last equity
        self.series: Any = None
        self.dx: float | None = None  # seconds per pixel column the runs were computed for
        self.window = (np.inf, -np.inf)  # the time range the runs stand for
        self.follow = False  # the runs reach the newest point: live values may be added
        self.done = no_runs()
        self._rows: list[list[float]] = []  # finished live runs, not yet in ``done``
        self.open: OpenRun | None = None  # the newest live run, still filling
        self._hist_last: tuple[float, float | None, float] = (0.0, None, GAP)  # the history's last seg, time, gap
        self.seen_t: float | None = None  # the newest series time taken in
        self._suffix: tuple[np.ndarray, np.ndarray, list[float], list[float]] | None = None  # of value_range

    # ---- sources ------------------------------------------------------------------------------
    def set_history(self, points: np.ndarray, gap: float) -> None:
        self.hist = points
        self.gap = gap
        eq = points[:, 2]
        self.has_band = bool(np.any((points[:, 3] < eq) | (points[:, 4] > eq)))
        self.dx = None

    def set_series(self, series: Any) -> None:
        self.series = series
        self.dx = None

    def clear_history(self) -> None:
        self.set_history(np.empty((0, 5)), GAP)

    @property
    def hist_end(self) -> float:
        return float(self.hist[-1, 0]) if len(self.hist) else -np.inf

    def _tail_from(self, ts: np.ndarray) -> int:
        return int(np.searchsorted(ts, self.hist_end, side="right"))

    # ---- reduction ----------------------------------------------------------------------------
    def layout(self, x0: float, x1: float, width: float) -> bool:
        """Runs for the view [x0, x1] at ``width`` pixels; True when they were computed again."""
        if width < 1 or not x1 > x0:
            return False
        dx = (x1 - x0) / width
        if self.dx is not None and abs(dx - self.dx) <= self.dx * 1e-9 \
                and self.window[0] <= x0 and x1 <= self.window[1]:
            return False
        span = x1 - x0
        lo, hi = x0 - span, x1 + span
        h = self.hist
        n = len(h)
        i0 = max(0, int(np.searchsorted(h[:, 0], lo)) - 1)
        i1 = min(n, int(np.searchsorted(h[:, 0], hi, side="right")) + 1)
        runs, seg, last_t = no_runs(), 0.0, None
        if i1 > i0:
            part = h[i0:i1]
            runs, _ = decimate(part[:, 0], part[:, 1], part[:, 2], part[:, 3], part[:, 4], dx, self.gap)
            seg, last_t = float(runs[-1, SEG]), float(part[-1, 0])
        self.done, self.dx = runs, dx
        self._rows, self.open, self.seen_t = [], None, None
        self._hist_last = (seg, last_t, self.gap)
        self.follow, cut_left = i1 == n, i0 > 0
        s = self.series
        if self.follow and s is not None and len(s.ts):
            ts = _view(s.ts)
            first = self._tail_from(ts)
            j0 = max(first, int(np.searchsorted(ts, lo)) - 1)
            j1 = min(len(ts), int(np.searchsorted(ts, hi, side="right")) + 1)
            del ts
            self.follow, cut_left = j1 == len(s.ts), cut_left or j0 > first
            if j1 > j0:
                self._take(j0, j1)
                self._fold()
        self.window = (lo if cut_left else -np.inf, np.inf if self.follow else hi)
        return True

    def _take(self, i: int, j: int) -> None:
        """The series' points i…j-1 (from the open run's first point on, or the first live points) as runs:
        the finished ones join the live rows, the last one is the open run."""
        s = self.series
        t = _view(s.ts)[i:j].copy()
        bal = _view(s.balance)[i:j].copy()
        eq = _view(s.equity)[i:j].copy()
        if self.open is not None:
            seg = self.open.seg
        else:
            seg, t_before, gap = self._hist_last
            seg += t_before is not None and t[0] - t_before > gap
        runs, _ = decimate(t, bal, eq, eq, eq, self.dx, GAP, seg0=seg)
        self._rows += runs[:-1].tolist()
        self.open = OpenRun.of_row(runs[-1].tolist(), self.dx)
        self.seen_t = float(t[-1])

    def _fold(self) -> bool:
        """The finished live runs into the cached ones (the open run stays live)."""
        if not self._rows:
            return False
        self.done = np.concatenate([self.done, np.asarray(self._rows, dtype=float)])
        self._rows = []
        return True

    def advance(self) -> tuple[bool, bool]:
        """Take in the series' new values: (live runs' drawing changed, cached runs changed). A few new values
        (one refresh's worth) are added one by one in plain Python: numpy's cost per call is more than the
        work. A value inside its column's low and high changes nothing drawn: most values on any range
        longer than a few minutes, so most refreshes repaint nothing."""
        s = self.series
        if self.dx is None or not self.follow or s is None or not len(s.ts):
            return False, False
        ts = s.ts
        n = len(ts)
        if (self.seen_t is not None and ts[-1] <= self.seen_t) or ts[-1] <= self.hist_end:
            return False, False
        o = self.open
        i = n
        if o is not None and self.seen_t is not None:
            while i > 0 and ts[i - 1] > self.seen_t and n - i < BULK:
                i -= 1
        changed = True
        if o is None or self.seen_t is None or n - i >= BULK:
            view = _view(ts)
            i = int(np.searchsorted(view, o.t0)) if o is not None else self._tail_from(view)
            del view
            self._take(i, n)
        else:
            bal, eq, dx = s.balance, s.equity, self.dx
            changed = False
            for k in range(i, n):
                t = ts[k]
                col = math.floor(t / dx)
                jump = t - o.t1 > GAP
                if jump or col != o.col:
                    self._rows.append(o.row())
                    o = OpenRun(t, bal[k], eq[k], o.seg + jump, col)
                    changed = True
                elif o.add(t, bal[k], eq[k]):
                    changed = True
            self.open, self.seen_t = o, ts[n - 1]
        folded = len(self._rows) >= FOLD and self._fold()
        return changed or folded, folded

    @property
    def live(self) -> np.ndarray:
        """The live runs: the finished ones not yet cached, then the open one."""
        if self.open is None:
            return np.asarray(self._rows, dtype=float).reshape(-1, WIDTH)
        return np.asarray([*self._rows, self.open.row()], dtype=float)

    # ---- reads ----------------------------------------------------------------------------------
    def joined_live(self) -> list[list[float]]:
        """The live runs as rows, after the last cached run when the line goes on from it."""
        rows = [*self._rows, self.open.row()] if self.open is not None else list(self._rows)
        if len(self.done) and rows and rows[0][SEG] == self.done[-1, SEG]:
            rows.insert(0, self.done[-1].tolist())
        return rows

    def value_range(self, start: float) -> tuple[float, float] | None:
        """The lowest and highest value (equity lows and highs, balance) from ``start`` on. Asked on every
        refresh of a range that follows "now": the cached runs' extremes from each run on are kept until
        they change, the few live runs are looked at in plain Python."""
        lo, hi = math.inf, -math.inf
        done = self.done
        if len(done):
            if self._suffix is None or self._suffix[0] is not done:
                values = done[:, [LOW, HIGH, EQ_A, EQ_B, BAL_A, BAL_B]]
                lows = np.fmin.accumulate(np.fmin.reduce(values, axis=1)[::-1])[::-1]  # fmin: NaN ignored
                highs = np.fmax.accumulate(np.fmax.reduce(values, axis=1)[::-1])[::-1]
                self._suffix = (done, done[:, T1].copy(), lows.tolist(), highs.tolist())
            _, t1, lows, highs = self._suffix
            i = int(np.searchsorted(t1, start))  # runs are in time order
            if i < len(lows):
                lo, hi = lows[i], highs[i]
        rows = [*self._rows, self.open.row()] if self.open is not None else self._rows
        for row in rows:
            if row[T1] >= start:
                for v in (row[LOW], row[HIGH], row[EQ_A], row[EQ_B], row[BAL_A], row[BAL_B]):
                    if v < lo:  # a NaN is neither
                        lo = v
                    if v > hi:
                        hi = v
        return (float(lo), float(hi)) if lo <= hi else None

    def first_time(self) -> float | None:
        if len(self.hist):
            return float(self.hist[0, 0])
        s = self.series
        return float(s.ts[0]) if s is not None and len(s.ts) else None

    def last_time(self) -> float | None:
        s = self.series
        newest = float(s.ts[-1]) if s is not None and len(s.ts) else -np.inf
        newest = max(newest, self.hist_end)
        return newest if np.isfinite(newest) else None

    def point_at(self, x: float) -> tuple[float, float, float] | None:
        """The first point at or after ``x`` (the last one past the end): (time, balance, equity)."""
        h = self.hist
        if len(h) and x <= h[-1, 0]:
            i = int(np.searchsorted(h[:, 0], x))
            return float(h[i, 0]), float(h[i, 1]), float(h[i, 2])
        s = self.series
        if s is not None and len(s.ts) and s.ts[-1] > self.hist_end:
            ts = _view(s.ts)
            i = min(max(int(np.searchsorted(ts, x)), self._tail_from(ts)), len(ts) - 1)
            del ts
            return float(s.ts[i]), float(s.balance[i]), float(s.equity[i])
        if len(h):
            return float(h[-1, 0]), float(h[-1, 1]), float(h[-1, 2])
        return None
