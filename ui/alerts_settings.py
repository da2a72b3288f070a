"""Settings → Alerts ([N] 1): the channels alerts are sent to (masked), add / remove / test with their
results shown, and the alert settings (disconnect delay, quiet hours, zone, rate limit).

``add_alerts_tab`` turns the Settings dialog into tabs from outside ("General" keeps every row the dialog
and others put there), so the dialog's own code stays as it is. Adding, removing and testing act at
once through the Desk's alert engine (files on its I/O thread, the test on a sender thread); the
settings are saved with the dialog's Save.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from multi_user.alert_rules import CATEGORIES, owner_zone, parse_quiet_hours
from multi_user.errors import DeskError

DOCS = "docs/ALERTS.md"


class AlertsPanel(QWidget):
    def __init__(self, desk: Any, settings: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AlertsPanel")
        self.desk = desk
        self.tasks: set[asyncio.Task[Any]] = set()
        self.channels = QListWidget()
        self.channels.setObjectName("AlertChannels")
        self.url = QLineEdit()
        self.url.setObjectName("AlertUrl")
        self.url.setEchoMode(QLineEdit.EchoMode.Password)  # it carries a token: never on screen
        self.url.setPlaceholderText("tgram://…, ntfys://…, mailto://… (see docs/ALERTS.md)")
        self.label = QLineEdit()
        self.label.setPlaceholderText("name (optional), e.g. phone")
        self.events = QLineEdit()
        self.events.setPlaceholderText("all events, or e.g. guard,hard_stop,disconnect")
        self.events.setToolTip("Categories: " + ", ".join(CATEGORIES))
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.test_button = QPushButton("Send a test")
        self.result = QLabel("")
        self.result.setObjectName("AlertResult")
        self.result.setWordWrap(True)
        self.disconnect_after = QSpinBox()
        self.disconnect_after.setRange(1, 86400)
        self.disconnect_after.setSuffix(" s")
        self.disconnect_after.setValue(int(float(settings.get("alert_disconnect_after") or 30)))
        self.quiet = QLineEdit(str(settings.get("alert_quiet_hours") or ""))
        self.quiet.setPlaceholderText("off, or e.g. 22:00-07:00 (breaches and hard stops still go out)")
        self.zone = QLineEdit(str(settings.get("alert_zone") or ""))
        self.zone.setPlaceholderText("this computer's zone, or e.g. Europe/Prague")
        self.rate = QSpinBox()
        self.rate.setRange(1, 1000)
        self.rate.setSuffix(" messages per 10 min per channel")
        self.rate.setValue(int(settings.get("alert_rate_limit") or 6))
        self._saved = settings

        add_row = QHBoxLayout()
        for w in (self.label, self.events, self.add_button):
            add_row.addWidget(w)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        form = QFormLayout(self)
        form.addRow(QLabel(f"Alerts reach you away from the desk. Each channel is one URL ({DOCS})."))
        form.addRow("Channels", self.channels)
        form.addRow("", _wrap(buttons))
        form.addRow("New channel URL", self.url)
        form.addRow("", _wrap(add_row))
        form.addRow("", self.result)
        form.addRow("Alert when down for", self.disconnect_after)
        form.addRow("Quiet hours", self.quiet)
        form.addRow("Times in zone", self.zone)
        form.addRow("At most", self.rate)
        self.add_button.clicked.connect(lambda: self._run(self._add()))
        self.remove_button.clicked.connect(lambda: self._run(self._remove()))
        self.test_button.clicked.connect(lambda: self._run(self._test()))
        self.channels.currentRowChanged.connect(lambda _: self._enable())
        self.refresh()

    # ---- the list ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.channels.clear()
        for c in self.desk.alerts.list_channels():
            events = ", ".join(c["events"] or []) or "all events"
            text = f"#{c['id']} {c['masked']}" + (f" ({c['label']})" if c["label"] else "") + f" — {events}"
            if c.get("failing"):
                text += " — failing, retrying"
            item = QListWidgetItem(text)
            item.setData(256, c["id"])
            self.channels.addItem(item)
        self._enable()

    def _enable(self) -> None:
        chosen = self.channels.currentItem() is not None
        self.remove_button.setEnabled(chosen)
        self.test_button.setEnabled(chosen)

    def _chosen(self) -> int | None:
        item = self.channels.currentItem()
        return None if item is None else int(item.data(256))

    # ---- actions (at once, off the GUI thread) ------------------------------------------------------
    def _run(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self.last_task = task

    def _say(self, text: str, error: bool = False) -> None:
        self.result.setText(text)
        self.result.setStyleSheet("color:#d93025;" if error else "")

    async def _add(self) -> None:
        from app.alerts_channels import parse_events

        self.add_button.setEnabled(False)
        self._say("Checking the URL…")
        try:
            rec = await self.desk.alerts.add_channel(self.url.text(), parse_events(self.events.text()),
                                                     self.label.text())
        except DeskError as exc:
            self._say(str(exc), error=True)
            return
        finally:
            self.add_button.setEnabled(True)
        self.url.clear()
        self.label.clear()
        self.events.clear()
        self.refresh()
        self._say(f"Added #{rec['id']} {rec['masked']}. Press “Send a test” to check it.")

    async def _remove(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        try:
            rec = await self.desk.alerts.remove_channel(chosen)
        except DeskError as exc:
            self._say(str(exc), error=True)
            return
        self.refresh()
        self._say(f"Removed #{rec['id']} {rec['masked']}.")

    async def _test(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        self.test_button.setEnabled(False)
        self._say(f"Sending a test to #{chosen}…")
        try:
            ok, reason = await self.desk.alerts.test_channel(chosen)
        finally:
            self.test_button.setEnabled(True)
        self._say(f"Test sent to #{chosen}." if ok else f"#{chosen} failed: {reason}", error=not ok)

    # ---- settings (saved with the dialog) -----------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The alert settings; a quiet-hours or zone entry that does not parse keeps the saved value."""
        out: dict[str, Any] = {"alert_disconnect_after": float(self.disconnect_after.value()),
                               "alert_rate_limit": self.rate.value()}
        try:
            parse_quiet_hours(self.quiet.text())
            out["alert_quiet_hours"] = "" if self.quiet.text().strip().lower() in ("off", "none") \
                else self.quiet.text().strip()
        except ValueError as exc:
            self._say(f"Quiet hours not saved: {exc}", error=True)
        zone = self.zone.text().strip()
        if not zone or owner_zone(zone) is not None:
            out["alert_zone"] = zone
        else:
            self._say(f"Zone not saved: {zone!r} is no IANA zone name (e.g. Europe/Prague)", error=True)
        return out


def add_alerts_tab(dialog: QDialog, desk: Any) -> dict[str, Callable[[], Any]]:
    """Put the dialog's rows under a "General" tab, add "Alerts"; returns a getter per setting for saving."""
    form = dialog.layout()
    buttons = dialog.findChild(QDialogButtonBox)
    if not isinstance(form, QFormLayout) or buttons is None or getattr(desk, "alerts", None) is None:
        return {}
    form.takeRow(form.rowCount() - 1)  # the Save/Cancel row goes below the tabs
    general = QWidget()
    general.setLayout(form)  # moves the rows (and their widgets) from the dialog to the tab
    panel = AlertsPanel(desk, {**desk.settings})
    tabs = QTabWidget(dialog)
    tabs.setObjectName("SettingsTabs")
    tabs.addTab(general, "General")
    tabs.addTab(panel, "Alerts")
    outer = QVBoxLayout(dialog)
    outer.addWidget(tabs)
    outer.addWidget(buttons)
    dialog.alerts_panel = panel  # type: ignore[attr-defined]  # tests reach it
    keys = ("alert_disconnect_after", "alert_rate_limit", "alert_quiet_hours", "alert_zone")
    return {k: (lambda k=k: panel.values().get(k, desk.settings.get(k))) for k in keys}


def _wrap(layout: Any) -> QWidget:
    w = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    w.setLayout(layout)
    return w
