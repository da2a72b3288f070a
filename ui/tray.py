"""Tray icon and alerts: a notification when an account disconnects, fails authorization, or its
terminal keeps crashing (each at most once per minute, so a flapping connection is not a storm),
when a job such as closing all positions ends (always: its result matters), and on alerts such as
a margin call ahead."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from app.activity import JOB_END_STATES, JOB_NAMES, job_result_text

ALERT_STATES = {"offline": "is offline", "auth_error": "failed to log in", "mismatch": "shows the wrong account",
                "disconnected": "lost the broker connection"}
REPEAT_AFTER = 60.0


class Tray:
    def __init__(self, window: QWidget, icon: QIcon, name_of: Callable[[str], str]) -> None:
        self.name_of = name_of
        self.window = window
        self.alerts: list[tuple[str, str]] = []  # (title, message), kept for tests and the status bar
        self._last: dict[str, float] = {}
        self.tooltip = "MT5 Desk"
        self.icon = QSystemTrayIcon(icon, window) if QSystemTrayIcon.isSystemTrayAvailable() else None
        if self.icon is not None:
            menu = QMenu(window)
            menu.addAction("Show MT5 Desk", self._show)
            menu.addAction("Quit", getattr(window, "request_quit", window.close))
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
        elif kind == "job" and ev.get("state") in JOB_END_STATES and ev.get("job") != "verify":
            what = JOB_NAMES.get(str(ev.get("job")), str(ev.get("job")))
            ok = ev.get("state") == "done" and not int((ev.get("result") or {}).get("failed") or 0)
            verdict = "done" if ok else "failed" if ev.get("state") in ("done", "failed") else "cancelled"
            self.notify(None, f"{what} on {self.name_of(ev.get('account') or '')}: {verdict}", job_result_text(ev),
                        warning=not ok)
        elif kind == "alert":
            self.notify(f"alert:{ev.get('account')}:{ev.get('kind')}", str(ev.get("title") or "Alert"),
                        str(ev.get("message") or ""))

    def set_tooltip(self, text: str) -> None:
        """The portfolio at a glance when the pointer rests on the tray icon."""
        if text != self.tooltip:
            self.tooltip = text
            if self.icon is not None:
                self.icon.setToolTip(text)

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()

    def notify(self, key: str | None, title: str, message: str, warning: bool = True) -> None:
        """``key``: at most one notification per key per minute; None: always (a job's result)."""
        now = time.monotonic()
        if key is not None:
            if now - self._last.get(key, -REPEAT_AFTER) < REPEAT_AFTER:
                return
            self._last[key] = now
        self.alerts.append((title, message))
        if self.icon is not None:
            icon = QSystemTrayIcon.MessageIcon.Warning if warning else QSystemTrayIcon.MessageIcon.Information
            self.icon.showMessage(title, message, icon, 8000)
