"""[P] 1/2: the overview tile's sparkline (QPainter instead of a PlotWidget per tile) draws the same line:
oldest at the left edge, newest at the right, the highest value on top, nothing for fewer than 2 values."""

from __future__ import annotations

import math

from ui.sparkline import Sparkline


def test_the_line_spans_the_widget_with_the_highest_value_on_top(qtbot) -> None:
    spark = Sparkline(60)
    qtbot.addWidget(spark)
    spark.resize(201, 60)
    spark.set_data([10.0, 20.0, 30.0, 40.0], [1000.0, 1100.0, 900.0, 1000.0])
    pts = spark.points()
    assert [round(p.x()) for p in pts] == [0, 67, 133, 200]
    ys = [p.y() for p in pts]
    assert ys.index(min(ys)) == 1 and ys.index(max(ys)) == 2  # 1100 on top, 900 at the bottom
    assert all(0 < y < 59 for y in ys)  # a margin above and below, as the plot's padding had


def test_too_few_or_unknown_values_draw_nothing_and_gaps_are_skipped(qtbot) -> None:
    spark = Sparkline(60)
    qtbot.addWidget(spark)
    spark.resize(100, 60)
    spark.set_data([1.0], [5.0])
    assert spark.points() == []
    spark.set_data([1.0, 2.0, 3.0], [5.0, math.nan, 7.0])
    assert len(spark.points()) == 2
    spark.set_data([1.0, 2.0], [5.0, 5.0])  # a flat line stays inside the widget
    assert all(0 <= p.y() <= 59 for p in spark.points())
    spark.grab()  # paints without error
