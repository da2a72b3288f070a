"""The Bots tab ([I] 5): each account's bot and its state, the bot log (orders with their retcode and
comment, refusals, the bot's own log lines, failures with their traceback), Start… and Stop.

Fed by ``bot`` events only. ``markers`` is what the sidebar shows per account (``bot_marker``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.panel_parts import button_row, side_by_side

STATE_WORDS = {"waiting": "waiting for the terminal", "running": "running", "paused": "paused",
               "stopped": "stopped", "failed": "failed"}
LOG_LINES = 2000


def bot_marker(state: dict[str, Any] | None) -> str | None:
    """The sidebar's words for an account's bot (None: no bot, or one stopped by the owner)."""
    if not state or state.get("state") in (None, "stopped"):
        return None
    return f"Bot {state.get('bot')}: {STATE_WORDS.get(str(state['state']), str(state['state']))}"


def log_line(ev: dict[str, Any], name_of: Callable[[str], str]) -> str:
    """One line of the bot log for a ``bot`` event."""
    at = time.strftime("%H:%M:%S", time.localtime(float(ev.get("ts") or time.time())))
    head = f"{at}  {name_of(str(ev.get('account')))} · {ev.get('bot')}"
    kind = ev.get("kind")
    if kind == "order":
        req = ev.get("request") or {}
        what = f"{req.get('symbol', '')} type {req.get('type', '?')} {req.get('volume', '')}".strip()
        if ev.get("refused"):
            return f"{head}  order {what} REFUSED: {ev['refused']}"
        return f"{head}  order {what} → {ev.get('retcode')} {ev.get('comment') or ''}".rstrip()
    if kind == "log":
        return f"{head}  [{ev.get('level')}] {ev.get('message')}"
    text = f"{head}  {STATE_WORDS.get(str(ev.get('state')), ev.get('state'))}"
    if ev.get("message"):
        text += f": {ev['message']}"
    if ev.get("traceback"):
        text += "\n" + str(ev["traceback"]).rstrip()
    return text


class BotPanel(QWidget):
    changed = Signal(str)  # an account's bot state changed (the sidebar repaints its row)
    start_requested = Signal(str)
    COLUMNS = ("Account", "Bot", "State", "Orders", "Message")

    def __init__(self, name_of: Callable[[str], str], stop: Callable[[str], Any],
                 selected: Callable[[], str | None]) -> None:
        super().__init__()
        self.name_of, self._stop, self._selected = name_of, stop, selected
        self.states: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, int] = {}
        self.markers: dict[str, str] = {}
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(len(self.COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.start_button = QPushButton("Start bot…")
        self.start_button.setToolTip("Start a bot on the account selected here or in the sidebar")
        self.stop_button = QPushButton("Stop bot")
        self.start_button.clicked.connect(lambda: self._emit_start())
        self.stop_button.clicked.connect(lambda: self._stop_selected())
        buttons = button_row(self.start_button, self.stop_button)
        split = side_by_side(self.table, self.log, [500, 500])
        lay = QVBoxLayout(self)
        lay.addLayout(buttons)
        lay.addWidget(split, 1)

    def account_here(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else self._selected()

    def _emit_start(self) -> None:
        key = self.account_here()
        if key:
            self.start_requested.emit(key)

    def _stop_selected(self) -> None:
        key = self.account_here()
        if key:
            self._stop(key)

    def on_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") != "bot":
            return
        key = str(ev.get("account"))
        self.log.appendPlainText(log_line(ev, self.name_of))
        if ev.get("kind") == "order" and not ev.get("refused"):
            self.orders[key] = self.orders.get(key, 0) + 1
        if ev.get("kind") == "state":
            if ev.get("state") in ("waiting", "running"):
                self.orders.setdefault(key, 0)
            self.states[key] = ev
            marker = bot_marker(ev)
            if marker:
                self.markers[key] = marker
            else:
                self.markers.pop(key, None)
            self.changed.emit(key)
        self._refresh(key)

    def _refresh(self, key: str) -> None:
        st = self.states.get(key)
        if st is None:
            return
        rows = [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.table.rowCount())]
        row = rows.index(key) if key in rows else self.table.rowCount()
        if row == self.table.rowCount():
            self.table.insertRow(row)
        values = (self.name_of(key), str(st.get("bot") or ""), STATE_WORDS.get(str(st.get("state")), ""),
                  str(self.orders.get(key, 0)), str(st.get("message") or ""))
        for col, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.table.setItem(row, col, item)
