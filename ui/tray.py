"""Tray icon and alerts: a notification when an account disconnects, fails authorization, or its
terminal keeps crashing (each at most once per minute, so a flapping connection is not a storm).
The tooltip gives the portfolio total and how many accounts are live; with the "minimize to the
tray" setting a minimized window leaves the task bar and comes back from the tray."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from ui.formatting import money

ALERT_STATES = {"offline": "disconnected", "auth_error": "failed to log in", "mismatch": "shows the wrong account"}
REPEAT_AFTER = 60.0
TOOLTIP_MS = 2000
TOOLTIP_MAX = 127  # Windows cuts tray tooltips longer than this


def summary(states: dict[str, dict[str, Any]], snapshots: dict[str, dict[str, Any] | None], total: int) -> str:
    """"MT5 Desk · 3 of 9 live" and the equity per currency, saying how much of it is not live."""
    live = {k for k, s in states.items() if (s or {}).get("state") == "live"}
    lines = [f"MT5 Desk · {len(live)} of {total} account{'s' if total != 1 else ''} live"]
    totals: dict[str, list[float]] = {}
    for key, snap in snapshots.items():
        if snap and snap.get("currency"):
            t = totals.setdefault(snap["currency"], [0.0, 0.0, 0])
            t[0] += float(snap.get("equity") or 0.0)
            t[1] += float(snap.get("profit") or 0.0)
            t[2] += key not in live
    for cur, (eq, pl, old) in sorted(totals.items()):
        lines.append(f"{money(eq, cur)} ({money(pl, sign=True)})" + (f", {int(old)} not live" if old else ""))
    text = "\n".join(lines)
    return text if len(text) <= TOOLTIP_MAX else text[: TOOLTIP_MAX - 1] + "…"


class Tray(QObject):
    def __init__(self, window: QWidget, icon: QIcon, name_of: Callable[[str], str]) -> None:
        super().__init__(window)
        self.name_of = name_of
        self.window = window
        self.alerts: list[tuple[str, str]] = []  # (title, message), kept for tests and the status bar
        self.tooltip = "MT5 Desk"
        self._last: dict[str, float] = {}
        self._told_hidden = False
        self.icon = QSystemTrayIcon(icon, window) if QSystemTrayIcon.isSystemTrayAvailable() else None
        if self.icon is not None:
            menu = QMenu(window)
            menu.addAction("Show MT5 Desk", self._show)
            menu.addAction("Quit", window.close)
            self.icon.setContextMenu(menu)
            self.icon.setToolTip(self.tooltip)
            self.icon.activated.connect(lambda _reason: self._show())
            self.icon.show()
        window.installEventFilter(self)
        self.timer = QTimer(self)
        self.timer.setInterval(TOOLTIP_MS)
        self.timer.timeout.connect(self.refresh_tooltip)
        self.timer.start()

    def _show(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    # ---- tooltip ----------------------------------------------------------------------------------
    def refresh_tooltip(self) -> None:
        desk = getattr(self.window, "desk", None)
        if desk is None:
            return
        keys = [a["key"] for a in desk.accounts()]
        self.tooltip = summary(desk.account_states(), {k: desk.last_snapshot(k) for k in keys}, len(keys))
        if self.icon is not None and self.icon.toolTip() != self.tooltip:
            self.icon.setToolTip(self.tooltip)

    # ---- minimize to the tray ---------------------------------------------------------------------
    def minimize_to_tray(self) -> bool:
        desk = getattr(self.window, "desk", None)
        return bool(self.icon is not None and desk is not None and desk.settings.get("minimize_to_tray"))

    def eventFilter(self, obj: Any, event: Any) -> bool:
        if obj is self.window and event.type() == QEvent.Type.WindowStateChange and self.window.isMinimized() \
                and self.minimize_to_tray():
            QTimer.singleShot(0, self.window.hide)  # hiding inside the state change confuses some WMs
            if not self._told_hidden and self.icon is not None:
                self._told_hidden = True
                self.icon.showMessage("MT5 Desk keeps running", "Click the tray icon to bring the window back.",
                                      QSystemTrayIcon.MessageIcon.Information, 5000)
        return False

    # ---- alerts -----------------------------------------------------------------------------------
    def on_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        if kind == "account_state" and ev.get("state") in ALERT_STATES:
            what = ALERT_STATES[ev["state"]]
            self.notify(f"{ev['account']}:{ev['state']}", f"{self.name_of(ev['account'])} {what}",
                        ev.get("message") or "")
        elif kind == "terminal" and ev.get("state") == "failed":
            self.notify(f"lane:{ev.get('lane')}", "A terminal keeps crashing", ev.get("message") or "")

    def notify(self, key: str, title: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -REPEAT_AFTER) < REPEAT_AFTER:
            return
        self._last[key] = now
        self.alerts.append((title, message))
        if self.icon is not None:
            self.icon.showMessage(title, message, QSystemTrayIcon.MessageIcon.Warning, 8000)
