"""Pieces the tab panels share: a read-only table of rows picked one at a time, a row of buttons, and
a list beside its details."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableWidget,
    QWidget,
)


def row_table(columns: tuple[str, ...] | list[str], stretch: int) -> QTableWidget:
    """Not editable, one whole row selected at a time, columns sized to their contents but ``stretch``."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def button_row(*buttons: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    for b in buttons:
        row.addWidget(b)
    row.addStretch(1)
    return row


def side_by_side(left: QWidget, right: QWidget, sizes: list[int]) -> QSplitter:
    split = QSplitter()
    split.addWidget(left)
    split.addWidget(right)
    split.setSizes(sizes)
    return split
