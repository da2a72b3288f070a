"""[P] 4: a chart Series keeps its points as arrays of doubles (24 bytes a point, not ~100 as Python float
lists: 20 accounts at 10 Hz grew the window by ~12 MB in 10 minutes), and it still grows while numpy holds
a view of its arrays."""

from __future__ import annotations

import tracemalloc

import numpy as np

from ui.equity_chart import Series


def test_a_point_costs_a_few_dozen_bytes() -> None:
    series = Series()
    series.append(0.0, 1.0, 1.0)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(1, 6001):
            series.append(float(i), 1000.0 + i, 1000.5 + i)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(series.ts) == 6001
    assert grown / 6000 <= 40, f"{grown / 6000:.0f} bytes a point"


def test_it_grows_while_a_numpy_view_of_it_is_alive_and_keeps_at_most_max() -> None:
    series = Series()
    series.MAX = 5
    series.append(1.0, 10.0, 11.0)
    held = np.asarray(series.ts)  # a plot keeping what it was given
    for i in range(2, 9):
        series.append(float(i), 10.0 * i, 11.0 * i)
    assert list(series.ts) == [4.0, 5.0, 6.0, 7.0, 8.0]
    assert list(series.equity) == [44.0, 55.0, 66.0, 77.0, 88.0]
    assert held.tolist() == [1.0]
    series.append(8.0, 0.0, 0.0)  # not newer: ignored
    assert len(series.ts) == 5 and series.ts[-1] == 8.0
