"""The focused account's equity and balance over time (pyqtgraph): dates on the x-axis, a crosshair
read-out, zoom and pan, and a range selector. Idle accounts show their last values and how old
they are; a line is never extended to "now" to look live, nor drawn across minutes without data.

History is read from the store at the visible range's resolution (the window answers ``wanted`` with
``set_history``): never more points than the plot has pixels, a coarser tier for a longer range; pyqtgraph
clips to the view and downsamples by peaks. A live value only redraws the short tail after the loaded
history. Before the first snapshot the balance rebuilt from the deals is drawn as a dotted step line,
deposits and withdrawals as triangles.

Zoom and pan belong to the owner: new values never reset the view. While the view shows "now" it
slides along with the newest value (keeping the owner's width); a range button takes the view back."""

from __future__ import annotations

import time
from array import array
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
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

from ui.elided_label import ElidedLabel
from ui.formatting import age_since, money
from ui.theme import Colours, colours, notifier

RANGES = (("1h", 3600.0), ("1d", 86400.0), ("1w", 7 * 86400.0), ("3m", 90 * 86400.0), ("All", None))
NO_TIME_BEFORE = 946684800.0  # 2000-01-01: no equity value is older
LEGEND_MIN_WIDTH = 820
SHORT_RANGE = 86400.0
GAP = 120.0  # seconds without a value that break the line: nothing is known in between

pg.setConfigOptions(antialias=True)


def with_gaps(ts: Any, *values: Any, gap: float = GAP) -> tuple[np.ndarray, ...]:
    """The points with a NaN after each one followed by more than GAP seconds of silence, so a
    curve drawn with connect="finite" breaks there instead of drawing a straight line across."""
    t = np.array(ts, dtype=float)  # copies: a view would pin a Series' arrays (they could not grow)
    cols = [np.array(v, dtype=float) for v in values]
    if len(t) < 2:
        return (t, *cols)
    breaks = np.nonzero(np.diff(t) > gap)[0] + 1
    if not len(breaks):
        return (t, *cols)
    t = np.insert(t, breaks, t[breaks - 1] + gap / 2)
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
    """In-memory equity/balance points of one account (history loaded once, then live snapshots). Kept as
    arrays of doubles, 24 bytes a point: Python float lists took ~100, so 20 accounts at 10 Hz grew the
    window by ~12 MB in 10 minutes ([P] 4, bench_memory.py)."""

    MAX = 50_000

    def __init__(self) -> None:
        self.ts = array("d")
        self.balance = array("d")
        self.equity = array("d")

    def load(self, points: list[tuple[float, float, float]]) -> None:
        merged = sorted({p[0]: p for p in [*points, *zip(self.ts, self.balance, self.equity, strict=True)]}.values())
        merged = merged[-self.MAX:]
        self.ts = array("d", [p[0] for p in merged])
        self.balance = array("d", [p[1] for p in merged])
        self.equity = array("d", [p[2] for p in merged])

    def append(self, ts: float, balance: float, equity: float) -> None:
        if self.ts and ts <= self.ts[-1]:
            return
        for name, value in (("ts", ts), ("balance", balance), ("equity", equity)):
            values = getattr(self, name)
            try:
                values.append(value)
            except BufferError:  # a numpy view of it lives on (np.asarray shares the memory): go on with a copy
                values = array("d", values)
                values.append(value)
            if len(values) > self.MAX:
                values = values[len(values) - self.MAX:]
            setattr(self, name, values)


def steps(past: list[tuple[float, float]], until: float | None) -> tuple[np.ndarray, np.ndarray]:
    """A balance that changes only at deals, as steps; held until ``until`` (the first snapshot)."""
    if not past:
        return np.zeros(0), np.zeros(0)
    t = [p[0] for p in past] + ([until] if until and until > past[-1][0] else [])
    b = [p[1] for p in past] + ([past[-1][1]] if len(t) > len(past) else [])
    x = np.repeat(np.asarray(t, dtype=float), 2)[1:]
    y = np.repeat(np.asarray(b, dtype=float), 2)[:-1]
    return x, y


class EquityChart(QWidget):
    wanted = Signal(str, object, object, int)  # account, start, end (None: open), max points: please load

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
        for axis in ("left", "bottom"):  # [P] 1: the axes and their grid are drawn once per range, not per paint
            self.plot.getPlotItem().getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.plot.getPlotItem().getAxis(axis).enableAutoSIPrefix(False)  # no unit label: it re-laid out per range
        self.equity_curve = self.plot.plot([], [], connect="finite")
        self.balance_curve = self.plot.plot([], [], connect="finite")
        self.tail_equity = self.plot.plot([], [], connect="finite")  # live values after the loaded history
        self.tail_balance = self.plot.plot([], [], connect="finite")
        self.past_curve = self.plot.plot([], [])  # the balance rebuilt from deals before the first snapshot
        self.flow_markers = pg.ScatterPlotItem(size=12, hoverable=True)
        self.plot.addItem(self.flow_markers)
        for curve in (self.equity_curve, self.balance_curve, self.tail_equity, self.tail_balance, self.past_curve):
            curve.setClipToView(True)  # only what is in view is drawn, and by peaks: a low is never lost
            curve.setDownsampling(auto=True, method="peak")
            curve.opts["autoDownsampleFactor"] = 1.0  # a min and a max per pixel: what the eye can see
        for curve in (self.equity_curve, self.balance_curve, self.past_curve):
            curve.opts["antialias"] = False  # thousands of segments: antialiasing costs more than it shows
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
            axis.setPen(pg.mkPen(c.chart_fg))
            axis.setTextPen(pg.mkPen(c.chart_fg))
        self.equity_curve.setPen(pg.mkPen(c.equity, width=2))
        self.balance_curve.setPen(pg.mkPen(c.balance, width=1.5, style=Qt.PenStyle.DashLine))
        self.tail_equity.setPen(pg.mkPen(c.equity, width=2))
        self.tail_balance.setPen(pg.mkPen(c.balance, width=1.5, style=Qt.PenStyle.DashLine))
        self.past_curve.setPen(pg.mkPen(c.balance, width=1.5, style=Qt.PenStyle.DotLine))
        self._colours = c
        self.vline.setPen(pg.mkPen(c.crosshair, width=1))
        self.hline.setPen(pg.mkPen(c.crosshair, width=1))
        self.legend.setText(f"<span style='color:{c.equity}'>━━</span> Equity &nbsp; "
                            f"<span style='color:{c.balance}'>╌╌</span> Balance &nbsp; "
                            f"<span style='color:{c.profit}'>▲</span><span style='color:{c.loss}'>▼</span> "
                            "Deposit/withdrawal &nbsp;")
        self.legend.setToolTip("Before the first value MT5 Desk recorded, the balance is rebuilt from the "
                               "account's deals (dotted line); equity is known only from then on.")

    def show_account(self, key: str | None, name: str, series: Series | None) -> None:
        if key is not None and key == self.key and series is self.series:
            self.title.setText(name)  # the same account again: keep the owner's zoom
            self.redraw()
            return
        self.key, self.series, self._drawn, self.history = key, series, -1, None
        self._past = []
        for curve in (self.past_curve, self.tail_equity, self.tail_balance):
            curve.setData([], [])
        self.flow_markers.setData([])
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

    # ---- history at the view's resolution -------------------------------------------------------
    def max_points(self) -> int:
        return max(500, 2 * self.plot.width())

    def request(self, start: float | None, end: float | None) -> None:
        if self.key:
            self.wanted.emit(self.key, start, end, self.max_points())

    def _request_view(self) -> None:
        """The owner zoomed or panned: the visible range (and half a view either side) at its resolution."""
        (x0, x1), _ = self.view.viewRange()
        pad = (x1 - x0) / 2
        self.request(max(NO_TIME_BEFORE, x0 - pad), x1 + pad)

    def set_history(self, key: str, data: dict[str, Any]) -> None:
        """A read of the store (app/desk_history.chart_data) for the account shown; replaces the history drawn."""
        if key != self.key:
            return  # the owner moved on meanwhile
        pts = data.get("points") or []
        arr = np.asarray(pts, dtype=float).reshape(-1, 5)
        gap = max(GAP, 3.0 * float(data.get("step") or 0))
        self.history = {"ts": arr[:, 0], "balance": arr[:, 1], "equity": arr[:, 2], "low": arr[:, 3],
                        "gap": gap, "end": float(arr[-1, 0]) if len(arr) else -np.inf}
        ts, equity, balance = with_gaps(arr[:, 0], arr[:, 2], arr[:, 1], gap=gap)
        self.equity_curve.setData(ts, equity, connect="finite")
        self.balance_curve.setData(ts, balance, connect="finite")
        past = [tuple(p) for p in data.get("past") or []]
        self.past_curve.setData(*steps(past, float(arr[0, 0]) if len(arr) else None))
        c = self._colours
        spots = [{"pos": (t, after), "symbol": "t1" if amount > 0 else "t", "data": amount,
                  "brush": pg.mkBrush(c.profit if amount > 0 else c.loss), "pen": pg.mkPen(None)}
                 for t, amount, after in data.get("flows") or []]
        self.flow_markers.setData(spots)
        self.flow_markers.setToolTip(None)
        self._past = past
        self._drawn = -1
        self.redraw(force=True, history_drawn=True)

    def _tail(self) -> tuple[list[float], list[float], list[float]]:
        """The series' points after the loaded history (all of them when none is loaded)."""
        s = self.series
        if not s:
            return [], [], []
        end = self.history["end"] if self.history is not None else -np.inf
        lo = int(np.searchsorted(np.asarray(s.ts), end, side="right"))
        return s.ts[lo:], s.balance[lo:], s.equity[lo:]

    def combined(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ts, balance, equity) of everything drawn: the loaded history and the live tail."""
        ts, bal, eq = self._tail()
        h = self.history
        if h is None:
            return np.asarray(ts, dtype=float), np.asarray(bal, dtype=float), np.asarray(eq, dtype=float)
        return (np.concatenate([h["ts"], ts]), np.concatenate([h["balance"], bal]),
                np.concatenate([h["equity"], eq]))

    def redraw(self, force: bool = False, history_drawn: bool = False) -> None:
        """Called by the window's repaint timer; cheap when nothing changed. Only the live tail is set
        again: the loaded history's curves stay as they are."""
        s = self.series
        n = len(s.ts) if s else 0
        if not force and n == self._drawn:
            return
        self._drawn = n
        h = self.history
        known = n or (h is not None and (len(h["ts"]) or self._past))
        self.empty.setVisible(not known)
        left = self.plot.getPlotItem().getAxis("left")
        if left.style["showValues"] != bool(known):  # setStyle redraws the axis even when nothing changed
            left.setStyle(showValues=bool(known))  # no made-up 0…1 scale
        if h is None:
            ts, equity, balance = with_gaps(s.ts if s else [], s.equity if s else [], s.balance if s else [])
            self.equity_curve.setData(ts, equity, connect="finite")
            self.balance_curve.setData(ts, balance, connect="finite")
        else:
            t, b, e = self._tail()
            if len(h["ts"]) and len(t) and t[0] - h["end"] <= h["gap"]:
                t, b, e = [h["end"], *t], [h["balance"][-1], *b], [h["equity"][-1], *e]  # joined, not broken
            ts, equity, balance = with_gaps(t, e, b)
            self.tail_equity.setData(ts, equity, connect="finite")
            self.tail_balance.setData(ts, balance, connect="finite")
        if not known:
            return
        if self.owner_view:
            if not history_drawn:
                self._slide_owner_view()
        elif RANGES[self.range_buttons.checkedId()][1] is not None or history_drawn:
            self._apply_range(load=False)

    def reload(self) -> None:
        """New deals or a restart of the store: read what is shown again."""
        if self.owner_view:
            self._request_view()
        else:
            span = RANGES[self.range_buttons.checkedId()][1]
            self.request(time.time() - span if span else None, None)

    def follow_range(self) -> None:
        """A range button (or another account): the picked range again, following new values."""
        self.owner_view = False
        self._apply_range(load=True)

    def _owner_moved_view(self, *_: Any) -> None:
        self.owner_view = True
        ts = self.combined()[0]
        self._view_end = float(ts[-1]) if len(ts) else None
        self._load_timer.start()

    def _slide_owner_view(self) -> None:
        """Keep the owner's zoom; move it along only if it showed the newest value ("now")."""
        ts = self.combined()[0]
        if not len(ts) or self._view_end is None:
            return
        (x0, x1), _ = self.view.viewRange()
        newest = float(ts[-1])
        if x1 >= self._view_end and newest > self._view_end:
            shift = newest - self._view_end
            self.view.setXRange(x0 + shift, x1 + shift, padding=0)
        self._view_end = newest

    def _apply_range(self, load: bool = False) -> None:
        span = RANGES[self.range_buttons.checkedId()][1]
        if load:
            self.request(time.time() - span if span else None, None)
        ts, bal, eq = self.combined()
        past = self._past
        first = min(([float(ts[0])] if len(ts) else []) + [p[0] for p in past[:1]], default=None)
        if span and span <= SHORT_RANGE and len(ts):
            first = float(ts[0])  # an hour or a day is about equity: the balance from deals shows from a week on
        if first is None:
            return
        last = float(ts[-1]) if len(ts) else past[-1][0]
        end = max(last, time.time()) if span else last
        start = end - span if span else first
        lo = int(np.searchsorted(ts, start)) if len(ts) else 0
        x0, x1 = max(start, first), end
        self._set_range(0, x0 - (x1 - x0) * 0.02, x1 + (x1 - x0) * 0.02)
        values = np.concatenate([np.asarray(eq[lo:], dtype=float), np.asarray(bal[lo:], dtype=float),
                                 np.asarray([b for t, b in past if t >= start], dtype=float),
                                 np.asarray(self.levels, dtype=float)])  # + the nearest floor ([H])
        if np.isfinite(values).any():
            vmin, vmax = float(np.nanmin(values)), float(np.nanmax(values))
            pad = max((vmax - vmin) * 0.1, abs(vmax) * 0.0005, 0.01)
            self._set_range(1, vmin - pad, vmax + pad)

    def _set_range(self, axis: int, lo: float, hi: float) -> None:
        """Set the view's x (0) or y (1) range unless both ends move by less than a pixel: each change
        re-downsamples every curve and redraws the axes, and following "now" moves a day's view by a
        hundredth of a pixel per refresh ([P] 1)."""
        cur_lo, cur_hi = self.view.viewRange()[axis]
        pixels = self.view.width() if axis == 0 else self.view.height()
        if pixels > 0 and cur_hi > cur_lo:
            unit = (cur_hi - cur_lo) / pixels
            if abs(lo - cur_lo) < unit and abs(hi - cur_hi) < unit:
                return
        (self.view.setXRange if axis == 0 else self.view.setYRange)(lo, hi, padding=0)

    def _mouse_moved(self, pos: Any) -> None:
        ts, bal, eq = self.combined()
        if not len(ts) or not self.plot.sceneBoundingRect().contains(pos):
            return
        point = self.view.mapSceneToView(pos)
        i = int(np.clip(np.searchsorted(ts, point.x()), 0, len(ts) - 1))
        self.vline.setPos(ts[i])
        self.hline.setPos(eq[i])
        self.vline.show()
        self.hline.show()
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts[i]))
        self.readout.setText(f"{when}   Equity {money(eq[i])}   Balance {money(bal[i])}   "
                             f"Floating {money(eq[i] - bal[i], sign=True)}")
