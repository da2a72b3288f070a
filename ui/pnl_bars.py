"""Daily and monthly closed P/L as bars under the statistics ([E] 4), from the ``daily_pl`` and
``monthly_pl`` of ``accounts stats``. Days without closed trades are drawn as empty slots, so a
gap in trading reads as a gap, not as two adjacent bars."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.formatting import money
from ui.theme import colours, notifier

MAX_DAYS = 120  # a 300-pixel panel shows ~2 px per bar at this count; older days stay in the monthly view
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_series(daily: dict[str, float], max_days: int = MAX_DAYS) -> list[tuple[str, float]]:
    """Every calendar day from the first to the last day with P/L (zeros filled), the last max_days."""
    if not daily:
        return []
    first, last = (dt.date.fromisoformat(d) for d in (min(daily), max(daily)))
    first = max(first, last - dt.timedelta(days=max_days - 1))
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return [(d.isoformat(), float(daily.get(d.isoformat(), 0.0))) for d in days]


def month_series(monthly: dict[str, float]) -> list[tuple[str, float]]:
    """Every month from the first to the last with P/L (zeros filled)."""
    if not monthly:
        return []
    y, m = (int(v) for v in min(monthly).split("-"))
    end = max(monthly)
    out: list[tuple[str, float]] = []
    while f"{y:04d}-{m:02d}" <= end:
        key = f"{y:04d}-{m:02d}"
        out.append((key, float(monthly.get(key, 0.0))))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def label_of(key: str) -> str:
    """'2026-11' → 'Nov 2026'; '2026-11-25' → 'Wed 25 Nov 2026' (the bar under the mouse)."""
    if len(key) == 7:
        y, m = key.split("-")
        return f"{MONTHS[int(m) - 1]} {y}"
    d = dt.date.fromisoformat(key)
    return f"{d:%a} {d.day} {MONTHS[d.month - 1]} {d.year}"


class PnlBars(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("PnlBars")
        self._stats: dict[str, Any] = {}
        self._bars: list[tuple[str, float]] = []
        self.daily_button, self.monthly_button = QPushButton("Daily"), QPushButton("Monthly")
        group = QButtonGroup(self)
        for b in (self.daily_button, self.monthly_button):
            b.setCheckable(True)
            b.setFlat(True)
            group.addButton(b)
        self.monthly_button.setChecked(True)
        group.buttonClicked.connect(lambda _b: self._draw())
        self.title = QLabel("<b>Closed P/L</b>")
        self.readout = QLabel("")
        self.readout.setObjectName("Muted")
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getPlotItem().hideAxis("bottom")
        self.plot.setMinimumHeight(110)
        self.plot.setMaximumHeight(160)
        self.item = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.plot.addItem(self.item)
        self.zero = pg.InfiniteLine(pos=0, angle=0, movable=False)
        self.plot.addItem(self.zero)
        self.plot.scene().sigMouseMoved.connect(self._hover)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.daily_button)
        head.addWidget(self.monthly_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.plot)
        lay.addWidget(self.readout)
        notifier().changed.connect(self._theme_changed)
        self._theme_changed("")

    def _theme_changed(self, _name: str) -> None:
        c = colours()
        self.plot.setBackground(c.chart_bg)
        axis = self.plot.getPlotItem().getAxis("left")
        axis.setPen(pg.mkPen(c.chart_fg))
        axis.setTextPen(pg.mkPen(c.chart_fg))
        self.zero.setPen(pg.mkPen(c.chart_fg, width=1))
        self._draw()

    def monthly(self) -> bool:
        return self.monthly_button.isChecked()

    def set_stats(self, stats: dict[str, Any] | None) -> None:
        self._stats = stats or {}
        self._draw()

    def bars(self) -> list[tuple[str, float]]:
        """What is drawn, oldest first: (day or month, P/L)."""
        return list(self._bars)

    def _draw(self) -> None:
        s = self._stats
        self._bars = (month_series(s.get("monthly_pl") or {}) if self.monthly()
                      else day_series(s.get("daily_pl") or {}))
        c = colours()
        heights = [v for _, v in self._bars]
        # one pen for all bars: pyqtgraph 0.13's per-bar "pens" fails on an empty list
        self.item.setOpts(x=list(range(len(heights))), height=heights, width=0.8, pen=pg.mkPen(None),
                          brushes=[pg.mkBrush(c.profit if v > 0 else c.loss) for v in heights] or None)
        if heights:
            self.plot.setXRange(-0.6, len(heights) - 0.4, padding=0)
            lo, hi = min(0.0, *heights), max(0.0, *heights)
            self.plot.setYRange(lo, hi if hi > lo else lo + 1, padding=0.08)
        self.readout.setText(self._summary() if self._bars else "No closed trades in the period.")

    def _summary(self) -> str:
        up = sum(1 for _, v in self._bars if v > 0)
        down = sum(1 for _, v in self._bars if v < 0)
        unit = "months" if self.monthly() else "days"
        return f"{up} {unit} up, {down} down · hover a bar"

    def _hover(self, pos: QPointF) -> None:
        if not self._bars or not self.plot.sceneBoundingRect().contains(pos):
            return
        x = self.plot.getPlotItem().vb.mapSceneToView(pos).x()
        i = round(x)
        if 0 <= i < len(self._bars):
            key, v = self._bars[i]
            self.readout.setText(f"{label_of(key)}: {money(v, self._stats.get('currency'), sign=True)}")
