"""Every lane's terminal and worker: folder, pid, state, restarts, last error, the shared terminal's lock;
start, stop, restart. The owner's hosts' lanes follow, named with the host ([K]; unknown while it is
offline; their buttons stay off: a host's terminals are started and stopped there)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.lock_banner import lock_plain
from ui.panel_parts import row_table

COLUMNS = ("Lane", "Accounts", "Lock", "Terminal folder", "Terminal", "Worker", "Restarts", "Last message")


def _proc(ev: dict[str, Any] | None) -> str:
    if not ev:
        return "—"
    pid = f" (pid {ev['pid']})" if ev.get("pid") else ""
    return f"{ev.get('state', '?')}{pid}"


class TerminalsPanel(QWidget):
    def __init__(self, action: Callable[[str, str], None], name_of: Callable[[str], str]) -> None:
        super().__init__()
        self.action = action
        self.name_of = name_of
        self.table = row_table(COLUMNS, stretch=3)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for label, verb in (("Start", "start"), ("Stop", "stop"), ("Restart", "restart")):
            b = QPushButton(label)
            b.setToolTip(f"{label} the selected lane's terminal and worker")
            b.clicked.connect(lambda _=False, v=verb: self._act(v))
            buttons.addWidget(b)
            self.buttons[verb] = b
        self.table.itemSelectionChanged.connect(self._enable_buttons)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        self._lanes: list[str] = []
        self._remote: set[str] = set()
        self._enable_buttons()

    def _selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def _enable_buttons(self) -> None:
        """The buttons act on the selected lane: with none selected they do nothing, so say so."""
        row = self._selected_row()
        chosen = 0 <= row < len(self._lanes) and self._lanes[row] not in self._remote
        for b in self.buttons.values():
            b.setEnabled(chosen)

    def _act(self, verb: str) -> None:
        row = self._selected_row()
        if 0 <= row < len(self._lanes) and self._lanes[row] not in self._remote:
            self.action(self._lanes[row], verb)

    def refresh(self, lanes: list[dict[str, Any]]) -> None:
        self._lanes = [ln["lane"] for ln in lanes]
        self._remote = {ln["lane"] for ln in lanes if ln.get("host")}
        self.table.setRowCount(len(lanes))
        for r, ln in enumerate(lanes):
            term, work = ln.get("terminal"), ln.get("worker")
            restarts = (term or {}).get("restarts", 0) + (work or {}).get("restarts", 0)
            message = (term or {}).get("message") or (work or {}).get("message") or ""
            accounts = ", ".join(self.name_of(k) for k in ln.get("accounts") or []) or "—"
            lane = "Shared terminal" if ln.get("host_lane", ln["lane"]) == "shared" else "Own terminal"
            term_text, work_text = _proc(term), _proc(work)
            if ln.get("host"):
                lane = f"{ln['host']} · {lane}"
                if ln.get("known") is False:  # the host is offline: what it said last may be stale
                    term_text = work_text = "unknown"
                    message = ln.get("unknown") or "unknown"
            values = (lane, accounts if len(accounts) < 60 else f"{len(ln['accounts'])} accounts",
                      lock_plain(ln.get("lock"), self.name_of), ln.get("folder") or "(installed MetaTrader 5)",
                      term_text, work_text, str(restarts), message)
            for c, v in enumerate(values):
                item = self.table.item(r, c)
                if item is None:
                    self.table.setItem(r, c, QTableWidgetItem(v))
                elif item.text() != v:
                    item.setText(v)
        self._enable_buttons()
