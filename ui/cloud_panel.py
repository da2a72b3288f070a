"""Cloud sync in the window: sign in / sign out, sync now, and the sync state in the status bar.

Syncs every few minutes while signed in; after a sync the desk reloads the vault so new, edited
and unlinked accounts show up at once. Errors are shown in plain words, never with a token."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton, QWidget

from multi_user.errors import DeskError
from ui.dialog_parts import GrowingLabel

AUTO_SYNC_MS = 5 * 60 * 1000


class CloudController:
    """Owns the CloudSync of the window's data dir and keeps a status-bar label up to date."""

    def __init__(self, desk: Any, label: QLabel, spawn: Callable[[Any], None]) -> None:
        self.desk = desk
        self.label = label
        self.spawn = spawn
        self._cloud: Any = None  # made on first use: its Supabase client library takes seconds to import ([P] 2)
        self.timer = QTimer()
        self.timer.setInterval(AUTO_SYNC_MS)
        self.timer.timeout.connect(lambda: self.spawn(self.sync()))
        self.label.setText("Cloud sync: starting…")

    @property
    def cloud(self) -> Any:
        if self._cloud is None:
            from app.cloud_sync import CloudSync

            self._cloud = CloudSync.from_settings(self.desk.data_dir)
            self._cloud.add_listener(lambda _status: self.show())
            self.show()
        return self._cloud

    @cloud.setter
    def cloud(self, value: Any) -> None:
        self._cloud = value

    async def start(self) -> None:
        if self._cloud is None:  # the import off the GUI thread, after the window is up
            await asyncio.get_running_loop().run_in_executor(None, importlib.import_module, "app.cloud_sync")
        if self.cloud.status.configured and await self.cloud.restore():
            self.timer.start()
            await self.sync()

    async def sync(self) -> None:
        if not self.cloud.status.signed_in:
            return
        try:
            await self.cloud.sync_now()
        except DeskError:
            pass  # shown in the status label from status.last_error
        await self.desk.reload_from_vault()

    def show(self) -> None:
        s = self.cloud.status
        if not s.configured:
            text = "Cloud sync: off"
        elif not s.signed_in:
            text = "Cloud sync: signed out"
        elif s.syncing:
            text = f"Cloud: {s.email} · syncing…"
        else:
            when = _when(s.last_sync)
            text = f"Cloud: {s.email} · last sync {when}"
            if s.last_report is not None and getattr(s.last_report, "conflicts", None):
                text += f" · {len(s.last_report.conflicts)} conflict(s) resolved"
        if s.last_error:
            text += f" · ⚠ {s.last_error}"
        self.label.setText(text)

    async def close(self) -> None:
        self.timer.stop()
        if self._cloud is not None:
            await self._cloud.aclose()


def _when(stamp: Any) -> str:
    if not stamp:
        return "never"
    if isinstance(stamp, int | float):
        return time.strftime("%H:%M", time.localtime(stamp))
    return str(stamp)[11:16] + " UTC" if len(str(stamp)) >= 16 else str(stamp)


class CloudDialog(QDialog):
    def __init__(self, parent: QWidget, controller: CloudController) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Cloud sync (Supabase)")
        self.setMinimumWidth(480)
        from app.cloud_sync import load_cloud_settings

        settings = load_cloud_settings(controller.desk.data_dir)
        self.url = QLineEdit(settings.url or "")
        self.url.setPlaceholderText("https://YOUR-PROJECT.supabase.co")
        self.key = QLineEdit(settings.anon_key or "")
        self.key.setPlaceholderText("the project's anon (public) key — never the service key")
        self.key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.email = QLineEdit(settings.email or "")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = GrowingLabel()  # an error may need several lines: never clip it
        self.sign_in = QPushButton("Sign in and sync")
        self.sign_out = QPushButton("Sign out")
        self.sign_in.clicked.connect(lambda: controller.spawn(self._sign_in()))
        self.sign_out.clicked.connect(lambda: controller.spawn(self._sign_out()))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.sign_out, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.sign_in, QDialogButtonBox.ButtonRole.ActionRole)
        form = QFormLayout(self)
        form.addRow("Project URL", self.url)
        form.addRow("Anon key", self.key)
        form.addRow("Email", self.email)
        form.addRow("Password", self.password)
        form.addRow(self.message)
        form.addRow(buttons)
        self.sign_out.setEnabled(controller.cloud.status.signed_in)

    async def _sign_in(self) -> None:
        c = self.controller
        self.message.setText("Signing in…")
        try:
            from app.cloud_sync import CloudSync, save_cloud_settings

            settings = save_cloud_settings(c.desk.data_dir, self.url.text().strip(), self.key.text().strip())
            await c.close()
            c.cloud = CloudSync(c.desk.data_dir, settings.url, settings.anon_key)
            c.cloud.add_listener(lambda _status: c.show())
            await c.cloud.sign_in(self.email.text().strip(), self.password.text())
            self.password.clear()
            c.timer.start()
            await c.sync()
            self.message.setText("Signed in; accounts synced.")
            self.sign_out.setEnabled(True)
        except DeskError as exc:
            self.message.setText(f"⚠ {exc}")
        c.show()

    async def _sign_out(self) -> None:
        c = self.controller
        try:
            await c.cloud.sign_out()
            c.timer.stop()
            self.message.setText("Signed out. Your accounts stay on this computer.")
            self.sign_out.setEnabled(False)
        except DeskError as exc:
            self.message.setText(f"⚠ {exc}")
        c.show()
        await asyncio.sleep(0)
