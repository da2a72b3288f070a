"""The overview's statistics ([E] 4): one compact line per tile (gain, drawdown, net profit, profit factor,
win rate, trades over the overview's range), the portfolio per currency above the tiles, and the range
choice, remembered in the settings. The numbers come from app/overview_stats.py (off the GUI thread);
a result only marks the overview dirty, the frame pacer paints it."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QWidget

from app.overview_stats import RANGES, SETTING, OverviewStats
from ui.elided_label import ElidedLabel
from ui.formatting import money
from ui.stats_panel import pct
from ui.theme import colours, pl_colour

if TYPE_CHECKING:
    from ui.main_window import MainWindow

START_DELAY_MS = 2000  # the window's first paint and history reads go first: 20 accounts take seconds of I/O
DUE_CHECK_MS = 15000  # how often live accounts are looked at for a recomputation (app/overview_stats.py)
NOTHING = "No deals or equity stored for this account in the range yet: they are read while it is live."


def _style(widget: QWidget, sheet: str) -> None:
    if widget.styleSheet() != sheet:  # re-polishing is a tile refresh's costliest call ([P] 1)
        widget.setStyleSheet(sheet)


class RangeBox(QComboBox):
    chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("OverviewRange")
        for name, _span in RANGES:
            self.addItem("All time" if name == "All" else name.replace("d", " days"), name)
        self.setToolTip("The period the tiles' statistics cover (remembered)")
        self.currentIndexChanged.connect(lambda _i: self.chosen.emit(self.currentData()))

    def set_range(self, name: str) -> None:
        self.blockSignals(True)  # showing the stored choice is not the owner choosing
        self.setCurrentIndex(max(0, self.findData(name)))
        self.blockSignals(False)

    def range_name(self) -> str:
        return str(self.currentData())


class _Rest(ElidedLabel):
    """The line after the gain: elided to the tile's width, its tooltip always the labelled whole."""

    def _sync_tooltip(self) -> None:
        pass


def as_of(live: bool, snap: dict | None, now: float | None = None) -> str:
    """'' while live; 'as of 14:02' (today) or 'as of 24 Nov 14:02' from the last stored values."""
    ts = float((snap or {}).get("taken_at") or (snap or {}).get("ts") or 0.0)
    if live or not ts:
        return ""
    when = dt.datetime.fromtimestamp(ts)
    today = dt.datetime.fromtimestamp(now or time.time()).date()
    return "as of " + when.strftime("%H:%M" if when.date() == today else "%d %b %H:%M")


def tile_texts(s: dict[str, Any] | None, range_label: str) -> tuple[str, str, str]:
    """(gain, the rest, tooltip) of one account's statistics object ("—" and a muted word when there is
    nothing). The rest is ordered by what a trader scans for first (the tile cuts it at its right edge):
    drawdown, profit factor, net profit, closed trades."""
    if s is None:
        return "—", "computing…", f"Statistics over {range_label}: being computed"
    if "error" in s:
        return "—", "not read", f"Statistics over {range_label} could not be read: {s['error']}"
    if not s.get("trades") and s.get("gain_pct") is None and not s.get("deposits"):
        return "—", "no deals stored yet", NOTHING
    cur = s.get("currency") or ""
    dd = "—" if s.get("max_drawdown_pct") is None else f"{s['max_drawdown_pct']:.1f}%"
    pf = "—" if s.get("profit_factor") is None else f"{s['profit_factor']:.2f}"
    trades = int(s.get("trades") or 0)
    rest = f"DD {dd} · PF {pf} · {money(s.get('net_profit'), sign=True)} · {trades} trades"
    tip = "\n".join((
        f"Statistics over {range_label} (docs/STATISTICS.md)",
        f"Gain (TWR): {pct(s.get('gain_pct'))} (deposits and withdrawals are not gain)",
        f"Absolute gain: {pct(s.get('absolute_gain_pct'))}",
        f"Net profit: {money(s.get('net_profit'), cur, sign=True)}",
        f"Max drawdown: {pct(s.get('max_drawdown_pct'), sign=False)} · {money(s.get('max_drawdown'), cur)}",
        f"Profit factor: {pf}", f"Win rate: {pct(s.get('win_rate_pct'), sign=False)}",
        f"Trades (closed positions): {trades}",
        f"Deposits: {money(s.get('deposits'), cur)} · withdrawals: {money(s.get('withdrawals'), cur)}"))
    return pct(s.get("gain_pct")).replace(" %", "%"), rest, tip


class StatsLine(QWidget):
    """One line of a tile: the TWR gain in its colour, then the rest, cut to the tile's width."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("TileStats")
        self.gain = QLabel("—")
        self.gain.setObjectName("TileGain")
        self.rest = _Rest()
        self.rest.setObjectName("Muted")  # the theme's muted colour, light or dark (ui/theme.py)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        lay.addWidget(self.gain)
        lay.addWidget(self.rest, 1)

    def show_stats(self, stats: dict[str, Any] | None, range_label: str) -> None:
        gain, rest, tip = tile_texts(stats, range_label)
        self.gain.setText(gain)
        value = (stats or {}).get("gain_pct")
        _style(self.gain, f"color:{pl_colour(float(value))}; font-weight:bold;" if value else "")
        self.rest.setText(rest)
        for w in (self, self.gain, self.rest):
            if w.toolTip() != tip:
                w.setToolTip(tip)


def range_label(name: str) -> str:
    return "all time" if name == "All" else f"the last {name.removesuffix('d')} days"


def strip_versions(portfolio: list[dict[str, Any]], busy: bool) -> tuple[list[str], str]:
    """The portfolio per currency over the range (the stats panel's portfolio scope in one line), longest
    first: ([html, …], tooltip)."""
    muted = colours().muted
    if not portfolio:
        what = "Computing statistics…" if busy else "No statistics yet: deals are read while an account is live"
        return [f"<span style='color:{muted}'>{what}</span>"], ""
    full, short, tip = [], [], []
    for p in portfolio:
        net, cur, n = p.get("net_profit") or 0.0, p["currency"], p["accounts"]
        coloured = f"<span style='color:{pl_colour(net)}'>{money(net, sign=True)}</span>"
        gain = pct(p.get("absolute_gain_pct"))
        full.append(f"<b>{cur}</b> · {n} account{'s' if n != 1 else ''} · net {coloured} ({gain})"
                    f" · {p.get('trades', 0)} trades")
        short.append(f"<b>{cur}</b> {coloured} ({gain})")
        tip.append(f"{cur}, {n} account(s) added up: net profit {money(net, cur, sign=True)}, absolute gain {gain}, "
                   f"{p.get('trades', 0)} closed trades, deposits {money(p.get('deposits'), cur)}, withdrawals "
                   f"{money(p.get('withdrawals'), cur)}")
    tip.append("TWR, drawdown % and profit factor do not add up across accounts: see each tile.")
    return [" &nbsp;|&nbsp; ".join(full), " &nbsp;|&nbsp; ".join(short)], "\n".join(tip)


class StripLabel(QLabel):
    """Rich text that never widens the window: the longest version that fits on one line, else the
    shortest, wrapped."""

    def __init__(self) -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._versions: list[str] = []

    def set_versions(self, versions: list[str], tooltip: str) -> None:
        if versions != self._versions:
            self._versions = versions
            self._pick()
        if self.toolTip() != tooltip:
            self.setToolTip(tooltip)

    def _pick(self) -> None:
        doc = QTextDocument()
        doc.setDefaultFont(self.font())
        chosen = self._versions[-1] if self._versions else ""
        for html in self._versions:
            doc.setHtml(html)
            if doc.idealWidth() <= self.width():
                chosen = html
                break
        self.setWordWrap(chosen == self._versions[-1] if self._versions else False)
        if self.text() != chosen:
            self.setText(chosen)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._pick()


def attach_overview_stats(window: MainWindow) -> OverviewStats:
    """The main window's hook: the loader, the range box wired to the settings, the refresh triggers."""
    desk, overview = window.desk, window.overview

    def dirty() -> None:
        window._dirty.add("overview")

    loader = OverviewStats(desk.account_stats, window._spawn, dirty, desk.settings.get(SETTING))
    overview.stats_source = loader
    overview.range_box.set_range(loader.range_name)

    def choose(name: str) -> None:
        window._spawn(desk.save_settings({SETTING: name}))
        loader.set_range(name)

    def on_event(ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        if kind == "accounts":
            loader.set_accounts([a["key"] for a in ev.get("accounts") or []])
        elif kind == "deals" and ev.get("new"):
            loader.refresh([str(ev.get("account"))])

    def due() -> None:
        if not window.isVisible():  # closed (or not shown yet): nothing to show the numbers in
            return
        if loader.held:
            loader.release()
            return
        live = {k for k, s in desk.account_states().items() if (s or {}).get("state") == "live"}
        loader.refresh(loader.due(live))

    overview.range_box.chosen.connect(choose)
    desk.event.connect(on_event)
    timer = QTimer(window)
    timer.setInterval(DUE_CHECK_MS)
    timer.timeout.connect(due)
    timer.start()
    loader.held = True
    loader.set_accounts([a["key"] for a in desk.accounts()])
    QTimer.singleShot(START_DELAY_MS, window, due)  # and the next check if the window was not shown by then
    return loader
