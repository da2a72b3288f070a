"""The daily and max-loss floors as horizontal lines on the equity chart ([H] 2).

Two dashed lines with their names and amounts; the nearer floor is kept inside the chart's value
range (``chart.levels``) so the room to it can be seen, the farther one is drawn where it falls.
A floor of a verdict that is not current is drawn muted: it is where the floor was, not a live check.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt

from ui.formatting import money
from ui.headroom import Headroom, colour_of
from ui.theme import colours


class FloorLines:
    def __init__(self, chart: Any) -> None:
        self.chart = chart
        self.daily = self._line()
        self.total = self._line()
        self.shown: tuple[Any, ...] | None = None

    def _line(self) -> pg.InfiniteLine:
        line = pg.InfiniteLine(angle=0, movable=False, label="",
                               labelOpts={"position": 0.04, "anchors": [(0, 1), (0, 1)]})
        line.hide()
        self.chart.plot.addItem(line, ignoreBounds=True)
        return line

    def show(self, key: str | None, h: Headroom | None) -> None:
        """The floors of the account the chart shows (``h`` None: it is not guarded)."""
        if key != self.chart.key:
            h = None
        c = colours()
        shown = (key, h, c.name)
        if shown == self.shown:
            return
        self.shown = shown
        levels: list[float] = []
        for line, value, name, colour in ((self.daily, h and h.daily_floor, "Daily floor", colour_of("warning", c)),
                                          (self.total, h and h.total_floor, "Max-loss floor", c.loss)):
            if value is None or h is None:
                line.hide()
                continue
            colour = c.muted if h.level == "stale" else colour
            line.setPen(pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
            line.label.setColor(colour)
            line.label.setFormat(f"{name} {money(float(value))}" + (" (not current)" if h.level == "stale" else ""))
            line.setPos(float(value))
            line.show()
            if h.floor == ("daily" if line is self.daily else "total"):
                levels.append(float(value))
        old = getattr(self.chart, "levels", [])
        self.chart.levels = levels
        if levels != old:
            self.chart.redraw(force=True)
