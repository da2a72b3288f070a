"""[E] 2, 6: the equity chart at scale. It draws at most two points per pixel column whatever it is given;
values added live give the same columns as reducing everything at once; the buckets' equity lows and highs
are a band behind the line, so a one-second dip stored weeks ago (and compacted since) shows at any zoom;
stretches without values stay gaps in the band too; the grid is opaque and under the curves."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QImage, QPainter

from app import equity_tiers
from app.account_history import AccountHistory
from app.desk_history import chart_data
from app.history import SCHEMA, HistoryStore
from multi_user.paths import history_path
from ui.chart_decimate import GAP, band, decimate
from ui.chart_points import ChartPoints
from ui.equity_chart import EquityChart, Series

KEY = "1001@Sim-Demo"
DAY = 86400.0


def shown_chart(qtbot, width: int = 900) -> EquityChart:
    chart = EquityChart()
    qtbot.addWidget(chart)
    chart.resize(width, 400)
    chart.show()
    qtbot.waitExposed(chart)
    return chart


def drawn_in_view(chart: EquityChart) -> int:
    (x0, x1), _ = chart.view.viewRange()
    return chart.history_layer.points_in("eq", x0, x1) + chart.live_layer.points_in("eq", x0, x1)


def most(width: float) -> float:
    """Two points per pixel column; columns are counted from time 0 (so following "now" keeps them), so the
    view's two edges may each cut one: width + 1 columns show."""
    return 2 * (width + 1)


def test_a_million_points_are_drawn_as_at_most_two_per_pixel_column(qtbot) -> None:
    chart = shown_chart(qtbot)
    chart.range_buttons.button(4).setChecked(True)  # All
    chart.show_account("1@S", "Acct", Series())
    now = time.time()
    n = 1_000_000
    ts = now - n + np.arange(n, dtype=float)
    eq = 10_000 + np.cumsum(np.random.default_rng(1).normal(0, 1, n))
    points = np.column_stack([ts, np.full(n, 10_000.0), eq, eq, eq])
    chart.set_history("1@S", {"points": points.tolist(), "step": 0, "past": [], "flows": []})
    width = chart.view.width()
    assert 0 < drawn_in_view(chart) <= most(width)
    # the lowest and the highest value are among them: a drawdown is never thinned away
    drawn = chart.history_layer.arrays["eq"][1]
    assert drawn.min() == eq.min() and drawn.max() == eq.max()
    chart.view.setXRange(now - 50_000, now - 40_000, padding=0)  # the owner zooms in: reduced again
    assert 0 < drawn_in_view(chart) <= most(width)
    x = chart.history_layer.arrays["eq"][0]
    assert np.nanmin(x) >= now - 60_001 and np.nanmax(x) <= now - 29_999  # a view either side, not all of it


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(0.05, 400.0), st.floats(-50.0, 50.0), st.booleans()), min_size=1,
                      max_size=300),
       chunk=st.integers(1, 40), dx=st.sampled_from([0.5, 7.0, 60.0]))
def test_values_added_live_give_the_columns_of_one_reduction(steps, chunk: int, dx: float) -> None:
    t, e, b = 1_700_000_000.0, 1000.0, 1000.0
    all_points = []
    for step, move, deal in steps:
        t += step
        e += move
        b += move if deal else 0.0
        all_points.append((t, b, e))
    series = Series()
    series.KEEP = np.inf  # each value as it came (older ones thinned: tests/test_perf_series.py)
    points = ChartPoints()
    points.set_series(series)
    points.layout(t - 900 * dx, t + 100 * dx, 1000)  # about dx seconds per column, following "now"
    for i in range(0, len(all_points), chunk):
        for p in all_points[i:i + chunk]:
            series.append(*p)
        points.advance()
    arr = np.asarray(all_points)
    expected, _ = decimate(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 2], arr[:, 2], points.dx, GAP)
    got = np.concatenate([points.done, points.live])
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)



@settings(max_examples=40, deadline=None)
@given(moves=st.lists(st.floats(-50.0, 50.0), min_size=2, max_size=200), at=st.floats(0.0, 1.0))
def test_value_range_is_the_extremes_of_every_run_from_start_on(moves: list[float], at: float) -> None:
    series, points = Series(), ChartPoints()
    points.set_series(series)
    t0 = 1_700_000_000.0
    points.layout(t0 - 100.0, t0 + 3000.0, 300)  # 10 s a column: folds happen (FOLD columns)
    e = 1000.0
    for i, move in enumerate(moves):
        e += move
        series.append(t0 + 7.0 * i, 1000.0, e)
        points.advance()
    start = t0 + at * 7.0 * len(moves)
    runs = np.concatenate([points.done, points.live])
    runs = runs[runs[:, 1] >= start]  # T1
    got = points.value_range(start)
    if not len(runs):
        assert got is None
        return
    values = runs[:, [11, 12, 4, 6, 8, 10]]  # LOW, HIGH, EQ_A, EQ_B, BAL_A, BAL_B
    assert got == (float(values.min()), float(values.max()))


def test_a_value_inside_its_columns_low_and_high_changes_nothing_drawn() -> None:
    series, points = Series(), ChartPoints()
    points.set_series(series)
    t0 = 1_700_000_000.0
    points.layout(t0 - 100.0, t0 + 3000.0, 30)  # 100 s a column
    for i, eq in enumerate((1000.0, 1010.0, 990.0)):
        series.append(t0 + i, 1000.0, eq)
        assert points.advance()[0]  # the first value, then a new high, then a new low
    live = points.live.tolist()
    series.append(t0 + 3, 1000.0, 1005.0)
    assert points.advance() == (False, False)  # nothing to repaint
    assert points.live[:, 2:].tolist() == [row[2:] for row in live]  # the drawn columns as they were
    series.append(t0 + 4, 1000.0, 1020.0)
    assert points.advance()[0]


def dip_store(data_dir: Path, now: float) -> float:
    """Twenty days of snapshots every 10 s at 10,000, with one second at 7,000 fifteen days ago, written with
    their tiers as the history writer does and compacted as at start-up."""
    conn = sqlite3.connect(history_path(data_dir))
    conn.executescript(SCHEMA)
    equity_tiers.ensure(conn)
    ts = np.arange(now - 20 * DAY, now, 10.0)
    dip = float(ts[len(ts) // 4]) + 3.0
    rows = [(KEY, float(t), 10_000.0, 10_000.0 + (i % 5), "USD") for i, t in enumerate(ts)]
    rows = sorted([*rows, (KEY, dip, 10_000.0, 7_000.0, "USD")], key=lambda r: r[1])  # written in time order
    with conn:
        conn.executemany("INSERT INTO snapshots VALUES (?,?,?,?,?)", rows)
        equity_tiers.roll_up(conn, rows)
    conn.close()
    assert HistoryStore(history_path(data_dir)).compact(now) > 0
    return dip


def test_the_band_shows_a_deep_intraday_low_after_compaction(qtbot, tmp_path: Path) -> None:
    now = time.time()
    dip = dip_store(tmp_path, now)
    conn = sqlite3.connect(history_path(tmp_path))
    kept = conn.execute("SELECT COUNT(*) FROM snapshots WHERE equity < 9000").fetchone()[0]
    conn.close()
    assert kept == 0  # the compaction dropped the dip's snapshot: only the tiers' lows remember it
    chart = shown_chart(qtbot)
    history = AccountHistory(tmp_path)
    chart.wanted.connect(lambda key, start, end, n: chart.set_history(key, chart_data(history, key, start, end, n)))
    chart.range_buttons.button(4).setChecked(True)  # All
    chart.show_account(KEY, "Acct", Series())
    for button in (4, 3):  # All, then 3 months: long ranges, read from the tiers
        chart.range_buttons.button(button).click()
        assert chart.history is not None and chart.points.has_band
        bx, by = chart.history_layer.arrays["band"]
        assert np.nanmin(by) == 7_000.0  # the band reaches the dip
        at = bx[np.nanargmin(by)]
        assert abs(at - dip) <= chart.history["gap"] / 3 + chart.points.dx  # in the dip's bucket (and column)
        assert np.nanmin(chart.history_layer.arrays["eq"][1]) > 9_000  # the line is each bucket's last value
        y0, y1 = chart.view.viewRange()[1]
        assert y0 < 7_000.0 < 10_000.0 < y1  # and the view keeps the low in sight
    chart.view.setXRange(dip - 3 * DAY, dip + 3 * DAY, padding=0)  # the owner zooms around it
    chart._owner_moved_view()
    qtbot.waitUntil(lambda: chart.history is not None and chart.history["ts"][-1] < now - 8 * DAY, timeout=3000)
    assert chart.history["gap"] == 3 * 900  # fifteen-minute buckets now
    assert np.nanmin(chart.history_layer.arrays["band"][1]) == 7_000.0


def test_a_stretch_without_values_is_a_gap_in_the_band() -> None:
    t = np.concatenate([np.arange(0.0, 3600.0, 900.0), np.arange(20_000.0, 23_600.0, 900.0)])
    eq = np.full(len(t), 100.0)
    runs, _ = decimate(t, eq, eq, eq - 5, eq + 5, 100.0, gap=3 * 900.0)
    x, y = band(runs)
    assert np.isnan(x).sum() == 1  # two polygons
    gap_at = int(np.flatnonzero(np.isnan(x))[0])
    assert np.nanmax(x[:gap_at]) < 20_000.0 <= np.nanmin(x[gap_at + 1:])
    assert set(y[~np.isnan(y)]) == {95.0, 105.0}


def test_the_grid_is_opaque_and_under_the_curves(qtbot) -> None:
    chart = shown_chart(qtbot)
    chart.show_account("1@S", "Acct", Series())
    chart.set_history("1@S", {"points": [(time.time() - 60 + i, 100.0, 100.0 + i, 100.0 + i, 100.0 + i)
                                         for i in range(60)], "step": 0, "past": [], "flows": []})
    axis = chart.plot.getPlotItem().getAxis("left")
    image = QImage(10, 10, QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(image)
    try:
        _line, ticks, _texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    assert ticks and all(pen.color().alpha() == 255 for pen, _a, _b in ticks)
    assert axis.zValue() < chart.view.zValue()
