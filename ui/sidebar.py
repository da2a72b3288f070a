"""The account switcher: a model/view tree grouped by server (or sorted by a value), with search,
sort and a state filter above it.

Rows are painted by a delegate from the desk's latest state (no widget per row). Double-click,
Enter or Ctrl+1…9 activates; drag or Alt+Up/Down reorders within a server; right-click, the Menu
key or Shift+F10 opens the account's actions; Ctrl+F searches. Every action works from the keyboard.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ui.formatting import STATE_COLOURS, badge_text, money
from ui.headroom import HEADROOM_LINE, paint_headroom
from ui.sidebar_model import FILTERS, GROUP_ROLE, GROUPED_SORTS, KEY_ROLE, SORTS, AccountsModel, move_by, move_to
from ui.theme import colours, lock_icon, pl_colour

__all__ = ["GROUP_ROLE", "KEY_ROLE", "AccountDelegate", "AccountSidebar", "AccountsModel", "SidebarPanel", "move_to"]

LEFT = 26  # room for the padlock
RIGHT = 6
GAP = 10


class AccountDelegate(QStyledItemDelegate):
    """Two lines per account; three when the view is too narrow for the login, the markers
    ("Own terminal", "Read-only") and the values side by side, so markers are never cut."""

    ROW_HEIGHT = 52
    TALL_ROW_HEIGHT = 72

    def __init__(self, model: AccountsModel, lock_icon: Any, width: Any) -> None:
        super().__init__()
        self.model = model
        self.lock_icon = lock_icon
        self.width = width  # the view's row width, read when rows are laid out
        self._locks: dict[str, Any] = {}

    def theme_lock(self) -> Any:
        """The padlock in the current theme's colour (the one given is for the light theme)."""
        name = colours().name
        if name == "light":
            return self.lock_icon
        if name not in self._locks:
            self._locks[name] = lock_icon()
        return self._locks[name]

    @staticmethod
    def small_font(font: QFont) -> QFont:
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        return small

    def texts(self, key: str) -> tuple[str, str, str, str, float]:
        a = self.model.account(key) or {}
        markers = []
        if a.get("mode") == "dedicated":
            markers.append("Own terminal")
        if a.get("investor"):
            markers.append("Read-only")
        if getattr(self.model, "bot_markers", {}).get(key):  # [I] "Bot grid: running" (ui/bot_panel.py)
            markers.append(self.model.bot_markers[key])
        if copier := getattr(self.model, "copier_markers", {}).get(key):  # [J] "Copies Main" (ui/copier_marker.py)
            markers.append(copier[0])
        # grouped by server, the header names the server; a flat list names it on each row
        who = str(a.get("login")) if self.model.sort in GROUPED_SORTS else f"{a.get('login')}@{a.get('server')}"
        sub = " · ".join([who, *markers])
        snap = self.model.snapshots.get(key)
        if not snap:
            return sub, " · ".join(markers), "", "", 0.0
        known = snap.get("profit") is not None
        profit = float(snap["profit"]) if known else 0.0
        # an unknown floating P/L is "—", never an invented +0.00
        return sub, " · ".join(markers), f"{money(snap.get('equity'))} {snap.get('currency') or ''}".strip(), \
            money(profit if known else None, None, sign=True), profit

    def is_tall(self, key: str, font: QFont, width: int) -> bool:
        sub, _markers, eq, pl, _ = self.texts(key)
        if not eq:
            return False
        fm = QFontMetrics(self.small_font(font))
        need = fm.horizontalAdvance(sub) + GAP + fm.horizontalAdvance(eq) + GAP + fm.horizontalAdvance(pl)
        return LEFT + need + RIGHT > width

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        key = index.data(KEY_ROLE)
        if not key:
            return QSize(200, 28)
        tall = self.is_tall(key, option.font, self.width())
        extra = HEADROOM_LINE if getattr(self.model, "headroom", {}).get(key) else 0  # [H] room to the floor
        return QSize(200, (self.TALL_ROW_HEIGHT if tall else self.ROW_HEIGHT) + extra)

    def helpEvent(self, event: Any, view: Any, option: QStyleOptionViewItem, index: QModelIndex) -> bool:
        room = getattr(self.model, "headroom", {}).get(index.data(KEY_ROLE))  # [H] floors, reset, how to lift
        if room and event.pos().y() >= option.rect.bottom() - HEADROOM_LINE - 1:
            QToolTip.showText(event.globalPos(), room.tooltip, view)
            return True
        if copier := getattr(self.model, "copier_markers", {}).get(index.data(KEY_ROLE)):  # [J] master, state
            QToolTip.showText(event.globalPos(), copier[1], view)
            return True
        return super().helpEvent(event, view, option, index)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        c = colours()
        p.save()
        r = option.rect
        if not key:
            self._paint_group(p, r, index)
            p.restore()
            return
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        p.fillRect(r, QColor(c.selected) if selected else QColor(c.base))
        if option.state & QStyle.StateFlag.State_HasFocus:  # where the keyboard is
            p.fillRect(QRect(r.left(), r.top(), 3, r.height()), option.palette.highlight().color()
                       if not selected else QColor(c.equity))
        a = self.model.account(key) or {}
        state = self.model.states.get(key)
        snap = self.model.snapshots.get(key)
        x = r.left() + 6
        if key in self.model.holders:
            self.theme_lock().paint(p, QRect(x, r.top() + 6, 16, 16))
        x = r.left() + LEFT
        bold = QFont(option.font)
        bold.setBold(True)
        p.setFont(bold)
        label = a.get("label") or key
        badge = badge_text(state, snap, time.time())
        badge_w = p.fontMetrics().horizontalAdvance(badge) + 14
        badge_rect = QRect(r.right() - badge_w - RIGHT, r.top() + 5, badge_w, 18)
        title_w = max(0, badge_rect.left() - x - 6)
        p.setPen(QColor(c.text))
        p.drawText(QRect(x, r.top() + 4, title_w, 20), Qt.AlignmentFlag.AlignVCenter,
                   p.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight, title_w))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(STATE_COLOURS.get((state or {}).get("state") or "idle", "#5f6368")))
        p.drawRoundedRect(badge_rect, 9, 9)
        p.setPen(QColor("white"))
        p.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge)
        p.setFont(self.small_font(option.font))
        fm = p.fontMetrics()
        sub, _markers, eq, pl, profit = self.texts(key)
        room = getattr(self.model, "headroom", {}).get(key)
        tall = r.height() - (HEADROOM_LINE if room else 0) >= self.TALL_ROW_HEIGHT
        width = r.right() - RIGHT - x
        values_line = QRect(x, r.top() + (46 if tall else 26), width, 20)
        values_w = 0
        if eq:
            p.setPen(QColor(pl_colour(profit)))
            pl_w = fm.horizontalAdvance(pl)
            right = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
            p.drawText(values_line, right, pl)
            p.setPen(QColor(c.text))
            p.drawText(values_line.adjusted(0, 0, -pl_w - GAP, 0), right, eq)
            values_w = 0 if tall else pl_w + GAP + fm.horizontalAdvance(eq) + GAP
        p.setPen(QColor(c.muted))
        sub_w = max(20, width - values_w)
        p.drawText(QRect(x, r.top() + 26, sub_w, 20), Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(sub, Qt.TextElideMode.ElideMiddle, sub_w))  # keep the markers at the end
        if room:
            paint_headroom(p, QRect(x, r.bottom() - HEADROOM_LINE - 1, width, HEADROOM_LINE), room, c)
        p.setPen(QColor(c.divider))
        p.drawLine(r.left(), r.bottom(), r.right(), r.bottom())
        p.restore()

    def _paint_group(self, p: QPainter, r: QRect, index: QModelIndex) -> None:
        c = colours()
        p.fillRect(r, QColor(c.group))
        f = p.font()
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor(c.group_text))
        count = self.model.itemFromIndex(index).rowCount()
        p.drawText(r.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter,
                   p.fontMetrics().elidedText(f"{index.data()}  ({count})", Qt.TextElideMode.ElideRight,
                                              max(0, r.width() - 16)))


class AccountSidebar(QTreeView):
    activate_requested = Signal(str)
    focus_changed = Signal(str)
    action_requested = Signal(str, str)  # action, key
    reordered = Signal(list)

    def __init__(self, model: AccountsModel, lock_icon: Any) -> None:
        super().__init__()
        self._model = model
        self._quiet = False  # selecting from code (rebuild, Ctrl+1…9) does not re-focus the chart
        self._laid_out_width = -1
        self.setModel(model)
        self.setItemDelegate(AccountDelegate(model, lock_icon, lambda: self.viewport().width()))
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(0)
        self.setUniformRowHeights(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.customContextMenuRequested.connect(self._menu)
        self.doubleClicked.connect(self._double_clicked)
        self.setMinimumWidth(200)
        self.setAccessibleName("Accounts")
        model.layout_rebuilt.connect(self._after_rebuild)
        self._selected: str | None = None
        self.panel = SidebarPanel(self)

    # ---- selection ------------------------------------------------------------------------------
    def rebuild(self, accounts: list[dict[str, Any]], focused: str | None) -> None:
        self._selected = focused or self._selected
        self._model.set_accounts(accounts)

    def select(self, key: str | None) -> None:
        """Show ``key`` as the selected row (the window focused it some other way)."""
        self._selected = key
        idx = self._model.index_of(key) if key else QModelIndex()
        if idx.isValid() and idx != self.currentIndex():
            self._quiet = True
            try:
                self.setCurrentIndex(idx)
                self.scrollTo(idx)
            finally:
                self._quiet = False

    def selected_key(self) -> str | None:
        return self.currentIndex().data(KEY_ROLE)

    def _after_rebuild(self) -> None:
        self.expandAll()
        self.setDragEnabled(self._model.is_owner_order())
        self.select(self._selected)

    def currentChanged(self, current: QModelIndex, previous: QModelIndex) -> None:
        super().currentChanged(current, previous)
        key = current.data(KEY_ROLE)
        if key:
            self._selected = key
            if not self._quiet:
                self.focus_changed.emit(key)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.viewport().width() != self._laid_out_width:  # rows may need a third line now
            self._laid_out_width = self.viewport().width()
            self.scheduleDelayedItemsLayout()

    # ---- keyboard -------------------------------------------------------------------------------
    def moveCursor(self, action: QAbstractItemView.CursorAction, modifiers: Any) -> QModelIndex:
        """Up/Down/Home/End/PageUp/PageDown land on accounts, never on a server's header."""
        index = super().moveCursor(action, modifiers)
        if not index.isValid() or index.data(KEY_ROLE):
            return index
        up = action in (QAbstractItemView.CursorAction.MoveUp, QAbstractItemView.CursorAction.MovePageUp,
                        QAbstractItemView.CursorAction.MoveEnd)
        for step in ((self.indexAbove, self.indexBelow) if up else (self.indexBelow, self.indexAbove)):
            probe = step(index)
            while probe.isValid() and not probe.data(KEY_ROLE):
                probe = step(probe)
            if probe.isValid():
                return probe
        return self.currentIndex()

    def keyPressEvent(self, event: Any) -> None:
        key = self.selected_key()
        k, mods = event.key(), event.modifiers()
        alt = mods & Qt.KeyboardModifier.AltModifier
        if key and k in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activate_requested.emit(key)
        elif key and (k == Qt.Key.Key_Menu or (k == Qt.Key.Key_F10 and mods & Qt.KeyboardModifier.ShiftModifier)):
            self._menu(self.visualRect(self.currentIndex()).center())
        elif key and k == Qt.Key.Key_Delete:
            self.action_requested.emit("unlink", key)
        elif key and alt and k in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            if self._model.is_owner_order():
                order = move_by(self._model, key, -1 if k == Qt.Key.Key_Up else 1)
                if order:
                    self.reordered.emit(order)
        else:
            super().keyPressEvent(event)

    # ---- mouse ----------------------------------------------------------------------------------
    def _double_clicked(self, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        if key:
            self.activate_requested.emit(key)

    def dropEvent(self, event: Any) -> None:
        """Reorder within a server: compute the new order ourselves and let the desk store it."""
        source = self.currentIndex().data(KEY_ROLE)
        target = self.indexAt(event.position().toPoint())
        event.ignore()
        if not source or not target.isValid() or not self._model.is_owner_order():
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
        menu.addAction("Bot…", lambda: self.action_requested.emit("bot", key)).setEnabled(not a.get("investor"))
        close = menu.addAction("Close all positions…", lambda: self.action_requested.emit("close_all", key))
        close.setEnabled(not a.get("investor"))
        flat = menu.addAction("Flatten (positions and pending orders)…",
                              lambda: self.action_requested.emit("flatten", key))
        flat.setEnabled(not a.get("investor"))
        menu.addAction("Prop-firm rules…", lambda: self.action_requested.emit("rules", key))
        menu.addAction("Unlink…", lambda: self.action_requested.emit("unlink", key))
        menu.popup(self.viewport().mapToGlobal(pos))


class SidebarPanel(QWidget):
    """Search, sort and filter above the account list."""

    def __init__(self, tree: AccountSidebar) -> None:
        super().__init__()
        self.tree = tree
        model = tree.model()
        assert isinstance(model, AccountsModel)
        self.model = model
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, login, server  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search accounts")
        self.sort = QComboBox()
        for label, value in SORTS:
            self.sort.addItem(f"↕ {label}", value)
        self.sort.setAccessibleName("Sort accounts")
        self.sort.setToolTip("Sort: order of the accounts (drag or Alt+Up/Down reorders in \"Your order\")")
        self.filter = QComboBox()
        for label, value in FILTERS:
            self.filter.addItem(label, value)
        self.filter.setToolTip("Show only these accounts")
        self.filter.setAccessibleName("Filter accounts")
        for combo in (self.sort, self.filter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
        self.hidden = QLabel()
        self.hidden.setObjectName("Muted")
        self.hidden.hide()
        self.search.textChanged.connect(lambda text: self._changed(query=text))
        self.sort.currentIndexChanged.connect(lambda _i: self._changed(sort=self.sort.currentData()))
        self.filter.currentIndexChanged.connect(lambda _i: self._changed(filter_=self.filter.currentData()))
        self.search.installEventFilter(self)
        combos = QHBoxLayout()
        combos.setSpacing(4)
        combos.addWidget(self.sort, 1)
        combos.addWidget(self.filter, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.search)
        lay.addLayout(combos)
        lay.addWidget(self.hidden)
        lay.addWidget(tree, 1)
        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.setContext(Qt.ShortcutContext.WindowShortcut)
        find.activated.connect(self.focus_search)
        self.setMinimumWidth(200)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _changed(self, **view: Any) -> None:
        self.model.set_view(**view)
        hidden = self.model.hidden_count()
        self.hidden.setText(f"{hidden} of {len(self.model.accounts)} accounts hidden by the search or filter"
                            if hidden else "")
        self.hidden.setWordWrap(True)
        self.hidden.setVisible(bool(hidden))

    def eventFilter(self, obj: Any, event: Any) -> bool:
        """In the search box: Down or Enter goes to the list, Escape clears the search."""
        from PySide6.QtCore import QEvent

        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.tree.setFocus(Qt.FocusReason.TabFocusReason)
                if not self.tree.selected_key():
                    keys = self.model.keys_in_view_order()
                    if keys:
                        self.tree.setCurrentIndex(self.model.index_of(keys[0]))
                return True
            if event.key() == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                self.tree.setFocus(Qt.FocusReason.OtherFocusReason)
                return True
        return super().eventFilter(obj, event)
