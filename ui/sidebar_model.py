"""The sidebar's model: accounts grouped by server in the owner's order, or sorted by a value, and
narrowed by a search text and a state filter. Values are read by the delegate from ``states``
and ``snapshots``; ``refresh`` re-sorts only when a sort or filter input changed, and repaints only
the rows whose painted content changed ([P] 1: one row's new values never repaint all twenty)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView

from ui.formatting import badge_text
from ui.theme import colours

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
GROUP_ROLE = Qt.ItemDataRole.UserRole + 2

# (label, key); grouped sorts keep the server headers, the others are one flat list
SORTS = (("Your order", "owner"), ("Name", "name"), ("Server", "server"), ("Equity", "equity"),
         ("Floating P/L", "profit"), ("State", "state"))
GROUPED_SORTS = {"owner", "server"}
FILTERS = (("All accounts", "all"), ("Live", "live"), ("Not live", "not_live"), ("Needs attention", "problem"),
           ("Own terminal", "dedicated"), ("Read-only", "investor"))
PROBLEM_STATES = {"auth_error", "offline", "stale", "mismatch", "disconnected"}
STATE_ORDER = {"live": 0, "connecting": 1, "waiting": 2, "stale": 3, "disconnected": 3, "idle": 4, "offline": 5,
               "mismatch": 6, "auth_error": 7}


class AccountsModel(QStandardItemModel):
    """Server groups with their accounts (or a flat sorted list)."""

    layout_rebuilt = Signal()  # rows were re-made: the view restores its selection and expansion

    def __init__(self) -> None:
        super().__init__()
        self.accounts: list[dict[str, Any]] = []
        self.states: dict[str, dict[str, Any]] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.holder: str | None = None
        self.holders: set[str] = set()  # the padlocks: this machine's holder and each online host's ([K])
        self.sort = "owner"
        self.filter = "all"
        self.query = ""
        self._shown: tuple[Any, ...] = ()
        self._order_inputs: tuple[Any, ...] | None = None  # what the last sort and filter read
        self._items: dict[str, QStandardItem] = {}  # the row of each shown account
        self._painted: dict[str, tuple[Any, ...]] = {}  # each row's signature when last repainted
        self._by_key: dict[str, dict[str, Any]] = {}
        self._by_key_of: list[dict[str, Any]] | None = None

    # ---- what is shown, in which order --------------------------------------------------------
    def set_accounts(self, accounts: list[dict[str, Any]]) -> None:
        self.accounts = list(accounts)
        self._build(force=True)

    def set_view(self, sort: str | None = None, filter_: str | None = None, query: str | None = None) -> None:
        if sort is not None:
            self.sort = sort
        if filter_ is not None:
            self.filter = filter_
        if query is not None:
            self.query = query.strip()
        self._build()

    def is_owner_order(self) -> bool:
        """Drag to reorder only makes sense when every account shows in the owner's order."""
        return self.sort == "owner" and self.filter == "all" and not self.query

    def matches(self, a: dict[str, Any]) -> bool:
        q = self.query.casefold()
        if q and not any(q in str(a.get(f) or "").casefold() for f in ("label", "login", "server", "key")):
            return False
        state = (self.states.get(a["key"]) or {}).get("state") or "idle"
        return {"all": True, "live": state == "live", "not_live": state != "live",
                "problem": state in PROBLEM_STATES, "dedicated": a.get("mode") == "dedicated",
                "investor": bool(a.get("investor"))}.get(self.filter, True)

    def _sort_key(self, a: dict[str, Any]) -> Any:
        snap = self.snapshots.get(a["key"]) or {}
        name = str(a.get("label") or a["key"]).casefold()
        if self.sort == "name":
            return (name, a["key"])
        if self.sort == "server":
            return (a["server"].casefold(), name)
        if self.sort in ("equity", "profit"):  # biggest first; accounts without values last
            value = snap.get(self.sort)
            return (value is None, -float(value or 0.0), name)
        if self.sort == "state":
            state = (self.states.get(a["key"]) or {}).get("state") or "idle"
            return (STATE_ORDER.get(state, 9), name)
        return 0

    def _wanted(self) -> tuple[tuple[str | None, tuple[str, ...]], ...]:
        shown = [a for a in self.accounts if self.matches(a)]
        if self.sort != "owner":
            shown = sorted(shown, key=self._sort_key)  # stable: ties keep the owner's order
        if self.sort not in GROUPED_SORTS:
            return ((None, tuple(a["key"] for a in shown)),)
        groups: dict[str, list[str]] = {}
        for a in shown:
            groups.setdefault(a["server"], []).append(a["key"])
        return tuple((server, tuple(keys)) for server, keys in groups.items())

    def _inputs(self) -> tuple[Any, ...]:
        """Everything the order and the filter read: unchanged, the rows stay as they are, unsorted."""
        sort_key = self._sort_key if self.sort != "owner" else (lambda _a: 0)
        return (self.sort, self.filter, self.query, id(self.accounts), len(self.accounts),
                tuple((a["key"], self.matches(a), sort_key(a)) for a in self.accounts))

    def _build(self, force: bool = False) -> None:
        inputs = self._inputs()
        if not force and inputs == self._order_inputs:
            return
        self._order_inputs = inputs
        wanted = self._wanted()
        if not force and wanted == self._shown:
            return
        self._shown = wanted
        self._items = {}
        self._painted = {}
        self.clear()
        for server, keys in wanted:
            parent: Any = self
            if server is not None:
                group = QStandardItem(server)
                group.setData(server, GROUP_ROLE)
                group.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDropEnabled)
                self.appendRow(group)
                parent = group
            for key in keys:
                a = self.account(key) or {}
                item = QStandardItem(a.get("label") or key)
                item.setData(key, KEY_ROLE)
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if self.is_owner_order():
                    flags |= Qt.ItemFlag.ItemIsDragEnabled
                item.setFlags(flags)
                parent.appendRow(item)
                self._items[key] = item
        self.layout_rebuilt.emit()

    def set_lock(self, lock: dict[str, Any]) -> None:
        """Who holds a shared terminal: here, and on each host whose lock is known (not offline)."""
        self.holder = (lock.get("holder") or {}).get("account")
        self.holders = {h for h in [self.holder, *((x.get("holder") or {}).get("account")
                                                   for x in lock.get("hosts") or [] if x.get("known"))] if h}

    # ---- lookups --------------------------------------------------------------------------------
    def account(self, key: str) -> dict[str, Any] | None:
        if self._by_key_of is not self.accounts:  # read per paint: a dict, not a walk of the list
            self._by_key = {a["key"]: a for a in self.accounts}
            self._by_key_of = self.accounts
        return self._by_key.get(key)

    def hidden_count(self) -> int:
        return len(self.accounts) - sum(len(keys) for _, keys in self._shown)

    def keys_in_view_order(self) -> list[str]:
        """The accounts as shown, top to bottom (Ctrl+1…9 count these)."""
        return [k for _, keys in self._shown for k in keys]

    def owner_order(self) -> list[str]:
        """Every account in the owner's order, server by server (as "Your order" shows them)."""
        groups: dict[str, list[str]] = {}
        for a in self.accounts:
            groups.setdefault(a["server"], []).append(a["key"])
        return [k for keys in groups.values() for k in keys]

    def index_of(self, key: str) -> QModelIndex:
        item = self._items.get(key)
        return item.index() if item is not None else QModelIndex()

    def signature(self, key: str, now: float) -> tuple[Any, ...]:
        """Everything a row's paint reads (ui/sidebar.py AccountDelegate): the same signature paints the same."""
        a = self.account(key) or {}
        state = self.states.get(key)
        snap = self.snapshots.get(key) or {}
        copier = getattr(self, "copier_markers", {}).get(key)
        return (tuple(a.get(f) for f in ("label", "login", "server", "mode", "investor")),
                (state or {}).get("state"), badge_text(state, snap, now),  # the badge carries an age
                snap.get("equity"), snap.get("currency"), snap.get("profit"), key in self.holders,
                getattr(self, "headroom", {}).get(key), getattr(self, "bot_markers", {}).get(key),
                copier[0] if copier else None, self.sort in GROUPED_SORTS, colours().name)

    def refresh(self, now: float | None = None) -> None:
        """Repaint the rows whose painted content changed (called by the window's coalescing timer,
        not per event); re-sort first if new values changed the order or who passes the filter.
        Each changed row is its own dataChanged: a range makes the view repaint all of itself."""
        self.repaint_rows(self.changed_rows(now))

    def changed_rows(self, now: float | None = None) -> list[str]:
        """Re-sort if needed, then the rows whose signature changed since they were last repainted (each
        taken as repainted now: the caller repaints them, all at once or a few per frame)."""
        before = self._shown
        self._build()
        now = time.time() if now is None else now
        rebuilt = self._shown != before
        changed = []
        for key in self._items:
            sig = self.signature(key, now)
            if self._painted.get(key) != sig:
                self._painted[key] = sig
                changed.append(key)
        return [] if rebuilt else changed  # new rows are painted anyway

    def repaint_rows(self, keys: list[str]) -> None:
        """Repaint these rows only (and lay them out again: a row may grow a line)."""
        for key in keys:
            item = self._items.get(key)
            if item is not None:
                index = item.index()
                self.dataChanged.emit(index, index)


def move_to(model: AccountsModel, source: str, target: QModelIndex, where: Any,
            emit: Callable[[list[str]], None]) -> bool:
    """Move ``source`` next to ``target`` if both are on the same server; emits the new order."""
    src = model.account(source)
    target_key = target.data(KEY_ROLE)
    group = target.data(GROUP_ROLE) if not target_key else (model.account(target_key) or {}).get("server")
    if src is None or group != src["server"] or target_key == source:
        return False
    keys = model.owner_order()
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


def move_by(model: AccountsModel, key: str, step: int) -> list[str] | None:
    """The owner's order with ``key`` moved ``step`` places within its server (keyboard reorder)."""
    a = model.account(key)
    if a is None:
        return None
    keys = model.owner_order()
    same = [k for k in keys if (model.account(k) or {}).get("server") == a["server"]]
    i = same.index(key)
    j = i + step
    if not 0 <= j < len(same):
        return None
    a_pos, b_pos = keys.index(same[i]), keys.index(same[j])
    keys[a_pos], keys[b_pos] = keys[b_pos], keys[a_pos]
    return keys
