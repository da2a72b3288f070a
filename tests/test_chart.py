"""The focused account's chart: the owner's zoom and pan survive new values, a range button takes
the view back, minutes without data break the line, and the colours follow the theme."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from ui.chart_decimate import line
from ui.equity_chart import GAP, EquityChart, Series, with_gaps
from ui.theme import apply_theme


def live_series(n: int = 600, step: float = 1.0) -> Series:
    s = Series()
    start = time.time() - n * step
    for i in range(n):
        s.append(start + i * step, 10_000.0, 10_000.0 + 5 * np.sin(i / 20))
    return s


def chart_with(qtbot, series: Series) -> EquityChart:
    chart = EquityChart()
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    chart.show()
    qtbot.waitExposed(chart)
    chart.range_buttons.button(0).click()  # 1h
    chart.show_account("1@S", "Acct", series)
    return chart


def wheel(chart: EquityChart, clicks: int) -> None:
    """A real mouse-wheel zoom over the middle of the plot, as the owner does it."""
    view = chart.plot.viewport()
    centre = QPointF(view.width() / 2, view.height() / 2)
    event = QWheelEvent(centre, QPointF(view.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * clicks),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view, event)


def feed(chart: EquityChart, series: Series, n: int) -> None:
    for _ in range(n):
        series.append(series.ts[-1] + 1.0, 10_000.0, series.equity[-1] + 0.5)
        chart.redraw()


def test_zoom_survives_new_values_and_a_range_button_takes_it_back(qtbot) -> None:
    series = live_series()
    chart = chart_with(qtbot, series)
    before = chart.view.viewRange()[0]
    wheel(chart, 3)
    qtbot.waitUntil(lambda: chart.owner_view, timeout=2000)
    zoomed = chart.view.viewRange()
    assert zoomed[0][1] - zoomed[0][0] < (before[1] - before[0]) * 0.9
    feed(chart, series, 5)
    after = chart.view.viewRange()
    # the owner's zoom: same width and height, not snapped back to the hour
    assert abs((after[0][1] - after[0][0]) - (zoomed[0][1] - zoomed[0][0])) < 1e-6
    assert after[1] == zoomed[1]
    chart.range_buttons.button(0).click()
    assert not chart.owner_view
    x0, x1 = chart.view.viewRange()[0]
    assert x1 - x0 > (zoomed[0][1] - zoomed[0][0]) * 1.05


def test_a_view_of_the_past_stays_put_and_a_view_of_now_follows(qtbot) -> None:
    series = live_series()
    chart = chart_with(qtbot, series)
    wheel(chart, 2)
    qtbot.waitUntil(lambda: chart.owner_view, timeout=2000)
    last = series.ts[-1]
    chart.view.setXRange(last - 400, last - 200, padding=0)  # the owner looks at the past
    chart._owner_moved_view()
    feed(chart, series, 5)
    assert chart.view.viewRange()[0] == [last - 400, last - 200]
    chart.view.setXRange(last - 100, last + 5, padding=0)  # and now at "now"
    chart._owner_moved_view()
    feed(chart, series, 5)
    x0, x1 = chart.view.viewRange()[0]
    assert abs(x0 - (last - 95)) < 1e-6 and abs(x1 - (last + 10)) < 1e-6  # slid by the 5 s fed


def test_minutes_without_data_break_the_line() -> None:
    ts = [0.0, 1.0, 2.0, 2.0 + GAP + 60, 3.0 + GAP + 60]
    t, eq = with_gaps(ts, [1, 2, 3, 4, 5])
    assert len(t) == 6 and np.isnan(eq[3]) and list(eq[[0, 1, 2, 4, 5]]) == [1, 2, 3, 4, 5]
    assert t[2] < t[3] < t[4]
    t, eq = with_gaps([0.0, 1.0, 2.0], [1, 2, 3])
    assert not np.isnan(eq).any()


def test_the_drawn_curve_has_the_break(qtbot) -> None:
    series = Series()
    now = time.time()
    series.load([(now - 900, 100.0, 100.0), (now - 899, 100.0, 101.0), (now - 10, 100.0, 102.0),
                 (now - 9, 100.0, 103.0)])
    chart = chart_with(qtbot, series)
    x, y = line(np.concatenate([chart.points.done, chart.points.live]), "eq")  # what the two layers draw
    assert np.isnan(y).sum() == 1
    assert x[~np.isnan(x)].min() == now - 900 and x[~np.isnan(x)].max() == now - 9
    before, after = x[: np.flatnonzero(np.isnan(y))[0]], x[np.flatnonzero(np.isnan(y))[0] + 1:]
    assert before.max() == now - 899 and after.min() == now - 10


def test_chart_colours_follow_the_theme(qtbot) -> None:
    chart = chart_with(qtbot, live_series(10))
    try:
        apply_theme("dark")
        assert chart.plot.backgroundBrush().color().lightness() < 80
        apply_theme("light")
        assert chart.plot.backgroundBrush().color().lightness() > 200
    finally:
        apply_theme("light")


def test_another_account_clears_the_crosshair_read_out(qtbot) -> None:
    chart = chart_with(qtbot, live_series(10))
    chart.readout.setText("2026-01-01 10:00:00   Equity 1.00")
    chart.show_account("2@S", "Other", live_series(10))
    assert chart.readout.text() == ""


def test_an_empty_chart_says_so_without_a_dummy_clock(qtbot) -> None:
    chart = chart_with(qtbot, Series())
    assert chart.empty.isVisible()
    axis = chart.plot.getPlotItem().getAxis("bottom")
    assert axis.tickStrings([0.0, 0.5, 1.0], 1.0, 0.5) == ["", "", ""]
    assert not chart.plot.getPlotItem().getAxis("left").style["showValues"]
    chart.show_account("2@S", "Other", live_series(10))
    assert not chart.empty.isVisible()


def test_a_range_that_follows_now_moves_in_steps_not_a_pixel_per_refresh(qtbot) -> None:
    """Each move re-lays out the axes and the cached history of every chart in the same refresh ([E] 6)."""
    series = live_series(4000)  # older than the hour: the view is the hour, not a young account's
    chart = chart_with(qtbot, series)
    chart.redraw()
    x0, x1 = chart.view.viewRange()[0]
    pad = (x1 - x0) / 1.04 * 0.02
    feed(chart, series, 30)  # "now" still left of the view's right edge
    assert chart.view.viewRange()[0] == [x0, x1]
    moves = []
    chart.view.sigXRangeChanged.connect(lambda *_: moves.append(1))
    feed(chart, series, int(3 * pad))  # past it: "now" stays in view, moved a step at a time (a pixel is ~4 s)
    y0, y1 = chart.view.viewRange()[0]
    assert abs((y1 - y0) - (x1 - x0)) < 1e-6
    assert y0 < series.ts[-1] <= y1
    assert 1 <= len(moves) <= 3
