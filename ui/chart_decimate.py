"""The equity chart's points reduced to what a screen can show ([E] 6): per pixel column at most two
points per curve (the column's extremes, in time order) and the column's equity low and high (the band
of [E] 2), never joined across a stretch without values. numpy only: no Qt here.

A "run" is the points of one pixel column within one live stretch (a segment: values no more than
``gap`` seconds apart). Columns are counted from time 0, not from the view's left edge, so following
"now" (the view sliding by whole pixels) keeps every run as it is; only a zoom or a resize (another
column width) reduces the points again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GAP = 120.0  # seconds without a value that break the line: nothing is known in between

# the columns of a runs array, one row per run
T0, T1, SEG, EQ_TA, EQ_A, EQ_TB, EQ_B, BAL_TA, BAL_A, BAL_TB, BAL_B, LOW, HIGH = range(13)
WIDTH = 13


def no_runs() -> np.ndarray:
    return np.empty((0, WIDTH))


def with_gaps(ts: Any, *values: Any, gap: float = GAP) -> tuple[np.ndarray, ...]:
    """The points with a NaN after each one followed by more than GAP seconds of silence, so a
    curve drawn with connect="finite" breaks there instead of drawing a straight line across."""
    t = np.array(ts, dtype=float)  # copies: a view would pin a Series' arrays (they could not grow)
    cols = [np.array(v, dtype=float) for v in values]
    if len(t) < 2:
        return (t, *cols)
    breaks = np.nonzero(np.diff(t) > gap)[0] + 1
    if not len(breaks):
        return (t, *cols)
    t = np.insert(t, breaks, t[breaks - 1] + gap / 2)
    return (t, *[np.insert(c, breaks, np.nan) for c in cols])


def _extremes(t: np.ndarray, v: np.ndarray, starts: np.ndarray, run_of: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each run's minimum and maximum, the earlier one first: (time a, value a, time b, value b)."""
    idx = np.arange(len(v))
    low = np.minimum.reduceat(v, starts)
    high = np.maximum.reduceat(v, starts)
    at_low = np.minimum.reduceat(np.where(v == low[run_of], idx, len(v)), starts)
    at_high = np.minimum.reduceat(np.where(v == high[run_of], idx, len(v)), starts)
    a, b = np.minimum(at_low, at_high), np.maximum(at_low, at_high)
    return t[a], v[a], t[b], v[b]


def decimate(t: np.ndarray, balance: np.ndarray, equity: np.ndarray, low: np.ndarray, high: np.ndarray,
             dx: float, gap: float, seg0: float = 0.0, t_before: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Runs of the points (time-sorted) at ``dx`` seconds per pixel column. ``seg0`` is the segment of the
    point before ``t[0]`` (at ``t_before``): the first run continues it unless more than ``gap`` apart.
    Returns the runs and each run's first index into ``t``."""
    n = len(t)
    if not n:
        return no_runs(), np.zeros(0, dtype=np.int64)
    jumps = np.empty(n, dtype=bool)
    jumps[0] = t_before is not None and t[0] - t_before > gap
    np.greater(np.diff(t), gap, out=jumps[1:])
    seg = seg0 + np.cumsum(jumps)
    col = np.floor(t / dx)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = (np.diff(col) != 0) | jumps[1:]
    starts = np.flatnonzero(new)
    run_of = np.cumsum(new) - 1
    runs = np.empty((len(starts), WIDTH))
    runs[:, T0] = t[starts]
    runs[:, T1] = t[np.append(starts[1:], n) - 1]
    runs[:, SEG] = seg[starts]
    runs[:, EQ_TA], runs[:, EQ_A], runs[:, EQ_TB], runs[:, EQ_B] = _extremes(t, equity, starts, run_of)
    runs[:, BAL_TA], runs[:, BAL_A], runs[:, BAL_TB], runs[:, BAL_B] = _extremes(t, balance, starts, run_of)
    runs[:, LOW] = np.minimum.reduceat(low, starts)
    runs[:, HIGH] = np.maximum.reduceat(high, starts)
    return runs, starts


def line(runs: np.ndarray, curve: str) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) of a curve ("eq" or "bal") through the runs, two points a run, a NaN where a segment
    ends: drawn with connect="finite"."""
    ta, a, tb, b = (EQ_TA, EQ_A, EQ_TB, EQ_B) if curve == "eq" else (BAL_TA, BAL_A, BAL_TB, BAL_B)
    x = runs[:, [ta, tb]].ravel()
    y = runs[:, [a, b]].ravel()
    breaks = np.flatnonzero(np.diff(runs[:, SEG]) != 0) + 1
    if len(breaks):
        x = np.insert(x, 2 * breaks, np.nan)
        y = np.insert(y, 2 * breaks, np.nan)
    return x, y


def band(runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The low-high band's outline per segment (the highs forward, the lows back), NaN between
    segments: each segment a polygon when filled."""
    r = len(runs)
    if not r:
        return np.zeros(0), np.zeros(0)
    seg = runs[:, SEG]
    order = np.arange(r)
    # the upper edge forward then the lower edge backward, segment by segment
    keys_up = np.column_stack([seg, np.zeros(r), order])
    keys_down = np.column_stack([seg, np.ones(r), -order])
    keys = np.concatenate([keys_up, keys_down])
    pick = np.lexsort((keys[:, 2], keys[:, 1], keys[:, 0]))
    which = pick % r
    up = pick < r
    x = np.where(up[:, None], runs[which][:, [T0, T1]], runs[which][:, [T1, T0]]).ravel()
    y = np.repeat(np.where(up, runs[which, HIGH], runs[which, LOW]), 2)
    seg_of = np.repeat(seg[which], 2)
    breaks = np.flatnonzero(np.diff(seg_of) != 0) + 1
    if len(breaks):
        x = np.insert(x, breaks, np.nan)
        y = np.insert(y, breaks, np.nan)
    return x, y
