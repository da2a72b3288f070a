"""Tray icon and alerts: a notification when an account disconnects, fails authorization, or its
terminal keeps crashing (each at most once per minute, so a flapping connection is not a storm),
when a job such as closing all positions ends (always: its result matters), and on alerts such as
a margin call ahead. The tooltip gives the portfolio total and how many accounts are live; with the
"minimize to tray" setting a minimized window leaves the task bar and comes back from the tray."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from app.activity import JOB_END_STATES, JOB_NAMES, job_result_text

ALERT_STATES = {"offline": "is offline", "auth_error": "failed to log in", "mismatch": "shows the wrong account",
                "disconnected": "lost the broker connection"}
REPEAT_AFTER = 60.0
TOOLTIP_MAX = 127  # Windows cuts tray tooltips longer than this


class Tray(QObject):
    def __init__(self, window: QWidget, icon: QIcon, name_of: Callable[[str], str]) -> None:
        super().__init__(window)
        self.name_of = name_of
        self.window = window
        self.alerts: list[tuple[str, str]] = []  # (title, message), kept for tests and the status bar
        self._last: dict[str, float] = {}
        self._told_hidden = False
        self.tooltip = "MT5 Desk"
        self.icon = QSystemTrayIcon(icon, window) if QSystemTrayIcon.isSystemTrayAvailable() else None
        if self.icon is not None:
            menu = QMenu(window)
            menu.addAction("Show MT5 Desk", self._show)
            menu.addAction("Quit", getattr(window, "request_quit", window.close))
            self.icon.setContextMenu(menu)
            self.icon.setToolTip(self.tooltip)
            self.icon.activated.connect(lambda _reason: self._show())
            self.icon.show()
        window.installEventFilter(self)

    def _show(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

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
        if len(text) > TOOLTIP_MAX:
            text = text[: TOOLTIP_MAX - 1] + "…"
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
