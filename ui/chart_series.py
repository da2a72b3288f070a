"""One account's equity and balance points as the window keeps them (history loaded once, then live
snapshots), and the balance rebuilt from deals as steps."""

from __future__ import annotations

from array import array

import numpy as np


class Series:
    """In-memory equity/balance points of one account (history loaded once, then live snapshots). Kept as
    arrays of doubles, 24 bytes a point: Python float lists took ~100, so 20 accounts at 10 Hz grew the
    window by ~12 MB in 10 minutes ([P] 4, bench_memory.py)."""

    MAX = 50_000

    def __init__(self) -> None:
        self.ts = array("d")
        self.balance = array("d")
        self.equity = array("d")

    def load(self, points: list[tuple[float, float, float]]) -> None:
        merged = sorted({p[0]: p for p in [*points, *zip(self.ts, self.balance, self.equity, strict=True)]}.values())
        merged = merged[-self.MAX:]
        self.ts = array("d", [p[0] for p in merged])
        self.balance = array("d", [p[1] for p in merged])
        self.equity = array("d", [p[2] for p in merged])

    def append(self, ts: float, balance: float, equity: float) -> None:
        if self.ts and ts <= self.ts[-1]:
            return
        self.ts = _pushed(self.ts, ts, self.MAX)  # no getattr/setattr loop: 20 accounts at 10 Hz
        self.balance = _pushed(self.balance, balance, self.MAX)
        self.equity = _pushed(self.equity, equity, self.MAX)


def _pushed(values: array, value: float, most: int) -> array:
    try:
        values.append(value)
    except BufferError:  # a numpy view of it lives on (np.asarray shares the memory): go on with a copy
        values = array("d", values)
        values.append(value)
    if len(values) > most:
        values = values[len(values) - most:]
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
