"""Every account at a glance: a grid of small equity charts with each account's statistics over the
chosen range (ui/overview_stats.py), plus the portfolio total per currency and in the owner's base
currency, each part saying how current it is."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.overview_stats import OverviewStats
from app.portfolio import in_base, per_currency, rate_age
from app.text import age
from ui.elided_label import ElidedLabel
from ui.equity_chart import Series
from ui.formatting import LOSS, STATE_COLOURS, badge_text, margin_text, money
from ui.overview_stats import RangeBox, StatsLine, StripLabel, as_of, range_label, strip_versions
from ui.sparkline import Sparkline
from ui.theme import colours, notifier, pl_colour

TILE_WIDTH = 240  # the narrowest a tile gets; tiles share any width left over in a row
TILE_MAX_WIDTH = 340
SPARK_POINTS = 600
TILES_PER_STEP = 2  # tiles updated (and then painted) per event-loop turn: 4 took 3-5 ms, then as long to paint


def _style(widget: QWidget, sheet: str) -> None:
    """setStyleSheet re-polishes the widget even for the same sheet (the costliest call of a tile
    refresh, [P] 1): only a change is applied."""
    if widget.styleSheet() != sheet:
        widget.setStyleSheet(sheet)


class Tile(QFrame):
    clicked = Signal(str)

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.setObjectName("Tile")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(TILE_WIDTH)
        self.setMaximumWidth(TILE_MAX_WIDTH)
        self.name = ElidedLabel()
        self.name.setObjectName("TileName")
        self.badge = QLabel()
        self.badge.setObjectName("TileBadge")
        self.value = QLabel()
        self.value.setObjectName("TileValue")
        self.pl = QLabel()
        self.spark = Sparkline(60)  # [P]: QPainter, not a pyqtgraph PlotWidget per tile (ui/sparkline.py)
        self.stats = StatsLine()
        self.as_of = QLabel()
        self.as_of.setObjectName("Muted")
        self.as_of.setToolTip("When the account's stored values end: it is not live, its statistics are not current")
        self._live = False
        self._recolour()
        notifier().changed.connect(self._recolour)
        # the name has the whole first line; the state badge sits under it, never over it
        top = QHBoxLayout()
        top.addWidget(self.badge)
        top.addStretch(1)
        top.addWidget(self.as_of)
        mid = QHBoxLayout()
        mid.addWidget(self.value, 1)
        mid.addWidget(self.pl)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(2)
        lay.addWidget(self.name)
        lay.addLayout(top)
        lay.addLayout(mid)
        lay.addWidget(self.stats)
        lay.addWidget(self.spark)
        # [P] 1: hidden, the margin line keeps its room and a line of text (an empty label is a pixel shorter),
        # so a tile's first values do not change its height and move the grid under it
        self.margin = QLabel("no margin used")
        self.margin.setObjectName("TileMargin")
        keep = self.margin.sizePolicy()
        keep.setRetainSizeWhenHidden(True)
        self.margin.setSizePolicy(keep)
        self.margin.hide()
        lay.addWidget(self.margin)
        self._drawn = -1
        self.shown: tuple[Any, ...] = ()  # the signature of what the tile shows (tile_signature)

    def show_margin(self, snap: dict | None, warned: bool) -> None:
        text = margin_text(snap)
        if text:  # a hidden line keeps its last text (see __init__)
            self.margin.setText(("⚠ " if warned else "") + text)
        _style(self.margin, f"color:{LOSS}; font-weight:bold;" if warned else "color:#5f6368;")
        self.margin.setVisible(bool(text))

    def show_stats(self, stats: dict | None, range_name: str, live: bool, snap: dict | None, now: float) -> None:
        self.stats.show_stats(stats, range_label(range_name))
        text = as_of(live, snap, now)
        if self.as_of.text() != text:
            self.as_of.setText(text)

    def mousePressEvent(self, event: Any) -> None:
        self.clicked.emit(self.key)

    def _recolour(self, _name: str = "") -> None:
        c = colours()
        self.spark.set_colours(c.equity if self._live else c.balance, c.chart_bg)

    def update_from(self, name: str, state: dict | None, snap: dict | None, series: Series | None,
                    now: float) -> None:
        self.name.setText(name)
        s = (state or {}).get("state") or "idle"
        self.badge.setText(f" {badge_text(state, snap, now)} ")
        _style(self.badge, f"background:{STATE_COLOURS.get(s, '#5f6368')}; color:white; border-radius:7px;")
        if snap:
            self.value.setText(money(snap.get("equity"), snap.get("currency")))
            profit = snap.get("profit")  # None after a restart without a stored P/L: unknown, never 0
            self.pl.setText(money(None if profit is None else float(profit), sign=True))
            _style(self.pl, f"color:{pl_colour(float(profit or 0.0))}")
        else:
            self.value.setText("no values yet")
            self.pl.setText("")
        n = series.version if series else 0  # not the count: thinned or at Series.MAX it stays the same
        if series and n != self._drawn:
            self._drawn = n
            k = min(len(series.ts), SPARK_POINTS)
            if self._live != (s == "live"):
                self._live = s == "live"
                self._recolour()
            self.spark.set_data(series.ts[-k:], series.equity[-k:])


class Overview(QWidget):
    focus_requested = Signal(str)

    def __init__(self, name_of: Callable[[str], str]) -> None:
        super().__init__()
        self.name_of = name_of
        self.total = StripLabel()  # several currencies: one line when it fits, else one line per currency
        self.total.setObjectName("PortfolioTotal")
        self.stats_source: OverviewStats | None = None  # set by ui.overview_stats.attach_overview_stats
        self.range_box = RangeBox()
        self.strip = StripLabel()
        self.strip.setObjectName("PortfolioStats")
        stats_row = QHBoxLayout()
        stats_row.addWidget(QLabel("<b>Statistics:</b>"))
        stats_row.addWidget(self.range_box)
        stats_row.addWidget(self.strip, 1)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.grid.setSpacing(8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.total)
        lay.addLayout(stats_row)
        lay.addWidget(scroll, 1)
        self.tiles: dict[str, Tile] = {}

    def set_accounts(self, keys: list[str]) -> None:
        for key in list(self.tiles):
            if key not in keys:
                self.tiles.pop(key).deleteLater()
        for key in keys:
            if key not in self.tiles:
                tile = Tile(key)
                tile.clicked.connect(self.focus_requested.emit)
                self.tiles[key] = tile
        self._layout(keys)

    def _layout(self, keys: list[str]) -> None:
        cols = max(1, (self.width() - 44) // (TILE_WIDTH + 8))  # room for the scroll bar
        for c in range(max(cols, self.grid.columnCount())):
            self.grid.setColumnStretch(c, 1 if c < cols else 0)
        for i, key in enumerate(keys):
            self.grid.addWidget(self.tiles[key], i // cols, i % cols)
        self._keys = keys

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.tiles:
            self._layout(getattr(self, "_keys", list(self.tiles)))

    def refresh(self, states: dict[str, dict], snapshots: dict[str, dict], series: dict[str, Series],
                base: str = "", rates: dict[str, dict] | None = None, margin_warned: set[str] | None = None) -> None:
        for step in self.refresh_steps(states, snapshots, series, base, rates, margin_warned):
            step()

    def refresh_steps(self, states: dict[str, dict], snapshots: dict[str, dict], series: dict[str, Series],
                      base: str = "", rates: dict[str, dict] | None = None,
                      margin_warned: set[str] | None = None, now: float | None = None) -> list[Callable[[], None]]:
        """The refresh as steps of TILES_PER_STEP tiles each, then the total (ui/frame_pacer.py); a tile
        whose shown values did not change is skipped."""
        now = time.time() if now is None else now
        warned = margin_warned or set()
        src = self.stats_source

        def tiles(keys: list[str]) -> None:
            for key in keys:
                tile = self.tiles.get(key)
                if tile is not None:  # removed since the refresh began
                    snap = snapshots.get(key)
                    sig = tile_signature(self.name_of(key), states.get(key), snap, series.get(key), key in warned,
                                         src.accounts.get(key) if src else None, src.range_name if src else "", now)
                    if sig == tile.shown:
                        continue  # [P] 1: nothing this tile paints changed: not even a label is touched
                    tile.shown = sig
                    tile.update_from(self.name_of(key), states.get(key), snap, series.get(key), now)
                    tile.show_margin(snap, key in warned)
                    if src is not None:
                        live = (states.get(key) or {}).get("state") == "live"
                        tile.show_stats(src.accounts.get(key), src.range_name, live, snap, now)

        def total() -> None:
            shown = {k: v for k, v in snapshots.items() if k in self.tiles}
            self.total.set_versions([total_html(shown, states, base, rates or {}, now, sep=sep)
                                     for sep in (" &nbsp;&nbsp;|&nbsp;&nbsp; ", "<br>")], "")
            if src is not None:
                self.strip.set_versions(*strip_versions(src.portfolio, src.busy()))

        keys = list(self.tiles)
        chunks = [keys[i:i + TILES_PER_STEP] for i in range(0, len(keys), TILES_PER_STEP)]
        return [*(lambda c=c: tiles(c) for c in chunks), total]


def tile_signature(name: str, state: dict | None, snap: dict | None, series: Series | None, warned: bool,
                   stats: dict | None, range_name: str, now: float) -> tuple[Any, ...]:
    """Everything a tile's refresh reads; copies, so a dict changed in place still counts as a change.
    The badge and "as of" texts carry the time, so an idle tile's age still ticks."""
    live = (state or {}).get("state") == "live"
    return (name, dict(state or {}), dict(snap or {}), series.version if series else 0, warned, stats, range_name,
            badge_text(state, snap, now), as_of(live, snap, now), colours().name)


def _pl(value: float, unknown: int) -> str:
    colour = pl_colour(value)
    text = money(value, sign=True) + (f", P/L of {unknown} unknown" if unknown else "")
    return f"<span style='color:{colour}'>({text})</span>"


def total_plain(snapshots: dict[str, dict], states: dict[str, dict], base: str, rates: dict[str, dict]) -> str:
    """One line per currency (and the base total) for the tray's tooltip."""
    parts = per_currency(states, snapshots)
    lines = [money(p.equity, p.currency) + (f" ({p.not_live} not live)" if p.not_live else "") for p in parts]
    total = in_base(parts, base, rates)
    if total is not None and len(parts) > 1:
        lines.append(f"In {base}: {money(total.equity, base)}" + (" (some not converted)" if total.missing else ""))
    return "\n".join(lines)


def total_html(snapshots: dict[str, dict], states: dict[str, dict], base: str, rates: dict[str, dict],
               now: float, sep: str = " &nbsp;&nbsp;|&nbsp;&nbsp; ") -> str:
    """Per currency, then in the base currency; parts that are not live say so, with the oldest age."""
    parts = per_currency(states, snapshots)
    if not parts:
        return "<b>Portfolio equity:</b> no values yet"
    shown = []
    for p in parts:
        note = f"{p.accounts} account{'s' if p.accounts != 1 else ''}"
        if p.not_live:
            oldest = f", oldest {age(now - p.oldest)} ago" if p.oldest else ""
            note += f" <span style='color:{LOSS if p.not_live == p.accounts else '#a8710b'}'>({p.not_live} not live" \
                    f"{oldest})</span>"
        shown.append(f"<b>{money(p.equity, p.currency)}</b> {_pl(p.profit, p.profit_unknown)}"
                     f" <span style='color:{colours().muted}'>· {note}</span>")
    html = "<b>Portfolio equity:</b> &nbsp; " + sep.join(shown)
    total = in_base(parts, base, rates)
    if total is not None:
        unknown = sum(p.profit_unknown for p in parts if p.currency not in total.missing)
        quotes = [f"1 {pair.split('/')[0]} = {float(q['rate']):.5g} {base} ({q.get('symbol')}, "
                  f"{age(rate_age(q, now))} ago)" for pair, q in sorted(total.rates.items())]
        missing = [f"{c}: no quote yet, left out" for c in total.missing]
        not_live = sum(p.not_live for p in parts)
        html += (f"<br><b>In {base}:</b> &nbsp; <b>{money(total.equity, base)}</b> {_pl(total.profit, unknown)}"
                 + (f" <span style='color:#a8710b'>· {not_live} not live</span>" if not_live else "")
                 + f" <span style='color:{colours().muted}'>· " + " · ".join(quotes + missing) + "</span>")
    return html
