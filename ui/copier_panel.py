"""The Copier tab ([J] 4): each copy link with its follower's mirrored positions, the last latency, the
last skip or error with its reason; add, edit, remove, pause and resume links (ui/copier_dialog.py); the
latest ``copy`` events beside. It also keeps the sidebar's copier markers (ui/copier_marker.py) fresh."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from multi_user.copy_model import CopyLink
from multi_user.copy_store import add_link
from multi_user.errors import BadInput
from ui.copier_dialog import CopierLinkDialog
from ui.copier_marker import Marker, copier_markers, link_state
from ui.panel_parts import button_row, row_table, side_by_side
from ui.settings_dialog import confirm

COLUMNS = ("Master", "Follower", "Sizing", "State", "Mirrored positions", "Last latency", "Skipped / error")
MAX_EVENTS = 200


def sizing_text(link: Any) -> str:
    text = {"equity": "equity ratio", "balance": "balance ratio", "fixed": f"fixed {link.volume:g}",
            "multiplier": f"×{link.multiplier:g}"}.get(link.sizing, link.sizing)
    return text + (" · reversed" if link.reverse else "")


def attach_copier(window: Any) -> CopierPanel:
    """The Copier tab in the window, and its markers on the sidebar's rows."""
    panel = CopierPanel(window.desk, window._spawn, window.name_of)
    window.tabs.addTab(panel, "Copier")
    window.model.copier_markers = panel.markers

    def repaint() -> None:
        window.sidebar.scheduleDelayedItemsLayout()  # a longer marker may need the row's third line
        window.sidebar.viewport().update()

    panel.markers_changed.connect(repaint)
    return panel


def event_text(ev: dict[str, Any], name_of: Callable[[str], str]) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(float(ev.get("ts") or time.time())))
    what = f"{ev.get('action')} {ev.get('volume') or ''} {ev.get('symbol') or ''}".replace("  ", " ").strip()
    tail = f" in {ev['latency_ms']:.0f} ms" if ev.get("latency_ms") is not None and ev.get("ok") else ""
    why = f" — {ev['reason']}" if ev.get("reason") else ""
    code = f" ({ev['retcode']})" if ev.get("retcode") is not None and not ev.get("ok") else ""
    ticket = f" #{ev['master_position']}" if ev.get("master_position") else ""
    return f"{when}  {name_of(str(ev.get('follower')))}: {what}{ticket}{tail}{code}{why}"


class CopierPanel(QWidget):
    markers_changed = Signal()

    def __init__(self, desk: Any, spawn: Callable[[Any], None], name_of: Callable[[str], str]) -> None:
        super().__init__()
        self.desk, self.spawn, self.name_of = desk, spawn, name_of
        self.table = row_table(COLUMNS, stretch=len(COLUMNS) - 1)
        self.events = QListWidget()
        self.empty = QLabel("No copy links. Add one (or: copier add --master LOGIN@SERVER --follower LOGIN@SERVER); "
                            "master and follower need their own terminal.")
        self.empty.setWordWrap(True)
        self.markers: dict[str, Marker] = {}  # the sidebar's rows read them (ui/sidebar.py texts)
        self.add_button = QPushButton("Add link…")
        self.edit_button = QPushButton("Edit…")
        self.remove_button = QPushButton("Remove")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.add_button.clicked.connect(lambda: self.open_dialog(None))
        self.edit_button.clicked.connect(lambda: self.open_dialog(self._selected()))
        self.remove_button.clicked.connect(self.remove_selected)
        self.pause_button.clicked.connect(lambda: self._set_paused(True))
        self.resume_button.clicked.connect(lambda: self._set_paused(False))
        self.table.itemSelectionChanged.connect(self._enable_buttons)
        self.table.doubleClicked.connect(lambda _i: self.open_dialog(self._selected()))
        buttons = button_row(self.add_button, self.edit_button, self.remove_button, self.pause_button,
                             self.resume_button)
        split = side_by_side(self.table, self.events, [700, 400])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.empty)
        lay.addWidget(split, 1)
        lay.addLayout(buttons)
        self._followers: list[str] = []
        desk.event.connect(self.on_event)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def on_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") != "copy":
            return
        self.events.insertItem(0, event_text(ev, self.name_of))
        while self.events.count() > MAX_EVENTS:
            self.events.takeItem(self.events.count() - 1)

    def refresh(self) -> None:
        copier = self._copier()
        links = list(copier.links) if copier is not None else []
        self.empty.setVisible(not links)
        selected = self._selected()
        self._followers = [lk.follower for lk in links]
        self.table.setRowCount(len(links))
        for row, lk in enumerate(links):
            view = copier.views.get(lk.follower, {}) if copier is not None else {}
            mirrored = view.get("positions") or []
            skipped = view.get("skipped") or {}
            latency = view.get("latency_ms")
            cells = (self.name_of(lk.master), self.name_of(lk.follower), sizing_text(lk), link_state(lk, view)[0],
                     ", ".join(f"{p.get('symbol')} {p.get('volume'):g}" for p in mirrored) or "none",
                     f"{latency:.0f} ms" if latency is not None else "—",
                     view.get("error") or "; ".join(f"{'#' + t if t.isdigit() else t}: {r}"
                                                    for t, r in list(skipped.items())[-3:]) or "")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                item.setToolTip(str(text))
                self.table.setItem(row, col, item)
        if selected in self._followers:
            self.table.selectRow(self._followers.index(selected))
        self._enable_buttons()
        markers = copier_markers(copier, self.name_of)
        if markers != self.markers:
            self.markers.clear()
            self.markers.update(markers)
            self.markers_changed.emit()

    def _copier(self) -> Any:
        """The Desk's copier (a test's stand-in desk may have none)."""
        copier = getattr(self.desk, "copier", None)
        return copier if isinstance(getattr(copier, "links", None), list) else None

    def _selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self._followers):
            return None
        return self._followers[rows[0].row()]

    def _enable_buttons(self) -> None:
        follower = self._selected()
        copier = self._copier()
        link = copier.link_of(follower) if follower and copier is not None else None
        self.pause_button.setEnabled(link is not None and not link.paused)
        self.resume_button.setEnabled(link is not None and link.paused)
        self.edit_button.setEnabled(link is not None)
        self.remove_button.setEnabled(link is not None)
        self.add_button.setEnabled(copier is not None)

    def _set_paused(self, paused: bool) -> None:
        follower = self._selected()
        if follower is not None:
            self.spawn(self.desk.copier.set_paused(follower, paused))

    # ---- making, changing and removing links ---------------------------------------------------------
    def open_dialog(self, follower: str | None) -> CopierLinkDialog | None:
        copier = self._copier()
        link = copier.link_of(follower) if copier is not None and follower else None
        if copier is None or (follower is not None and link is None):
            return None
        dialog = CopierLinkDialog(self, self.desk.accounts(), list(copier.links), self.save_link,
                                  self.spawn, link=link, margin_modes=self.margin_modes())
        dialog.open()
        return dialog

    def margin_modes(self) -> dict[str, int]:
        """Each account's margin mode as its terminal last said (netting or hedging), where known."""
        out: dict[str, int] = {}
        for a in self.desk.accounts():
            mode = (self.desk.last_snapshot(a["key"]) or {}).get("margin_mode")
            if mode is not None:
                out[a["key"]] = int(mode)
        return out

    async def save_link(self, link: CopyLink, replaces: str | None, dedicate: list[str]) -> None:
        """Store ``link`` against the links as stored now (the command line may have changed them), then
        give the accounts named their own terminal (the same switch as the sidebar's)."""

        def change(links: list[CopyLink]) -> list[CopyLink]:
            if replaces is not None and not any(lk.key == replaces for lk in links):
                raise BadInput("this link was removed meanwhile (by the command line?); nothing was stored")
            return add_link([lk for lk in links if lk.key != replaces], link)

        await self.desk.copier.change_links(change)
        for key in dedicate:
            await self.desk.update_account(key, mode="dedicated")
        self.refresh()

    def remove_selected(self) -> None:
        follower = self._selected()
        copier = self._copier()
        link = copier.link_of(follower) if copier is not None and follower else None
        if link is None:
            return
        key = link.key

        async def remove() -> None:
            await self.desk.copier.change_links(lambda links: [lk for lk in links if lk.key != key])
            self.refresh()

        confirm(self, "Remove copy link", f"Stop copying {self.name_of(link.master)} to {self.name_of(follower)}?"
                "\n\nThe copies the follower has stay open; close them there if you want them gone.", "Remove link",
                lambda: self.spawn(remove()))
