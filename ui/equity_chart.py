"""The focused account's equity and balance over time (pyqtgraph axes, zoom and pan): dates on the x-axis,
a crosshair read-out, a range selector. Idle accounts show their last values and how old they are; a
line is never extended to "now" to look live, nor drawn across minutes without data.

History is read from the store at the visible range's resolution (the window answers ``wanted`` with
``set_history``). What is drawn is reduced again to the screen: at most two points per pixel column
(its extremes) from ui/chart_points.py, drawn by ui/chart_layers.py. On long ranges, where a point is a
bucket of the store's tiers, the buckets' equity lows and highs are a light band behind the line, so a
drawdown's low shows at any zoom. The history is one cached picture; a live value redraws only the
newest columns. Before the first snapshot the balance rebuilt from the deals is a dotted step line,
deposits and withdrawals are triangles. The range logic is ui/chart_view.py."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.chart_axis import BEHIND_THE_VIEW, NO_TIME_BEFORE, PlotBox, TimeAxis, ValueAxis
from ui.chart_decimate import GAP, with_gaps
from ui.chart_layers import Layer, LiveLayer, make_room_in_pixmap_cache, runs_arrays
from ui.chart_points import ChartPoints
from ui.chart_series import Series, steps
from ui.chart_view import RANGES, SHORT_RANGE, ChartView
from ui.elided_label import ElidedLabel
from ui.formatting import age_since, money
from ui.theme import Colours, colours, notifier

__all__ = ["GAP", "NO_TIME_BEFORE", "RANGES", "SHORT_RANGE", "EquityChart", "Series", "TimeAxis", "steps",
           "with_gaps"]

LEGEND_MIN_WIDTH = 820
BAND_ALPHA = 60  # of 255: light behind the line, in either theme

pg.setConfigOptions(antialias=True)


class EquityChart(ChartView, QWidget):
    wanted = Signal(str, object, object, int)  # account, start, end (None: open), max points: please load

    def __init__(self) -> None:
        super().__init__()
        make_room_in_pixmap_cache()
        self.title = ElidedLabel("No account selected")
        self.title.setObjectName("ChartTitle")
        self.status = ElidedLabel("")
        self.status.setObjectName("ChartStatus")
        self.legend = QLabel()  # beside the title, never over the lines
        self.readout = ElidedLabel("")
        self.readout.setObjectName("ChartReadout")
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.plot = pg.PlotWidget(axisItems={"bottom": TimeAxis(orientation="bottom"),
                                             "left": ValueAxis(orientation="left")}, viewBox=PlotBox())
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMouseEnabled(x=True, y=True)
        self.plot.setMinimumHeight(120)
        self.plot.getPlotItem().getAxis("left").setWidth(70)
        for side in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(side)
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # [P] 1: drawn once per range
            axis.enableAutoSIPrefix(False)  # no unit label: it re-laid out per range
            axis.setZValue(BEHIND_THE_VIEW)  # its opaque grid under the curves
        self.points = ChartPoints()
        self.history_layer = Layer(cached=True)  # band, equity, balance, the past: one cached picture
        self.live_layer = LiveLayer()  # the newest columns, after the history
        self.plot.addItem(self.history_layer)
        self.plot.addItem(self.live_layer)
        self.flow_markers = pg.ScatterPlotItem(size=12, hoverable=True)
        self.plot.addItem(self.flow_markers)
        self.history: dict[str, Any] | None = None  # the last set_history read, as arrays
        self._past: list[tuple[float, float]] = []
        self._load_timer = QTimer(self)
        self._load_timer.setSingleShot(True)
        self._load_timer.setInterval(250)
        self._load_timer.timeout.connect(self._request_view)
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
        self.view.sigXRangeChanged.connect(self._relayout)  # a zoom: the runs at the new column width
        self.view.sigResized.connect(self._relayout)
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
            b.setFixedWidth(36)
            b.setToolTip("Show all the history" if RANGES[i][1] is None else "Show this range and follow new values")
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
        self.levels: list[float] = []  # values kept in view besides the curves (ui/headroom_chart.py: a floor)
        self.apply_colours(colours())
        notifier().changed.connect(self._theme_changed)  # a bound slot: dropped with this widget

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.empty.setGeometry(self.plot.rect())
        self.legend.setVisible(self.width() >= LEGEND_MIN_WIDTH)  # a narrow chart keeps the account's name

    def _theme_changed(self, _name: str) -> None:
        self.apply_colours(colours())

    def apply_colours(self, c: Colours) -> None:
        self.plot.setBackground(c.chart_bg)
        item = self.plot.getPlotItem()
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.set_background(c.chart_bg)
            axis.setPen(pg.mkPen(c.chart_fg))
            axis.setTextPen(pg.mkPen(c.chart_fg))
        band = QColor(c.equity)
        band.setAlpha(BAND_ALPHA)
        bg, a = QColor(c.chart_bg), BAND_ALPHA / 255
        swatch = QColor.fromRgbF(*(x + (y - x) * a for x, y in ((bg.redF(), band.redF()), (bg.greenF(), band.greenF()),
                                                               (bg.blueF(), band.blueF()))))  # as it looks
        styles = {"band": (None, pg.mkBrush(band)),
                  "eq": (pg.mkPen(c.equity, width=2), None),
                  "bal": (pg.mkPen(c.balance, width=1.5, style=Qt.PenStyle.DashLine), None),
                  "past": (pg.mkPen(c.balance, width=1.5, style=Qt.PenStyle.DotLine), None)}
        self.history_layer.set_styles(styles)
        self.live_layer.set_styles(styles)
        self._colours = c
        self.vline.setPen(pg.mkPen(c.crosshair, width=1))
        self.hline.setPen(pg.mkPen(c.crosshair, width=1))
        self.legend.setText(f"<span style='color:{c.equity}'>━━</span> Equity "
                            f"<span style='color:{swatch.name()}'>█</span> low–high &nbsp; "
                            f"<span style='color:{c.balance}'>╌╌</span> Balance &nbsp; "
                            f"<span style='color:{c.profit}'>▲</span><span style='color:{c.loss}'>▼</span> "
                            "Deposit/withdrawal &nbsp;")
        self.legend.setToolTip("The light band behind the equity line is the lowest and highest equity of each "
                               "stored period (on long ranges a point stands for minutes to a day).\n"
                               "Before the first value MT5 Desk recorded, the balance is rebuilt from the "
                               "account's deals (dotted line); equity is known only from then on.")

    def show_account(self, key: str | None, name: str, series: Series | None) -> None:
        if key is not None and key == self.key and series is self.series:
            self.title.setText(name)  # the same account again: keep the owner's zoom
            self.redraw(force=True)  # its series may have been loaded meanwhile
            return
        self.key, self.series, self._drawn, self.history = key, series, -1, None
        self._past = []
        self.points.clear_history()
        self.flow_markers.setData([])
        self.flow_markers.hide()
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

    def set_history(self, key: str, data: dict[str, Any]) -> None:
        """A read of the store (app/desk_history.chart_data) for the account shown; replaces the history drawn."""
        if key != self.key:
            return  # the owner moved on meanwhile
        arr = np.asarray(data.get("points") or [], dtype=float).reshape(-1, 5)
        gap = max(GAP, 3.0 * float(data.get("step") or 0))
        self.history = {"ts": arr[:, 0], "balance": arr[:, 1], "equity": arr[:, 2], "low": arr[:, 3],
                        "high": arr[:, 4], "gap": gap, "end": float(arr[-1, 0]) if len(arr) else -np.inf}
        self.points.set_history(arr, gap)
        self._past = [tuple(p) for p in data.get("past") or []]
        c = self._colours
        spots = [{"pos": (t, after), "symbol": "t1" if amount > 0 else "t", "data": amount,
                  "brush": pg.mkBrush(c.profit if amount > 0 else c.loss), "pen": pg.mkPen(None)}
                 for t, amount, after in data.get("flows") or []]
        self.flow_markers.setData(spots)
        self.flow_markers.setToolTip(None)
        self.flow_markers.setVisible(bool(spots))  # a hidden item costs a repaint nothing
        self._drawn = -1
        self.redraw(force=True, history_drawn=True)

    # ---- drawing ------------------------------------------------------------------------------
    def _relayout(self, *_: Any) -> None:
        (x0, x1), _ = self.view.viewRange()
        if self.points.layout(x0, x1, self.view.width()):
            self._draw_history()
            self._draw_live()

    def _draw_history(self) -> None:
        arrays = runs_arrays(self.points.done, self.points.has_band)
        first = self.history["ts"][0] if self.history is not None and len(self.history["ts"]) else None
        arrays["past"] = steps(self._past, float(first) if first is not None else None)
        self.history_layer.set_arrays(arrays)

    def _draw_live(self) -> None:
        self.live_layer.set_rows(self.points.joined_live())

    def redraw(self, force: bool = False, history_drawn: bool = False) -> None:
        """Called by the window's repaint timer; cheap when nothing changed. A new value changes only the
        live layer (the newest columns); the cached history is drawn again only when columns join it."""
        s = self.series
        n = s.version if s else 0  # not the count: thinned or at Series.MAX it stays the same
        if not force and n == self._drawn:
            return
        self._drawn = n
        if force:
            self.points.set_series(s)
            self._relayout()
        else:
            live, folded = self.points.advance()
            if folded:
                self._draw_history()
            if live:
                self._draw_live()
        h = self.history
        known = (s is not None and len(s.ts)) or (h is not None and (len(h["ts"]) or self._past))
        self.empty.setVisible(not known)
        left = self.plot.getPlotItem().getAxis("left")
        if left.style["showValues"] != bool(known):  # setStyle redraws the axis even when nothing changed
            left.setStyle(showValues=bool(known))  # no made-up 0…1 scale
        if not known:
            return
        if self.owner_view:
            if not history_drawn:
                self._slide_owner_view()
        elif RANGES[self.range_buttons.checkedId()][1] is not None or history_drawn:
            self._apply_range(load=False)

    def _mouse_moved(self, pos: Any) -> None:
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        point = self.points.point_at(self.view.mapSceneToView(pos).x())
        if point is None:
            return
        t, bal, eq = point
        self.vline.setPos(t)
        self.hline.setPos(eq)
        self.vline.show()
        self.hline.show()
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
        self.readout.setText(f"{when}   Equity {money(eq)}   Balance {money(bal)}   "
                             f"Floating {money(eq - bal, sign=True)}")
