"""The focused account's equity and balance over time (pyqtgraph): dates on the x-axis, a crosshair
read-out, zoom and pan, and a range selector. Idle accounts show their last values and how old
they are; a line is never extended to "now" to look live."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.formatting import age_since, money

RANGES = (("1h", 3600.0), ("1d", 86400.0), ("1w", 7 * 86400.0), ("All", None))

pg.setConfigOptions(antialias=True, background="w", foreground="#3c4043")


class TimeAxis(pg.DateAxisItem):
    """Clock times, never bare seconds: a trader reads 14:02:30, not "30.000"."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if spacing < 3600:
            fmt = "%H:%M:%S" if spacing < 60 else "%H:%M"
        elif spacing < 86400:
            fmt = "%d %b %H:%M"
        else:
            fmt = "%d %b %Y"
        out = []
        for v in values:
            try:
                out.append(time.strftime(fmt, time.localtime(v)))
            except (OverflowError, ValueError, OSError):
                out.append("")
        return out


class Series:
    """In-memory equity/balance points of one account (history loaded once, then live snapshots)."""

    MAX = 50_000

    def __init__(self) -> None:
        self.ts: list[float] = []
        self.balance: list[float] = []
        self.equity: list[float] = []

    def load(self, points: list[tuple[float, float, float]]) -> None:
        merged = sorted({p[0]: p for p in [*points, *zip(self.ts, self.balance, self.equity, strict=True)]}.values())
        self.ts = [p[0] for p in merged][-self.MAX:]
        self.balance = [p[1] for p in merged][-self.MAX:]
        self.equity = [p[2] for p in merged][-self.MAX:]

    def append(self, ts: float, balance: float, equity: float) -> None:
        if self.ts and ts <= self.ts[-1]:
            return
        self.ts.append(ts)
        self.balance.append(balance)
        self.equity.append(equity)
        if len(self.ts) > self.MAX:
            del self.ts[: len(self.ts) - self.MAX], self.balance[: len(self.balance) - self.MAX]
            del self.equity[: len(self.equity) - self.MAX]


class EquityChart(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel("No account selected")
        self.title.setObjectName("ChartTitle")
        self.status = QLabel("")
        self.status.setObjectName("ChartStatus")
        self.readout = QLabel("")
        self.readout.setObjectName("ChartReadout")
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.plot = pg.PlotWidget(axisItems={"bottom": TimeAxis(orientation="bottom")})
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMouseEnabled(x=True, y=True)
        self.plot.getPlotItem().getAxis("left").setWidth(70)
        self.plot.addLegend(offset=(10, 10))
        self.equity_curve = self.plot.plot([], [], pen=pg.mkPen("#1a73e8", width=2), name="Equity")
        self.balance_curve = self.plot.plot([], [], pen=pg.mkPen("#80868b", width=1.5, style=Qt.PenStyle.DashLine),
                                            name="Balance")
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#9aa0a6", width=1))
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen("#9aa0a6", width=1))
        self.plot.addItem(self.vline, ignoreBounds=True)
        self.plot.addItem(self.hline, ignoreBounds=True)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.range_buttons = QButtonGroup(self)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.status)
        top.addStretch(1)
        for i, (label, _) in enumerate(RANGES):
            b = QPushButton(label)
            b.setCheckable(True)
            b.setFixedWidth(44)
            self.range_buttons.addButton(b, i)
            top.addWidget(b)
        self.range_buttons.button(1).setChecked(True)
        self.range_buttons.idClicked.connect(lambda _: self._apply_range())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self.key: str | None = None
        self.series: Series | None = None
        self._drawn = -1

    def show_account(self, key: str | None, name: str, series: Series | None) -> None:
        self.key, self.series, self._drawn = key, series, -1
        self.title.setText(f"<b>{name}</b>" if key else "No account selected")
        self.redraw(force=True)
        self._apply_range()

    def set_status(self, live: bool, snapshot: dict[str, Any] | None) -> None:
        if snapshot is None:
            self.status.setText("  no values yet")
        elif live:
            self.status.setText(f"  ● Live · equity {money(snapshot.get('equity'), snapshot.get('currency'))}")
        else:
            self.status.setText(f"  ○ Not live · last values {age_since(snapshot.get('ts'))}: equity "
                                f"{money(snapshot.get('equity'), snapshot.get('currency'))}")
        self.status.setProperty("live", live)

    def redraw(self, force: bool = False) -> None:
        """Called by the window's repaint timer; cheap when nothing changed."""
        s = self.series
        n = len(s.ts) if s else 0
        if not force and n == self._drawn:
            return
        self._drawn = n
        if not s or not n:
            self.equity_curve.setData([], [])
            self.balance_curve.setData([], [])
            return
        ts = np.fromiter(s.ts, float, n)
        self.equity_curve.setData(ts, np.fromiter(s.equity, float, n))
        self.balance_curve.setData(ts, np.fromiter(s.balance, float, n), stepMode=None)
        if self.range_buttons.checkedId() != 3:
            self._apply_range()

    def _apply_range(self) -> None:
        span = RANGES[self.range_buttons.checkedId()][1]
        s = self.series
        if not s or not s.ts:
            return
        end = max(s.ts[-1], time.time()) if span else s.ts[-1]
        start = end - span if span else s.ts[0]
        lo = next((i for i, t in enumerate(s.ts) if t >= start), len(s.ts) - 1)
        values = s.equity[lo:] + s.balance[lo:]
        self.plot.setXRange(max(start, s.ts[0]), end, padding=0.02)
        if values:
            vmin, vmax = min(values), max(values)
            pad = max((vmax - vmin) * 0.1, abs(vmax) * 0.0005, 0.01)
            self.plot.setYRange(vmin - pad, vmax + pad, padding=0)

    def _mouse_moved(self, pos: Any) -> None:
        s = self.series
        if not s or not s.ts or not self.plot.sceneBoundingRect().contains(pos):
            return
        point = self.plot.getPlotItem().vb.mapSceneToView(pos)
        i = int(np.clip(np.searchsorted(np.asarray(s.ts), point.x()), 0, len(s.ts) - 1))
        self.vline.setPos(s.ts[i])
        self.hline.setPos(s.equity[i])
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.ts[i]))
        self.readout.setText(f"{when}   Equity {money(s.equity[i])}   Balance {money(s.balance[i])}   "
                             f"Floating {money(s.equity[i] - s.balance[i], sign=True)}")
