"""A read-only table of text rows backed by one model, for lists that can be thousands of rows long.

The closed trades of a busy account are thousands of rows: as QTableWidgetItems (one object per cell,
each measured by a resize-to-contents header) refilling 2,500 trades held the GUI thread for 0.3–1 s.
Here a refill is one model reset over plain lists; Qt asks only the visible cells for their text. Column
widths come from each column's longest text, measured once per fill (a resize-to-contents header would ask
the model for every cell on every layout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ui.theme import pl_colour

PADDING = 18  # px around a cell's text, as Qt's own item delegate leaves
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_Index = QModelIndex | QPersistentModelIndex


def right_aligned(column: int, text: str) -> bool:
    """Numbers right, names and times left (a time has a colon)."""
    return column >= 2 and text[:1] in "+-0123456789—" and ":" not in text


@dataclass(frozen=True)
class Cell:
    """One cell read back (what QTableWidget.item gave): for tests and context menus."""

    _text: str
    _data: Any
    _tip: str

    def text(self) -> str:
        return self._text

    def data(self, role: Any) -> Any:
        return self._data if role == Qt.ItemDataRole.UserRole else None

    def toolTip(self) -> str:
        return self._tip


class RowsModel(QAbstractTableModel):
    def __init__(self, columns: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list[list[str]] = []
        self.pl: dict[int, list[float]] = {}  # column -> the values that colour it (profit green, loss red)
        self.keys: list[Any] = []  # a value per row (e.g. a position's ticket), read with UserRole
        self.tips: list[str] = []
        self._brushes: dict[str, QBrush] = {}

    def set_rows(self, rows: list[list[str]], pl: dict[int, list[float]], keys: list[Any] | None = None,
                 tips: list[str] | None = None) -> None:
        self.beginResetModel()
        self.rows, self.pl, self.keys, self.tips = rows, pl, keys or [], tips or []
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[r][c]
        if role == Qt.ItemDataRole.ForegroundRole and c in self.pl:
            colour = pl_colour(self.pl[c][r])
            brush = self._brushes.get(colour)
            if brush is None:
                brush = self._brushes[colour] = QBrush(QColor(colour))
            return brush
        if role == Qt.ItemDataRole.TextAlignmentRole and right_aligned(c, self.rows[r][c]):
            return _RIGHT
        if role == Qt.ItemDataRole.UserRole and c == 0 and r < len(self.keys):
            return self.keys[r]
        if role == Qt.ItemDataRole.ToolTipRole and c == 0 and r < len(self.tips):
            return self.tips[r]
        return None

    def cell(self, r: int, c: int) -> Cell | None:
        if not (0 <= r < len(self.rows) and 0 <= c < len(self.columns)):
            return None
        return Cell(self.rows[r][c], self.keys[r] if c == 0 and r < len(self.keys) else None,
                    self.tips[r] if c == 0 and r < len(self.tips) else "")


class RowsTable(QTableView):
    """A QTableView over a RowsModel, answering the few QTableWidget calls the panels and tests use."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        super().__init__()
        self.rows_model = RowsModel(columns, self)
        self.setModel(self.rows_model)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        self._longest: list[str] = []

    def rowCount(self) -> int:
        return self.rows_model.rowCount()

    def columnCount(self) -> int:
        return self.rows_model.columnCount()

    def item(self, r: int, c: int) -> Cell | None:
        return self.rows_model.cell(r, c)

    def fit_columns(self) -> None:
        """Each column as wide as its longest text (or its title); only when one of those changed."""
        model = self.rows_model
        longest = [max((row[c] for row in model.rows), key=len, default="") for c in range(len(model.columns))]
        if longest == self._longest:
            return
        self._longest = longest
        text, title = self.fontMetrics(), self.horizontalHeader().fontMetrics()
        for c, name in enumerate(model.columns):
            width = max(text.horizontalAdvance(longest[c]), title.horizontalAdvance(name)) + PADDING
            self.horizontalHeader().resizeSection(c, width)


def table(columns: tuple[str, ...]) -> RowsTable:
    return RowsTable(columns)


def fill(t: RowsTable, rows: list[list[str]], pl_columns: dict[int, list[float]], keys: list[Any] | None = None,
         tips: list[str] | None = None) -> None:
    t.rows_model.set_rows(rows, pl_columns, keys, tips)
    t.fit_columns()
