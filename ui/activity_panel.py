"""The activity log as a table, newest first: time, what happened, details (kept across restarts).

A model over the entries themselves ([P] 4): as QTableWidgetItems the full log (1,000 rows, three items
each with its own tool tip) held ~3 MB and a start-up load inserted row by row; here a load is one model
reset, a new entry one inserted row, and Qt asks only the visible cells for their text. The time is
written when a row is painted, so an entry from before midnight shows its date the next day."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout, QWidget

from ui.rows_table import PADDING

COLUMNS = ("Time", "What happened", "Details")
LEVEL_COLOURS = {"success": "#1e8e3e", "warning": "#a8710b", "error": "#c5221f"}
MAX_ROWS = 1000
_Index = QModelIndex | QPersistentModelIndex


def when(ts: float, now: float | None = None) -> str:
    """Today's entries by the clock, older ones with their date."""
    now = time.time() if now is None else now
    fmt = "%H:%M:%S" if time.localtime(ts)[:3] == time.localtime(now)[:3] else "%d %b %H:%M:%S"
    return time.strftime(fmt, time.localtime(ts))


class ActivityModel(QAbstractTableModel):
    """The entries oldest first (as stored and as they arrive); row 0 is the newest."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[dict[str, Any]] = []
        self._brushes = {level: QBrush(QColor(colour)) for level, colour in LEVEL_COLOURS.items()}

    def reset(self, entries: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.entries = entries[-MAX_ROWS:]
        self.endResetModel()

    def append(self, entry: dict[str, Any]) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.entries.append(entry)
        self.endInsertRows()
        extra = len(self.entries) - MAX_ROWS
        if extra > 0:  # the oldest rows, at the bottom
            self.beginRemoveRows(QModelIndex(), MAX_ROWS, MAX_ROWS + extra - 1)
            del self.entries[:extra]
            self.endRemoveRows()

    def entry(self, row: int) -> dict[str, Any]:
        return self.entries[len(self.entries) - 1 - row]  # row 0 is the newest

    def text(self, row: int, column: int) -> str:
        e = self.entry(row)
        if column == 0:
            return when(float(e.get("ts") or time.time()))
        return str(e.get("title" if column == 1 else "detail") or "")

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.text(index.row(), index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            return self._brushes.get(str(self.entry(index.row()).get("level")))
        return None


class ActivityPanel(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.model = ActivityModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # the time column fits a dated time (a resize-to-contents header would ask every row on every layout)
        header.resizeSection(0, self.table.fontMetrics().horizontalAdvance("28 Nov 23:59:59") + PADDING)
        header.resizeSection(1, 400)
        header.setStretchLastSection(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.table)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return self.model.entries

    def load(self, entries: list[dict[str, Any]]) -> None:
        """The stored entries (oldest first), before any that arrived live meanwhile."""
        seen = {e.get("id") for e in entries if e.get("id") is not None}
        live = [e for e in self.model.entries if e.get("id") is None or e.get("id") not in seen]
        self.model.reset([*entries, *live])

    def add(self, entry: dict[str, Any]) -> None:
        self.model.append(entry)

    def titles(self) -> list[str]:
        """Newest first, as shown (for tests and the status bar)."""
        return [self.model.text(r, 1) for r in range(self.model.rowCount())]
