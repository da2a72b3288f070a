"""Settings, Edit and the confirmation boxes. A folder typed or browsed is checked (off the GUI
thread) before anything is saved; a wrong one is named next to its field and nothing changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QWidget,
)

from multi_user.errors import DeskError
from multi_user.terminals import terminal_exe
from multi_user.validation import check_password
from ui.dialog_parts import error_label, fit_height, folder_row, with_error


def install_problem(path: str) -> str | None:
    """Why ``path`` is not a MetaTrader 5 folder (or terminal64.exe), or None if it is (or is empty).
    Touches the disk: call it off the GUI thread."""
    if not path.strip():
        return None
    p = Path(path.strip()).expanduser()
    if not p.exists():
        return f"There is no folder or file “{p}”."
    exe = terminal_exe(p)
    if not exe.is_file():
        return f"No terminal64.exe in “{p}”. Choose the folder MetaTrader 5 is installed in."
    return None


class EditDialog(QDialog):
    """Name, lane and terminal folder; and a new password, checked with the broker like a link
    before anything is saved (a rejected one is said next to its field and nothing changes)."""

    def __init__(self, parent: QWidget, account: dict[str, Any], on_save: Callable[[dict[str, Any]], None],
                 change_password: Callable[[str], Awaitable[Any]] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {account['login']}@{account['server']}")
        self.setMinimumWidth(460)
        self.label = QLineEdit(account.get("label") or "")
        self.mode = QComboBox()
        self.mode.addItem("Shared terminal (switched in turn)", "shared")
        self.mode.addItem("Its own terminal (always live)", "dedicated")
        self.mode.setCurrentIndex(1 if account.get("mode") == "dedicated" else 0)
        self.terminal = QLineEdit(account.get("terminal") or "")
        self.terminal.setPlaceholderText("optional: terminal64.exe folder to use")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("leave empty to keep the stored password")
        self.error = error_label()
        self.password_error = error_label()
        form = QFormLayout(self)
        form.addRow("Name", self.label)
        form.addRow("Runs on", self.mode)
        form.addRow("Terminal folder", with_error(folder_row(self.terminal, "Choose the MetaTrader 5 folder"),
                                                  self.error))
        if change_password is not None:
            form.addRow("New password", with_error(self.password, self.password_error))
        self._change_password = change_password
        self._on_save = on_save
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(lambda: _check_then(self, self.terminal.text(), self.error, self._save))
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _save(self) -> None:
        values = {"label": self.label.text(), "mode": self.mode.currentData(), "terminal": self.terminal.text()}
        new_password = self.password.text()
        if not new_password or self._change_password is None:
            self._on_save(values)
            self.accept()
            return
        try:
            check_password(new_password)
        except DeskError as exc:
            self._say_password(str(exc))
            return
        self.check_task = asyncio.ensure_future(self._check_password(new_password, values))

    async def _check_password(self, new_password: str, values: dict[str, Any]) -> None:
        assert self._change_password is not None
        self.buttons.setEnabled(False)
        self._say_password("Checking the new password with the broker…", error=False)
        try:
            await self._change_password(new_password)
        except DeskError as exc:
            self._say_password(str(exc))
            return
        finally:
            self.buttons.setEnabled(True)
        self.password.clear()
        self._on_save(values)
        self.accept()

    def _say_password(self, text: str, error: bool = True) -> None:
        self.password_error.setText(text)
        self.password_error.setStyleSheet("color:#d93025;" if error else "")
        self.password_error.setVisible(bool(text))
        fit_height(self)


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget, settings: dict[str, Any], on_save: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(500)
        self.base = QLineEdit(settings.get("base_install") or "")
        self.base.setPlaceholderText("MetaTrader 5 folder copied for accounts with their own terminal")
        self.base_error = error_label()
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.2, 60.0)
        self.rate.setSuffix(" s")
        self.rate.setValue(float(settings.get("snapshot_rate") or 1.0))
        self.sweep = QCheckBox("Refresh idle accounts when the shared terminal is free")
        self.sweep.setChecked(bool(settings.get("sweep_enabled")))
        self.sweep_gap = QSpinBox()
        self.sweep_gap.setRange(1, 1440)
        self.sweep_gap.setSuffix(" min between logins of one account")
        self.sweep_gap.setValue(int(settings.get("sweep_min_minutes") or 30))
        note = QLabel("Brokers may flag frequent logins; keep this interval generous on live accounts.")
        note.setWordWrap(True)
        note.setObjectName("Muted")
        self.theme = QComboBox()
        self.theme.addItem("Light", "light")
        self.theme.addItem("Dark", "dark")
        self.theme.setCurrentIndex(1 if settings.get("theme") == "dark" else 0)
        self.tray = QCheckBox("Minimize to the tray (keeps running, values stay live)")
        self.tray.setChecked(bool(settings.get("minimize_to_tray")))
        form = QFormLayout(self)
        form.addRow("Base MT5 install", with_error(folder_row(self.base, "Choose the MetaTrader 5 folder"),
                                                   self.base_error))
        form.addRow("Snapshot every", self.rate)
        form.addRow("", self.sweep)
        form.addRow("At most", self.sweep_gap)
        form.addRow("", note)
        form.addRow("Theme", self.theme)
        form.addRow("", self.tray)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(lambda: _check_then(self, self.base.text(), self.base_error,
                                                          lambda: (on_save(self.values()), self.accept())))
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def values(self) -> dict[str, Any]:
        return {"base_install": self.base.text().strip() or None, "snapshot_rate": self.rate.value(),
                "sweep_enabled": self.sweep.isChecked(), "sweep_min_minutes": self.sweep_gap.value(),
                "theme": self.theme.currentData(), "minimize_to_tray": self.tray.isChecked()}


def _check_then(dialog: QDialog, path: str, error: QLabel, save: Callable[[], Any]) -> None:
    """Check ``path`` in a thread; save only if it is fine, else say why next to the field."""
    buttons = dialog.findChild(QDialogButtonBox)

    async def run() -> None:
        if buttons is not None:
            buttons.setEnabled(False)
        try:
            problem = await asyncio.to_thread(install_problem, path)
        finally:
            if buttons is not None:
                buttons.setEnabled(True)
        error.setText(problem or "")
        error.setVisible(bool(problem))
        fit_height(dialog)
        if problem is None:
            save()

    task = asyncio.ensure_future(run())
    dialog.check_task = task  # type: ignore[attr-defined]  # keeps it referenced; tests await it


def confirm(parent: QWidget, title: str, text: str, yes: str, on_yes: Callable[[], None]) -> QMessageBox:
    """A non-blocking confirmation: ``on_yes`` runs only if the owner presses ``yes``."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.buttonClicked.connect(lambda b: on_yes() if b is button else None)
    box.open()
    return box


def notice(parent: QWidget, title: str, text: str) -> QMessageBox:
    """A non-blocking "done" message (the owner sees that it worked, not only that nothing failed)."""
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.open()
    return box
