"""[P] 4: a chart Series keeps its points as arrays of doubles (24 bytes a point, not ~100 as Python float
lists: 20 accounts at 10 Hz grew the window by ~12 MB in 10 minutes), and it still grows while numpy holds
a view of its arrays. Values older than Series.KEEP are thinned to what the chart draws (each second's
extremes, the values around a pause), and the chart and the tiles follow ``version``, not the count."""

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


def ten_hz(seconds: float, start: float = 1_000_000.0, bal_step_at: float | None = None) -> tuple[Series, list]:
    """A Series fed 10 values a second (equity wandering), and the values it was fed."""
    series, fed = Series(), []
    rng = np.random.default_rng(7)
    eq = 10_000.0
    for i in range(int(seconds * 10)):
        t = start + i / 10
        eq += float(rng.normal(0, 3))
        bal = 10_000.0 + (50.0 if bal_step_at is not None and t - start >= bal_step_at else 0.0)
        series.append(t, bal, eq)
        fed.append((t, bal, eq))
    return series, fed


def test_older_live_values_are_thinned_to_what_the_chart_draws() -> None:
    series, fed = ten_hz(600, bal_step_at=300.35)
    t, bal, eq = (np.asarray(v) for v in (series.ts, series.balance, series.equity))
    raw = np.asarray(fed)
    assert len(t) < 1200 + 2 * 480 + 200, f"{len(t)} of {len(raw)} values kept"  # whole 2 minutes + ~2 a second
    assert np.all(np.diff(t) > 0)
    newest = raw[raw[:, 0] >= raw[-1, 0] - Series.KEEP]
    assert t[-len(newest):].tolist() == newest[:, 0].tolist()  # the newest KEEP seconds whole
    for width in (1.0, 4.0, 60.0):  # a pixel column of STEP seconds or more: the same extremes drawn
        cols, kept_cols = np.floor(raw[:, 0] / width), np.floor(t / width)
        for c in np.unique(cols)[::7]:
            fed_eq = raw[cols == c, 2]
            assert (eq[kept_cols == c].min(), eq[kept_cols == c].max()) == (fed_eq.min(), fed_eq.max())
    step = np.flatnonzero(np.diff(bal))
    assert len(step) == 1 and abs(t[step[0] + 1] - (1_000_000.0 + 300.4)) < Series.STEP  # the deposit's time
    assert bal[0] == 10_000.0 and bal[-1] == 10_050.0


def test_a_value_a_second_is_never_thinned() -> None:
    series = Series()
    for i in range(1000):
        series.append(1_000_000.0 + i * 1.001, 1.0, float(i % 17))
    assert len(series.ts) == 1000 and list(series.equity)[:20] == [float(i % 17) for i in range(20)]


def test_the_version_changes_with_every_value_even_when_the_count_does_not() -> None:
    series = Series()
    series.MAX = 5
    versions = set()
    for i in range(10):
        series.append(float(i), 1.0, 1.0)
        versions.add(series.version)
    assert len(series.ts) == 5 and len(versions) == 10
    before = series.version
    series.load([(-1.0, 1.0, 1.0)])
    assert series.version != before


def test_thinning_goes_on_while_a_numpy_view_of_the_arrays_is_alive() -> None:
    series, _ = ten_hz(100)
    held = np.frombuffer(series.ts, dtype=float)  # a view kept across values (the chart drops its own)
    first = held[0]
    for i in range(1000, 1800):
        series.append(1_000_000.0 + i / 10, 1.0, float(i))
    assert held[0] == first and len(series.ts) < 1800


def test_the_focused_chart_still_takes_new_values_once_the_series_is_full(qtbot) -> None:
    """At Series.MAX the count stops changing: the chart (and the overview's tiles) watch ``version``."""
    import time

    from test_chart import chart_with

    series = Series()
    series.MAX = 50
    now = time.time()
    for i in range(50):
        series.append(now - 60 + i, 100.0, 100.0 + i)
    chart = chart_with(qtbot, series)
    chart.redraw()
    for i in range(3):
        series.append(now - 5 + i, 100.0, 500.0 + i)
        chart.redraw()
    assert len(series.ts) == 50
    assert chart.points.seen_t == series.ts[-1]


def test_thinning_neither_adds_nor_loses_a_break_in_the_line() -> None:
    from ui.chart_decimate import GAP

    for pause in (GAP - 0.5, GAP - 1.5, GAP + 0.05, 3 * GAP):
        series, fed = Series(), []
        t = 1_000_000.0
        for i in range(5000):  # 100 s at 10 Hz, the pause, then 400 s at 10 Hz
            t += pause if i == 1000 else 0.1
            series.append(t, 1.0, float(i % 13))
            fed.append(t)
        kept = np.asarray(series.ts)
        assert len(kept) < len(fed) / 2
        assert np.sum(np.diff(kept) > GAP) == np.sum(np.diff(fed) > GAP)
        assert np.max(np.diff(kept)) == np.max(np.diff(fed))  # the pause as long as it was
