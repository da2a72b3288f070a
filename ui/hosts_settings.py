"""Settings → Hosts: the owner's other machines (docs/HOSTS.md), each with its link's state.

Adding a host reads its SSH host key (off the GUI thread), shows the fingerprint and adds the host only
once the owner says it is the one the machine itself shows; only that key is trusted. A host whose key
is not confirmed or changed is fixed with "Confirm key…". Bad input is said next to the form and
stores nothing.
"""

from __future__ import annotations

import asyncio
import time
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
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.remote_desk import RemoteHosts
from app.remote_hosts import DEFAULT_COMMAND, Host, check_host
from app.remote_keys import HostKey, forget, scan, trust
from multi_user.errors import DeskError

PREFERRED = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "ssh-rsa")


def add_hosts_settings(dialog: QDialog, desk: Any) -> None:
    """A "Other machines: Hosts…" row above the dialog's buttons, when the window has hosts."""
    remote = getattr(desk, "remote", None)
    form = dialog.layout()
    if not isinstance(remote, RemoteHosts) or not isinstance(form, QFormLayout):
        return
    button = QPushButton("Hosts…")
    button.setObjectName("HostsButton")
    button.clicked.connect(lambda: HostsDialog(dialog, remote).open())
    form.insertRow(max(0, form.rowCount() - 1), "Other machines", button)


def describe(status: dict[str, Any]) -> str:
    state = status["state"]
    seen = status.get("offline_since")
    age = f", last seen {_age(time.time() - seen)} ago" if seen and state != "online" else ""
    retry = f", next try in {status['retry_in']:.0f} s" if status.get("retry_in") else ""
    line = f"{status['host']} — {status['destination']} — {state}{age}{retry}"
    if state == "online":
        line += f" ({status['accounts']} accounts)"
    elif status.get("message"):
        line += f"\n    {status['message']}"
    return line


def _age(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def pick_key(keys: list[HostKey]) -> HostKey:
    """The key the owner is asked about: the kind ssh uses first."""
    return min(keys, key=lambda k: PREFERRED.index(k.kind) if k.kind in PREFERRED else len(PREFERRED))


class HostsDialog(QDialog):
    def __init__(self, parent: QWidget | None, remote: RemoteHosts) -> None:
        super().__init__(parent)
        self.setWindowTitle("Hosts — terminals on your other machines")
        self.remote = remote
        self.tasks: set[asyncio.Task[Any]] = set()
        self.list = QListWidget()
        self.list.setObjectName("HostsList")
        self.name = QLineEdit(placeholderText="vps1")
        self.destination = QLineEdit(placeholderText="trader@vps.example.com")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("default (22 or ~/.ssh/config)")
        self.identity = QLineEdit(placeholderText="optional: ~/.ssh/id_ed25519")
        self.command = QLineEdit(DEFAULT_COMMAND)
        self.error = QLabel("")
        self.error.setObjectName("HostsError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020")
        self.add_button = QPushButton("Add host…")
        self.trust_button = QPushButton("Confirm key…")
        self.reconnect_button = QPushButton("Reconnect")
        self.remove_button = QPushButton("Remove")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("SSH destination", self.destination)
        form.addRow("Port", self.port)
        form.addRow("Identity file", self.identity)
        form.addRow("MT5 Desk there", self.command)
        row = QHBoxLayout()
        for b in (self.trust_button, self.reconnect_button, self.remove_button):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Each host runs MT5 Desk; the desk reaches it with your SSH key (docs/HOSTS.md)."))
        layout.addWidget(self.list)
        layout.addLayout(row)
        layout.addLayout(form)
        layout.addWidget(self.add_button)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.add_button.clicked.connect(lambda: self._run(self.add()))
        self.trust_button.clicked.connect(lambda: self._run(self.confirm_selected()))
        self.reconnect_button.clicked.connect(self.reconnect_selected)
        self.remove_button.clicked.connect(lambda: self._run(self.remove_selected()))
        remote.event.connect(self._on_event)
        self.finished.connect(lambda _code: remote.event.disconnect(self._on_event))
        self.refresh()

    # ---- the list --------------------------------------------------------------------------------
    def refresh(self) -> None:
        selected = self.selected()
        self.list.clear()
        for status in self.remote.statuses():
            item = QListWidgetItem(describe(status))
            item.setData(256, status["host"])
            self.list.addItem(item)
            if status["host"] == selected:
                self.list.setCurrentItem(item)

    def selected(self) -> str | None:
        item = self.list.currentItem()
        return item.data(256) if item is not None else None

    def _on_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") in ("host", "accounts"):
            self.refresh()

    # ---- actions ---------------------------------------------------------------------------------
    def _run(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def add(self) -> bool:
        self.error.setText("")
        try:
            host = check_host(self.name.text(), self.destination.text(), self.port.value() or None,
                              self.identity.text().strip() or None, self.command.text())
            if host.name in self.remote.links:
                raise DeskError(f"a host named {host.name!r} exists already")
            if not await self._confirm(host):
                return False
            self.remote.add(host)
        except DeskError as exc:
            self.error.setText(str(exc))
            return False
        self.name.clear()
        self.destination.clear()
        self.refresh()
        return True

    async def confirm_selected(self) -> bool:
        name = self.selected()
        if name is None:
            return False
        try:
            if not await self._confirm(self.remote.links[name].host):
                return False
        except DeskError as exc:
            self.error.setText(str(exc))
            return False
        self.remote.reconnect(name)
        return True

    def reconnect_selected(self) -> None:
        if (name := self.selected()) is not None:
            self.remote.reconnect(name)

    async def remove_selected(self) -> None:
        name = self.selected()
        if name is None:
            return
        host = self.remote.links[name].host
        self.remote.remove(name)
        await self.remote.io(forget, self.remote.data_dir, host)
        self.refresh()

    async def _confirm(self, host: Host) -> bool:
        """Read the host's keys (off the GUI thread), ask the owner about one, trust only that one."""
        self.error.setText(f"Reading the host key of {host.describe()}…")
        keys = await self.remote.io(scan, host)
        key = pick_key(keys)
        self.error.setText("")
        answer = self.ask(f"The machine at {host.destination} shows this {key.kind} host key:\n\n{key.fingerprint}\n\n"
                          "Is it the one the machine itself shows (ssh-keygen -lf on its host key, see "
                          "docs/HOSTS.md)? Only then connect to it.")
        if not answer:
            return False
        await self.remote.io(trust, self.remote.data_dir, keys, key.fingerprint)
        return True

    def ask(self, text: str) -> bool:
        """The owner's yes (a test answers for the owner)."""
        return QMessageBox.question(self, "Confirm the host key", text) == QMessageBox.StandardButton.Yes
