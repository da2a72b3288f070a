"""The account switcher: a model/view tree grouped by server, in the owner's order.

Rows are painted by a delegate from the desk's latest state (no widget per row). Double-click
or Ctrl+1…9 activates; drag to reorder within a server; right-click for the account's actions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QMenu, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTreeView

from ui.formatting import LOSS, PROFIT, STATE_COLOURS, badge_text, money

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
GROUP_ROLE = Qt.ItemDataRole.UserRole + 2


class AccountsModel(QStandardItemModel):
    """Server groups with their accounts. Values are read by the delegate through ``lookup``."""

    def __init__(self) -> None:
        super().__init__()
        self.accounts: list[dict[str, Any]] = []
        self.states: dict[str, dict[str, Any]] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.holder: str | None = None

    def set_accounts(self, accounts: list[dict[str, Any]]) -> None:
        self.accounts = list(accounts)
        self.clear()
        groups: dict[str, QStandardItem] = {}
        for a in self.accounts:
            group = groups.get(a["server"])
            if group is None:
                group = QStandardItem(a["server"])
                group.setData(a["server"], GROUP_ROLE)
                group.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDropEnabled)
                groups[a["server"]] = group
                self.appendRow(group)
            item = QStandardItem(a.get("label") or a["key"])
            item.setData(a["key"], KEY_ROLE)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            group.appendRow(item)

    def account(self, key: str) -> dict[str, Any] | None:
        return next((a for a in self.accounts if a["key"] == key), None)

    def keys_in_view_order(self) -> list[str]:
        out = []
        for g in range(self.rowCount()):
            group = self.item(g)
            out += [group.child(r).data(KEY_ROLE) for r in range(group.rowCount())]
        return out

    def index_of(self, key: str) -> QModelIndex:
        for g in range(self.rowCount()):
            group = self.item(g)
            for r in range(group.rowCount()):
                if group.child(r).data(KEY_ROLE) == key:
                    return group.child(r).index()
        return QModelIndex()

    def refresh(self) -> None:
        """Repaint every row (called by the window's coalescing timer, not per event)."""
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, 0))
            for g in range(self.rowCount()):
                group = self.item(g)
                if group.rowCount():
                    self.dataChanged.emit(group.child(0).index(), group.child(group.rowCount() - 1).index())


class AccountDelegate(QStyledItemDelegate):
    ROW_HEIGHT = 52

    def __init__(self, model: AccountsModel, lock_icon: Any) -> None:
        super().__init__()
        self.model = model
        self.lock_icon = lock_icon

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(280, self.ROW_HEIGHT if index.data(KEY_ROLE) else 28)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        p.save()
        r = option.rect
        if not key:
            self._paint_group(p, r, index)
            p.restore()
            return
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        p.fillRect(r, QColor("#e8f0fe") if selected else option.palette.base())
        a = self.model.account(key) or {}
        state = self.model.states.get(key)
        snap = self.model.snapshots.get(key)
        x = r.left() + 6
        if self.model.holder == key:
            self.lock_icon.paint(p, QRect(x, r.top() + 6, 16, 16))
        x += 20
        bold = QFont(option.font)
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(option.palette.text().color())
        label = a.get("label") or key
        markers = []
        if a.get("mode") == "dedicated":
            markers.append("Own terminal")
        if a.get("investor"):
            markers.append("Read-only")
        badge = badge_text(state, snap, time.time())
        badge_w = p.fontMetrics().horizontalAdvance(badge) + 14
        badge_rect = QRect(r.right() - badge_w - 6, r.top() + 5, badge_w, 18)
        title_w = badge_rect.left() - x - 6
        p.drawText(QRect(x, r.top() + 4, title_w, 20), Qt.AlignmentFlag.AlignVCenter,
                   p.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight, title_w))
        colour = QColor(STATE_COLOURS.get((state or {}).get("state") or "idle", "#5f6368"))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawRoundedRect(badge_rect, 9, 9)
        p.setPen(QColor("white"))
        p.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() - 1))
        p.setFont(small)
        p.setPen(QColor("#5f6368"))
        sub = f"{a.get('login')} · " + " · ".join(markers) if markers else f"{a.get('login')}@{a.get('server')}"
        values_w = 0
        if snap:
            cur = snap.get("currency") or ""
            profit = float(snap["profit"]) if snap.get("profit") is not None else 0.0
            pl = money(profit if snap.get("profit") is not None else None, None, sign=True)  # unknown: "—"
            eq = f"{money(snap.get('equity'))} {cur}"
            line = QRect(x, r.top() + 26, r.right() - x - 6, 20)
            p.setPen(QColor(PROFIT if profit > 0 else LOSS if profit < 0 else "#5f6368"))
            pl_w = p.fontMetrics().horizontalAdvance(pl)
            p.drawText(line, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, pl)
            p.setPen(option.palette.text().color())
            p.drawText(line.adjusted(0, 0, -pl_w - 10, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                       eq)
            values_w = pl_w + 10 + p.fontMetrics().horizontalAdvance(eq) + 12
        p.setPen(QColor("#5f6368"))
        sub_w = max(40, r.right() - x - 6 - values_w)
        p.drawText(QRect(x, r.top() + 26, sub_w, 20), Qt.AlignmentFlag.AlignVCenter,
                   p.fontMetrics().elidedText(sub, Qt.TextElideMode.ElideRight, sub_w))
        p.setPen(QColor("#e0e0e0"))
        p.drawLine(r.left(), r.bottom(), r.right(), r.bottom())
        p.restore()

    def _paint_group(self, p: QPainter, r: QRect, index: QModelIndex) -> None:
        p.fillRect(r, QColor("#f1f3f4"))
        f = p.font()
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor("#3c4043"))
        count = self.model.itemFromIndex(index).rowCount()
        p.drawText(r.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter, f"{index.data()}  ({count})")


class AccountSidebar(QTreeView):
    activate_requested = Signal(str)
    focus_changed = Signal(str)
    action_requested = Signal(str, str)  # action, key
    reordered = Signal(list)

    def __init__(self, model: AccountsModel, lock_icon: Any) -> None:
        super().__init__()
        self._model = model
        self.setModel(model)
        self.setItemDelegate(AccountDelegate(model, lock_icon))
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(0)
        self.setUniformRowHeights(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.doubleClicked.connect(self._double_clicked)
        self.setMinimumWidth(300)

    def rebuild(self, accounts: list[dict[str, Any]], focused: str | None) -> None:
        self._model.set_accounts(accounts)
        self.expandAll()
        if focused:
            idx = self._model.index_of(focused)
            if idx.isValid():
                self.setCurrentIndex(idx)

    def currentChanged(self, current: QModelIndex, previous: QModelIndex) -> None:
        super().currentChanged(current, previous)
        key = current.data(KEY_ROLE)
        if key:
            self.focus_changed.emit(key)

    def _double_clicked(self, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        if key:
            self.activate_requested.emit(key)

    def dropEvent(self, event: Any) -> None:
        """Reorder within a server: compute the new order ourselves and let the desk store it."""
        source = self.currentIndex().data(KEY_ROLE)
        target = self.indexAt(event.position().toPoint())
        event.ignore()
        if not source or not target.isValid():
            return
        move_to(self._model, source, target, self.dropIndicatorPosition(), self.reordered.emit)

    def _menu(self, pos: QPoint) -> None:
        key = self.indexAt(pos).data(KEY_ROLE)
        if not key:
            return
        a = self._model.account(key) or {}
        menu = QMenu(self)
        menu.addAction("Activate", lambda: self.activate_requested.emit(key))
        if a.get("mode") == "dedicated":
            menu.addAction("Back to the shared terminal", lambda: self.action_requested.emit("shared", key))
        else:
            menu.addAction("Give it its own terminal", lambda: self.action_requested.emit("dedicated", key))
        menu.addAction("Edit…", lambda: self.action_requested.emit("edit", key))
        menu.addSeparator()
        close = menu.addAction("Close all positions…", lambda: self.action_requested.emit("close_all", key))
        close.setEnabled(not a.get("investor"))
        menu.addAction("Unlink…", lambda: self.action_requested.emit("unlink", key))
        menu.popup(self.viewport().mapToGlobal(pos))


def move_to(model: AccountsModel, source: str, target: QModelIndex, where: Any,
            emit: Callable[[list[str]], None]) -> bool:
    """Move ``source`` next to ``target`` if both are on the same server; emits the new order."""
    src = model.account(source)
    target_key = target.data(KEY_ROLE)
    group = target.data(GROUP_ROLE) if not target_key else (model.account(target_key) or {}).get("server")
    if src is None or group != src["server"] or target_key == source:
        return False
    keys = model.keys_in_view_order()
    keys.remove(source)
    if not target_key:  # dropped on the server's header: first in that server
        siblings = [k for k in keys if (model.account(k) or {}).get("server") == group]
        pos = keys.index(siblings[0]) if siblings else len(keys)
    else:
        pos = keys.index(target_key)
        if where == QAbstractItemView.DropIndicatorPosition.BelowItem:
            pos += 1
    keys.insert(pos, source)
    emit(keys)
    return True
