"""The focused account's open positions and closed trades ([E] 3).

Open positions are asked from the account's worker every few seconds, off the GUI thread, and only while
the account is live on its terminal (Desk.positions answers None otherwise: nothing here logs in). When
it is not live the last list stays, with its age. Closed trades come from the deals store for a date
range. "Close all" goes through the window's close-all (it asks first, and runs through the lock); one
position closes from its context menu or "Close selected…" (asks first, a job through the lock; its
result, with the retcode, shows in the status line). Pending orders are a sub-tab. "Export CSV…" writes
what `accounts history --csv` / `accounts trades --csv` write, for the chosen days, on the I/O thread."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.formatting import age_since, money
from ui.orders_panel import ORDER_COLUMNS, show_orders
from ui.rows_table import fill, table
from ui.settings_dialog import confirm

POLL_MS = 2000
OPEN_COLUMNS = ("Symbol", "Side", "Volume", "Open price", "Price", "SL", "TP", "Swap", "Profit", "Open time")
CLOSED_COLUMNS = ("Position", "Symbol", "Side", "Volume", "Open time", "Close time", "Open price", "Close price",
                  "Commission", "Swap", "Profit", "Result")
SIDES = {0: "buy", 1: "sell"}


def local_time(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "—"


def price(value: Any) -> str:
    v = float(value or 0)
    return "—" if not v else f"{v:.5f}".rstrip("0").rstrip(".")


def section(header: list[Any], body: QWidget) -> QWidget:
    """A header row (widgets, or (widget, stretch)) above a table."""
    box = QWidget()
    row = QHBoxLayout()
    for w in header:
        row.addWidget(*(w if isinstance(w, tuple) else (w,)))
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addLayout(row)
    lay.addWidget(body)
    return box


class PositionsPanel(QWidget):
    def __init__(self, desk: Any, spawn: Callable[[Any], None], close_all: Callable[[str], None]) -> None:
        super().__init__()
        self.desk, self.spawn, self._close_all = desk, spawn, close_all
        self.key: str | None = None
        self.currency = ""
        self.last: dict[str, tuple[float, list[dict[str, Any]]]] = {}  # account -> (when read, positions)
        self._asking = False
        self.status = QLabel("No account selected")
        self.status.setObjectName("Muted")
        self.close_button = QPushButton("Close all…")
        self.close_button.setToolTip("Close every open position of this account at market (asks first)")
        self.close_button.clicked.connect(lambda: self._close_all(self.key) if self.key else None)
        self.close_one_button = QPushButton("Close selected…")
        self.close_one_button.setToolTip("Close the selected position at market (asks first)")
        self.close_one_button.clicked.connect(lambda: self.ask_close(self.selected_ticket()))
        self.open_table = table(OPEN_COLUMNS)
        self.open_table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.open_table.customContextMenuRequested.connect(self._position_menu)
        self.orders_table = table(ORDER_COLUMNS)
        self.inner = QTabWidget()
        self.inner.addTab(self.open_table, "Open positions")
        self.inner.addTab(self.orders_table, "Pending orders")
        self.last_orders: dict[str, list[dict[str, Any]]] = {}
        self.result = QLabel("")  # the last close-one result, with its retcode
        self.result.setObjectName("Muted")
        self.export_button = QToolButton()
        self.export_button.setText("Export CSV…")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Equity history (time_utc, balance, equity, low, high)…", lambda: self.export("history"))
        menu.addAction("Closed trades…", lambda: self.export("trades"))
        self.export_button.setMenu(menu)
        # where to save: a dialog for the owner, replaced in tests
        self.ask_path: Callable[[str], str | None] = self._ask_path
        self.open_totals = QLabel("")
        self.closed_table = table(CLOSED_COLUMNS)
        self.closed_totals = QLabel("")
        today = QDate.currentDate()
        self.date_from, self.date_to = QDateEdit(today.addDays(-30)), QDateEdit(today)
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.dateChanged.connect(lambda _d: self.load_trades())
        open_box = section([(self.status, 1), self.result, self.open_totals, self.close_one_button,
                            self.close_button], self.inner)
        closed_box = section([QLabel("<b>Closed trades</b>  from"), self.date_from, QLabel("to"), self.date_to,
                              (QLabel(""), 1), self.closed_totals, self.export_button], self.closed_table)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(open_box)
        split.addWidget(closed_box)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(split)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    # ---- the focused account -----------------------------------------------------------------------
    def show_account(self, key: str | None, currency: str = "") -> None:
        if key == self.key:
            return
        self.key, self.currency = key, currency
        self.close_button.setEnabled(bool(key))
        self.close_one_button.setEnabled(bool(key))
        self.export_button.setEnabled(bool(key))
        self.result.setText("")
        when, positions = self.last.get(key or "", (0.0, []))
        self.show_positions(positions, live=False, when=when)
        show_orders(self.orders_table, self.last_orders.get(key or "", []))
        self.load_trades()
        self.poll()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.poll()  # the tab opened: fresh positions now, not at the next tick

    def poll(self) -> None:
        """Ask the worker for the positions (skipped while a question is out, or the panel is hidden)."""
        if self.key and not self._asking and self.isVisible():
            self._asking = True
            self.spawn(self._ask(self.key))

    async def _ask(self, key: str) -> None:
        try:
            positions = await self.desk.positions(key)
            orders = self.desk.pending_orders(key) if positions is not None else None
            orders = await orders if inspect.isawaitable(orders) else orders
        finally:
            self._asking = False
        if orders is not None:
            self.last_orders[key] = list(orders)
            if key == self.key:
                show_orders(self.orders_table, self.last_orders[key])
                self.inner.setTabText(1, f"Pending orders ({len(orders)})")
        if positions is not None:
            self.last[key] = (time.time(), positions)
        if key == self.key:
            when, shown = self.last.get(key, (0.0, []))
            self.show_positions(shown, live=positions is not None, when=when)

    def show_positions(self, positions: list[dict[str, Any]], live: bool, when: float) -> None:
        if not self.key:
            self.status.setText("No account selected")
        elif live:
            self.status.setText(f"● Live · {len(positions)} open")
        elif when:
            self.status.setText(f"○ Not live · as of {age_since(when)}")
        else:
            self.status.setText("○ Not live · positions are read while the account is live")
        rows, profits, swaps, tickets = [], [], [], []
        for p in sorted(positions, key=lambda p: float(p.get("time_utc") or p.get("time") or 0)):
            profit, swap = float(p.get("profit") or 0), float(p.get("swap") or 0)
            opened = local_time(p.get("time_utc")) if p.get("time_utc") else f"{local_time(p.get('time'))} server"
            rows.append([str(p.get("symbol") or ""), SIDES.get(int(p.get("type", -1)), "?"),
                         f"{float(p.get('volume') or 0):g}", price(p.get("price_open")), price(p.get("price_current")),
                         price(p.get("sl")), price(p.get("tp")), money(swap), money(profit, sign=True), opened])
            profits.append(profit)
            swaps.append(swap)
            tickets.append(p.get("ticket"))
        # each row keeps its position's ticket, for closing it
        fill(self.open_table, rows, {7: swaps, 8: profits}, tickets, [f"position #{t}" for t in tickets])
        self.inner.setTabText(0, f"Open positions ({len(positions)})")
        volume = sum(float(p.get("volume") or 0) for p in positions)
        self.open_totals.setText(f"Total: {volume:g} lots · swap {money(sum(swaps))} · "
                                 f"profit {money(sum(profits), self.currency, sign=True)}" if positions else "")

    # ---- closed trades --------------------------------------------------------------------------------
    def trade_range(self) -> tuple[float, float]:
        """The chosen days in the owner's local time, as UTC epoch seconds (the end day included)."""
        start = datetime(*self.date_from.date().getDate()).astimezone()  # the owner's local days
        end = datetime(*self.date_to.date().getDate()).astimezone() + timedelta(days=1)
        return start.astimezone(UTC).timestamp(), end.astimezone(UTC).timestamp() - 1e-3

    def load_trades(self) -> None:
        if self.key:
            self.spawn(self._load_trades(self.key, *self.trade_range()))
        else:
            fill(self.closed_table, [], {})

    async def _load_trades(self, key: str, start: float, end: float) -> None:
        trades = await self.desk.closed_trades(key, start, end)
        if key != self.key:
            return
        rows, results, profits = [], [], []
        for t in reversed(trades):  # newest first
            rows.append([str(t["position"]), t["symbol"], t["type"], f"{t['volume']:g}", local_time(t["open_time"]),
                         local_time(t["close_time"]), price(t["open_price"]), price(t["close_price"]),
                         money(t["commission"]), money(t["swap"]), money(t["profit"], sign=True),
                         money(t["result"], sign=True)])
            results.append(float(t["result"]))
            profits.append(float(t["profit"]))
        fill(self.closed_table, rows, {10: profits, 11: results})
        wins = sum(1 for r in results if r > 0)
        self.closed_totals.setText(f"{len(trades)} trades · {wins} won · result "
                                   f"{money(sum(results), self.currency, sign=True)}" if trades else "No closed trades")

    # ---- close one position ----------------------------------------------------------------------------
    def selected_ticket(self) -> int | None:
        rows = self.open_table.selectionModel().selectedRows()
        return self.ticket_at(rows[0].row()) if rows else None

    def ticket_at(self, row: int) -> int | None:
        item = self.open_table.item(row, 0)
        ticket = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return int(ticket) if ticket else None

    def _position_menu(self, pos: Any) -> None:
        ticket = self.ticket_at(self.open_table.rowAt(pos.y()))
        if ticket is None:
            return
        symbol = self.open_table.item(self.open_table.rowAt(pos.y()), 0).text()
        menu = QMenu(self)
        menu.addAction(f"Close position #{ticket} ({symbol})…", lambda: self.ask_close(ticket))
        menu.popup(self.open_table.viewport().mapToGlobal(pos))

    def ask_close(self, ticket: int | None) -> QMessageBox | None:
        if not self.key or ticket is None:
            self.result.setText("Select a position first")
            return None
        key = self.key
        return confirm(self, "Close position", f"Close position #{ticket} at market now?\n\nThis cannot be undone.",
                "Close position", lambda: self.close_now(key, ticket))

    def close_now(self, key: str, ticket: int) -> None:
        self.result.setText(f"Closing #{ticket}…")
        self.desk.close_position(key, ticket)

    def job_event(self, ev: dict[str, Any]) -> None:
        """The end of a close_position job of the shown account: its words and retcode."""
        if ev.get("job") != "close_position" or ev.get("account") != self.key:
            return
        ticket = (ev.get("params") or {}).get("ticket")
        if ev.get("state") == "done":
            self.result.setText(f"✓ {ev.get('message') or f'closed #{ticket}'}")
        elif ev.get("state") in ("failed", "cancelled"):
            codes = ev.get("retcodes") or []
            code = f" [retcode {codes[-1]}]" if codes and str(codes[-1]) not in str(ev.get("message")) else ""
            self.result.setText(f"⚠ #{ticket}: {ev.get('message') or ev.get('state')}{code}")
        else:
            return
        self.result.setToolTip(self.result.text())
        self.poll()

    # ---- exports -----------------------------------------------------------------------------------------
    def _ask_path(self, what: str) -> str | None:
        login = (self.key or "account").split("@")[0]
        path, _ = QFileDialog.getSaveFileName(self, "Export CSV", f"{login}-{what}.csv", "CSV files (*.csv)")
        return path or None

    def export(self, what: str) -> None:
        if not self.key:
            return
        path = self.ask_path(what)
        if path:
            self.spawn(self._export(self.key, what, *self.trade_range(), path))

    async def _export(self, key: str, what: str, start: float, end: float, path: str) -> None:
        try:
            rows = await self.desk.export_csv(key, what, start, end, path)
        except Exception as exc:  # a folder gone, a full disk: said here, nothing else changes
            self.closed_totals.setText(f"⚠ Export failed: {exc}")
            return
        self.closed_totals.setText(f"Exported {rows} row(s) to {path}")
