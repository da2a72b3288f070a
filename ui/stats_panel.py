"""The focused account's statistics beside its chart ([E] 4): docs/STATISTICS.md's numbers from
AccountHistory, computed on the Desk's I/O thread (Desk.account_stats), shown here as they come."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QComboBox, QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from ui.formatting import money
from ui.pnl_bars import MONTHS, PnlBars
from ui.theme import pl_colour

PERIODS = (("All time", None), ("30 days", 30 * 86400.0), ("90 days", 90 * 86400.0), ("1 year", 365 * 86400.0))


def pct(v: Any, sign: bool = True) -> str:
    return "—" if v is None else (f"{v:+,.2f} %" if sign else f"{v:,.2f} %")


def num(v: Any, fmt: str = ",.2f") -> str:
    return "—" if v is None else format(v, fmt)


def day(v: dict[str, Any] | None) -> str:
    """'+21.38 · 30 Sep' (the year is in the row's tooltip: the period rarely spans two)."""
    if not v:
        return "—"
    d = dt.date.fromisoformat(str(v.get("date")))
    return f"{money(v.get('pl'), sign=True)} · {d.day} {MONTHS[d.month - 1]}"


# (label, how to show it from the stats object, the value whose sign colours it, tooltip)
ROWS: tuple[tuple[str, Any, Any, str], ...] = (
    ("Gain (TWR)", lambda s: pct(s.get("gain_pct")), lambda s: s.get("gain_pct"),
     "Time-weighted return: periods split at each deposit or withdrawal, so money added is not profit"),
    ("Absolute gain", lambda s: pct(s.get("absolute_gain_pct")), lambda s: s.get("absolute_gain_pct"),
     "Net profit over the starting balance plus deposits"),
    ("Net profit", lambda s: money(s.get("net_profit"), s.get("currency"), sign=True), lambda s: s.get("net_profit"),
     "Trade results with commissions, swaps and fees; deposits and withdrawals excluded"),
    ("Deposits", lambda s: money(s.get("deposits"), s.get("currency")), None, ""),
    ("Withdrawals", lambda s: money(s.get("withdrawals"), s.get("currency")), None, ""),
    ("Max drawdown", lambda s: money(s.get("max_drawdown")) if s.get("max_drawdown_pct") is None and "accounts" in s
     else f"{pct(s.get('max_drawdown_pct'), sign=False)} · {money(s.get('max_drawdown'))}",
     None, "Largest fall of equity from a peak, from the stored lows"),
    ("Profit factor", lambda s: num(s.get("profit_factor")), None, "Gross profit over gross loss"),
    ("Win rate", lambda s: pct(s.get("win_rate_pct"), sign=False), None, "Closed positions that made money"),
    ("Trades", lambda s: num(s.get("trades"), "d"), None, "Closed positions in the period"),
    ("Expectancy", lambda s: money(s.get("expectancy"), sign=True), lambda s: s.get("expectancy"),
     "Average result per closed position"),
    ("Average win", lambda s: money(s.get("avg_win"), sign=True), lambda s: s.get("avg_win"), ""),
    ("Average loss", lambda s: money(s.get("avg_loss"), sign=True), lambda s: s.get("avg_loss"), ""),
    ("Best day", lambda s: day(s.get("best_day")), lambda s: (s.get("best_day") or {}).get("pl"),
     "The UTC day with the largest closed P/L"),
    ("Worst day", lambda s: day(s.get("worst_day")), lambda s: (s.get("worst_day") or {}).get("pl"),
     "The UTC day with the smallest closed P/L"),
    ("Sharpe (daily)", lambda s: num(s.get("sharpe")), None, "Mean daily return over its standard deviation"),
)


class ScopeBox(QComboBox):
    """The scope list, refreshed just before it opens (accounts and their currencies come and go)."""

    before_popup: Any = None

    def showPopup(self) -> None:
        if self.before_popup is not None:
            self.before_popup()
        super().showPopup()


class StatsPanel(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("StatsPanel")
        self.period = QComboBox()
        for label, _ in PERIODS:
            self.period.addItem(label)
        self.period.setToolTip("The period the statistics cover")
        self.scope = ScopeBox()
        self.scope.setObjectName("StatsScope")
        self.scope.addItem("This account", None)
        self.scope.setToolTip("The focused account, or every account in one currency added up")
        self.title = QLabel("<b>Statistics</b>")
        self.note = QLabel("")
        self.note.setObjectName("Muted")
        self.note.setWordWrap(True)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(3)
        self.values: dict[str, QLabel] = {}
        for i, (label, _show, _sign, tip) in enumerate(ROWS):
            name = QLabel(label)
            name.setObjectName("Muted")
            name.setToolTip(tip)
            value = QLabel("—")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(name, i, 0)
            grid.addWidget(value, i, 1)
            self.values[label] = value
        # the rows and bars are taller than a 700-pixel window leaves beside the chart: they scroll
        inner = self._inner = QWidget()
        scroll = self._scroll = QScrollArea()
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        lay = QVBoxLayout(inner)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.scope)
        lay.addWidget(self.period)
        lay.addLayout(grid)
        self.bars = PnlBars()
        lay.addWidget(self.bars)
        lay.addWidget(self.note)
        lay.addStretch(1)
        self.setMaximumWidth(300)

    def sizeHint(self) -> QSize:
        # a scroll area asks for its content's height too; beside the chart the panel wants its width
        width = self._inner.sizeHint().width() + self._scroll.verticalScrollBar().sizeHint().width()
        return QSize(min(width, self.maximumWidth()), 300)

    def minimumSizeHint(self) -> QSize:
        return QSize(180, 120)  # narrower than its content on a small screen: it scrolls sideways too

    def set_currencies(self, currencies: list[str]) -> None:
        """Offer a portfolio choice per currency; the current choice stays while its currency does."""
        wanted = [None, *sorted(set(currencies))]
        if [self.scope.itemData(i) for i in range(self.scope.count())] == wanted:
            return
        current = self.portfolio_currency()
        self.scope.blockSignals(True)  # rebuilding the list is not the owner choosing
        self.scope.clear()
        for cur in wanted:
            self.scope.addItem("This account" if cur is None else f"Portfolio · {cur} accounts", cur)
        self.scope.setCurrentIndex(max(0, self.scope.findData(current)) if current else 0)
        self.scope.blockSignals(False)

    def portfolio_currency(self) -> str | None:
        """The currency whose portfolio is shown, or None for the focused account."""
        return self.scope.currentData()

    def span(self) -> float | None:
        return PERIODS[self.period.currentIndex()][1]

    def set_stats(self, stats: dict[str, Any] | None) -> None:
        """The statistics object of ``accounts stats`` (None: nothing known for the account)."""
        s = stats or {}
        for label, show, sign, _tip in ROWS:
            value = self.values[label]
            value.setText(show(s) if s else "—")
            v = sign(s) if (sign and s) else None
            value.setStyleSheet(f"color: {pl_colour(v)}" if v else "")
            if label in ("Best day", "Worst day"):
                value.setToolTip(str((s.get("best_day" if label == "Best day" else "worst_day") or {}).get("date", "")))
        self.bars.set_stats(s)
        if "accounts" in s:  # a portfolio object
            self.note.setText(f"{s['accounts']} account(s) in {s.get('currency')}, added up. TWR, drawdown % and "
                              "Sharpe do not add up across accounts: see each account.")
        else:
            self.note.setText("" if s.get("trades") or s.get("deposits") else "No deals stored yet: they are read "
                              "while the account is live.")
