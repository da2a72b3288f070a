"""One account's equity and balance points as the window keeps them (history loaded once, then live
snapshots), and the balance rebuilt from deals as steps."""

from __future__ import annotations

import math
from array import array

import numpy as np

from ui.chart_decimate import GAP


class Series:
    """In-memory equity/balance points of one account (history loaded once, then live snapshots). Kept as
    arrays of doubles, 24 bytes a point: Python float lists took ~100, so 20 accounts at 10 Hz grew the
    window by ~12 MB in 10 minutes ([P] 4, bench_memory.py).

    The newest KEEP seconds stay as they came. Older live values are thinned to what the chart draws of
    them: per STEP seconds, the values with the lowest and highest equity (and, where the balance moved,
    the lowest and highest balance), at their own times, and both values either side of a pause of nearly
    GAP or more (so no break is added to the line and none lost). The chart draws a pixel column's
    extremes, and a column is STEP seconds or more from the "1h" range on (up to 3,600 pixels wide), so
    it draws the same; the sparklines show the newest points. At 10 values a second that keeps 2 in 10
    (bench_memory.py: the 10-minute growth); at one a second or less nothing is dropped.

    ``version`` changes with every change of the points (their count does not: thinned, or at MAX)."""

    MAX = 50_000
    KEEP = 120.0  # seconds of the newest values kept whole
    STEP = 1.0  # older values: the extremes of each STEP seconds
    CHUNK = 10.0  # thinned once this many seconds more than KEEP are whole: numpy once per CHUNK, not per value

    def __init__(self) -> None:
        self.ts = array("d")
        self.balance = array("d")
        self.equity = array("d")
        self.version = 0
        self._whole = 0  # index of the first value not thinned yet

    def load(self, points: list[tuple[float, float, float]]) -> None:
        merged = sorted({p[0]: p for p in [*points, *zip(self.ts, self.balance, self.equity, strict=True)]}.values())
        merged = merged[-self.MAX:]
        self.ts = array("d", [p[0] for p in merged])
        self.balance = array("d", [p[1] for p in merged])
        self.equity = array("d", [p[2] for p in merged])
        self.version += 1
        self._whole = 0  # thinning again keeps what was kept (the same extremes) and the store's coarse points

    def append(self, ts: float, balance: float, equity: float) -> None:
        t = self.ts
        if t and ts <= t[-1]:
            return
        self.ts = _pushed(t, ts)  # no getattr/setattr loop: 20 accounts at 10 Hz
        self.balance = _pushed(self.balance, balance)
        self.equity = _pushed(self.equity, equity)
        self.version += 1
        n = len(self.ts)
        if n > self.MAX:
            self._drop(n - self.MAX)
        if ts - self.ts[self._whole] > self.KEEP + self.CHUNK:
            self._thin(ts)

    def _drop(self, k: int) -> None:
        """The oldest k values out, in place (a new array per value at MAX was 1.2 MB copied per value)."""
        self.ts, self.balance, self.equity = (_replaced(a, 0, k, array("d")) for a in (self.ts, self.balance,
                                                                                         self.equity))
        self._whole = max(0, self._whole - k)

    def _thin(self, newest: float) -> None:
        """The whole values older than KEEP (to a STEP boundary) down to each STEP's extremes and the values
        either side of a long pause."""
        start = self._whole
        ts = np.frombuffer(self.ts, dtype=float)
        cut = int(np.searchsorted(ts, math.floor((newest - self.KEEP) / self.STEP) * self.STEP))
        t = ts[start:cut].copy()
        around = ts[max(0, start - 1):cut + 1].copy()  # with the neighbours: the pauses at either end
        del ts  # a live view pins the array
        if cut - start < 2:
            self._whole = max(start, cut)
            return
        bal = np.frombuffer(self.balance, dtype=float)[start:cut].copy()
        eq = np.frombuffer(self.equity, dtype=float)[start:cut].copy()
        gaps = np.diff(around) if start > 0 else np.r_[0.0, np.diff(around)]  # before each value, and after the last
        pause = gaps > GAP - 2 * self.STEP  # both values either side kept: the pause stays as long as it was
        keep = extremes(np.floor(t / self.STEP), bal, eq, np.flatnonzero(pause[:-1] | pause[1:]))
        self.ts, self.balance, self.equity = (_replaced(a, start, cut, array("d", v[keep].tolist()))
                                              for a, v in ((self.ts, t), (self.balance, bal), (self.equity, eq)))
        self._whole = start + len(keep)


def extremes(bucket: np.ndarray, bal: np.ndarray, eq: np.ndarray, also: np.ndarray) -> np.ndarray:
    """Indices (in order) of each bucket's first lowest and highest equity, of its lowest and highest
    balance where the balance moved in it, and ``also``; ``bucket`` is ascending."""
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    lengths = np.diff(np.r_[starts, len(bucket)])
    picks = [also, _first_where(eq, np.repeat(np.minimum.reduceat(eq, starts), lengths), starts),
             _first_where(eq, np.repeat(np.maximum.reduceat(eq, starts), lengths), starts)]
    lo, hi = np.minimum.reduceat(bal, starts), np.maximum.reduceat(bal, starts)
    if np.any(lo != hi):
        moved = np.repeat(lo != hi, lengths)
        picks += [_first_where(bal, np.where(moved, np.repeat(lo, lengths), np.nan), starts),
                  _first_where(bal, np.where(moved, np.repeat(hi, lengths), np.nan), starts)]
    kept = np.sort(np.concatenate(picks))
    return kept[np.r_[True, kept[1:] != kept[:-1]]]  # not np.unique: it imports numpy.ma (~1 MB) on first use


def _first_where(values: np.ndarray, target: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per bucket, the index of the first value equal to its target (none where the target is NaN)."""
    hits = np.flatnonzero(values == target)
    bucket_of = np.searchsorted(starts, hits, side="right")
    return hits[np.r_[True, bucket_of[1:] != bucket_of[:-1]]] if len(hits) else hits


def _pushed(values: array, value: float) -> array:
    try:
        values.append(value)
    except BufferError:  # a numpy view of it lives on (np.asarray shares the memory): go on with a copy
        values = array("d", values)
        values.append(value)
    return values


def _replaced(values: array, i: int, j: int, new: array) -> array:
    """values[i:j] = new, in place unless a numpy view pins the array (then on a copy)."""
    try:
        values[i:j] = new
    except BufferError:
        values = array("d", values)
        values[i:j] = new
    return values


def steps(past: list[tuple[float, float]], until: float | None) -> tuple[np.ndarray, np.ndarray]:
    """A balance that changes only at deals, as steps; held until ``until`` (the first snapshot)."""
    if not past:
        return np.zeros(0), np.zeros(0)
    t = [p[0] for p in past] + ([until] if until and until > past[-1][0] else [])
    b = [p[1] for p in past] + ([past[-1][1]] if len(t) > len(past) else [])
    x = np.repeat(np.asarray(t, dtype=float), 2)[1:]
    y = np.repeat(np.asarray(b, dtype=float), 2)[:-1]
    return x, y
