"""Tray icon and alerts: a notification when an account disconnects, fails authorization, or its
terminal keeps crashing (each at most once per minute, so a flapping connection is not a storm)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

ALERT_STATES = {"offline": "disconnected", "auth_error": "failed to log in", "mismatch": "shows the wrong account"}
REPEAT_AFTER = 60.0


class Tray:
    def __init__(self, window: QWidget, icon: QIcon, name_of: Callable[[str], str]) -> None:
        self.name_of = name_of
        self.window = window
        self.alerts: list[tuple[str, str]] = []  # (title, message), kept for tests and the status bar
        self._last: dict[str, float] = {}
        self.icon = QSystemTrayIcon(icon, window) if QSystemTrayIcon.isSystemTrayAvailable() else None
        if self.icon is not None:
            menu = QMenu(window)
            menu.addAction("Show MT5 Desk", self._show)
            menu.addAction("Quit", window.close)
            self.icon.setContextMenu(menu)
            self.icon.setToolTip("MT5 Desk")
            self.icon.activated.connect(lambda _reason: self._show())
            self.icon.show()

    def _show(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

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
