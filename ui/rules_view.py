"""The equity guard in the window ([H] 2, 5, 6): headroom in the sidebar rows and the overview tiles, the
floors on the chart, the rules dialog, flatten (one account, the blocked ones, all) with its progress.

Guard events only mark it dirty; the window's coalescing repaint timer repaints it (at most once a second
when nothing changed, so countdowns and ages move), never once per event.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMenu, QStyle, QToolBar, QToolButton

from app.flatten import flatten_all, tradeable
from multi_user import rules as rm
from ui.dialogs import confirm
from ui.headroom import Headroom, colour_of, headroom_of
from ui.headroom_chart import FloorLines
from ui.rules_dialog import RulesDialog, store_rules
from ui.rules_flatten import FlattenProgress
from ui.theme import colours

TICK = 1.0  # seconds between repaints when no event came (countdowns, ages)


class RulesView:
    def __init__(self, window: Any) -> None:
        self.w = window
        self.desk = window.desk
        self.events: dict[str, dict[str, Any]] = {}  # the guard events of this run
        self.seen_at: dict[str, float] = {}  # when a verdict computed while live last arrived (this run)
        self.shown: dict[str, Headroom] = {}
        self.dirty = True
        self._painted = 0.0
        self.tile_labels: dict[str, QLabel] = {}
        self._tiles_painted: dict[str, tuple[Any, str]] = {}  # what each tile's label shows now
        self.floors = FloorLines(window.chart)
        self.progress: FlattenProgress | None = None
        window.model.headroom = self.shown
        self.desk.event.connect(self.on_event)
        window.timer.timeout.connect(self.tick)
        self._toolbar()

    def guard(self) -> Any:
        """The desk's equity guard (app/guard.py), or None (a desk without one guards nothing)."""
        g = getattr(self.desk, "guard", None)
        return g if hasattr(g, "rules") else None

    def _toolbar(self) -> None:
        bars = self.w.findChildren(QToolBar)
        if not bars:
            return
        icon = self.w.style().standardIcon(QStyle.StandardPixmap.SP_BrowserStop)
        menu = QMenu(self.w)
        menu.addAction("Flatten all accounts…", lambda: self.flatten(None))
        menu.addAction("Flatten the blocked accounts…", lambda: self.flatten(None, only_blocked=True))
        self.flatten_action = QAction(icon, "Flatten…", self.w)
        acts = bars[0].actions()
        bars[0].insertAction(acts[4] if len(acts) > 4 else None, self.flatten_action)  # before the spacer
        self.flatten_action.setMenu(menu)
        self.flatten_action.setToolTip("Close every position and delete every pending order: all accounts or only "
                                       "the blocked ones (a confirmation names them first)")
        self.flatten_action.triggered.connect(lambda: self.flatten(None))
        icon_menu = self.w.tray.icon.contextMenu() if self.w.tray.icon is not None else None
        if icon_menu is not None:  # the tray too: the window may be hidden when it matters
            flat = QAction("Flatten all accounts…", icon_menu)
            flat.triggered.connect(lambda: (self.w.tray._show(), self.flatten(None)))
            icon_menu.insertAction(icon_menu.actions()[-1], flat)
        button = bars[0].widgetForAction(self.flatten_action)
        if isinstance(button, QToolButton):
            button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)

    # ---- events mark dirty; the window's timer repaints ------------------------------------------
    def on_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        if kind == "guard":
            key = ev["account"]
            self.events[key] = ev
            if ev.get("coverage") != "unguarded":
                self.seen_at[key] = float(ev.get("ts") or time.time())
            self.dirty = True
        elif kind == "account_state":
            self.dirty = True
        elif kind == "risk":
            self._tell(ev)
        elif kind == "job" and ev.get("job") == "flatten" and self.progress is not None:
            self.progress.on_job(ev)

    def _tell(self, ev: dict[str, Any]) -> None:
        """A tray notification once per crossing (``risk`` events come only on a change of state)."""
        key, state = str(ev.get("account")), str(ev.get("state"))
        if ev.get("blocked"):
            title, words = f"{self.w.name_of(key)} is blocked by its hard stop", "no order until the reset or a re-arm"
        elif state in ("warning", "breached"):
            what = "breached a loss floor" if state == "breached" else "is near a loss floor"
            title = f"{self.w.name_of(key)} {what}"
            words = "see its room in the sidebar"
        else:
            return
        self.w.tray.notify(f"risk:{key}:{state}:{ev.get('blocked')}", title, words)

    def tick(self) -> None:
        now = time.time()
        if not self.dirty and now - self._painted < TICK:
            return
        self.dirty, self._painted = False, now
        self.repaint(now)

    def headroom(self, key: str, now: float | None = None) -> Headroom | None:
        guard = self.guard()
        if guard is None or key not in guard.rules:
            return None  # rules cleared: no room line, whatever the last event said
        live = (self.desk.account_states().get(key) or {}).get("state") == "live"
        snap = self.desk.last_snapshot(key) or {}
        ev = self.events.get(key) or guard.last.get(key)  # stored verdicts are read after the window is built
        return headroom_of(ev, live, now, self.seen_at.get(key), snap.get("currency"))

    def repaint(self, now: float) -> None:
        keys = [a["key"] for a in self.w.model.accounts]
        fresh = {k: h for k in keys if (h := self.headroom(k, now)) is not None}
        grew = set(fresh) != set(self.shown)
        self.shown.clear()
        self.shown.update(fresh)
        if grew:
            self.w.sidebar.scheduleDelayedItemsLayout()  # guarded rows are one line taller
        self.w._dirty.add("rows")  # [P] the pacer repaints the rows whose room (or age) changed, a few a frame
        c = colours()
        for key, tile in self.w.overview.tiles.items():
            label = self.tile_labels.get(key)
            if label is None or label.parent() is not tile:
                self._tiles_painted.pop(key, None)
                label = self.tile_labels[key] = QLabel(tile)
                label.setObjectName("TileHeadroom")
                label.setWordWrap(True)
                tile.layout().addWidget(label)
            h = fresh.get(key)
            painted = (h, c.name)
            if self._tiles_painted.get(key) == painted:
                continue  # a style sheet costs a re-polish: only what changed is set again
            self._tiles_painted[key] = painted
            label.setVisible(h is not None)
            if h is not None:
                label.setText(h.text)
                label.setToolTip(h.tooltip)
                bold = "font-weight:bold;" if h.level in ("warning", "breached", "blocked") else ""
                style = f"color:{colour_of(h.level, c)};{bold}"
                if label.styleSheet() != style:
                    label.setStyleSheet(style)
        self.floors.show(self.w.focused, fresh.get(self.w.focused) if self.w.focused else None)

    # ---- actions --------------------------------------------------------------------------------
    def account_action(self, action: str, key: str) -> None:
        if action == "rules":
            self.open_rules(key)
        elif action == "flatten":
            self.flatten([key])

    def open_rules(self, key: str) -> RulesDialog:
        guard = self.guard()
        a = self.w.model.account(key) or {}
        dialog = RulesDialog(self.w, key, self.w.name_of(key), (guard.rules if guard else {}).get(key),
                             shared=a.get("mode") != "dedicated", blocked=bool(guard and guard.is_blocked(key)),
                             save=self.save_rules, spawn=self.w._spawn)
        dialog.open()
        return dialog

    async def save_rules(self, key: str, r: rm.Rules | None, dedicated: bool) -> None:
        await self.desk.io(store_rules, self.desk.data_dir, key, r)
        guard = self.guard()
        if guard is not None:
            await guard._reload()  # at once, not at the next re-read of rules.json
        who = self.w.name_of(key)
        title = f"{who}: rules cleared, no longer guarded" if r is None else \
            f"{who} guarded by {r.preset}" + (" with the hard stop armed" if r.hard_stop else "")
        self.desk.log_activity({"kind": "info", "account": key, "title": title, "detail": "from the window"})
        if r is None:
            self.events.pop(key, None)
        if dedicated:
            await self.desk.update_account(key, mode="dedicated")
        self.dirty = True

    def flatten(self, keys: list[str] | None, only_blocked: bool = False) -> Any:
        """Confirm (naming the accounts), then flatten them; ``keys`` None: every account."""
        guard = self.guard()
        if only_blocked:
            keys = [a["key"] for a in self.desk.accounts() if guard is not None and guard.is_blocked(a["key"])]
        act, skipped = tradeable(self.desk, keys)
        names = "\n".join(f"  • {self.w.name_of(k)}" for k in act) or "  (none)"
        text = (f"Close every open position and delete every pending order of these accounts at market now?\n\n"
                f"{names}\n")
        if skipped:
            text += "\nSkipped:\n" + "\n".join(f"  • {self.w.name_of(k)}: {why}" for k, why in skipped) + "\n"
        text += ("\nShared-terminal accounts are visited one after another through the lock; accounts with their "
                 "own terminal act in parallel. This cannot be undone.")
        if not act:
            return confirm(self.w, "Flatten", text, "OK", lambda: None)
        return confirm(self.w, "Flatten", text, f"Flatten {len(act)} account(s)", lambda: self._go(act))

    def _go(self, keys: list[str]) -> None:
        out = flatten_all(self.desk, keys)
        self.progress = FlattenProgress(self.w, self.w.name_of, out["queued"], out["skipped"])
        self.progress.open()
