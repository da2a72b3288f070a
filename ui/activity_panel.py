"""The activity log as a table, newest first: time, what happened, details (kept across restarts)."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

COLUMNS = ("Time", "What happened", "Details")
LEVEL_COLOURS = {"success": "#1e8e3e", "warning": "#a8710b", "error": "#c5221f"}
MAX_ROWS = 1000


def when(ts: float, now: float | None = None) -> str:
    """Today's entries by the clock, older ones with their date."""
    now = time.time() if now is None else now
    fmt = "%H:%M:%S" if time.localtime(ts)[:3] == time.localtime(now)[:3] else "%d %b %H:%M:%S"
    return time.strftime(fmt, time.localtime(ts))


class ActivityPanel(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(1, 400)
        header.setStretchLastSection(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.table)
        self.entries: list[dict[str, Any]] = []

    def load(self, entries: list[dict[str, Any]]) -> None:
        """The stored entries (oldest first), before any that arrived live meanwhile."""
        live, self.entries = self.entries, []
        self.table.setRowCount(0)
        seen = {e.get("id") for e in entries if e.get("id") is not None}
        for e in [*entries, *(e for e in live if e.get("id") not in seen or e.get("id") is None)]:
            self.add(e)

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        self.table.insertRow(0)
        colour = LEVEL_COLOURS.get(str(entry.get("level")))
        for c, text in enumerate((when(float(entry.get("ts") or time.time())), str(entry.get("title") or ""),
                                  str(entry.get("detail") or ""))):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            if colour and c == 1:
                item.setForeground(QBrush(QColor(colour)))
            self.table.setItem(0, c, item)
        if self.table.rowCount() > MAX_ROWS:
            self.table.setRowCount(MAX_ROWS)
            del self.entries[:-MAX_ROWS]

    def titles(self) -> list[str]:
        """Newest first, as shown (for tests and the status bar)."""
        return [self.table.item(r, 1).text() for r in range(self.table.rowCount())]
