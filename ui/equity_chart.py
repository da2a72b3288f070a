"""The focused account's equity and balance over time (pyqtgraph): dates on the x-axis, a crosshair
read-out, zoom and pan, and a range selector. Idle accounts show their last values and how old
they are; a line is never extended to "now" to look live, nor drawn across minutes without data.

Zoom and pan belong to the owner: new values never reset the view. While the view shows "now" it
slides along with the newest value (keeping the owner's width); a range button takes the view back."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from ui.elided_label import ElidedLabel
from ui.formatting import age_since, money
from ui.theme import Colours, colours, notifier

RANGES = (("1h", 3600.0), ("1d", 86400.0), ("1w", 7 * 86400.0), ("All", None))
NO_TIME_BEFORE = 946684800.0  # 2000-01-01: no equity value is older
GAP = 120.0  # seconds without a value that break the line: nothing is known in between

pg.setConfigOptions(antialias=True)


def with_gaps(ts: list[float], *values: list[float]) -> tuple[np.ndarray, ...]:
    """The points with a NaN after each one followed by more than GAP seconds of silence, so a
    curve drawn with connect="finite" breaks there instead of drawing a straight line across."""
    t = np.asarray(ts, dtype=float)
    cols = [np.asarray(v, dtype=float) for v in values]
    if len(t) < 2:
        return (t, *cols)
    breaks = np.nonzero(np.diff(t) > GAP)[0] + 1
    if not len(breaks):
        return (t, *cols)
    t = np.insert(t, breaks, t[breaks - 1] + GAP / 2)
    return (t, *[np.insert(c, breaks, np.nan) for c in cols])


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
            if v < NO_TIME_BEFORE:  # an empty plot's 0…1 range: no dummy "00:00:00" labels
                out.append("")
                continue
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
        self.title = ElidedLabel("No account selected")
        self.title.setObjectName("ChartTitle")
        self.status = ElidedLabel("")
        self.status.setObjectName("ChartStatus")
        self.legend = QLabel()  # beside the title, never over the lines
        self.readout = ElidedLabel("")
        self.readout.setObjectName("ChartReadout")
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.plot = pg.PlotWidget(axisItems={"bottom": TimeAxis(orientation="bottom")})
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMouseEnabled(x=True, y=True)
        self.plot.setMinimumHeight(120)
        self.plot.getPlotItem().getAxis("left").setWidth(70)
        self.equity_curve = self.plot.plot([], [], connect="finite")
        self.balance_curve = self.plot.plot([], [], connect="finite")
        self.vline = pg.InfiniteLine(angle=90, movable=False)
        self.hline = pg.InfiniteLine(angle=0, movable=False)
        self.plot.addItem(self.vline, ignoreBounds=True)
        self.plot.addItem(self.hline, ignoreBounds=True)
        self.empty = QLabel("No values yet for this account", self.plot)  # over the plot, not in it
        self.empty.setObjectName("Muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.view = self.plot.getPlotItem().getViewBox()
        self.view.sigRangeChangedManually.connect(self._owner_moved_view)
        self.range_buttons = QButtonGroup(self)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.status, 1)
        # the account's name first; the status line takes what is left (its tooltip has it whole)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.legend)
        for i, (label, _) in enumerate(RANGES):
            b = QPushButton(label)
            b.setCheckable(True)
            b.setFixedWidth(44)
            b.setToolTip("Show this range and follow new values" if i < 3 else "Show all the history")
            self.range_buttons.addButton(b, i)
            top.addWidget(b)
        self.range_buttons.button(1).setChecked(True)
        self.range_buttons.idClicked.connect(lambda _: self.follow_range())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self.key: str | None = None
        self.series: Series | None = None
        self._drawn = -1
        self.owner_view = False  # True once the owner zoomed or panned, until a range is picked again
        self._view_end: float | None = None  # the newest time drawn when the owner's view was last moved
        self.apply_colours(colours())
        notifier().changed.connect(self._theme_changed)  # a bound slot: dropped with this widget

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.empty.setGeometry(self.plot.rect())

    def _theme_changed(self, _name: str) -> None:
        self.apply_colours(colours())

    def apply_colours(self, c: Colours) -> None:
        self.plot.setBackground(c.chart_bg)
        item = self.plot.getPlotItem()
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(c.chart_fg))
            axis.setTextPen(pg.mkPen(c.chart_fg))
        self.equity_curve.setPen(pg.mkPen(c.equity, width=2))
        self.balance_curve.setPen(pg.mkPen(c.balance, width=1.5, style=Qt.PenStyle.DashLine))
        self.vline.setPen(pg.mkPen(c.crosshair, width=1))
        self.hline.setPen(pg.mkPen(c.crosshair, width=1))
        self.legend.setText(f"<span style='color:{c.equity}'>━━</span> Equity &nbsp; "
                            f"<span style='color:{c.balance}'>╌╌</span> Balance &nbsp;")

    def show_account(self, key: str | None, name: str, series: Series | None) -> None:
        if key is not None and key == self.key and series is self.series:
            self.title.setText(name)  # the same account again: keep the owner's zoom
            self.redraw()
            return
        self.key, self.series, self._drawn = key, series, -1
        self.title.setText(name if key else "No account selected")
        self.readout.setText("")  # the previous account's values are not this one's
        self.vline.hide()
        self.hline.hide()
        self.redraw(force=True)
        self.follow_range()

    def set_status(self, live: bool, snapshot: dict[str, Any] | None) -> None:
        if snapshot is None:
            self.status.setText("no values yet")
        elif live:
            self.status.setText(f"● Live · equity {money(snapshot.get('equity'), snapshot.get('currency'))}")
        else:
            self.status.setText(f"○ Not live · last values {age_since(snapshot.get('ts'))}: equity "
                                f"{money(snapshot.get('equity'), snapshot.get('currency'))}")
        self.status.setProperty("live", live)

    def redraw(self, force: bool = False) -> None:
        """Called by the window's repaint timer; cheap when nothing changed."""
        s = self.series
        n = len(s.ts) if s else 0
        if not force and n == self._drawn:
            return
        self._drawn = n
        self.empty.setVisible(not n)
        self.plot.getPlotItem().getAxis("left").setStyle(showValues=bool(n))  # no made-up 0…1 scale
        if not s or not n:
            self.equity_curve.setData([], [])
            self.balance_curve.setData([], [])
            return
        ts, equity, balance = with_gaps(s.ts, s.equity, s.balance)
        self.equity_curve.setData(ts, equity, connect="finite")
        self.balance_curve.setData(ts, balance, connect="finite")
        if self.owner_view:
            self._slide_owner_view()
        elif self.range_buttons.checkedId() != 3:
            self._apply_range()

    def follow_range(self) -> None:
        """A range button (or another account): the picked range again, following new values."""
        self.owner_view = False
        self._apply_range()

    def _owner_moved_view(self, *_: Any) -> None:
        self.owner_view = True
        self._view_end = self.series.ts[-1] if self.series and self.series.ts else None

    def _slide_owner_view(self) -> None:
        """Keep the owner's zoom; move it along only if it showed the newest value ("now")."""
        s = self.series
        if not s or not s.ts or self._view_end is None:
            return
        (x0, x1), _ = self.view.viewRange()
        newest = s.ts[-1]
        if x1 >= self._view_end and newest > self._view_end:
            shift = newest - self._view_end
            self.view.setXRange(x0 + shift, x1 + shift, padding=0)
        self._view_end = newest

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
        point = self.view.mapSceneToView(pos)
        i = int(np.clip(np.searchsorted(np.asarray(s.ts), point.x()), 0, len(s.ts) - 1))
        self.vline.setPos(s.ts[i])
        self.hline.setPos(s.equity[i])
        self.vline.show()
        self.hline.show()
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.ts[i]))
        self.readout.setText(f"{when}   Equity {money(s.equity[i])}   Balance {money(s.balance[i])}   "
                             f"Floating {money(s.equity[i] - s.balance[i], sign=True)}")
